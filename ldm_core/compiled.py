"""The denoiser through ``torch.compile``: Inductor's fused C++ kernels instead of ~2,000 small eager ops per call.

A small UNet on a 7x7 latent is bound by per-op overhead on a CPU, not by arithmetic: an eager call at batch 2 runs
about 2,300 ATen ops of microseconds each. Compiled, the same call is a few fused kernels. Compiling takes minutes on
a 2-core CPU, so it happens off the request path (``CompiledUNet.warm_up``, e.g. in a background thread): until it
has finished and its outputs have been checked against the eager module, every call runs eager; if it fails (no C++
compiler, an unsupported op), the error is kept and calls stay eager. The batch dimension is compiled dynamic (one
graph for every batch size), after one static graph for the first warm-up size.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor

from .unet import UNet

log = logging.getLogger(__name__)

WARMUP_BATCH_SIZES = (2, 4)  # 2: one image with guidance (its own static graph); 4: makes the batch size dynamic
SMALL_BATCH = 8  # UNet calls of at most this many rows run on one torch thread (benchmarks/bench_threads.py)
MAX_ABS_ERROR = 1e-3  # compiled vs eager output on the warm-up inputs; float32 reorderings give ~1e-6


@contextmanager
def threads_for_batch(rows: int) -> Iterator[None]:
    """One torch thread for a call of at most SMALL_BATCH rows, the process's setting otherwise.

    A small UNet at a small batch has too little work per op to share: measured on 2 cores (Fashion-MNIST UNet),
    batch 2 took 16.6 ms on 2 threads and 11.3 ms on one, batch 8 23.0 vs 20.6 ms, batch 32 42.0 vs 54.2 ms.
    Switching costs ~0.1 ms. (torch's thread count is per process: a call on another thread meanwhile runs with
    the count in force, which changes its speed, not its result beyond float reordering.)
    """
    n = torch.get_num_threads()
    if rows > SMALL_BATCH or n == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


class CompiledUNet:
    """Calls ``unet(x, t, class_emb=...)`` compiled once warmed up, eager before (and if compiling failed)."""

    def __init__(self, unet: UNet, latent_shape: tuple[int, int, int]):
        self.unet = unet
        self.latent_shape = tuple(latent_shape)  # (c, h, w) of the warm-up inputs
        self.compiled = None  # the compiled callable, set by warm_up once checked
        self.error: BaseException | None = None  # why compiling failed, if it did
        self.seconds: float | None = None  # how long warm_up took
        self.max_abs_error: float | None = None  # compiled vs eager on the warm-up inputs
        self._lock = threading.Lock()  # one compiled call at a time (dynamo's caches are not made for threads)

    @property
    def ready(self) -> bool:
        return self.compiled is not None

    def __call__(self, x: Tensor, t: Tensor, class_emb: Tensor) -> Tensor:
        fn = self.compiled
        if fn is None:
            return self.unet(x, t, class_emb=class_emb)
        with self._lock:
            return fn(x, t, class_emb=class_emb)

    def warm_up(self, batch_sizes: Sequence[int] = WARMUP_BATCH_SIZES) -> bool:
        """Compile for these batch sizes and check each against eager; True if calls now run compiled."""
        start = time.perf_counter()
        try:
            fn = torch.compile(self.unet)
            num_classes, shape = self.unet.config.num_classes, self.latent_shape
            worst = 0.0
            with torch.inference_mode():
                for b in batch_sizes:
                    g = torch.Generator().manual_seed(b)
                    x = torch.randn((b, *shape), generator=g)
                    t = torch.randint(0, 1000, (b,), generator=g)
                    emb = self.unet.embed_class(torch.randint(0, num_classes, (b,), generator=g))
                    got, want = fn(x, t, class_emb=emb), self.unet(x, t, class_emb=emb)
                    worst = max(worst, float((got - want).abs().max()))
            if not worst <= MAX_ABS_ERROR:
                raise RuntimeError(f"compiled UNet differs from eager by {worst:.2e} (allowed {MAX_ABS_ERROR:g})")
        except Exception as e:  # no compiler, an op Inductor cannot lower, a wrong result: stay eager
            self.error = e
            log.warning("torch.compile of the UNet failed, calls stay eager: %s", e)
            return False
        finally:
            self.seconds = time.perf_counter() - start
        self.max_abs_error = worst
        self.compiled = fn
        log.info("UNet compiled in %.0f s (max |compiled - eager| %.1e)", self.seconds, worst)
        return True

    def warm_up_in_background(self, batch_sizes: Sequence[int] = WARMUP_BATCH_SIZES) -> threading.Thread:
        """``warm_up`` in a daemon thread (a process that exits meanwhile does not wait minutes for it)."""
        thread = threading.Thread(target=self.warm_up, args=(batch_sizes,), name="ldm-compile", daemon=True)
        thread.start()
        return thread
