"""How long a teacher waits for the app: launch app.py several times and print, for each start, the seconds until
its page answers (/config) and until a first Generate at the app's defaults has come back (its denoisers still
eager then: the TorchScript graphs are built in the background after the start). Not part of the test run.

    python benchmarks/bench_startup.py                    # 5 starts of this checkout
    python benchmarks/bench_startup.py --starts 3 --other ../old   # alternate with another checkout's app.py

Each start is a fresh process with a fresh Gradio cache folder; the machine's file cache is warm after the first
(the first start of a session is slower: it reads torch's libraries from disk).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_server import ROOT, launch
from app_workload import endpoint_defaults
from bench_serving import student_client


def one_start(root: Path, run_dir: str) -> tuple[float, float]:
    """(seconds to /config, seconds to the first Generate's answer), both from the process's start."""
    t0 = time.perf_counter()
    server = launch(run_dir, unet="eager", root=root)  # returns as soon as /config answers
    try:
        ready = server.ready_s
        client = student_client(server.url)
        client.predict(*endpoint_defaults(client)["generate"].values(), api_name="/generate")
        return ready, time.perf_counter() - t0
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--starts", type=int, default=5, help="starts of each checkout")
    ap.add_argument("--other", type=Path, default=None, help="another checkout to alternate with (its app.py)")
    args = ap.parse_args()
    roots = {"this": ROOT} | ({"other": args.other.resolve()} if args.other else {})
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in roots}
    with tempfile.TemporaryDirectory(prefix="ldm-startup-") as tmp:
        one_start(ROOT, f"{tmp}/warm")  # reads the libraries into the file cache; not counted
        for i in range(args.starts):
            for name, root in roots.items():
                times[name].append(one_start(root, f"{tmp}/{name}-{i}"))
    print("| checkout | starts | page answers s (each) | median | first image s (each) | median |")
    print("|---|---|---|---|---|---|")
    for name, ts in times.items():
        ready, first = [t[0] for t in ts], [t[1] for t in ts]
        print(f"| {name} ({roots[name]}) | {len(ts)} | {', '.join(f'{x:.1f}' for x in ready)} | "
              f"{statistics.median(ready):.1f} | {', '.join(f'{x:.1f}' for x in first)} | "
              f"{statistics.median(first):.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
