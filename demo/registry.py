"""The model registry: finds the checkpoint folders and loads each one exactly once."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import gradio as gr

from ldm_core import Batcher, LatentDiffusionPipeline

from .i18n import name_of, say

log = logging.getLogger(__name__)

REQUIRED_FILES = ("config.json", "vae.safetensors", "unet.safetensors")
SKIPPED_FOLDERS = ("classifiers",)  # evaluation classifiers, not diffusion models
# Requests arriving within 50 ms merge, and the worker waits on while more keep coming (0.25 s at most; a class of
# 50 reached it over 0.17 s, in steps of up to 30 ms); a run holds at most 100 images (200 UNet rows with guidance:
# a class of 50 at the defaults fits in two runs side by side; peak memory 1.0-1.12 GB against 0.97-1.02 GB with
# 64), a larger burst runs in equal parts; past 1,024 images waiting (e.g. 64 students x 16 images), a request is
# told the server is busy and when to try again.
BATCHER_KWARGS = {"window_s": 0.05, "max_window_s": 0.25, "max_rows": 100, "max_queued_rows": 1024}


def sampler_workers() -> int:
    """The batcher's workers (``ldm_core.batching``), which share ``sampling_threads``: ``LDM_SAMPLER_WORKERS``,
    else 2 where there are 2 cores or more. Measured on 2 cores (benchmarks/bench_serving.py, one server after the
    other): bursts of 10, 30 and 50 students in 2.0, 4.7 and 10.8 s with two one-thread workers against 2.2-2.8,
    7.3-8.3 and 13.0-13.5 s with one two-thread worker; on a less contended run 2.1, 4.1, 8.0 s against 1.9, 4.5,
    8.9 s; one request alone the same."""
    return _count_from_env("LDM_SAMPLER_WORKERS", "workers", 2 if (os.cpu_count() or 1) >= 2 else 1)


def sampling_threads() -> int:
    """Torch threads of the batcher's worker, the app's one thread with several (``ldm_core.batching``):
    ``LDM_NUM_THREADS``, else all cores."""
    return _count_from_env("LDM_NUM_THREADS", "threads", os.cpu_count() or 1)


def _count_from_env(name: str, what: str, default: int) -> int:
    """A whole number >= 1 from the environment variable ``name``, ``default`` when it is unset or empty."""
    value = os.environ.get(name, "")
    if not value:
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number of {what}, 1 or more, got {value!r}")
    return int(value)


def menu_order(folder: Path) -> int:
    """A model's ``menu_order`` in its config.json (default 0; unreadable configs too: loading reports them)."""
    try:
        return int(json.loads((folder / "config.json").read_text()).get("menu_order", 0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0


def find_model_dirs(root: str | os.PathLike = "checkpoints") -> list[str]:
    """Every folder under ``root`` that holds a whole model (config.json + vae/unet safetensors), sorted by their
    ``menu_order`` (the first is the app's default model), then by name."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [d for d in root.iterdir()
             if d.is_dir() and d.name not in SKIPPED_FOLDERS and all((d / f).is_file() for f in REQUIRED_FILES)]  # fmt: skip
    return [str(d) for d in sorted(found, key=lambda d: (menu_order(d), d.name))]


COMPILE_DONE = "LDM Explorer: compiling done"  # printed when every denoiser is compiled (or stays eager)
# LDM_COMPILE -> the backend of the denoisers' graphs (ldm_core.compiled); None: eager
UNET_BACKENDS = {"torchscript": "torchscript", "1": "inductor", "inductor": "inductor", "0": None, "eager": None}


def unet_backend() -> str | None:
    """How the app runs its denoisers, from ``LDM_COMPILE``: ``"torchscript"`` (the default: traced and frozen, no
    GIL held during a call), ``"inductor"`` (``1``: torch.compile, minutes to build) or None (``0``: eager)."""
    value = os.environ.get("LDM_COMPILE", "").strip().lower() or "torchscript"
    if value not in UNET_BACKENDS:
        raise ValueError(f"LDM_COMPILE must be one of {sorted(UNET_BACKENDS)}, got {value!r}")
    return UNET_BACKENDS[value]


class ModelRegistry:
    """Loads each model folder once and hands out its pipeline by display name.

    A folder that fails to load (damaged, half-written) is skipped and its error kept in ``errors``,
    so one bad checkpoint does not take the app down. Every pipeline's sampling goes through one shared ``batcher``,
    which merges the requests that arrive together (a class pressing Generate at once) into batched runs.
    """

    def __init__(self, model_dirs: list[str | os.PathLike], batcher: Batcher | None = None):
        workers = sampler_workers()
        self.batcher = batcher or Batcher(**BATCHER_KWARGS, num_threads=max(1, sampling_threads() // workers),
                                          num_workers=workers)  # fmt: skip
        self.pipelines: dict[str, LatentDiffusionPipeline] = {}
        self.folders: dict[str, str] = {}
        self.errors: list[str] = []
        self.compile_thread: threading.Thread | None = None  # set by compile_in_background
        for folder in model_dirs:
            try:
                pipe = LatentDiffusionPipeline.from_pretrained(folder)
            except (OSError, ValueError, TypeError) as e:  # CheckpointError is a ValueError
                log.warning("skipping model folder %s: %s", folder, e)
                self.errors.append(f"{folder}: {e}")
                continue
            pipe.batcher = self.batcher.runner(pipe)
            label = str(pipe.extra_config.get("display_name") or pipe.name)
            while label in self.pipelines:  # two folders with the same name stay distinguishable
                label = f"{label} ({Path(folder).name})"
            self.pipelines[label] = pipe
            self.folders[label] = str(folder)

    @property
    def names(self) -> list[str]:
        return list(self.pipelines)

    @property
    def default(self) -> str:
        return self.names[0]

    def get(self, name: str | None) -> LatentDiffusionPipeline:
        if name not in self.pipelines:
            raise gr.Error(say("err.choice", name=name_of("model"), allowed=self.names, value=repr(name)))
        return self.pipelines[name]

    def __len__(self) -> int:
        return len(self.pipelines)

    def compile_in_background(self, backend: str = "inductor") -> threading.Thread:
        """Build every model's UNet graph (``LatentDiffusionPipeline.compile``), the default model first, one after
        the other in one daemon thread; each model serves eager until its graph is ready."""

        def run() -> None:
            for name, pipe in self.pipelines.items():
                c = pipe.compile(backend=backend)
                said = (
                    f"runs as a {backend} graph, built in {c.seconds:.1f} s" if c.ready else f"stays eager ({c.error})"
                )
                print(f"LDM Explorer: the {name} denoiser {said}", flush=True)
            print(COMPILE_DONE, flush=True)

        thread = self.compile_thread = threading.Thread(target=run, name="ldm-compile", daemon=True)
        thread.start()
        return thread
