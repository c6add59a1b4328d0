"""A class at once: launch app.py, let N students press the same button within the same second, and print what
they got (errors, latency, wall time), the same requests one at a time in the same run, and the server's memory.

Each student is one gradio_client.Client in its own thread; a barrier releases them together. Like a browser tab,
a student then fetches the images of its answer over one HTTP connection (``fetch_files``): gradio_client's
own downloads open a fresh connection that loads the CA bundle for every file (0.6 s of CPU per Generate here),
and the client is told not to verify certificates (``ssl_verify=False``: the server is plain http on loopback), or
the clients, which run on the server's machine, would take its cores. The arguments are the
app's own default widget values (read from its API info, see app_workload.py). Everything is bounded: each request
by --timeout, the whole run by --max-minutes (phases that would start later are skipped), and the server is stopped
at the end. Not part of the test run.

    python benchmarks/bench_serving.py                                  # 10, 30, 50 students at Generate
    python benchmarks/bench_serving.py --students 5 --endpoint mixed    # generate/interpolate/edit/inpaint
    python benchmarks/bench_serving.py --students 30 --no-sequential --vary-seeds
    python benchmarks/bench_serving.py --unet eager torchscript         # both, one server after the other
    python benchmarks/bench_serving.py --students 50 --repeat 3         # three bursts of 50, the median ratio
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # gradio_client asks the hub otherwise
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from app_server import (
    ROOT,
    SAMPLER_THREAD,
    UNET_MODES,
    MemorySampler,
    batch_runs,
    cpu_s_of,
    launch,
    peak_rss_mb,
    thread_cpu_s,
    tree_rss_mb,
)
from app_workload import MIXED, Workload
from gradio_client import Client


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)  # seconds, served requests only
    errors: Counter = field(default_factory=Counter)  # "QueueError: Queue is full! Please try again." -> count
    wall_s: float = 0.0  # first request sent -> last answer (or error)

    @property
    def served(self) -> int:
        return len(self.latencies)


def short_error(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e).splitlines()[0][:90] if str(e) else ''}"


def student_client(url: str) -> Client:
    """A student's client: answers come as file URLs, fetched by ``fetch_files`` (see the module's docstring)."""
    return Client(url, verbose=False, download_files=False, ssl_verify=False)  # plain http on loopback: no CA load


def file_urls(value: Any) -> list[str]:
    """Every served file's URL in an answer (gradio.FileData dicts, nested in lists and gallery items)."""
    if isinstance(value, dict):
        url = value.get("url")
        own = [url] if isinstance(url, str) and value.get("path") else []
        return own + [u for v in value.values() if isinstance(v, dict | list | tuple) for u in file_urls(v)]
    if isinstance(value, list | tuple):
        return [u for v in value for u in file_urls(v)]
    return []


def fetch_files(http: httpx.Client, answer: Any) -> int:
    """GET each distinct file of an answer, as the page does to show it; -> bytes fetched. Raises on HTTP errors."""
    size = 0
    for url in dict.fromkeys(file_urls(answer)):
        r = http.get(url)
        r.raise_for_status()
        size += len(r.content)
    return size


def call(client: Client, endpoint: str, kwargs: dict[str, Any], timeout_s: float) -> float:
    """One request to the end of its stream and its images fetched; its latency in seconds. Raises what the client
    raised."""
    t0 = time.perf_counter()
    job = client.submit(**kwargs, api_name=f"/{endpoint}")
    try:
        answer = job.result(timeout=timeout_s)
    except TimeoutError:
        job.cancel()
        raise
    with httpx.Client(timeout=timeout_s, verify=False) as http:  # plain http: loading no CA bundle keeps it cheap
        if not fetch_files(http, answer):
            raise RuntimeError("the answer held no images")
    return time.perf_counter() - t0


def burst(clients: list[Client], plan: list[tuple[str, dict]], timeout_s: float) -> Outcome:
    """Every student fires at the same moment (a barrier), each with its own client, in its own thread."""
    out = Outcome()
    lock = threading.Lock()
    barrier = threading.Barrier(len(clients) + 1)
    finished: list[float] = []

    def student(client: Client, endpoint: str, kwargs: dict) -> None:
        barrier.wait()
        try:
            latency = call(client, endpoint, kwargs, timeout_s)
            with lock:
                out.latencies.append(latency)
        except Exception as e:  # every failure is a result of the benchmark, counted by message
            with lock:
                out.errors[short_error(e)] += 1
        with lock:
            finished.append(time.perf_counter())

    threads = [threading.Thread(target=student, args=(c, *p), daemon=True) for c, p in zip(clients, plan)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(timeout=max(0.0, t0 + timeout_s + 30 - time.perf_counter()))
    stuck = sum(t.is_alive() for t in threads)
    if stuck:
        out.errors[f"no answer within {timeout_s + 30:.0f} s"] += stuck
    out.wall_s = (max(finished) if finished else time.perf_counter()) - t0
    return out


def one_at_a_time(client: Client, plan: list[tuple[str, dict]], timeout_s: float) -> Outcome:
    out = Outcome()
    t0 = time.perf_counter()
    for endpoint, kwargs in plan:
        try:
            out.latencies.append(call(client, endpoint, kwargs, timeout_s))
        except Exception as e:
            out.errors[short_error(e)] += 1
    out.wall_s = time.perf_counter() - t0
    return out


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if q < 100 else max(values)


def row(label: str, n: int, o: Outcome, peak_mb: float) -> str:
    lat = o.latencies
    return (f"| {label} | {n} | {o.served} | {sum(o.errors.values())} | {pct(lat, 50):.2f} | {pct(lat, 95):.2f} | "
            f"{max(lat, default=float('nan')):.2f} | {o.wall_s:.1f} | {o.served / o.wall_s if o.wall_s else 0:.2f} | "
            f"{peak_mb:.0f} |")  # fmt: skip


def cpu_s() -> float:
    """CPU seconds this benchmark process (the students' clients) has used, all its threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def phase_cpu(server_pid: int):
    """Start a phase's CPU count; the returned function gives the table's three CPU cells since: the clients', the
    server's, and of that the sampler workers' (threads named ldm-sampler; the rest is Gradio, the handlers, decoding
    and PNGs)."""
    client, server = cpu_s(), cpu_s_of(server_pid)
    workers = thread_cpu_s(server_pid, SAMPLER_THREAD)

    def cells() -> str:
        now = thread_cpu_s(server_pid, SAMPLER_THREAD)  # a worker that started in the phase counts from 0
        sampling = sum(v - workers.get(tid, 0.0) for tid, v in now.items())
        return f"{cpu_s() - client:.1f} | {cpu_s_of(server_pid) - server:.1f} | {sampling:.1f} |"

    return cells


def measure(args: argparse.Namespace, unet: str) -> None:
    """Launch app.py with its denoisers run as ``unet``, run every phase, print the table and notes, stop it."""
    t0 = time.perf_counter()
    server = launch(args.run_dir, unet=unet)
    deadline = time.perf_counter() + args.max_minutes * 60
    sampler = MemorySampler(server.pid)
    try:
        print(f"## denoisers: {unet}\n")
        print(f"app.py ready in {server.ready_s:.1f} s at {server.url} (pid {server.pid}, "
              f"{tree_rss_mb(server.pid):.0f} MB RSS idle); torch threads: "
              f"{os.environ.get('LDM_NUM_THREADS', 'all cores')}, {os.cpu_count()} CPUs")  # fmt: skip
        if unet != "eager":
            built = [ln for ln in Path(server.log_path).read_text().splitlines() if ln.startswith("LDM Explorer:")]
            print(f"graphs built {time.perf_counter() - t0 - server.ready_s:.1f} s after the app was ready:", *built,
                  sep="\n")  # fmt: skip
        probe = student_client(server.url)
        work = Workload(probe, Path(args.run_dir) / "uploads", vary_seeds=args.vary_seeds)
        first = work.plan(args.endpoint, 1)
        print(f"endpoint {args.endpoint}; first request's arguments (app defaults): {first[0][1]}")
        warm = one_at_a_time(probe, first, args.timeout)  # first call: lazy imports, allocator warm-up
        print(f"warm-up request: {warm.wall_s:.2f} s, errors: {dict(warm.errors) or 'none'}\n")
        sampler.take_peak()
        lines = ["| phase | students | served | errors | p50 s | p95 s | max s | wall s | served/s | peak RSS MB | "
                 "client CPU s | server CPU s | of it sampler s |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        notes: list[str] = []
        peaks: list[float] = []
        for n in args.students:
            if time.perf_counter() > deadline:
                notes.append(f"{n} students: skipped, past --max-minutes {args.max_minutes}")
                continue
            plan = work.plan(args.endpoint, n)
            bursts: list[Outcome] = []
            for rep in range(args.repeat):  # the same burst again: its wall time varies by seconds between runs
                clients = [student_client(server.url) for _ in range(n)]
                sampler.take_peak()
                used = phase_cpu(server.pid)
                _, log_at = batch_runs(server.log_path)
                print(f"burst of {n} starts", file=sys.stderr, flush=True)  # a profiler can attach from here
                b = burst(clients, plan, args.timeout)
                bursts.append(b)
                peaks.append(sampler.take_peak())
                time.sleep(0.2)  # the log's last line
                runs, _ = batch_runs(server.log_path, log_at)
                label = "burst" if args.repeat == 1 else f"burst {rep + 1}/{args.repeat}"
                notes.append(f"{n} students, {label}: {len(runs)} sampler runs (requests/images/seconds: "
                             f"{', '.join(f'{r}/{i}/{t:.2f}' for r, i, t in runs)}), sampling "
                             f"{sum(t for *_, t in runs):.1f} s of the {b.wall_s:.1f} s")  # fmt: skip
                lines.append(f"{row(label, n, b, peaks[-1])} {used()}")
                for c in clients:
                    c.close()
                for msg, k in b.errors.most_common():
                    notes.append(f"{n} students, {label}: {k} x {msg}")
            if args.no_sequential or time.perf_counter() > deadline:
                continue
            used = phase_cpu(server.pid)
            s = one_at_a_time(probe, plan, args.timeout)
            peaks.append(sampler.take_peak())
            lines.append(f"{row('one at a time', n, s, peaks[-1])} {used()}")
            for msg, k in s.errors.most_common():
                notes.append(f"{n} students, one at a time: {k} x {msg}")
            ratios = [(b.served / b.wall_s) / (s.served / s.wall_s) for b in bursts if b.served and b.wall_s]
            if ratios and s.served and s.wall_s:
                spread = f" (median of {len(ratios)}: {min(ratios):.2f}-{max(ratios):.2f}x)" if len(ratios) > 1 else ""
                walls = ", ".join(f"{b.wall_s:.1f}" for b in bursts)
                notes.append(f"{n} students: burst throughput / one-at-a-time throughput = "
                             f"{statistics.median(ratios):.2f}x{spread} ({bursts[-1].served} served in {walls} s vs "
                             f"{s.served} in {s.wall_s:.1f} s)")  # fmt: skip
        print("\n".join(lines))
        print()
        for note in notes:
            print("-", note)
        print(f"- server peak memory: VmHWM of app.py {peak_rss_mb(server.pid):.0f} MB; sampled RSS of app.py and its "
              f"children, highest of the run: {max(peaks, default=0):.0f} MB (per phase in the table)")  # fmt: skip
        print(
            "- client CPU s: what this benchmark's own clients used of the same cores in that phase; server CPU s: "
            f"what app.py used in it (all threads; {os.cpu_count()} cores give {os.cpu_count()} x wall s at most); "
            "of it sampler s: its sampler workers' threads (the rest: Gradio's event loop, the handlers' threads, "
            "decoding and PNGs)\n"
        )
        probe.close()
    finally:
        sampler.stop()
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, nargs="+", default=[10, 30, 50], help="class sizes, one burst each")
    ap.add_argument("--endpoint", default="generate", help=f"an endpoint of the app, or 'mixed' ({', '.join(MIXED)})")
    ap.add_argument("--vary-seeds", action="store_true", help="student i uses seed default + i (default: all alike)")
    ap.add_argument("--no-sequential", action="store_true", help="skip the same requests one at a time")
    ap.add_argument("--repeat", type=int, default=1, help="bursts of each class size (the ratio is their median)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds one request may take")
    ap.add_argument("--max-minutes", type=float, default=30.0, help="skip the phases that would start after this "
                                                                    "(per server)")  # fmt: skip
    ap.add_argument("--run-dir", default=str(ROOT / "runs" / "bench_serving"), help="server log and cache folder")
    ap.add_argument("--unet", nargs="+", default=["torchscript"], choices=sorted(UNET_MODES),
                    help="how app.py runs its denoisers (LDM_COMPILE); several: one server after the other, same "
                         "phases (default: torchscript, the app's default)")  # fmt: skip
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error(f"--repeat must be 1 or more, got {args.repeat}")
    for unet in args.unet:
        measure(args, unet)


if __name__ == "__main__":
    main()
