"""Server memory against the batch sizes it has seen: the UNet at every batch size 1..N in turn, three passes, with
and without handing the C heap's free memory back between calls (``ldm_core.batching.release_free_memory``, which the
batcher calls whenever its queue runs empty). Each mode runs in a fresh process; prints resident memory (VmRSS) after
loading and after each pass, and what a trim costs. Not part of the test run.

    python benchmarks/bench_memory.py checkpoints/fashion-mnist
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_mode(model: str, trim: bool, max_batch: int, passes: int) -> dict:
    """In this process: load the model, call its UNet at batch sizes 1..max_batch, ``passes`` times."""
    sys.path.insert(0, str(ROOT))
    import torch

    from ldm_core import LatentDiffusionPipeline
    from ldm_core.batching import release_free_memory

    torch.set_num_threads(1)
    pipe = LatentDiffusionPipeline.from_pretrained(model)
    emb = pipe.class_embeddings([0])
    out = {"start": rss_mb(), "passes": [], "trim_ms": []}
    with torch.inference_mode():
        for _ in range(passes):
            for b in range(1, max_batch + 1):
                pipe.model_output(torch.randn(b, *pipe.latent_shape), torch.full((b,), 500), emb.expand(b, -1))
                if trim:
                    start = time.perf_counter()
                    release_free_memory()
                    out["trim_ms"].append(1000 * (time.perf_counter() - start))
            out["passes"].append(rss_mb())
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", nargs="?", default=str(ROOT / "checkpoints" / "fashion-mnist"))
    p.add_argument("--max-batch", type=int, default=130, help="largest batch size (the batcher's 64 rows x 2)")
    p.add_argument("--passes", type=int, default=3)
    p.add_argument("--mode", choices=["keep", "trim"], help=argparse.SUPPRESS)  # the child process's own run
    args = p.parse_args()
    if args.mode:
        print(json.dumps(run_mode(args.model, args.mode == "trim", args.max_batch, args.passes)))
        return
    print(f"{args.model}: UNet at batch sizes 1..{args.max_batch} in turn, {args.passes} passes, one thread; "
          "VmRSS in MB")  # fmt: skip
    print(f"| after each call | loaded | {' | '.join(f'pass {i + 1}' for i in range(args.passes))} | trim ms |")
    print(f"|---|---|{'---|' * args.passes}---|")
    for mode, label in (("keep", "nothing"), ("trim", "release_free_memory()")):
        child = subprocess.run([sys.executable, __file__, args.model, "--mode", mode, "--max-batch",
                                str(args.max_batch), "--passes", str(args.passes)],
                               capture_output=True, text=True, check=True)  # fmt: skip
        r = json.loads(child.stdout.strip().splitlines()[-1])
        trim = f"{statistics.median(r['trim_ms']):.2f} (max {max(r['trim_ms']):.1f})" if r["trim_ms"] else "-"
        print(f"| {label} | {r['start']:.0f} | {' | '.join(f'{v:.0f}' for v in r['passes'])} | {trim} |", flush=True)


if __name__ == "__main__":
    main()
