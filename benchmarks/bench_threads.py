"""Torch threads per UNet call: ms at each batch size on all threads, on one thread, and as the pipeline runs it
(``ldm_core.compiled.threads_for_batch``: one thread up to SMALL_BATCH rows). Prints a table.

    python benchmarks/bench_threads.py checkpoints/fashion-mnist
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_compile import call_ms

from ldm_core import LatentDiffusionPipeline
from ldm_core.compiled import SMALL_BATCH


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", nargs="?", default="checkpoints/fashion-mnist")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args()
    pipe = LatentDiffusionPipeline.from_pretrained(args.model)
    n = os.cpu_count() or 1
    torch.set_num_threads(n)

    def all_threads(x, t, emb):
        return pipe.unet(x, t, class_emb=emb)

    def one_thread(x, t, emb):
        torch.set_num_threads(1)
        try:
            return pipe.unet(x, t, class_emb=emb)
        finally:
            torch.set_num_threads(n)

    print(f"{args.model}: ms per UNet call, {n} cores, SMALL_BATCH = {SMALL_BATCH}")
    print("| batch | all threads | one thread | pipeline (model_output) |\n|---|---|---|---|")
    for b in args.batch_sizes:
        row = [call_ms(f, pipe, b, args.repeats) for f in (all_threads, one_thread, pipe.model_output)]
        print(f"| {b} | " + " | ".join(f"{v:.2f}" for v in row) + " |")


if __name__ == "__main__":
    main()
