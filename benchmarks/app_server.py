"""app.py launched as a real server for the serving benchmarks: a free loopback port, the time until it answers,
its memory (the process and its children, from /proc) and the size of its Gradio cache folder.

Used by bench_serving.py, bad_input_campaign.py and soak.py; not a benchmark itself.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------- memory from /proc
def _status_kb(pid: int, key: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of /proc/<pid>/status in kB (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (read from the parent ids in /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "(comm)": state, ppid, ...
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children together, in MB (VmRSS summed)."""
    return sum(_status_kb(p, "VmRSS") for p in process_tree(pid)) / 1024


def _stat_cpu_s(path: str) -> float:
    with open(path) as f:
        fields = f.read().rpartition(")")[2].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15


def cpu_s_of(pid: int) -> float:
    """CPU seconds (user + system) that ``pid`` has used so far, all its threads (/proc/PID/stat)."""
    return _stat_cpu_s(f"/proc/{pid}/stat")


SAMPLER_THREAD = "ldm-sampler"  # ldm_core.batching.SAMPLER_THREAD (not imported: it would load torch into the clients)


def thread_cpu_s(pid: int, name: str) -> dict[int, float]:
    """CPU seconds so far of each live thread of ``pid`` whose OS name is ``name`` (/proc/PID/task/TID/comm; the
    batcher's workers name themselves ``ldm-sampler``), by thread id."""
    out: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "comm").read_text().strip() == name:
                out[int(task.name)] = _stat_cpu_s(str(task / "stat"))
        except (OSError, ValueError):
            continue  # the thread ended meanwhile
    return out


def peak_rss_mb(pid: int) -> float:
    """The kernel's high-water mark of ``pid``'s own resident memory (VmHWM), in MB."""
    return _status_kb(pid, "VmHWM") / 1024


class MemorySampler:
    """Samples the server's tree RSS every ``interval_s`` in a daemon thread; ``take_peak()`` returns the highest
    value since the last call (so each phase of a benchmark gets its own peak)."""

    def __init__(self, pid: int, interval_s: float = 0.2):
        self.pid, self.interval_s = pid, interval_s
        self._peak = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._run, name="rss-sampler", daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            rss = tree_rss_mb(self.pid)
            with self._lock:
                self._peak = max(self._peak, rss)

    def take_peak(self) -> float:
        with self._lock:
            peak, self._peak = max(self._peak, tree_rss_mb(self.pid)), 0.0
        return peak

    def stop(self) -> None:
        self._stop.set()


# ---------------------------------------------------------------------- the cache folder
@dataclass
class CacheSize:
    files: int
    dirs: int
    mb: float  # bytes of the files

    def __str__(self) -> str:
        return f"{self.mb:.2f} MB in {self.files} files ({self.dirs} folders)"


def cache_size(folder: str | os.PathLike) -> CacheSize:
    files = dirs = size = 0
    for root, dnames, fnames in os.walk(folder):
        dirs += len(dnames)
        for f in fnames:
            try:
                size += os.lstat(os.path.join(root, f)).st_size
                files += 1
            except OSError:
                continue
    return CacheSize(files, dirs, size / MB)


# ---------------------------------------------------------------------- the server
@dataclass
class AppServer:
    proc: subprocess.Popen
    url: str  # http://127.0.0.1:<port>/
    ready_s: float  # from the start of the process until /config answered
    cache_dir: str  # GRADIO_TEMP_DIR of the server
    log_path: str
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace_s: float = 10.0) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(grace_s)


UNET_MODES = {"eager": "0", "torchscript": "torchscript", "inductor": "1"}  # -> LDM_COMPILE of app.py


def launch(run_dir: str | os.PathLike, ready_timeout_s: float = 180.0, env: dict[str, str] | None = None,
           unet: str = "torchscript", compile_timeout_s: float = 1800.0, root: Path = ROOT) -> AppServer:  # fmt: skip
    """Start ``python app.py`` on a free 127.0.0.1 port (log and cache folder under ``run_dir``) with its denoisers
    run as ``unet`` (one of UNET_MODES; app.py's default is torchscript); return once it answers /config and, unless
    eager, says its denoisers' graphs are built. ``root``: the checkout whose app.py runs. Raises RuntimeError (with
    the log's tail) if it exits or does not answer in time."""
    if unet not in UNET_MODES:
        raise ValueError(f"unet must be one of {sorted(UNET_MODES)}, got {unet!r}")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cache_dir = run_dir / "gradio-cache"
    server_env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "GRADIO_TEMP_DIR": str(cache_dir),
        "LDM_COMPILE": UNET_MODES[unet],
        "LDM_LOG_BATCHES": "1",  # the batcher's runs in the log (batch_runs)
        **(env or {}),
    }
    log_path = run_dir / f"app-{port}.log"
    url = f"http://127.0.0.1:{port}/"
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "app.py"], cwd=root, env=server_env, stdout=log, stderr=subprocess.STDOUT
        )
    server = AppServer(proc, url, 0.0, str(cache_dir), str(log_path), server_env)
    while time.perf_counter() - t0 < ready_timeout_s:
        if not server.alive():
            raise RuntimeError(f"app.py exited with {proc.returncode}:\n{log_tail(log_path)}")
        try:
            with urllib.request.urlopen(url + "config", timeout=2) as r:
                if r.status == 200:
                    server.ready_s = time.perf_counter() - t0
                    if unet != "eager":
                        wait_for_compile(server, compile_timeout_s)
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"app.py did not answer within {ready_timeout_s:.0f} s:\n{log_tail(log_path)}")


BATCH_RUN = re.compile(r"ldm_core\.batching: batched run: (\d+) requests, (\d+) images, ([\d.]+) s")


def batch_runs(log_path: str | os.PathLike, start: int = 0) -> tuple[list[tuple[int, int, float]], int]:
    """The batcher's runs logged after byte ``start`` of the server's log: [(requests, images, seconds)], and the
    log's size now (the next call's ``start``)."""
    data = Path(log_path).read_bytes()
    text = data[start:].decode(errors="replace")
    return [(int(a), int(b), float(c)) for a, b, c in BATCH_RUN.findall(text)], len(data)


def wait_for_compile(server: AppServer, timeout_s: float) -> float:
    """Wait until the server's log says every denoiser is compiled (``demo.registry.COMPILE_DONE``); -> seconds."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from demo.registry import COMPILE_DONE

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        if not server.alive():
            raise RuntimeError(f"app.py exited while compiling:\n{log_tail(server.log_path)}")
        if COMPILE_DONE in Path(server.log_path).read_text(errors="replace"):
            return time.perf_counter() - t0
        time.sleep(1.0)
    raise RuntimeError(f"app.py did not finish compiling within {timeout_s:.0f} s:\n{log_tail(server.log_path)}")


def log_tail(path: str | os.PathLike, lines: int = 30) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
