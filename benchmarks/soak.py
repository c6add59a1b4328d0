"""A long run of mixed requests against a launched app.py: is the server's memory flat, and its file cache bounded?

A few students (threads, one gradio_client each) cycle through Generate, Interpolate, Edit and Inpaint at the app's
defaults for --minutes; every --every-s seconds a line gives the requests so far, errors, the server's memory (its
process tree's RSS) and its Gradio cache folder. Memory that rises in the first minutes and then stays is warm-up
(allocator pools, imported modules, compiled kernels); memory that keeps rising is growth. The last line compares
the first and the second half of the run. Some students also press Stop (cancel) mid-run or go away. Not a test.

    python benchmarks/soak.py --minutes 20
    python benchmarks/soak.py --minutes 3 --students 4 --every-s 20
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_server import cache_size, launch, tree_rss_mb
from app_workload import MIXED, Workload
from bench_serving import fetch_files, student_client


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--students", type=int, default=3)
    ap.add_argument("--every-s", type=float, default=60.0, help="seconds between report lines")
    ap.add_argument("--cancel-share", type=float, default=0.1, help="share of requests cancelled mid-run")
    ap.add_argument("--run-dir", default=None)
    args = ap.parse_args()
    run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="ldm-soak-"))
    server = launch(run_dir)
    stats = {"done": 0, "errors": 0, "cancelled": 0}
    lock = threading.Lock()
    stop_at = time.monotonic() + 60 * args.minutes
    samples: list[tuple[float, float]] = []  # (minutes, MB)

    def student(i: int) -> None:
        client = student_client(server.url)  # answers as URLs, fetched over one connection (see bench_serving)
        http = httpx.Client(timeout=300, verify=False)
        work = Workload(client, run_dir / f"inputs-{i}", vary_seeds=True)
        rnd = random.Random(i)
        for k, endpoint in enumerate(itertools.cycle(MIXED)):
            if time.monotonic() > stop_at:
                return
            job = client.submit(**work.kwargs(endpoint, k), api_name=f"/{endpoint}")
            try:
                if rnd.random() < args.cancel_share:  # Stop pressed (or the tab closed) while it runs
                    time.sleep(rnd.uniform(0.05, 0.5))
                    job.cancel()
                    key = "cancelled"
                else:
                    fetch_files(http, job.result(timeout=300))
                    key = "done"
            except Exception:
                key = "errors"
            with lock:
                stats[key] += 1

    threads = [threading.Thread(target=student, args=(i,), daemon=True) for i in range(args.students)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    print("| minute | requests done | cancelled | errors | server RSS MB | cache |")
    print("|---|---|---|---|---|---|")
    try:
        while any(t.is_alive() for t in threads):
            deadline = time.monotonic() + args.every_s
            while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
                time.sleep(0.5)
            minutes, mb = (time.monotonic() - t0) / 60, tree_rss_mb(server.pid)
            samples.append((minutes, mb))
            with lock:
                s = dict(stats)
            print(f"| {minutes:.1f} | {s['done']} | {s['cancelled']} | {s['errors']} | {mb:.0f} | "
                  f"{cache_size(server.cache_dir)} |", flush=True)  # fmt: skip
        half = len(samples) // 2
        if half:
            first, second = samples[:half], samples[half:]
            growth = (second[-1][1] - second[0][1]) / max(second[-1][0] - second[0][0], 1e-9)
            print(f"\nfirst half: {first[0][1]:.0f} -> {first[-1][1]:.0f} MB; second half: {second[0][1]:.0f} -> "
                  f"{second[-1][1]:.0f} MB ({growth:+.1f} MB/min); still serving: {server.alive()}")  # fmt: skip
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
