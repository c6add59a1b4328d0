"""The denoiser eager against its TorchScript graph (the app's default), alone and beside a busy Python thread.

In the app the batcher's worker runs the UNet while Gradio's event loop and the request threads run Python (PNG
encoding, JSON, SSE). An eager UNet call is ~2,000 ops dispatched from Python, and the thread must take the GIL back
after each; a busy Python thread then holds it up to ``sys.getswitchinterval()`` (5 ms) at a time. A frozen
TorchScript graph runs in C++ without the GIL. Prints ms per call (median) at several batch sizes, as the pipeline
calls it (``model_output``, all cores past 8 rows), with nothing else running and beside one thread looping in pure
Python; then one image, 50 DDIM steps at the default guidance, with the decode. Not part of the test run.

    python benchmarks/bench_gil.py checkpoints/fashion-mnist
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_compile import call_ms, generate_s

from ldm_core import LatentDiffusionPipeline


class BusyPython:
    """A thread that loops in pure Python (holding the GIL but for the interpreter's switches) while in use."""

    def __enter__(self) -> BusyPython:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()
        return self

    def _spin(self) -> None:
        total = 0
        while not self.stop.is_set():
            total += sum(range(200))

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", nargs="?", default="checkpoints/fashion-mnist")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[2, 8, 64, 128])
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    pipe = LatentDiffusionPipeline.from_pretrained(args.model)
    head = [f"batch {b} ms" for b in args.batch_sizes] + ["1 image 50 steps s"]
    print(
        f"{args.model}: {torch.get_num_threads()} torch threads, switch interval {sys.getswitchinterval() * 1e3:g} ms"
    )
    print(f"| denoiser | beside | {' | '.join(head)} |\n|---|---|{'---|' * len(head)}")
    for name in ("eager", "torchscript"):
        if name == "torchscript":
            graph = pipe.compile(backend="torchscript")
            if not graph.ready:
                raise SystemExit(f"tracing failed: {graph.error}")
        for beside in ("nothing", "a busy Python thread"):
            if beside == "nothing":
                row = [call_ms(pipe.model_output, pipe, b, args.repeats) for b in args.batch_sizes]
                row.append(generate_s(pipe))
            else:
                with BusyPython():
                    row = [call_ms(pipe.model_output, pipe, b, args.repeats) for b in args.batch_sizes]
                    row.append(generate_s(pipe, repeats=3))
            cells = [f"{v:.2f}" for v in row[:-1]] + [f"{row[-1]:.3f}"]
            print(f"| {name} | {beside} | {' | '.join(cells)} |", flush=True)
    print(f"\ngraph built in {graph.seconds:.2f} s, max |graph - eager| on its check inputs {graph.max_abs_error:.1e}")


if __name__ == "__main__":
    main()
