"""The denoiser eager against ``torch.compile`` (``LatentDiffusionPipeline.compile``): ms per UNet call at several
batch sizes and one image's 50-step generation with guidance, eager and compiled in the same run. Prints a table.

    OMP_NUM_THREADS=1 python benchmarks/bench_compile.py checkpoints/fashion-mnist --threads 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ldm_core import LatentDiffusionPipeline


def call_ms(fn, pipe: LatentDiffusionPipeline, b: int, repeats: int) -> float:
    """Median ms of fn(x, t, class_emb) at batch b, after 3 warm-up calls."""
    x = torch.randn(b, *pipe.latent_shape)
    t = torch.full((b,), pipe.num_train_timesteps // 2)
    emb = pipe.class_embeddings([0] * b)
    times = []
    with torch.inference_mode():
        for i in range(repeats + 3):
            start = time.perf_counter()
            fn(x, t, emb)
            if i >= 3:
                times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[len(times) // 2]


def generate_s(pipe: LatentDiffusionPipeline, repeats: int = 5) -> float:
    """Median seconds of one image, 50 DDIM steps, the model's default guidance (after one warm-up run)."""
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        pipe([0], num_inference_steps=50, seed=0)
        if i:
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", nargs="?", default="checkpoints/fashion-mnist")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[2, 8, 32, 64])
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    pipe = LatentDiffusionPipeline.from_pretrained(args.model)
    eager = pipe.unet

    def eager_fn(x, t, emb):
        return eager(x, t, class_emb=emb)

    rows = {"eager": [call_ms(eager_fn, pipe, b, args.repeats) for b in args.batch_sizes] + [generate_s(pipe)]}
    c = pipe.compile()
    if not c.ready:
        raise SystemExit(f"compiling failed: {c.error}")
    rows["compiled"] = [call_ms(c, pipe, b, args.repeats) for b in args.batch_sizes] + [generate_s(pipe)]
    print(f"{args.model}: {torch.get_num_threads()} thread(s), torch {torch.__version__}; compiled in {c.seconds:.0f} s "
          f"(max |compiled - eager| {c.max_abs_error:.1e} on the warm-up inputs)")  # fmt: skip
    head = [f"batch {b} ms" for b in args.batch_sizes] + ["1 image 50 steps s"]
    print(f"| | {' | '.join(head)} |\n|---|{'---|' * len(head)}")
    for name, vals in rows.items():
        print(f"| {name} | " + " | ".join(f"{v:.2f}" if i < len(args.batch_sizes) else f"{v:.3f}"
                                         for i, v in enumerate(vals)) + " |")  # fmt: skip
    ratios = [e / max(v, 1e-9) for e, v in zip(rows["eager"], rows["compiled"], strict=True)]
    print("| speed-up | " + " | ".join(f"{r:.2f}x" for r in ratios) + " |")


if __name__ == "__main__":
    main()
