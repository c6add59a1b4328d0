"""The denoiser as one graph: TorchScript (traced and frozen, in well under a second) or ``torch.compile``.

A small UNet on a 7x7 latent is bound by per-op overhead on a CPU, not by arithmetic: an eager call at batch 2 runs
about 2,300 ATen ops of microseconds each, every one dispatched from Python. Two backends replace that:

- ``"torchscript"`` (the app's default): ``torch.jit.trace`` + ``torch.jit.freeze``, built in 0.3-1 s. The same
  ATen kernels, so the same numbers (bit for bit on the shipped models), run by TorchScript's C++ interpreter, which
  holds no GIL during the call. Under a class's burst the server's other threads (Gradio's event loop, the request
  threads encoding PNGs) take the GIL between the eager UNet's ops, and every op then waits for it: measured on 2
  cores, batch 64 took 41 ms alone and 164 ms beside one busy Python thread eager, 78 ms traced
  (benchmarks/bench_gil.py). Alone it is also cheaper per op: batch 2 in 5.2 ms against 8.5 ms.
- ``"inductor"``: ``torch.compile``, fused C++ kernels; 1.1-1.5x faster than eager, but a cold compile takes minutes
  on a 2-core CPU.

Either is built off the request path (``CompiledUNet.warm_up``, e.g. in a background thread): until it has been
built and its outputs checked against the eager module, every call runs eager; if building fails (no C++ compiler,
an op it cannot handle) or the outputs differ, the error is kept and calls stay eager. Inductor compiles the batch
dimension dynamic (one graph for every batch size) after one static graph for the first warm-up size; a traced graph
takes any batch size.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor

from .unet import UNet

log = logging.getLogger(__name__)

WARMUP_BATCH_SIZES = (2, 4)  # 2: one image with guidance (its own static graph); 4: makes the batch size dynamic
SMALL_BATCH = 8  # UNet calls of at most this many rows run on one torch thread (benchmarks/bench_threads.py)
MAX_ABS_ERROR = 1e-3  # compiled vs eager output on the warm-up inputs; float32 reorderings give ~1e-6
BACKENDS = ("torchscript", "inductor")


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


class _Positional(torch.nn.Module):
    """``unet(x, t, class_emb=emb)`` as ``forward(x, t, emb)``: the signature ``torch.jit.trace`` records."""

    def __init__(self, unet: UNet):
        super().__init__()
        self.unet = unet

    def forward(self, x: Tensor, t: Tensor, emb: Tensor) -> Tensor:
        return self.unet(x, t, class_emb=emb)


def trace_unet(unet: UNet, latent_shape: Sequence[int], batch_size: int = 4) -> torch.jit.ScriptModule:
    """The UNet traced on random inputs of ``batch_size`` and frozen (weights folded in as constants): a graph that
    TorchScript runs without Python, for any batch size. (``torch.jit.trace`` and ``freeze`` warn that they are
    deprecated in favour of torch.compile and torch.export; neither gives a graph that runs without the GIL and is
    built in under a second.)"""
    g = torch.Generator().manual_seed(0)
    x = torch.randn((batch_size, *latent_shape), generator=g)
    t = torch.randint(0, 1000, (batch_size,), generator=g)
    emb = unet.embed_class(torch.randint(0, unet.config.num_classes, (batch_size,), generator=g))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated")  # trace, trace_method, freeze
        # group_norm checks in Python that a channel holds more than one value; traced, it is fixed at this shape
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        return torch.jit.freeze(torch.jit.trace(_Positional(unet).eval(), (x, t, emb), check_trace=False))


class CompiledUNet:
    """Calls ``unet(x, t, class_emb=...)`` through a graph once warmed up, eager before (and if building failed).

    backend: ``"torchscript"`` (trace + freeze) or ``"inductor"`` (``torch.compile``), see the module's docstring.
    """

    def __init__(self, unet: UNet, latent_shape: tuple[int, int, int], backend: str = "inductor"):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.backend = backend
        self.unet = unet
        self.latent_shape = tuple(latent_shape)  # (c, h, w) of the warm-up inputs
        self.compiled = None  # the compiled callable, set by warm_up once checked
        self.error: BaseException | None = None  # why compiling failed, if it did
        self.seconds: float | None = None  # how long warm_up took
        self.max_abs_error: float | None = None  # compiled vs eager on the warm-up inputs
        # one compiled call at a time (dynamo's caches are not made for threads); a frozen TorchScript graph holds no
        # state, so calls from several threads may overlap
        self._lock = threading.Lock() if backend == "inductor" else contextlib.nullcontext()

    @property
    def ready(self) -> bool:
        return self.compiled is not None

    def __call__(self, x: Tensor, t: Tensor, class_emb: Tensor) -> Tensor:
        fn = self.compiled
        if fn is None:
            return self.unet(x, t, class_emb=class_emb)
        with self._lock:
            return fn(x, t, class_emb)

    def warm_up(self, batch_sizes: Sequence[int] = WARMUP_BATCH_SIZES) -> bool:
        """Build the graph (for these batch sizes, with inductor) and check it against eager at each; True if calls
        now run through it."""
        start = time.perf_counter()
        try:
            if self.backend == "torchscript":
                fn = trace_unet(self.unet, self.latent_shape)
            else:
                inductor = torch.compile(self.unet)
                fn = lambda x, t, emb: inductor(x, t, class_emb=emb)  # noqa: E731
            num_classes, shape = self.unet.config.num_classes, self.latent_shape
            worst = 0.0
            with torch.inference_mode():
                for b in batch_sizes:
                    g = torch.Generator().manual_seed(b)
                    x = torch.randn((b, *shape), generator=g)
                    t = torch.randint(0, 1000, (b,), generator=g)
                    emb = self.unet.embed_class(torch.randint(0, num_classes, (b,), generator=g))
                    got, want = fn(x, t, emb), self.unet(x, t, class_emb=emb)
                    worst = max(worst, float((got - want).abs().max()))
            if not worst <= MAX_ABS_ERROR:
                raise RuntimeError(f"{self.backend} UNet differs from eager by {worst:.2e} (allowed {MAX_ABS_ERROR:g})")
        except Exception as e:  # no compiler, an op the backend cannot handle, a wrong result: stay eager
            self.error = e
            log.warning("%s graph of the UNet failed, calls stay eager: %s", self.backend, e)
            return False
        finally:
            self.seconds = time.perf_counter() - start
        self.max_abs_error = worst
        self.compiled = fn
        log.info("UNet %s graph built in %.1f s (max |graph - eager| %.1e)", self.backend, self.seconds, worst)
        return True

    def warm_up_in_background(self, batch_sizes: Sequence[int] = WARMUP_BATCH_SIZES) -> threading.Thread:
        """``warm_up`` in a daemon thread (a process that exits meanwhile does not wait minutes for it)."""
        thread = threading.Thread(target=self.warm_up, args=(batch_sizes,), name="ldm-compile", daemon=True)
        thread.start()
        return thread
