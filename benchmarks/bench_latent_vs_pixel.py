"""One denoising step in the latent against the same UNet design at pixel size: FLOPs and CPU ms (batch 1).

    OMP_NUM_THREADS=1 python benchmarks/bench_latent_vs_pixel.py checkpoints/mnist checkpoints/fashion-mnist

The Learn tab (section 8) runs the same measurement, ``ldm_core.teaching.step_cost``, live.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ldm_core import LatentDiffusionPipeline, teaching


def main() -> None:
    torch.set_num_threads(1)
    print(f"{'model':<28} {'input':<10} {'MFLOPs':>9} {'ms':>7}")
    for folder in sys.argv[1:] or ["checkpoints/mnist"]:
        pipe = LatentDiffusionPipeline.from_pretrained(folder)
        c = teaching.step_cost(pipe, repeats=20)
        for name in ("latent", "pixel"):
            r = c[name]
            shape = "x".join(map(str, r["shape"]))
            print(f"{folder + ' ' + name:<28} {shape:<10} {r['flops'] / 1e6:>9.0f} {r['ms']:>7.2f}")
        print(f"{'':<28} {'ratio':<10} {c['flops_ratio']:>9.1f} {c['ms_ratio']:>7.1f}")


if __name__ == "__main__":
    main()
