"""Samplers as pure functions, in the style of k-diffusion.

Every sampler has the signature

    sample_x(denoiser, x, schedule, timesteps, *, eta, generators, callback, step_hook) -> x_0

and is written once, as its loop of steps: ``steps_x(x, schedule, timesteps, *, ...)`` is a generator that yields
each ``(x_t, t)`` it needs denoised, is sent ε̂ back, and returns x_0 (``sample_x`` = ``drive(steps_x(...),
denoiser)``). So a caller can hold several loops at different steps and answer all of their denoiser calls with one
batched call (``ldm_core.sampling``: requests join a run that is under way).

- ``denoiser(x_t [B, ...], t [B] int64) -> ε̂ [B, ...]`` predicts the noise (see ``guided_denoiser``);
- ``x`` is the starting latent x_{t_0} in the variance-preserving (DDPM) scale: pure noise ~ N(0, I) at
  the start of a full run, or a partly noised latent for img2img;
- ``timesteps`` are the N timesteps to visit, descending (``schedule.make_timesteps``);
- ``generators`` are one CPU ``torch.Generator`` per image: every random draw of image i uses generator i;
- ``callback(StepInfo)`` is called once per step with the step index, t, x_t, ε̂ and the predicted x_0;
- ``step_hook(i, t_prev, x_prev) -> x_prev`` may rewrite the latent after each step (inpainting uses it);
  t_prev = -1 after the last step.

No sampler keeps state between calls, seeds anything globally or knows about devices.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .schedule import NoiseSchedule

Denoiser = Callable[[Tensor, Tensor], Tensor]
StepHook = Callable[[int, int, Tensor], Tensor]
SamplerSteps = Generator[tuple[Tensor, Tensor], Tensor, Tensor]  # yields (x_t, t [B]), is sent ε̂, returns x_0


@dataclass
class StepInfo:
    """What a sampler reports at each step (for live previews and the Learn tab)."""

    i: int  # step index, 0..N-1
    t: int  # the timestep the denoiser was evaluated at
    x_t: Tensor  # the latent before the step [B, c, h, w]
    eps: Tensor  # predicted noise ε̂ [B, c, h, w]
    x0: Tensor  # predicted clean latent x̂_0 [B, c, h, w]


Callback = Callable[[StepInfo], None]


def randn(shape: tuple[int, ...], generators: list[torch.Generator], dtype: torch.dtype = torch.float32) -> Tensor:
    """Standard normal noise [B, ...], image i drawn from ``generators[i]`` (on the CPU, so every machine agrees)."""
    if len(generators) != shape[0]:
        raise ValueError(f"need one generator per image: {shape[0]} images, {len(generators)} generators")
    return torch.cat([torch.randn((1, *shape[1:]), generator=g, dtype=dtype) for g in generators])


def _t(t: int, x: Tensor) -> Tensor:
    return torch.full((x.shape[0],), int(t), dtype=torch.long, device=x.device)


def _next_t(timesteps: Tensor, i: int) -> int:
    return int(timesteps[i + 1]) if i + 1 < len(timesteps) else -1


def _alpha_bar(schedule: NoiseSchedule, t: int) -> float:
    return float(schedule.alpha_bar(t))


def steps_ddpm(
    x: Tensor,
    schedule: NoiseSchedule,
    timesteps: Tensor,
    *,
    eta: float = 1.0,
    generators: list[torch.Generator],
    callback: Callback | None = None,
    step_hook: StepHook | None = None,
) -> SamplerSteps:
    """Ancestral sampling, DDPM Algorithm 2, respaced to the given timesteps (``eta`` is not used)."""
    for i, t in enumerate(timesteps.tolist()):
        t_prev = _next_t(timesteps, i)
        a_t, a_prev = _alpha_bar(schedule, t), _alpha_bar(schedule, t_prev)  # ᾱ_t, ᾱ_{t-1}
        alpha_t = a_t / a_prev  # α_t of the respaced chain
        beta_t = 1.0 - alpha_t  # β_t
        eps = yield x, _t(t, x)
        x0 = schedule.predict_x0(x, t, eps)
        if callback is not None:
            callback(StepInfo(i, t, x, eps, x0))
        # posterior mean μ̃_t(x_t, x_0), DDPM eq. 7
        coef_x0 = math.sqrt(a_prev) * beta_t / (1.0 - a_t)
        coef_xt = math.sqrt(alpha_t) * (1.0 - a_prev) / (1.0 - a_t)
        x = coef_x0 * x0 + coef_xt * x
        if t > 0:
            var = max((1.0 - a_prev) / (1.0 - a_t) * beta_t, 1e-20)  # β̃_t, DDPM eq. 7
            x = x + math.sqrt(var) * randn(tuple(x.shape), generators, x.dtype).to(x.device)
        if step_hook is not None:
            x = step_hook(i, t_prev, x)
    return x


def ddim_step(
    x: Tensor,
    eps: Tensor,
    schedule: NoiseSchedule,
    t: int,
    t_prev: int,
    *,
    eta: float | Tensor = 0.0,
    generators: list[torch.Generator] | None = None,
) -> tuple[Tensor, Tensor]:
    """One DDIM update x_t -> x_{t_prev} (Song et al. 2021, eq. 12). Returns (x_{t_prev}, x̂_0).

    ``eta`` is one number, or one per image ([B] tensor, for a batch that merges requests): only the images with
    eta > 0 draw noise, so each image's generator advances exactly as it would alone.
    """
    a_t, a_prev = _alpha_bar(schedule, t), _alpha_bar(schedule, t_prev)  # ᾱ_t, ᾱ_{t-1}
    x0 = schedule.predict_x0(x, t, eps)  # "predicted x_0"
    # σ_t(η) = η sqrt((1 - ᾱ_{t-1}) / (1 - ᾱ_t)) sqrt(1 - ᾱ_t / ᾱ_{t-1})   (eq. 16)
    ratio = math.sqrt((1.0 - a_prev) / (1.0 - a_t) * (1.0 - a_t / a_prev))
    if isinstance(eta, Tensor):
        sigma = (eta.to(x.dtype) * ratio).reshape(-1, *([1] * (x.ndim - 1)))  # [B, 1, 1, 1]
        direction = torch.sqrt((1.0 - a_prev - sigma**2).clamp_min(0.0)) * eps  # "direction pointing to x_t"
        x_prev = math.sqrt(a_prev) * x0 + direction
        rows = (eta > 0).nonzero()[:, 0].tolist()
        if rows:
            if generators is None:
                raise ValueError("DDIM with eta > 0 draws noise: pass one generator per image")
            noise = torch.zeros_like(x)
            noise[rows] = randn((len(rows), *x.shape[1:]), [generators[r] for r in rows], x.dtype).to(x.device)
            x_prev = x_prev + sigma * noise
        return x_prev, x0
    sigma = eta * ratio
    direction = math.sqrt(max(1.0 - a_prev - sigma**2, 0.0)) * eps  # "direction pointing to x_t"
    x_prev = math.sqrt(a_prev) * x0 + direction
    if eta > 0:
        if generators is None:
            raise ValueError("DDIM with eta > 0 draws noise: pass one generator per image")
        x_prev = x_prev + sigma * randn(tuple(x.shape), generators, x.dtype).to(x.device)
    return x_prev, x0


def steps_ddim(
    x: Tensor,
    schedule: NoiseSchedule,
    timesteps: Tensor,
    *,
    eta: float | Tensor = 0.0,
    generators: list[torch.Generator] | None = None,
    callback: Callback | None = None,
    step_hook: StepHook | None = None,
) -> SamplerSteps:
    """DDIM (Song et al. 2021) eq. 12; eta = 0 is deterministic, eta = 1 has DDPM's variance."""
    for i, t in enumerate(timesteps.tolist()):
        t_prev = _next_t(timesteps, i)
        eps = yield x, _t(t, x)
        if callback is not None:
            callback(StepInfo(i, t, x, eps, schedule.predict_x0(x, t, eps)))
        x, _ = ddim_step(x, eps, schedule, t, t_prev, eta=eta, generators=generators)
        if step_hook is not None:
            x = step_hook(i, t_prev, x)
    return x


def steps_dpmpp_2m(
    x: Tensor,
    schedule: NoiseSchedule,
    timesteps: Tensor,
    *,
    eta: float = 0.0,
    generators: list[torch.Generator] | None = None,
    callback: Callback | None = None,
    step_hook: StepHook | None = None,
) -> SamplerSteps:
    """DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2), data prediction, midpoint; first order at the ends."""
    old_x0: Tensor | None = None
    h_prev = 0.0
    for i, t in enumerate(timesteps.tolist()):
        t_prev = _next_t(timesteps, i)
        a_s, a_t = _alpha_bar(schedule, t), _alpha_bar(schedule, t_prev)
        alpha_s, sigma_s = math.sqrt(a_s), math.sqrt(1.0 - a_s)  # α_s, σ_s of the VP process
        alpha_t, sigma_t = math.sqrt(a_t), math.sqrt(1.0 - a_t)
        eps = yield x, _t(t, x)
        x0 = (x - sigma_s * eps) / alpha_s  # data prediction D
        if callback is not None:
            callback(StepInfo(i, t, x, eps, x0))
        if sigma_t == 0.0:  # the last step lands on t = -1, where x = D
            x = x0
        else:
            lam_s, lam_t = math.log(alpha_s / sigma_s), math.log(alpha_t / sigma_t)  # λ = log(α/σ)
            h = lam_t - lam_s
            last = i == len(timesteps) - 1
            if old_x0 is None or last:
                d = x0  # first order (DPM-Solver++ 1 = DDIM)
            else:
                r = h_prev / h
                d = x0 + (x0 - old_x0) / (2.0 * r)  # D = D_0 + (D_0 - D_1) / (2r)
            x = (sigma_t / sigma_s) * x - alpha_t * math.expm1(-h) * d
            h_prev = h
        old_x0 = x0
        if step_hook is not None:
            x = step_hook(i, t_prev, x)
    return x


def steps_euler(
    x: Tensor,
    schedule: NoiseSchedule,
    timesteps: Tensor,
    *,
    eta: float = 0.0,
    generators: list[torch.Generator] | None = None,
    callback: Callback | None = None,
    step_hook: StepHook | None = None,
) -> SamplerSteps:
    """Euler's method on the probability-flow ODE dx/dσ = (x - D(x; σ)) / σ (Karras et al. 2022, Algorithm 1 line 5).

    It runs in the variance-exploding scale x̃ = x / sqrt(ᾱ) = x sqrt(σ² + 1); with ε-prediction it takes the same
    steps as DDIM with eta = 0, which is a fact worth seeing (Karras et al. 2022, section 3).
    """
    for i, t in enumerate(timesteps.tolist()):
        t_prev = _next_t(timesteps, i)
        a_s, a_t = _alpha_bar(schedule, t), _alpha_bar(schedule, t_prev)
        sig, sig_next = math.sqrt((1.0 - a_s) / a_s), math.sqrt((1.0 - a_t) / a_t)  # σ_i, σ_{i+1}
        eps = yield x, _t(t, x)
        x_ve = x * math.sqrt(sig**2 + 1.0)  # x̃ in the VE scale
        x0 = x_ve - sig * eps  # D(x̃; σ)
        if callback is not None:
            callback(StepInfo(i, t, x, eps, x0))
        d = (x_ve - x0) / sig  # dx̃/dσ
        x_ve = x_ve + d * (sig_next - sig)
        x = x_ve / math.sqrt(sig_next**2 + 1.0)
        if step_hook is not None:
            x = step_hook(i, t_prev, x)
    return x


def steps_heun(
    x: Tensor,
    schedule: NoiseSchedule,
    timesteps: Tensor,
    *,
    eta: float = 0.0,
    generators: list[torch.Generator] | None = None,
    callback: Callback | None = None,
    step_hook: StepHook | None = None,
) -> SamplerSteps:
    """Heun's second-order method (Karras et al. 2022, Algorithm 1): Euler, then a trapezoidal correction.

    Two denoiser calls per step except the last (σ = 0), where it is an Euler step. Beware very large σ_max: on the
    cosine schedule (σ ≈ 2e4 at t = 999) the first correction is unstable at few steps; prefer DPM-Solver++ there.
    """
    for i, t in enumerate(timesteps.tolist()):
        t_prev = _next_t(timesteps, i)
        a_s, a_t = _alpha_bar(schedule, t), _alpha_bar(schedule, t_prev)
        sig, sig_next = math.sqrt((1.0 - a_s) / a_s), math.sqrt((1.0 - a_t) / a_t)
        eps = yield x, _t(t, x)
        x_ve = x * math.sqrt(sig**2 + 1.0)
        x0 = x_ve - sig * eps
        if callback is not None:
            callback(StepInfo(i, t, x, eps, x0))
        d = (x_ve - x0) / sig
        x_next = x_ve + d * (sig_next - sig)
        if sig_next > 0:
            eps_2 = yield x_next / math.sqrt(sig_next**2 + 1.0), _t(t_prev, x)
            d_2 = eps_2  # (x̃' - D(x̃'; σ')) / σ' = ε̂'
            x_next = x_ve + 0.5 * (d + d_2) * (sig_next - sig)
        x = x_next / math.sqrt(sig_next**2 + 1.0)
        if step_hook is not None:
            x = step_hook(i, t_prev, x)
    return x


def drive(steps: SamplerSteps, denoiser: Denoiser) -> Tensor:
    """Run a sampler's loop of steps to the end, answering each of its denoiser calls with ``denoiser``."""
    try:
        x, t = next(steps)
        while True:
            x, t = steps.send(denoiser(x, t))
    except StopIteration as done:
        return done.value


def _driven(steps: Callable[..., SamplerSteps]) -> Callable[..., Tensor]:
    def sample(denoiser: Denoiser, x: Tensor, schedule: NoiseSchedule, timesteps: Tensor, **kwargs: Any) -> Tensor:
        return drive(steps(x, schedule, timesteps, **kwargs), denoiser)

    sample.__name__ = sample.__qualname__ = steps.__name__.replace("steps_", "sample_")
    sample.__doc__ = steps.__doc__
    return sample


SAMPLER_STEPS: dict[str, Callable[..., SamplerSteps]] = {
    "ddpm": steps_ddpm,
    "ddim": steps_ddim,
    "dpmpp_2m": steps_dpmpp_2m,
    "euler": steps_euler,
    "heun": steps_heun,
}
SAMPLERS: dict[str, Callable[..., Tensor]] = {name: _driven(steps) for name, steps in SAMPLER_STEPS.items()}
sample_ddpm, sample_ddim, sample_dpmpp_2m = SAMPLERS["ddpm"], SAMPLERS["ddim"], SAMPLERS["dpmpp_2m"]
sample_euler, sample_heun = SAMPLERS["euler"], SAMPLERS["heun"]
DEFAULT_SAMPLER = "ddim"  # a model's sampler unless its config.json names another (``default_sampler``)
STOCHASTIC_SAMPLERS = ("ddpm",)  # always draw noise; "ddim" draws when eta > 0


def get_sampler(name: str) -> Callable[..., Tensor]:
    if name not in SAMPLERS:
        raise ValueError(f"sampler must be one of {sorted(SAMPLERS)}, got {name!r}")
    return SAMPLERS[name]


def ddim_invert(
    denoiser: Denoiser,
    x0: Tensor,
    schedule: NoiseSchedule,
    timesteps: Tensor,
    *,
    fixed_point_iterations: int = 3,
    callback: Callback | None = None,
) -> Tensor:
    """DDIM inversion: run the deterministic DDIM update backwards, x_0 -> x_{t_0} (Song et al. 2021, sec. 4.3).

    ``timesteps`` are the descending timesteps that sampling would use; the latent is carried up through them in
    ascending order. Plain inversion evaluates ε̂ at the level the latent is at, while sampling evaluates it one level
    higher, which leaves an O(1/N) round-trip error. Each of ``fixed_point_iterations`` re-evaluates ε̂ at the new
    level and solves the DDIM step for it exactly (fixed-point inversion, Pan et al. 2023), so sampling from the
    result with DDIM (eta = 0) on the same timesteps returns to x_0 much more closely.
    """
    ts = timesteps.flip(0).tolist()  # ascending
    x = x0
    for i, t_next in enumerate(ts):
        t_cur = ts[i - 1] if i > 0 else -1
        a_cur, a_next = _alpha_bar(schedule, t_cur), _alpha_bar(schedule, t_next)
        sa_cur, s1a_cur = math.sqrt(a_cur), math.sqrt(1.0 - a_cur)
        sa_next, s1a_next = math.sqrt(a_next), math.sqrt(1.0 - a_next)
        eps = denoiser(x, _t(t_cur if t_cur >= 0 else t_next, x))
        if callback is not None:
            callback(StepInfo(i, t_cur, x, eps, (x - s1a_cur * eps) / sa_cur))
        x_next = sa_next * (x - s1a_cur * eps) / sa_cur + s1a_next * eps
        for _ in range(fixed_point_iterations):
            eps = denoiser(x_next, _t(t_next, x))  # ε̂ where the sampling step will evaluate it
            x_next = sa_next * (x - s1a_cur * eps) / sa_cur + s1a_next * eps
        x = x_next
    return x


def repaint_moves(num_steps: int, jump_length: int, jump_n_sample: int) -> list[int]:
    """RePaint's resampling schedule (Lugmayr et al. 2022, sec. 4.2) over step levels N..0.

    Returns the sequence of levels visited, starting at N (pure noise) and ending at 0 (clean). Every
    ``jump_length`` levels the chain jumps back up ``jump_length`` levels, ``jump_n_sample - 1`` times.
    """
    if jump_length < 1 or jump_n_sample < 1:
        raise ValueError(f"jump_length and jump_n_sample must be >= 1, got {jump_length} and {jump_n_sample}")
    jumps = {j: jump_n_sample - 1 for j in range(0, num_steps - jump_length, jump_length)}
    level, levels = num_steps, [num_steps]
    while level >= 1:
        level -= 1
        levels.append(level)
        if jumps.get(level, 0) > 0:
            jumps[level] -= 1
            for _ in range(jump_length):
                level += 1
                levels.append(level)
    return levels


def guided_output(
    model: Callable[[Tensor, Tensor, Tensor], Tensor],
    schedule: NoiseSchedule,
    x: Tensor,
    t: Tensor,
    cond_emb: Tensor,
    null_emb: Tensor,
    guidance_scale: float | Tensor,
    prediction_type: str = "epsilon",
) -> Tensor:
    """Classifier-free guidance (Ho & Salimans 2022): ε̂ = ε̂(∅) + s (ε̂(c) - ε̂(∅)), for x [B, ...] at t [B].

    ``guidance_scale`` is one number or one per image ([B] tensor). The conditional and unconditional passes run
    as one batched forward; where every scale is 1 only the conditional pass runs (the plain conditional model),
    and in a batch of mixed scales only the images whose scale is not 1 get an unconditional pass (a merged batch
    of requests at different steps, some inside their guidance interval and some outside it).
    """
    if isinstance(guidance_scale, Tensor) and bool((guidance_scale == guidance_scale[0]).all()):
        guidance_scale = float(guidance_scale[0])  # one scale: the same arithmetic as a request alone
    guided = (guidance_scale != 1.0).nonzero()[:, 0] if isinstance(guidance_scale, Tensor) else None
    if isinstance(guidance_scale, float | int) and guidance_scale == 1.0:
        out = model(x, t, cond_emb)
    elif guided is not None and len(guided) < len(x):  # some rows unguided: their unconditional pass is skipped
        both = model(torch.cat([x, x[guided]]), torch.cat([t, t[guided]]), torch.cat([cond_emb, null_emb[guided]]))
        out, out_uncond = both[: len(x)].clone(), both[len(x) :]
        scale = guidance_scale[guided].to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))  # type: ignore[index]
        out[guided] = out_uncond + scale * (out[guided] - out_uncond)
    else:
        both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([null_emb, cond_emb]))
        out_uncond, out_cond = both.chunk(2)
        if isinstance(guidance_scale, Tensor):
            guidance_scale = guidance_scale.to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))  # [B, 1, 1, 1]
        out = out_uncond + guidance_scale * (out_cond - out_uncond)
    if prediction_type == "v_prediction":
        return schedule.eps_from_v(x, t, out)
    return out


def guided_denoiser(
    model: Callable[[Tensor, Tensor, Tensor], Tensor],
    schedule: NoiseSchedule,
    cond_emb: Tensor,
    null_emb: Tensor,
    guidance_scale: float | Tensor,
    prediction_type: str = "epsilon",
) -> Denoiser:
    """``guided_output`` with the embeddings and scale bound: a ``denoiser(x_t, t) -> ε̂`` for the samplers."""

    def denoise(x: Tensor, t: Tensor) -> Tensor:
        return guided_output(model, schedule, x, t, cond_emb, null_emb, guidance_scale, prediction_type)

    return denoise


def steps_repaint(
    x: Tensor,
    schedule: NoiseSchedule,
    timesteps: Tensor,
    *,
    known: Tensor,
    mask: Tensor,
    jump_length: int = 10,
    jump_n_sample: int = 10,
    eta: float = 1.0,
    generators: list[torch.Generator],
    callback: Callback | None = None,
) -> SamplerSteps:
    """RePaint (Lugmayr et al. 2022, Algorithm 1) over respaced timesteps.

    ``known`` is the clean latent x_0 of the image [B, c, h, w]; ``mask`` [B or 1, 1, h, w] is 1 where to
    repaint. Each step down denoises the unknown part (DDIM with ``eta``; 1 = DDPM) and takes the known part from
    q(x_{t-1} | x_0); each jump up re-noises with q(x_t | x_{t-1}) so the two parts can harmonise.
    """
    N = len(timesteps)
    levels = repaint_moves(N, jump_length, jump_n_sample)
    level_t = [-1, *timesteps.flip(0).tolist()]  # level k -> timestep; level 0 is clean (t = -1)
    for i, (hi, lo) in enumerate(itertools.pairwise(levels)):
        t_from, t_to = level_t[hi], level_t[lo]
        if lo < hi:  # denoise one step
            eps = yield x, _t(t_from, x)
            if callback is not None:
                callback(StepInfo(i, t_from, x, eps, schedule.predict_x0(x, t_from, eps)))
            x_unknown, _ = ddim_step(x, eps, schedule, t_from, t_to, eta=eta, generators=generators)
            if t_to >= 0:
                x_known = schedule.q_sample(known, t_to, randn(tuple(x.shape), generators, x.dtype).to(x.device))
            else:
                x_known = known
            x = mask * x_unknown + (1.0 - mask) * x_known
        else:  # jump back up: q(x_t | x_{t_prev}) = N(sqrt(ᾱ_t / ᾱ_prev) x, (1 - ᾱ_t / ᾱ_prev) I)
            ratio = _alpha_bar(schedule, t_to) / _alpha_bar(schedule, t_from)
            noise = randn(tuple(x.shape), generators, x.dtype).to(x.device)
            x = math.sqrt(ratio) * x + math.sqrt(1.0 - ratio) * noise
    return x


sample_repaint = _driven(steps_repaint)
