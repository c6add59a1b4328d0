"""Torch threads per UNet call: ms at each batch size on all threads, on one thread, and as the pipeline runs it
(``ldm_core.compiled.threads_for_batch``: one thread up to SMALL_BATCH rows). Prints a table.
``--onednn`` adds the UNet's TorchScript graph as the pipeline runs it, with oneDNN's convolutions on and off
(``torch.backends.mkldnn``).

    python benchmarks/bench_threads.py checkpoints/fashion-mnist
    python benchmarks/bench_threads.py checkpoints/fashion-mnist --onednn
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
from ldm_core.compiled import SMALL_BATCH, threads_for_batch, trace_unet


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", nargs="?", default="checkpoints/fashion-mnist")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--onednn", action="store_true", help="also the graph with oneDNN on and off")
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

    calls = [all_threads, one_thread, pipe.model_output]
    head = "| batch | all threads | one thread | pipeline (model_output) |"
    if args.onednn:
        graph = trace_unet(pipe.unet, pipe.latent_shape)

        def graph_with(enabled: bool):
            def call(x, t, emb):
                with torch.backends.mkldnn.flags(enabled=enabled), threads_for_batch(len(x)):
                    return graph(x, t, emb)

            return call

        calls += [graph_with(True), graph_with(False)]
        head += " graph, oneDNN on | graph, oneDNN off |"
    print(f"{args.model}: ms per UNet call, {n} cores, SMALL_BATCH = {SMALL_BATCH}")
    print(head + "\n" + "|---" * (len(calls) + 1) + "|")
    for b in args.batch_sizes:
        row = [call_ms(f, pipe, b, args.repeats) for f in calls]
        print(f"| {b} | " + " | ".join(f"{v:.2f}" for v in row) + " |")


if __name__ == "__main__":
    main()
