"""The one sampling routine: several requests' rows run as one batched denoising loop.

Every task of the pipeline (generate, img2img, inpaint, interpolate) ends in a ``SamplingJob``: its starting latents,
timesteps, class embeddings, and per-image guidance, eta and generators. A ``SamplingRun`` holds the jobs of one model
and latent shape: the jobs that share a sampler and timesteps and start together are one sampler loop over all their
rows (a cohort), and jobs may join while others are part-way, with other settings too: each step answers the
denoiser calls of every cohort with one batched UNet call, each row at its own timestep. Each job gets back only its
own rows, as soon as its loop ends (``run_jobs``: a run of given jobs to the end):

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

from .samplers import SAMPLER_STEPS, Callback, StepHook, StepInfo, get_sampler, guided_output, steps_repaint
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
        """Jobs with equal keys can share one sampling loop (its scalar steps; their rows side by side)."""
        return (self.sampler, tuple(self.timesteps.tolist()), self.sampler_options, tuple(self.x.shape[1:]))

    @property
    def batch_key(self) -> tuple[int, ...]:
        """Jobs of one model with equal keys can share one run: its denoiser calls, whatever their steps."""
        return tuple(self.x.shape[1:])


class _AllDropped(Exception):
    """Every job of a cohort was dropped: nothing is left to sample."""


def guidance_in(guidance: Tensor, t: Tensor, lo: int, hi: int) -> Tensor:
    """Per-row guidance scales [B] where lo <= t < hi, 1 (no guidance) elsewhere."""
    inside = (t.to(guidance.device) >= lo) & (t.to(guidance.device) < hi)
    return torch.where(inside, guidance, torch.ones_like(guidance))


def _cat(jobs: Sequence[SamplingJob], get: Callable[[SamplingJob], Tensor]) -> Tensor:
    return torch.cat([get(j) for j in jobs])


class _Cohort:
    """Jobs of one group key that joined a run together: one sampler loop (``samplers.steps_x``) over their rows."""

    def __init__(self, run: SamplingRun, jobs: Sequence[SamplingJob], turns: Sequence[int]):
        self.run, self.jobs, self.turns = run, list(jobs), list(turns)
        model, first = run.model, jobs[0]
        bounds = [0, *itertools.accumulate(j.num_images for j in jobs)]
        self.rows = [slice(a, b) for a, b in itertools.pairwise(bounds)]
        n = bounds[-1]
        x = _cat(jobs, lambda j: j.x).float()  # [n, c, h, w]
        self.emb, self.null = _cat(jobs, lambda j: j.class_emb), model.null_embeddings(n)  # [n, d]
        self.guidance, eta = _cat(jobs, lambda j: j.guidance), _cat(jobs, lambda j: j.eta)  # [n]
        generators = [g for j in jobs for g in j.generators]
        self.errors: list[BaseException | None] = [None] * len(jobs)
        self.active = torch.ones(n, dtype=torch.bool)
        self.total = len(first.timesteps)
        self.done = 0  # steps its loop has done
        self.want: tuple[Tensor, Tensor] | None = None  # the (x_t, t) its sampler waits to have denoised
        self.final: Tensor | None = None  # x_0 of every row once the loop has ended
        # one eta for all: the scalar arithmetic of a request alone (per-row only when requests differ)
        eta_arg: float | Tensor = float(eta[0]) if bool((eta == eta[0]).all()) else eta
        if first.sampler == REPAINT:
            known, mask = _cat(jobs, lambda j: j.sampler_rows["known"]), _cat(jobs, lambda j: j.sampler_rows["mask"])
            self.steps = steps_repaint(x, model.schedule, first.timesteps, generators=generators, callback=self.on_step,
                                       known=known, mask=mask, **dict(first.sampler_options))  # fmt: skip
        else:
            get_sampler(first.sampler)  # an unknown name: a clear error
            steps = SAMPLER_STEPS[first.sampler]
            self.steps = steps(x, model.schedule, first.timesteps, eta=eta_arg, generators=generators,
                               callback=self.on_step, step_hook=self.hook)  # fmt: skip
        self.advance(None)

    def advance(self, eps: Tensor | None) -> None:
        """Send the sampler its ε̂ (None: start it) and keep what it asks for next, or its result."""
        try:
            self.want = next(self.steps) if eps is None else self.steps.send(eps)
        except StopIteration as done:
            self.want, self.final = None, done.value
        except _AllDropped:
            self.want = None

    def drop(self, k: int, error: BaseException) -> None:
        self.errors[k] = error
        self.active[self.rows[k]] = False

    def due(self, k: int, job: SamplingJob, done: int, stride: int) -> bool:
        """Job k shows a preview after step ``done``: every ``preview_every`` steps, and in a run of more than
        PREVIEWING_JOBS requests only at every ``stride``-th of those, the jobs taking turns (its turn shifts it)."""
        if self.errors[k] is not None or not job.preview_every or job.on_preview is None or done >= self.total:
            return False
        slot, rest = divmod(done, job.preview_every)
        return rest == 0 and (slot + self.turns[k]) % stride == 0

    def on_step(self, info: StepInfo) -> None:
        done = self.done = info.i + 1
        jobs, rows = self.jobs, self.rows
        stride = self.run.preview_stride()
        wants = [k for k, j in enumerate(jobs) if self.due(k, j, done, stride)]
        if wants:
            picked = torch.cat([info.x0[rows[k]] for k in wants])
            images = np.split(self.run.model.preview_images(picked), list(itertools.accumulate(
                jobs[k].num_images for k in wants))[:-1])  # fmt: skip
        for k, job in enumerate(jobs):
            if self.errors[k] is not None:
                continue
            r = rows[k]
            try:
                if job.return_intermediates:
                    job.intermediates.append({"i": info.i, "t": info.t, "x_t": info.x_t[r].clone(),
                                              "x0": info.x0[r].clone()})  # fmt: skip
                if job.callback is not None:
                    job.callback(StepInfo(info.i, info.t, info.x_t[r], info.eps[r], info.x0[r]))
                if k in wants:
                    job.on_preview(Preview(done, self.total, images[wants.index(k)]))  # type: ignore[misc]
            except Exception as e:
                self.drop(k, e)
        if not bool(self.active.any()):
            raise _AllDropped

    def hook(self, i: int, t_prev: int, x: Tensor) -> Tensor:
        for k, job in enumerate(self.jobs):
            if job.step_hook is not None and self.errors[k] is None:
                try:
                    x[self.rows[k]] = job.step_hook(i, t_prev, x[self.rows[k]])
                except Exception as e:
                    self.drop(k, e)
        return x

    def results(self) -> list[tuple[SamplingJob, Tensor | BaseException]]:
        out: list[tuple[SamplingJob, Tensor | BaseException]] = []
        for k, job in enumerate(self.jobs):
            error = self.errors[k]
            out.append((job, error if error is not None else self.final[self.rows[k]]))  # type: ignore[index]
        return out


class SamplingRun:
    """Sampling loops of one model and latent shape whose denoiser calls are answered together.

    ``add`` starts jobs at any time, also while earlier ones are part-way (each group key's jobs as one sampler
    loop, a "cohort"); ``step`` makes one batched denoiser call for the rows every loop waits on (each at its own
    timestep, with its own guidance: a row outside its guidance interval skips the unconditional pass) and returns
    the jobs that ended. Each job gets the images it gets alone: rows never mix, only the batch they are computed in
    changes (float reordering, far within one 8-bit level).
    """

    def __init__(self, model: SamplingModel):
        self.model = model
        self.cohorts: list[_Cohort] = []
        self.shape: tuple[int, ...] | None = None
        self.turns = 0  # jobs admitted so far: each job's turn among the previewing ones

    def __bool__(self) -> bool:
        return bool(self.cohorts)

    @property
    def rows(self) -> int:
        """Images still being sampled."""
        return sum(int(c.active.sum()) for c in self.cohorts if c.want is not None)

    def work_left(self) -> int:
        """Image-steps still to sample: each live image times the steps its loop has left (read by other workers
        to share what waits; a step's count may be one behind)."""
        return sum(int(c.active.sum()) * (c.total - c.done) for c in self.cohorts if c.want is not None)

    def preview_stride(self) -> int:
        """1 for up to PREVIEWING_JOBS live jobs: each previews every ``preview_every`` steps; more take turns."""
        live = sum(e is None for c in self.cohorts if c.want is not None for e in c.errors)
        return max(1, -(-live // PREVIEWING_JOBS))

    @torch.inference_mode()
    def add(self, jobs: Sequence[SamplingJob]) -> None:
        """Start ``jobs`` (one sampler loop per group key) from their first step."""
        shapes = {j.batch_key for j in jobs} | ({self.shape} if self.shape is not None else set())
        if len(shapes) != 1:
            raise ValueError(f"a sampling run needs one latent shape, got {sorted(shapes)}")
        self.shape = shapes.pop()
        kinds: dict[tuple[Any, ...], list[SamplingJob]] = {}
        for j in jobs:
            kinds.setdefault(j.group_key, []).append(j)
        for group in kinds.values():
            self.cohorts.append(_Cohort(self, group, range(self.turns, self.turns + len(group))))
            self.turns += len(group)

    @torch.inference_mode()
    def step(self) -> list[tuple[SamplingJob, Tensor | BaseException]]:
        """One batched denoiser call for every waiting loop; -> the jobs that ended, with their latents or error."""
        live = [c for c in self.cohorts if c.want is not None]
        if live:
            model = self.model
            lo, hi = getattr(model, "guidance_interval", (0, model.schedule.num_train_timesteps))
            full = lo == 0 and hi >= model.schedule.num_train_timesteps
            keeps = [None if bool(c.active.all()) else c.active.nonzero()[:, 0] for c in live]

            def gather(get: Callable[[_Cohort], Tensor]) -> Tensor:  # dropped rows leave the network's batch
                return torch.cat([get(c) if k is None else get(c)[k] for c, k in zip(live, keeps, strict=True)])

            sizes = [len(c.active) if k is None else len(k) for c, k in zip(live, keeps, strict=True)]
            t = gather(lambda c: c.want[1])  # type: ignore[index]
            guidance = gather(lambda c: c.guidance)
            out = guided_output(
                model.model_output, model.schedule, gather(lambda c: c.want[0]), t,  # type: ignore[index]
                gather(lambda c: c.emb), gather(lambda c: c.null),
                guidance if full else guidance_in(guidance, t, lo, hi), model.prediction_type,
            )  # fmt: skip
            for c, keep, eps in zip(live, keeps, out.split(sizes), strict=True):
                if keep is not None:
                    eps, part = torch.zeros_like(c.want[0]), eps  # type: ignore[index]
                    eps[keep] = part
                c.advance(eps)
        ended = [c for c in self.cohorts if c.want is None]
        self.cohorts = [c for c in self.cohorts if c.want is not None]
        return [pair for c in ended for pair in c.results()]


def run_jobs(model: SamplingModel, jobs: Sequence[SamplingJob]) -> list[Tensor | BaseException]:
    """Run jobs of one latent shape as one batched sampling run. Returns each job's final latents [n, c, h, w], or
    the exception that dropped it."""
    run = SamplingRun(model)
    run.add(jobs)
    results: dict[int, Tensor | BaseException] = {}
    while run:
        results.update((id(job), result) for job, result in run.step())
    return [results[id(j)] for j in jobs]


def run_job(model: SamplingModel, job: SamplingJob) -> Tensor:
    """Run one job alone; re-raise what dropped it."""
    (result,) = run_jobs(model, [job])
    if isinstance(result, BaseException):
        raise result
    return result
