"""A micro-batcher: concurrent requests that share a model, sampler and timesteps run as one batched loop.

A class pressing Generate at once sends dozens of small requests. At batch 1-4 the UNet on a CPU is bound by the
per-call cost of its operators, not by arithmetic, so running the requests together does several times more work per
second. ``Batcher.submit`` is called from each request's thread and blocks until that request's rows are done; one
worker thread (or ``num_workers``, each taking the next group while the others run theirs) collects the requests
that arrive together (it waits ``window_s`` after the first, and again while more
keep coming, up to ``max_window_s``), groups them by (model, ``SamplingJob.group_key``) and runs each group, up to
``max_rows`` images, as one ``sampling.SamplingRun``; a group larger than that is cut into equal runs, not into full
ones and a small remainder (a run of 4 images costs almost what one of 48 does). With ``join_running`` requests
that arrive later join a run under way, each as a sampler loop of its own beside the others (see ``Batcher``).
Each request keeps its own seeds, classes, guidance, eta, callback, previews and stop (see ``sampling``). Past
``max_queued_rows`` waiting images a new request is refused at once with ``ServerBusy``, whose message says when to
try again.

The workers are the threads that should run torch with several threads (``num_threads`` each). torch's intra-op
threads are OpenMP teams, and each application thread that runs a parallel op gets a team of its own; once the
teams hold more threads than there are cores, libgomp stops letting idle team threads spin and puts them to sleep
after every one of the UNet's ~2,000 small parallel regions. Measured on 2 cores (Fashion-MNIST UNet, batch 64): 26 ms
a call in the only thread with a team, 48-64 ms in a thread while the main thread had a team of 2 too. So an app
keeps every other thread at one torch thread (``OMP_NUM_THREADS=1`` before torch is imported, see app.py) and gives
the workers the cores (on 2 cores: two workers of one thread, see ``Batcher``).

When the queue runs empty the worker hands the memory that the C allocator holds free back to the system
(``release_free_memory``: glibc's ``malloc_trim``). Every new batch size makes new work buffers (and oneDNN
primitives), and glibc keeps what was freed for the next request instead of returning it, so a server that has seen
many batch sizes sits hundreds of MB higher for good: the Fashion-MNIST UNet at each batch size 1-130 in turn rose
from 540 to 835 MB and stayed at 753-760 MB; trimmed after each call it stayed at 612 MB (benchmarks/bench_memory.py).

Testable without Gradio: it knows nothing of the app.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .sampling import SamplingJob, SamplingModel, SamplingRun

log = logging.getLogger(__name__)


def _load_libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:  # no C library to load by name (Windows): nothing to call
        return None


_libc = _load_libc()
_malloc_trim = getattr(_libc, "malloc_trim", None)  # glibc only (not musl, macOS)
SAMPLER_THREAD = "ldm-sampler"  # the workers' name in the OS (top -H, /proc/PID/task/TID/comm; benchmarks read it)


def name_os_thread(name: str) -> bool:
    """Give the calling thread ``name`` (15 bytes at most) in the OS, where Python's thread names do not reach, so
    its CPU time can be told apart from the server's other threads; False where there is no prctl (not Linux)."""
    prctl = getattr(_libc, "prctl", None)
    return prctl is not None and prctl(15, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0) == 0  # 15: PR_SET_NAME


def release_free_memory() -> bool:
    """Return the free memory of the C heap to the system (glibc ``malloc_trim(0)``, 3 ms median measured); False
    where there is no glibc."""
    if _malloc_trim is None:
        return False
    _malloc_trim(0)
    return True


class ServerBusy(RuntimeError):
    """Too many images are waiting; ``retry_after_s`` estimates when there is room again."""

    def __init__(self, queued_rows: int, limit: int, retry_after_s: float):
        self.retry_after_s = retry_after_s
        super().__init__(
            f"The server is busy: {queued_rows} images are waiting (at most {limit}). "
            f"Please try again in about {max(1, round(retry_after_s))} s."
        )


@dataclass
class _Request:
    model: SamplingModel
    job: SamplingJob
    done: threading.Event = field(default_factory=threading.Event)
    result: Tensor | BaseException | None = None

    @property
    def key(self) -> tuple:
        return (id(self.model), self.job.group_key)


@dataclass
class BatchRecord:
    """What one batched run held, for tests and benchmarks."""

    requests: int
    images: int
    seconds: float


class Batcher:
    """Merges concurrent ``SamplingJob``s into batched runs on one worker thread.

    window_s: how long the worker waits after the first request of a batch for others to join, and again while new
        ones keep arriving.
    max_window_s: the longest it waits so in all (default: 0.25 s, or window_s if longer).
    max_rows: the most images in one batched run (bounds memory); a larger single request runs alone.
    max_queued_rows: the most images waiting; past it ``submit`` raises ``ServerBusy``.
    num_threads: torch threads of the worker thread (its own OpenMP team, see the module's docstring); None leaves
        the thread's default.
    trim_when_idle: return the allocator's free memory to the system each time the queue runs empty.
    num_workers: worker threads, each with ``num_threads`` torch threads, each taking the next group while the
        others run theirs; what waits is cut into at least as many runs as there are idle workers (whole requests
        per run). Under a burst, two one-thread runs side by side on 2 cores beat one two-thread run, whose OpenMP
        team waits at each of its ~2,000 parallel ops for whichever core the server's other threads hold. (Sharing
        the cores per call instead, all threads to a run alone, was slower: with two workers' teams alive libgomp
        counts more threads than cores and lets none of them spin.)
    join_running: let waiting requests of the run's model and latent shape, whatever their sampler and steps, join
        a run that is under way (``_admit``: up to ``max_rows``, the lighter run first) instead of waiting for a
        worker to end its run. Off by default, as measured on 2 cores (AVX-512, Fashion-MNIST, two one-thread
        workers, ``max_rows`` 64): 48 mixed requests (generate, interpolate, img2img, inpaint) in a script took
        2.49-2.90 s instead of 3.13-3.39 s, but a class of 50 pressing Generate through app.py
        (benchmarks/bench_serving.py, runs alternated) took 6.1-8.4 s instead of 5.6-7.1 s, with 1-3 s more of the
        server's CPU: the requests then end together at the end of the burst, not run after run, and all 50 are
        open in Gradio at once. Measured again with the event loop's costs cut (demo/event_loop.py): 6.4 s against
        4.6-5.5 s, the sampler's CPU 6.0-6.2 s against 4.5-5.3 s a burst (each admission is a sampler loop of its
        own); joining only once per run, in its first third of steps: no difference.
    """

    def __init__(self, window_s: float = 0.03, max_rows: int = 128, max_queued_rows: int = 2048,
                 num_threads: int | None = None, trim_when_idle: bool = True,
                 max_window_s: float | None = None, num_workers: int = 1, join_running: bool = False):  # fmt: skip
        max_window_s = max(window_s, 0.25) if max_window_s is None else max_window_s
        if (window_s < 0 or max_window_s < window_s or max_rows < 1 or max_queued_rows < 1
                or (num_threads is not None and num_threads < 1) or num_workers < 1):  # fmt: skip
            raise ValueError(
                f"need 0 <= window_s <= max_window_s, max_rows >= 1, max_queued_rows >= 1, num_threads >= 1 or None, "
                f"num_workers >= 1, got {window_s}, {max_window_s}, {max_rows}, {max_queued_rows}, {num_threads}, "
                f"{num_workers}"
            )
        self.num_workers = num_workers
        self.join_running = join_running
        self.max_window_s = max_window_s
        self.num_threads = num_threads
        self.trim_when_idle = trim_when_idle
        self.trims = 0  # times the worker released free memory (for tests)
        self.window_s = window_s
        self.max_rows = max_rows
        self.max_queued_rows = max_queued_rows
        self.history: deque[BatchRecord] = deque(maxlen=256)
        self._pending: list[_Request] = []
        self._cond = threading.Condition()
        self._workers: list[threading.Thread] = []
        self._seconds_per_image = 0.05  # running estimate, for the retry-after message
        self._running_rows = 0  # images in the runs under way (all workers)
        self._active_runs = 0  # runs under way (all workers)
        self._runs: list[SamplingRun] = []  # the runs under way, for _admit
        self._arrivals = 0  # requests submitted so far, for _gather

    # ------------------------------------------------------------------ the caller's side
    def submit(self, model: SamplingModel, job: SamplingJob) -> Tensor:
        """Run ``job`` (possibly together with others) and return its final latents; re-raise what dropped it."""
        request = _Request(model, job)
        with self._cond:
            queued = sum(r.job.num_images for r in self._pending) + self._running_rows
            if queued + job.num_images > self.max_queued_rows and queued > 0:
                raise ServerBusy(queued, self.max_queued_rows, queued * self._seconds_per_image)
            self._pending.append(request)
            self._arrivals += 1
            self._workers = [w for w in self._workers if w.is_alive()]
            while len(self._workers) < self.num_workers:  # the first submit, or after the workers went idle
                self._workers.append(threading.Thread(target=self._loop, name="ldm-batcher", daemon=True))
                self._workers[-1].start()
            self._cond.notify_all()
        request.done.wait()
        if isinstance(request.result, BaseException):
            raise request.result
        assert request.result is not None
        return request.result

    def runner(self, model: SamplingModel) -> Callable[[SamplingJob], Tensor]:
        """``job -> latents`` through this batcher, for ``LatentDiffusionPipeline.batcher``-style wiring."""
        return lambda job: self.submit(model, job)

    # ------------------------------------------------------------------ the worker
    def _take_group(self) -> list[_Request]:
        """The oldest request's group, oldest first: at least that request, up to ``max_rows`` images and, when the
        waiting requests of its kind need n runs, about 1/n of their images (equal runs, no small remainder); n is
        rounded up to a multiple of the workers. Measured on 2 cores (benchmarks/bench_serving.py, a class of 50 at
        the defaults): 192 waiting images went out as three runs of 64, the third on one worker while the other
        idled (7.5 s); as four runs of 48 each worker takes two.

        While other workers have runs under way, this worker takes its fair part of all that is left instead, what
        waits plus what those runs have to go (``SamplingRun.work_left``, in image-steps), so that the workers end
        about together: runs start as a burst arrives, not at once, and the equal split of what waited let one
        worker run on alone for 0.2-1.5 s at the end of a burst of 50 (the two last runs' ends, traced in 6 bursts;
        0.3-0.6 s with it, in 3). With it and 100 images a run, in two alternated series of 6 bursts of 50 each against
        the equal split and 64 a run: medians 4.9 s (4.4-6.0) and 4.95 s (4.8-5.8) against 5.4 s (4.8-6.4) and
        5.75 s (4.9-6.7)."""
        key = self._pending[0].key
        kind = [r for r in self._pending if r.key == key]
        waiting = sum(r.job.num_images for r in kind)
        idle = self.num_workers - self._active_runs  # this worker included
        runs = max(-(-waiting // self.max_rows), min(idle, len(kind)))
        if runs > 1:  # a multiple of the workers: no worker idles while a burst's last run runs alone on another
            runs = min(len(kind), -(-runs // self.num_workers) * self.num_workers)
        share = -(-waiting // runs)  # ceil(waiting / runs) <= max_rows
        busy = sum(run.work_left() for run in self._runs)  # image-steps the other workers' runs have left
        if busy:  # this worker's fair part of all that is left, so that the workers end about together
            steps = len(kind[0].job.timesteps)
            share = min(self.max_rows, -(-(waiting * steps + busy) // (steps * self.num_workers)))
        group, rows = [], 0
        for r in self._pending:
            if r.key == key and (not group or (rows < share and rows + r.job.num_images <= self.max_rows)):
                group.append(r)
                rows += r.job.num_images
        taken = set(map(id, group))
        self._pending = [r for r in self._pending if id(r) not in taken]
        self._running_rows += rows
        self._active_runs += 1
        return group

    def _gather(self) -> None:
        """Let the rest of a burst arrive: wait ``window_s``, and again while new requests came in the last wait (a
        class of 50 reached it over 0.17 s, in steps of up to 30 ms), ``max_window_s`` at most, or until a full run
        waits."""
        if not self.window_s:
            return
        deadline = time.monotonic() + self.max_window_s
        seen = -1
        while True:
            with self._cond:  # arrivals, not what waits: another worker taking its run is no reason to wait on
                count, rows = self._arrivals, sum(r.job.num_images for r in self._pending)
            if count == seen or rows >= self.max_rows or time.monotonic() >= deadline:
                return
            seen = count
            time.sleep(min(self.window_s, max(0.0, deadline - time.monotonic())))

    def _admit(self, run: SamplingRun, model: SamplingModel) -> list[_Request]:
        """What joins ``run`` before its next step (called under the lock): the oldest waiting requests of its
        model and latent shape, up to ``max_rows`` images in the run, while no worker is idle (an idle one takes
        them as a run of its own, side by side) and while this run holds no more images than the lightest other
        run (that one takes the next). Nothing while the oldest waiting request is of another kind: the run then
        ends and that request goes next, so a busy kind never starves another."""
        if not self.join_running or not self._pending or self._active_runs < self.num_workers:
            return []
        fits = lambda r: r.model is model and r.job.batch_key == run.shape  # noqa: E731
        others = [r.rows for r in self._runs if r is not run]
        rows, taken = run.rows, []
        for r in self._pending:
            if not fits(r) or rows + r.job.num_images > self.max_rows or (others and rows > min(others)):
                break
            taken.append(r)
            rows += r.job.num_images
        if taken:
            del self._pending[: len(taken)]
            self._running_rows += sum(r.job.num_images for r in taken)
        return taken

    def _loop(self) -> None:
        name_os_thread(SAMPLER_THREAD)
        if self.num_threads is not None:
            torch.set_num_threads(self.num_threads)  # this thread's team (OpenMP settings are per thread)
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._pending, timeout=30.0):
                    self._workers = [w for w in self._workers if w is not threading.current_thread()]
                    return  # idle: the next submit starts fresh workers
            self._gather()
            with self._cond:
                if not self._pending:  # another worker took what had gathered
                    continue
                group = self._take_group()
            self._run(group)
            with self._cond:
                idle = not self._pending
            if idle and self.trim_when_idle and release_free_memory():
                self.trims += 1

    def _finish(self, request: _Request, result: Tensor | BaseException) -> None:
        with self._cond:
            self._running_rows -= request.job.num_images
        request.result = result
        request.done.set()

    def _run(self, group: Sequence[_Request]) -> None:
        """Run ``group`` and what joins it (``_admit``) step by step; each request is answered when its loop ends."""
        start = time.perf_counter()
        model = group[0].model
        run = SamplingRun(model)
        live: dict[int, _Request] = {}
        joined = list(group)
        try:
            live.update((id(r.job), r) for r in group)
            run.add([r.job for r in group])
            with self._cond:  # seen by the other workers (_admit, _take_group) once it holds its jobs
                self._runs.append(run)
            while run:
                with self._cond:
                    newcomers = self._admit(run, model)
                if newcomers:
                    joined += newcomers
                    try:
                        run.add([r.job for r in newcomers])
                    except Exception as e:  # what cannot start fails alone; the run goes on
                        for r in newcomers:
                            self._finish(r, e)
                    else:
                        live.update((id(r.job), r) for r in newcomers)
                for job, result in run.step():
                    self._finish(live.pop(id(job)), result)
        except BaseException as e:
            log.exception("a batched sampling run failed")
            for r in live.values():
                self._finish(r, e)
        seconds = time.perf_counter() - start
        images = sum(r.job.num_images for r in joined)
        self.history.append(BatchRecord(len(joined), images, seconds))
        log.info("batched run: %d requests, %d images, %.3f s", len(joined), images, seconds)
        with self._cond:
            if run in self._runs:  # not when its first jobs failed to start
                self._runs.remove(run)
            self._seconds_per_image = 0.7 * self._seconds_per_image + 0.3 * seconds / max(images, 1)
            self._active_runs -= 1
