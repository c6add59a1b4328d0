"""Checked arguments: every task's sampler settings in one frozen object, and the checks behind it.

Bad arguments raise ``ValueError`` (``TypeError`` for a wrong type) saying what was given and what is allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import Tensor

from .samplers import SAMPLERS
from .schedule import TIMESTEP_SPACINGS, make_timesteps

GUIDANCE_RANGE = (0.0, 20.0)
OUTPUT_TYPES = ("np", "pil", "latent")
MAX_BATCH = 256
MAX_SEED = 2**63 - 1 - MAX_BATCH


def check_number(name: str, value: Any, lo: float, hi: float, *, integer: bool = False, lo_open: bool = False) -> None:
    kind = "an int" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__} {value!r}")
    if integer and not float(value).is_integer():
        raise TypeError(f"{name} must be an int, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    bad = value <= lo if lo_open else value < lo
    if bad or value > hi:
        lo_s = f"({lo:g}" if lo_open else f"[{lo:g}"
        raise ValueError(f"{name} must be in {lo_s}, {hi:g}], got {value}")


def check_choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def check_seeds(seed: Any, n: int, name: str = "seed") -> list[int]:
    """Image i of a call uses seed + i."""
    check_number(name, seed, 0, MAX_SEED, integer=True)
    return [int(seed) + i for i in range(n)]


def check_labels(class_labels: Any, class_names: Sequence[str], model: str, num_images: int | None = None) -> list[int]:
    """Class labels (an int, a list of ints/None, or None) -> a list of ints, -1 = unconditional."""
    if class_labels is None:
        n = 1 if num_images is None else num_images
        check_number("num_images", n, 1, MAX_BATCH, integer=True)
        return [-1] * int(n)
    if isinstance(class_labels, (int, np.integer)) and not isinstance(class_labels, bool):
        class_labels = [class_labels]
    if isinstance(class_labels, (str, bytes)) or not isinstance(class_labels, (Sequence, np.ndarray, Tensor)):
        raise TypeError(f"class_labels must be a list of ints (or None), got {type(class_labels).__name__}")
    labels = []
    k = len(class_names)
    for c in list(class_labels):
        if c is None:
            labels.append(-1)
            continue
        if isinstance(c, Tensor):
            c = c.item()
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)):
            raise TypeError(f"class labels must be ints in 0..{k - 1} or None/-1, got {c!r}")
        if not -1 <= int(c) < k:
            raise ValueError(f"class label must be in 0..{k - 1} ({model}) or -1/None for unconditional, got {c}")
        labels.append(int(c))
    if not 1 <= len(labels) <= MAX_BATCH:
        raise ValueError(f"need 1..{MAX_BATCH} class labels, got {len(labels)}")
    if num_images is not None and num_images != len(labels):
        raise ValueError(f"num_images ({num_images}) must match the number of class labels ({len(labels)})")
    return labels


@dataclass(frozen=True)
class SamplingArgs:
    """The sampler settings of one call, checked once (``SamplingArgs.check``)."""

    num_inference_steps: int  # sampler steps of a full run, 1..T
    guidance_scale: float  # classifier-free guidance s, in GUIDANCE_RANGE
    sampler: str  # a name of samplers.SAMPLERS
    eta: float  # DDIM's η in [0, 1] (0 = deterministic)
    timestep_spacing: str  # how the steps spread over 0..T-1 (schedule.TIMESTEP_SPACINGS)
    output_type: str  # "np" | "pil" | "latent"
    num_train_timesteps: int  # T of the model's schedule

    @classmethod
    def check(
        cls,
        num_train_timesteps: int,
        default_guidance_scale: float,
        num_inference_steps: Any = 50,
        guidance_scale: Any = None,
        sampler: Any = "ddim",
        eta: Any = 0.0,
        output_type: Any = "np",
        timestep_spacing: Any = "trailing",
    ) -> SamplingArgs:
        guidance_scale = default_guidance_scale if guidance_scale is None else guidance_scale
        check_number("num_inference_steps", num_inference_steps, 1, num_train_timesteps, integer=True)
        check_number("guidance_scale", guidance_scale, *GUIDANCE_RANGE)
        check_number("eta", eta, 0.0, 1.0)
        return cls(
            num_inference_steps=int(num_inference_steps),
            guidance_scale=float(guidance_scale),
            sampler=check_choice("sampler", sampler, list(SAMPLERS)),
            eta=float(eta),
            timestep_spacing=check_choice("timestep_spacing", timestep_spacing, TIMESTEP_SPACINGS),
            output_type=check_choice("output_type", output_type, OUTPUT_TYPES),
            num_train_timesteps=int(num_train_timesteps),
        )

    def timesteps(self) -> Tensor:
        """The descending timesteps of a full run [num_inference_steps]."""
        return make_timesteps(self.num_train_timesteps, self.num_inference_steps, self.timestep_spacing)
