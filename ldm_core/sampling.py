"""The one sampling routine: several requests' rows run as one batched denoising loop.

Every task of the pipeline (generate, img2img, inpaint, interpolate) ends in a ``SamplingJob``: its starting latents,
timesteps, class embeddings, and per-image guidance, eta and generators. ``run_jobs`` concatenates the jobs that share
a sampler and timesteps, runs the sampler once over all rows, and hands each job back only its own rows:

- its ``callback`` sees ``StepInfo`` of its rows; its ``step_hook`` rewrites its rows only;
- its previews (``on_preview``) are decoded in one batched call for all jobs that want one at that step;
- a job whose callback or hook raises (the app's Stop, a client gone) is dropped: its rows leave the denoiser's
  batch at once (the expensive part), and the exception is its result. The other jobs go on unchanged.

Image i of a job is the image it would get alone: each row keeps its own generator, guidance and eta, and only the
rows that draw noise advance their generators (CPU kernels may sum in another order for another batch size, which
stays far within one 8-bit level).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from .samplers import Callback, StepHook, StepInfo, get_sampler, guided_output, sample_repaint
from .schedule import NoiseSchedule

REPAINT = "repaint"  # RePaint's resampling loop: a sampler of its own (samplers.sample_repaint)


@dataclass
class Preview:
    """A live preview: the predicted clean image x̂_0 of each image of a request, decoded cheaply."""

    step: int  # steps done so far, 1..total
    total: int  # steps in the run
    images: np.ndarray  # float32 [n, H, W, C] in [0, 1]


# A run of more requests than this thins each one's previews (every request still gets some), so that a class's
# merged run decodes and sends about as many previews per step as 8 requests would: under a burst of 50 students
# previews took about 1 s of an 8 s burst (measured with them switched off), in Gradio's handling of each one.
PREVIEWING_JOBS = 8


def preview_every(total: int, max_previews: int = 12) -> int:
    """Decode a preview every k steps so that a run of ``total`` steps shows at most about ``max_previews``."""
    return max(1, -(-total // max_previews))


class SamplingModel(Protocol):
    """What ``run_jobs`` needs of a pipeline."""

    schedule: NoiseSchedule
    guidance_interval: tuple[int, int]  # guidance only at lo <= t < hi

    def model_output(self, x: Tensor, t: Tensor, class_emb: Tensor) -> Tensor: ...
    def null_embeddings(self, n: int) -> Tensor: ...
    def preview_images(self, latents: Tensor) -> np.ndarray: ...
    @property
    def prediction_type(self) -> str: ...


@dataclass
class SamplingJob:
    """One request's rows for the shared sampling loop (n images)."""

    x: Tensor  # starting latent x_{t_0} [n, c, h, w]
    timesteps: Tensor  # descending timesteps to visit [N]
    class_emb: Tensor  # class embeddings [n, d]
    guidance: Tensor  # classifier-free guidance scale per image [n]
    eta: Tensor  # DDIM eta per image [n]
    generators: list[torch.Generator]  # one per image: every draw of image i
    sampler: str = "ddim"  # a name of samplers.SAMPLERS, or REPAINT
    sampler_options: tuple[tuple[str, Any], ...] = ()  # settings shared by a whole batch (RePaint's jumps)
    sampler_rows: dict[str, Tensor] = field(default_factory=dict)  # per-image tensors (RePaint: known, mask)
    step_hook: StepHook | None = None  # rewrites this job's rows after each step (inpainting's blend)
    callback: Callback | None = None  # sees this job's rows at each step
    on_preview: Callable[[Preview], None] | None = None  # receives decoded x̂_0 every ``preview_every`` steps
    preview_every: int = 0  # 0 = no previews
    return_intermediates: bool = False  # keep {i, t, x_t, x0} of every step in ``intermediates``
    intermediates: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.x)
        for name, value in (("class_emb", self.class_emb), ("guidance", self.guidance), ("eta", self.eta)):
            if len(value) != n:
                raise ValueError(f"a sampling job of {n} images needs {n} rows of {name}, got {len(value)}")
        if len(self.generators) != n:
            raise ValueError(f"a sampling job of {n} images needs {n} generators, got {len(self.generators)}")

    @property
    def num_images(self) -> int:
        return len(self.x)

    @property
    def group_key(self) -> tuple[Any, ...]:
        """Jobs with equal keys can share one sampling loop."""
        return (self.sampler, tuple(self.timesteps.tolist()), self.sampler_options, tuple(self.x.shape[1:]))


class _AllDropped(Exception):
    """Every job of a batch was dropped: nothing is left to sample."""


def guidance_in(guidance: Tensor, t: Tensor, lo: int, hi: int) -> Tensor:
    """Per-row guidance scales [B] where lo <= t < hi, 1 (no guidance) elsewhere."""
    inside = (t.to(guidance.device) >= lo) & (t.to(guidance.device) < hi)
    return torch.where(inside, guidance, torch.ones_like(guidance))


def _cat(jobs: Sequence[SamplingJob], get: Callable[[SamplingJob], Tensor]) -> Tensor:
    return torch.cat([get(j) for j in jobs])


@torch.inference_mode()
def run_jobs(model: SamplingModel, jobs: Sequence[SamplingJob]) -> list[Tensor | BaseException]:
    """Run jobs with one group key as one batched sampling loop. Returns each job's final latents [n, c, h, w], or
    the exception that dropped it."""
    keys = {j.group_key for j in jobs}
    if len(keys) != 1:
        raise ValueError(f"run_jobs needs jobs with one sampler, timesteps and latent shape, got {len(keys)} kinds")
    first = jobs[0]
    bounds = [0, *itertools.accumulate(j.num_images for j in jobs)]
    rows = [slice(a, b) for a, b in itertools.pairwise(bounds)]
    B = bounds[-1]
    x = _cat(jobs, lambda j: j.x).float()  # [B, c, h, w]
    emb, null = _cat(jobs, lambda j: j.class_emb), model.null_embeddings(B)  # [B, d]
    guidance, eta = _cat(jobs, lambda j: j.guidance), _cat(jobs, lambda j: j.eta)  # [B]
    generators = [g for j in jobs for g in j.generators]
    errors: list[BaseException | None] = [None] * len(jobs)
    active = torch.ones(B, dtype=torch.bool)
    total = len(first.timesteps)

    def drop(k: int, error: BaseException) -> None:
        errors[k] = error
        active[rows[k]] = False

    lo, hi = getattr(model, "guidance_interval", (0, model.schedule.num_train_timesteps))

    def denoise(x: Tensor, t: Tensor) -> Tensor:
        g = guidance if lo == 0 and hi >= model.schedule.num_train_timesteps else guidance_in(guidance, t, lo, hi)
        if bool(active.all()):
            return guided_output(model.model_output, model.schedule, x, t, emb, null, g, model.prediction_type)
        keep = active.nonzero()[:, 0]  # dropped rows leave the network's batch; their ε̂ is 0
        out = torch.zeros_like(x)
        out[keep] = guided_output(model.model_output, model.schedule, x[keep], t[keep], emb[keep], null[keep],
                                  g[keep], model.prediction_type)  # fmt: skip
        return out

    stride = -(-len(jobs) // PREVIEWING_JOBS)  # 1 for up to 8 requests: each previews every preview_every steps

    def due(k: int, job: SamplingJob, done: int) -> bool:
        """Job k shows a preview after step ``done``: every ``preview_every`` steps, and in a run of more than
        PREVIEWING_JOBS requests only at every ``stride``-th of those, the jobs taking turns (k shifts the turn)."""
        if errors[k] is not None or not job.preview_every or job.on_preview is None or done >= total:
            return False
        slot, rest = divmod(done, job.preview_every)
        return rest == 0 and (slot + k) % stride == 0

    def on_step(info: StepInfo) -> None:
        done = info.i + 1
        wants = [k for k, j in enumerate(jobs) if due(k, j, done)]
        if wants:
            picked = torch.cat([info.x0[rows[k]] for k in wants])
            images = np.split(model.preview_images(picked), list(itertools.accumulate(
                jobs[k].num_images for k in wants))[:-1])  # fmt: skip
        for k, job in enumerate(jobs):
            if errors[k] is not None:
                continue
            r = rows[k]
            try:
                if job.return_intermediates:
                    job.intermediates.append({"i": info.i, "t": info.t, "x_t": info.x_t[r].clone(),
                                              "x0": info.x0[r].clone()})  # fmt: skip
                if job.callback is not None:
                    job.callback(StepInfo(info.i, info.t, info.x_t[r], info.eps[r], info.x0[r]))
                if k in wants:
                    job.on_preview(Preview(done, total, images[wants.index(k)]))  # type: ignore[misc]
            except Exception as e:
                drop(k, e)
        if not bool(active.any()):
            raise _AllDropped

    def hook(i: int, t_prev: int, x: Tensor) -> Tensor:
        for k, job in enumerate(jobs):
            if job.step_hook is not None and errors[k] is None:
                try:
                    x[rows[k]] = job.step_hook(i, t_prev, x[rows[k]])
                except Exception as e:
                    drop(k, e)
        return x

    # one eta for all: the scalar arithmetic of a request alone (per-row only when requests differ)
    eta_arg: float | Tensor = float(eta[0]) if bool((eta == eta[0]).all()) else eta
    try:
        if first.sampler == REPAINT:
            z = sample_repaint(denoise, x, model.schedule, first.timesteps, generators=generators, callback=on_step,
                               known=_cat(jobs, lambda j: j.sampler_rows["known"]),
                               mask=_cat(jobs, lambda j: j.sampler_rows["mask"]), **dict(first.sampler_options))  # fmt: skip
        else:
            z = get_sampler(first.sampler)(denoise, x, model.schedule, first.timesteps, eta=eta_arg,
                                           generators=generators, callback=on_step, step_hook=hook)  # fmt: skip
    except _AllDropped:
        return [e for e in errors if e is not None]
    return [errors[k] if errors[k] is not None else z[r] for k, r in enumerate(rows)]


def run_job(model: SamplingModel, job: SamplingJob) -> Tensor:
    """Run one job alone; re-raise what dropped it."""
    (result,) = run_jobs(model, [job])
    if isinstance(result, BaseException):
        raise result
    return result
