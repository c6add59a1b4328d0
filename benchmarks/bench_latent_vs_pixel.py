"""One denoising step in the latent against the same UNet design at pixel size: FLOPs and CPU ms (batch 1).

    OMP_NUM_THREADS=1 python benchmarks/bench_latent_vs_pixel.py checkpoints/mnist checkpoints/fashion-mnist [--write]

The Learn tab (section 8) runs the same measurement, ``ldm_core.teaching.step_cost``, live.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ldm_core import LatentDiffusionPipeline, teaching
from ldm_core.reference import REFERENCE_DIR


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("models", nargs="*", default=["checkpoints/mnist"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--write", action="store_true", help="keep the result in <model>/reference/step_cost.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'model':<28} {'input':<10} {'MFLOPs':>9} {'ms':>7}")
    for folder in args.models:
        pipe = LatentDiffusionPipeline.from_pretrained(folder)
        c = teaching.step_cost(pipe, repeats=20)
        for name in ("latent", "pixel"):
            r = c[name]
            shape = "x".join(map(str, r["shape"]))
            print(f"{folder + ' ' + name:<28} {shape:<10} {r['flops'] / 1e6:>9.0f} {r['ms']:>7.2f}")
        print(f"{'':<28} {'ratio':<10} {c['flops_ratio']:>9.1f} {c['ms_ratio']:>7.1f}")
        if args.write:
            out = Path(folder) / REFERENCE_DIR / "step_cost.json"
            machine = (
                f"{platform.machine()} CPU, {os.cpu_count()} cores, {args.threads} torch thread(s), "
                f"load average {os.getloadavg()[0]:.1f} while measuring"
            )
            command = f"python benchmarks/bench_latent_vs_pixel.py {folder} --threads {args.threads}"
            out.write_text(json.dumps({"command": command, "machine": machine, "result": c}, indent=1))
            print(f"wrote {out}")


if __name__ == "__main__":
    main()
