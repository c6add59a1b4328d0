"""What the Learn tab shows, computed: every stage of a latent diffusion model as numpy arrays and plain numbers.

Each function takes a ``LatentDiffusionPipeline`` and returns a dict of numpy arrays (images float32 [H, W, C] in
[0, 1], latents float32 [c, h, w], scaled as the denoiser sees them) and floats; the app only draws them. Sampling
goes through ``pipe.run_job`` (the app's batcher). Nothing here assumes one channel or 28 x 28.

The chapter (../shared/seed, "详解潜在扩散模型架构") is quoted where it differs from what ldm_core does:
its sampler ``z = (z - β_t ẑ) / sqrt(1 - β_t)`` is ``sample_chapter`` below.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from . import images as imx
from .arguments import check_number, check_seeds
from .metrics import psnr
from .pipeline import LatentDiffusionPipeline, generators_for
from .samplers import StepInfo, guided_output, randn
from .sampling import SamplingJob
from .schedule import make_schedule
from .vae import vae_loss

GUIDANCE_SCALES = (0.0, 1.0, 2.0, 4.0, 8.0)  # the guidance row of the Learn tab
CHAPTER = "chapter"  # the chapter's sampler (its own update rule, no noise) driven by the shipped denoiser
CHAPTER_OWN_NET = "chapter_own_net"  # the chapter's sampler with the network its code trains (the identity map)


def _np(x: Tensor) -> np.ndarray:
    return x.detach().float().cpu().numpy()


def _check_t(pipe: LatentDiffusionPipeline, t: Any) -> int:
    check_number("timestep", t, 0, pipe.num_train_timesteps - 1, integer=True)
    return int(t)


def model_image(pipe: LatentDiffusionPipeline, image: Any) -> np.ndarray:
    """Any accepted image (PIL, uint8 or [0, 1] array) -> float32 [H, W, C] at the model's size and channels."""
    return pipe._image(image)


# ---------------------------------------------------------------------------------------------------- 1. VAE
@torch.inference_mode()
def vae_view(pipe: LatentDiffusionPipeline, image: Any) -> dict[str, Any]:
    """Encode and decode one image: what the VAE keeps, the latent, and the chapter's two loss terms for it.

    The chapter's loss L = -E_{q(z|x)}[log p(x|z)] + KL(q(z|x) || p(z)) is, in ldm_core (``vae.vae_loss``), an L1
    reconstruction term (the negative log-likelihood of a Laplace decoder, up to constants) plus the KL weighted by
    ``kl_weight`` / pixels. Returns input, recon [H, W, C], error [H, W] (|x - x̂| averaged over channels), psnr_db,
    latent [c, h, w] (z_0 = mean * scaling_factor), latent_std [c, h, w], pixel and latent counts, l1, kl, loss.
    """
    arr = model_image(pipe, image)  # [H, W, C] in [0, 1]
    x = imx.to_model_tensor(arr).to(pipe.device)  # [1, C, H, W] in [-1, 1]
    posterior = pipe.vae.encode(x)
    recon_t = pipe.vae.decode(posterior.mode())  # [1, C, H, W]
    kl_weight = float(pipe.extra_config.get("vae_training", {}).get("vae_training", {}).get("kl_weight", 1e-6))
    terms = vae_loss(x, recon_t.clamp(-1, 1), posterior, kl_weight)
    recon = imx.to_numpy_images(recon_t)[0]  # [H, W, C]
    return {
        "input": arr,
        "recon": recon,
        "error": np.abs(recon - arr).mean(-1),
        "psnr_db": float(psnr(recon[None], arr[None])[0]),
        "latent": _np(posterior.mode()[0] * pipe.scaling_factor),
        "latent_std": _np(posterior.std[0] * pipe.scaling_factor),
        "num_pixels": int(arr.size),
        "num_latent": int(np.prod(pipe.latent_shape)),
        "l1": float(terms["recon"]),
        "kl": float(terms["kl"]),
        "kl_weight": kl_weight,
        "loss": float(terms["loss"]),
    }


def decode_latent(pipe: LatentDiffusionPipeline, latent: np.ndarray) -> np.ndarray:
    """A scaled latent [c, h, w] (or [B, c, h, w]) -> decoded images [B, H, W, C] in [0, 1]."""
    z = torch.as_tensor(np.asarray(latent, dtype=np.float32))
    return pipe.decode(z[None] if z.ndim == 3 else z)


def nudge_cell(
    pipe: LatentDiffusionPipeline, latent: np.ndarray, channel: int, row: int, col: int, value: float
) -> dict[str, Any]:
    """Set one latent cell to ``value`` and decode: what that one number controls.

    Returns latent (the changed copy), image [H, W, C], base [H, W, C] (the unchanged decoding) and change [H, W]
    (|image - base| averaged over channels)."""
    c, h, w = pipe.latent_shape
    check_number("latent channel", channel, 0, c - 1, integer=True)
    check_number("latent row", row, 0, h - 1, integer=True)
    check_number("latent column", col, 0, w - 1, integer=True)
    check_number("latent value", value, -10.0, 10.0)
    changed = np.array(latent, dtype=np.float32, copy=True)
    changed[int(channel), int(row), int(col)] = float(value)
    base, image = decode_latent(pipe, np.stack([np.asarray(latent, np.float32), changed]))
    return {"latent": changed, "image": image, "base": base, "change": np.abs(image - base).mean(-1)}


# ---------------------------------------------------------------------------------------------------- 2. forward
@torch.inference_mode()
def forward_view(pipe: LatentDiffusionPipeline, image: Any, t: int, seed: int = 0) -> dict[str, Any]:
    """z_t = sqrt(ᾱ_t) z_0 + sqrt(1 - ᾱ_t) ε under the model's schedule, and under linear and cosine at the same t
    with the same ε. Returns z0, eps, per schedule name {zt, image, alpha_bar, snr}, and z0_image."""
    t = _check_t(pipe, t)
    z0 = pipe.encode(imx.to_model_tensor(model_image(pipe, image)))  # [1, c, h, w]
    eps = randn(tuple(z0.shape), generators_for(check_seeds(seed, 1)))
    T = pipe.num_train_timesteps
    schedules = {"model": pipe.schedule, "linear": make_schedule("linear", T), "cosine": make_schedule("cosine", T)}
    zts = {name: s.q_sample(z0, t, eps) for name, s in schedules.items()}
    decoded = pipe.decode(torch.cat([z0, *zts.values()]))  # [1 + 3, H, W, C]
    out: dict[str, Any] = {"t": t, "z0": _np(z0[0]), "eps": _np(eps[0]), "z0_image": decoded[0],
                           "model_schedule": pipe.schedule.name}  # fmt: skip
    for k, (name, s) in enumerate(schedules.items()):
        a = float(s.alphas_cumprod[t])
        out[name] = {"zt": _np(zts[name][0]), "image": decoded[1 + k], "alpha_bar": a, "snr": a / max(1 - a, 1e-300)}
    return out


def schedule_curves(pipe: LatentDiffusionPipeline) -> dict[str, np.ndarray]:
    """ᾱ_t and SNR(t) over t = 0..T-1 for the model's schedule, linear and cosine (float64 [T] each)."""
    T = pipe.num_train_timesteps
    out = {}
    for name, s in (("model", pipe.schedule), ("linear", make_schedule("linear", T)),
                    ("cosine", make_schedule("cosine", T))):  # fmt: skip
        a = s.alphas_cumprod.numpy()
        out[f"{name}_alpha_bar"] = a
        out[f"{name}_snr"] = a / np.maximum(1.0 - a, 1e-300)
    return out


@torch.inference_mode()
def iterated_vs_closed(
    pipe: LatentDiffusionPipeline, z0: np.ndarray, t: int, seed: int = 0, num_draws: int = 64
) -> dict[str, Any]:
    """The chapter's one step x_t = sqrt(α_t) x_{t-1} + sqrt(1 - α_t) ε_t applied t+1 times (t = 0..t) vs the
    closed form q(x_t | x_0) = N(sqrt(ᾱ_t) x_0, (1 - ᾱ_t) I), over ``num_draws`` noise draws of each.

    Returns the statistics of both (mean of x_t - sqrt(ᾱ_t) x_0, std), the closed form's std sqrt(1 - ᾱ_t), and the
    decoded first draw of each [H, W, C]."""
    t = _check_t(pipe, t)
    check_number("num_draws", num_draws, 2, 4096, integer=True)
    x0 = torch.as_tensor(np.asarray(z0, np.float32))[None].double()  # [1, c, h, w]
    g = generators_for(check_seeds(seed, 1))[0]
    shape = (num_draws, *x0.shape[1:])
    x = x0.expand(shape).clone()
    alphas = pipe.schedule.alphas
    for s in range(t + 1):  # the chapter's eq. of 4.1, one step at a time, fresh ε_s each step
        x = alphas[s].sqrt() * x + (1 - alphas[s]).sqrt() * torch.randn(shape, generator=g, dtype=torch.float64)
    a = float(pipe.schedule.alphas_cumprod[t])
    closed = pipe.schedule.q_sample(x0, t, torch.randn(shape, generator=g, dtype=torch.float64))
    images = pipe.decode(torch.cat([x[:1], closed[:1]]).float())

    def stats(v: Tensor) -> dict[str, float]:
        r = v - math.sqrt(a) * x0  # what is noise
        return {"mean": float(r.mean()), "std": float(r.std()), "signal_corr": _corr(v, x0)}

    return {"t": t, "alpha_bar": a, "std_closed_form": math.sqrt(1 - a), "iterated": stats(x), "closed": stats(closed),
            "iterated_image": images[0], "closed_image": images[1], "num_draws": int(num_draws)}  # fmt: skip


def _corr(v: Tensor, x0: Tensor) -> float:
    """Mean over draws of the correlation between a draw and x_0 (how much of the image is left)."""
    vf, xf = v.flatten(1), x0.flatten(1).expand(v.shape[0], -1)
    vf, xf = vf - vf.mean(1, keepdim=True), xf - xf.mean(1, keepdim=True)
    return float(((vf * xf).sum(1) / (vf.norm(dim=1) * xf.norm(dim=1) + 1e-12)).mean())


# ---------------------------------------------------------------------------------------------------- 3. denoiser
def predicted_noise(pipe: LatentDiffusionPipeline, x: Tensor, t: Tensor, labels: Sequence[int]) -> Tensor:
    """The denoiser's ε̂ for x_t [B, c, h, w] at t [B] with class labels (no guidance; v-prediction converted)."""
    emb = pipe.class_embeddings(labels)
    return guided_output(pipe.model_output, pipe.schedule, x, t, emb, pipe.null_embeddings(len(emb)), 1.0,
                         pipe.prediction_type)  # fmt: skip


@torch.inference_mode()
def denoiser_view(
    pipe: LatentDiffusionPipeline, image: Any, t: int, seed: int = 0, label: int = -1, num_curve: int = 10
) -> dict[str, Any]:
    """The training objective at one t: x_t, the true ε, the predicted ε̂, ε̂ - ε and ||ε̂ - ε||²; the predicted x̂_0;
    the loss at ``num_curve`` noise levels (same ε); and what the chapter's code learns instead (its clean input).

    The loss the model was trained on is the MSE on its own target (ε, or v = sqrt(ᾱ_t) ε - sqrt(1 - ᾱ_t) z_0);
    ``target_loss`` is that one, ``eps_loss`` the MSE on ε."""
    t = _check_t(pipe, t)
    check_number("num_curve", num_curve, 2, 64, integer=True)
    (label,) = pipe._labels([label])
    z0 = pipe.encode(imx.to_model_tensor(model_image(pipe, image)))  # [1, c, h, w]
    eps = randn(tuple(z0.shape), generators_for(check_seeds(seed, 1)))
    ts = sorted({t, *np.linspace(0, pipe.num_train_timesteps - 1, num_curve).round().astype(int).tolist()})
    tt = torch.tensor(ts, dtype=torch.long)  # [K]
    K = len(ts)
    zt = pipe.schedule.q_sample(z0.expand(K, -1, -1, -1), tt, eps.expand(K, -1, -1, -1))  # [K, c, h, w]
    eps_hat = predicted_noise(pipe, zt, tt, [label] * K)
    x0_hat = pipe.schedule.predict_x0(zt, tt, eps_hat)
    target = eps if pipe.prediction_type == "epsilon" else pipe.schedule.get_velocity(z0, tt, eps)
    output = eps_hat if pipe.prediction_type == "epsilon" else pipe.schedule.get_velocity(x0_hat, tt, eps_hat)
    eps_mse = (eps_hat - eps).pow(2).flatten(1).mean(1)  # [K]
    target_mse = (output - target).pow(2).flatten(1).mean(1)
    k = ts.index(t)
    images = pipe.decode(torch.cat([zt[k : k + 1], x0_hat[k : k + 1], z0]))
    return {
        "t": t, "label": label, "prediction_type": pipe.prediction_type,
        "z0": _np(z0[0]), "zt": _np(zt[k]), "eps": _np(eps[0]), "eps_hat": _np(eps_hat[k]),
        "diff": _np(eps_hat[k] - eps[0]), "eps_loss": float(eps_mse[k]), "target_loss": float(target_mse[k]),
        "zt_image": images[0], "x0_hat_image": images[1], "z0_image": images[2],
        "x0_error": float((x0_hat[k] - z0[0]).pow(2).mean()),
        "curve_t": np.array(ts), "curve_eps_loss": _np(eps_mse), "curve_target_loss": _np(target_mse),
        # the chapter's DiffusionModel: loss = mse_loss(model(x), x) on the clean latent, t unused: its target is z_0
        "chapter_input": _np(z0[0]), "chapter_target": _np(z0[0]), "chapter_identity_loss": 0.0,
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------------- 4. reverse
def reverse_film(
    pipe: LatentDiffusionPipeline, label: int, seed: int, steps: int = 20, sampler: str = "ddim",
    guidance: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One sampling run kept step by step (through ``pipe.run_job``): at every step i the timestep, x_t decoded, the
    predicted ε̂ [c, h, w] and x̂_0 decoded ("jump to x_0 now"); the final image equals the last x̂_0 decoded for
    DDPM/DDIM. Returns timesteps [N], xt_images / x0_images [N, H, W, C], xt / eps [N, c, h, w], image [H, W, C]."""
    out = pipe([label], num_inference_steps=steps, guidance_scale=guidance, sampler=sampler, seed=seed,
               return_intermediates=True)  # fmt: skip
    inter = out.intermediates
    xt = torch.cat([s["x_t"] for s in inter])  # [N, c, h, w]
    x0 = torch.cat([s["x0"] for s in inter])
    ts = torch.tensor([s["t"] for s in inter])
    eps = pipe.schedule.predict_eps(xt, ts, x0)
    decoded = pipe.decode(torch.cat([xt, x0]))
    N = len(inter)
    return {"timesteps": ts.numpy(), "xt_images": decoded[:N], "x0_images": decoded[N:], "eps": _np(eps),
            "image": np.asarray(out.images)[0], "latent": _np(out.latents[0]), "sampler": sampler, "xt": _np(xt),
            "alpha_bar": pipe.schedule.alphas_cumprod[ts].numpy()}  # fmt: skip


# ---------------------------------------------------------------------------------------------------- 5. chapter
def _job(pipe: LatentDiffusionPipeline, labels: Sequence[int], seeds: Sequence[int], steps: int, guidance: Any,
         sampler: str = "ddim") -> SamplingJob:  # fmt: skip
    """A sampling job whose image i starts from the noise of seeds[i], as ``pipe(seed=...)`` draws it."""
    args = pipe.check_args(steps, None if np.ndim(guidance) else guidance, sampler)
    gens = generators_for(seeds)
    x = randn((len(labels), *pipe.latent_shape), gens)  # x_T, drawn first
    scales = torch.as_tensor(guidance if np.ndim(guidance) else [args.guidance_scale] * len(labels)).float()
    return SamplingJob(x=x, timesteps=args.timesteps(), class_emb=pipe.class_embeddings(labels), guidance=scales,
                       eta=torch.zeros(len(labels)), generators=gens, sampler=args.sampler)  # fmt: skip


def sample_chapter(
    pipe: LatentDiffusionPipeline, labels: Sequence[int], seed: int = 0, steps: int = 20,
    guidance: float | None = None,
) -> np.ndarray:  # fmt: skip
    """The chapter's generate(): z = (z - β_t ẑ) / sqrt(1 - β_t), no noise added, with ẑ the shipped denoiser's ε̂.

    β_t is the step's β of the respaced chain, 1 - ᾱ_t / ᾱ_{t_prev} (the chapter's β_t when steps = T). It runs as
    a DDIM job whose ``step_hook`` replaces each DDIM update by the chapter's, so it goes through the app's batcher.
    DDPM's mean is (x_t - β_t / sqrt(1 - ᾱ_t) ε̂) / sqrt(α_t) plus σ_t z: the chapter drops 1 / sqrt(1 - ᾱ_t) and σ_t z.
    Returns float32 images [N, H, W, C]; image i uses seed + i."""
    labels = pipe._labels(list(labels))
    job = _job(pipe, labels, check_seeds(seed, len(labels)), steps, guidance)
    seen: dict[str, Tensor] = {}

    def keep(info: StepInfo) -> None:
        seen["x_t"], seen["eps"] = info.x_t.clone(), info.eps.clone()

    def chapter_step(i: int, t_prev: int, x: Tensor) -> Tensor:
        t = int(job.timesteps[i])
        beta = 1.0 - float(pipe.schedule.alpha_bar(t)) / float(pipe.schedule.alpha_bar(t_prev))  # β_t
        return (seen["x_t"] - beta * seen["eps"]) / math.sqrt(1.0 - beta)

    job.callback, job.step_hook = keep, chapter_step
    return pipe.decode(pipe.run_job(job))


def sample_chapter_own_net(pipe: LatentDiffusionPipeline, labels: Sequence[int], seed: int = 0,
                           steps: int = 20) -> np.ndarray:  # fmt: skip
    """The chapter's sampler with the network its code trains: ``mse_loss(model(x), x)`` is solved by the identity,
    so ẑ = z and each step is z <- (z - β_t z) / sqrt(1 - β_t) = sqrt(1 - β_t) z; after all steps
    z = sqrt(ᾱ_{t_0}) z_T, a shrunken copy of the starting noise. Returns decoded images [N, H, W, C]."""
    labels = pipe._labels(list(labels))
    args = pipe.check_args(steps)
    z = randn((len(labels), *pipe.latent_shape), generators_for(check_seeds(seed, len(labels)))).double()
    ts = args.timesteps().tolist()
    for i, t in enumerate(ts):
        beta = 1.0 - float(pipe.schedule.alpha_bar(t)) / float(
            pipe.schedule.alpha_bar(ts[i + 1] if i + 1 < len(ts) else -1)
        )
        z = (z - beta * z) / math.sqrt(1.0 - beta)  # ẑ = z
    return pipe.decode(z.float())


def sample_with(pipe: LatentDiffusionPipeline, sampler: str, labels: Sequence[int], seed: int = 0, steps: int = 20,
                guidance: float | None = None) -> np.ndarray:  # fmt: skip
    """Images [N, H, W, C] of one sampler: a library sampler, ``CHAPTER`` or ``CHAPTER_OWN_NET``; image i uses
    seed + i, so every sampler starts image i from the same noise."""
    if sampler == CHAPTER:
        return sample_chapter(pipe, labels, seed, steps, guidance)
    if sampler == CHAPTER_OWN_NET:
        return sample_chapter_own_net(pipe, labels, seed, steps)
    out = pipe(list(labels), num_inference_steps=steps, guidance_scale=guidance, sampler=sampler, seed=seed)
    return np.asarray(out.images)


def compare_samplers(
    pipe: LatentDiffusionPipeline, label: int, seed: int, steps: int = 20, guidance: float | None = None,
    samplers: Sequence[str] = (CHAPTER_OWN_NET, CHAPTER, "ddpm", "ddim"),
) -> dict[str, np.ndarray]:  # fmt: skip
    """The same seed, class and steps through each sampler -> {name: image [H, W, C]}."""
    return {name: sample_with(pipe, name, [label], seed, steps, guidance)[0] for name in samplers}


@torch.inference_mode()
def sample_quality(
    pipe: LatentDiffusionPipeline, classifier: Any, reference: dict[str, Any], samplers: Sequence[str],
    per_class: int = 5, steps: int = 20, seed: int = 0,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """``evaluate``'s two sample numbers for each sampler, on ``per_class`` images of each class (the same seeds for
    every sampler): the classifier's accuracy on the asked class and the Fréchet distance of its features to those of
    the test split (``reference["mu"], ["sigma"]``, see ``ldm_core.reference``). Row "real" is the same FD for as
    many real training images (the floor at this sample size: FD grows as the set shrinks)."""
    from .classifier import embed
    from .metrics import feature_stats, frechet_distance

    check_number("per_class", per_class, 1, 100, integer=True)
    k = len(pipe.class_names)
    labels = np.repeat(np.arange(k), per_class)

    def score(images: np.ndarray, true: np.ndarray) -> dict[str, float]:
        feats, logits = embed(classifier, images)
        fd = frechet_distance(*feature_stats(feats), reference["mu"], reference["sigma"])
        return {"accuracy": float((logits.argmax(1) == true).mean()), "fd": float(fd), "n": len(images)}

    out = {name: score(sample_with(pipe, name, labels.tolist(), seed, steps), labels) for name in samplers}
    real = np.concatenate([np.flatnonzero(reference["labels"] == c)[:per_class] for c in range(k)])
    out["real"] = score(reference["images"][real], reference["labels"][real])
    return out


def nearest_training_images(image: np.ndarray, train_images: np.ndarray, k: int = 5) -> dict[str, Any]:
    """The ``k`` training images nearest to ``image`` [H, W, C] in pixel L2 (RMS over pixels), and for scale the
    median distance of each training image to its own nearest other training image."""
    check_number("k", k, 1, 32, integer=True)
    flat = train_images.reshape(len(train_images), -1).astype(np.float64)  # [N, D]
    d = np.sqrt(((flat - np.asarray(image, np.float64).reshape(1, -1)) ** 2).mean(1))  # [N]
    order = np.argsort(d)[:k]
    sq = (flat**2).sum(1)
    pair = np.sqrt(np.maximum(sq[:, None] + sq[None] - 2 * flat @ flat.T, 0) / flat.shape[1])
    np.fill_diagonal(pair, np.inf)
    return {"indices": order, "distances": d[order], "images": train_images[order],
            "train_nn_median": float(np.median(pair.min(1)))}  # fmt: skip


# ---------------------------------------------------------------------------------------------------- 6. guidance
def guidance_row(
    pipe: LatentDiffusionPipeline, label: int, seed: int, steps: int = 20, scales: Sequence[float] = GUIDANCE_SCALES
) -> np.ndarray:
    """One seed at several guidance scales: one batched DDIM run whose rows all start from the noise of ``seed``
    (image k equals ``pipe([label], guidance_scale=scales[k], seed=seed)``). -> images [S, H, W, C]."""
    for s in scales:
        check_number("guidance scale", s, 0.0, 20.0)
    (label,) = pipe._labels([label])
    (seed,) = check_seeds(seed, 1)
    n = len(scales)
    return pipe.decode(pipe.run_job(_job(pipe, [label] * n, [seed] * n, steps, [float(s) for s in scales])))


@torch.inference_mode()
def guidance_split(pipe: LatentDiffusionPipeline, x_t: np.ndarray, t: int, label: int,
                   scale: float | None = None) -> dict[str, Any]:  # fmt: skip
    """For one latent x_t [c, h, w] at t: the unconditional ε̂(∅), conditional ε̂(c), their difference, the guided
    ε̂ = ε̂(∅) + s (ε̂(c) - ε̂(∅)) [c, h, w], and the x̂_0 each predicts, decoded [3, H, W, C] (∅, c, guided)."""
    t = _check_t(pipe, t)
    (label,) = pipe._labels([label])
    s = pipe.default_guidance_scale if scale is None else float(scale)
    check_number("guidance scale", s, 0.0, 20.0)
    x = torch.as_tensor(np.asarray(x_t, np.float32))[None]
    both = predicted_noise(pipe, torch.cat([x, x]), torch.full((2,), t), [-1, label])  # [2, c, h, w]: ∅, c
    uncond, cond = both[:1], both[1:]
    guided = uncond + s * (cond - uncond)
    x0 = pipe.schedule.predict_x0(torch.cat([x, x, x]), t, torch.cat([uncond, cond, guided]))
    return {"t": t, "scale": s, "eps_uncond": _np(uncond[0]), "eps_cond": _np(cond[0]),
            "eps_diff": _np(cond[0] - uncond[0]), "eps_guided": _np(guided[0]), "x0_images": pipe.decode(x0),
            "diff_rms": float((cond - uncond).pow(2).mean().sqrt())}  # fmt: skip


# ---------------------------------------------------------------------------------------------------- 8. cost
@torch.inference_mode()
def step_cost(pipe: LatentDiffusionPipeline, repeats: int = 5) -> dict[str, Any]:
    """FLOPs and CPU milliseconds of one denoiser call (batch 1) on the latent, and of the same UNet design built for
    the image itself (pixel space, random weights: cost does not depend on them)."""
    from torch.utils.flop_counter import FlopCounterMode

    from .unet import UNet, UNetConfig

    cfg = pipe.unet.config.__dict__ | {"in_channels": pipe.image_channels}
    pixel = UNet(UNetConfig(**cfg)).eval()
    S = pipe.image_size
    rows = {}
    for name, net, shape in (("latent", pipe.unet, pipe.latent_shape), ("pixel", pixel, (pipe.image_channels, S, S))):
        x, t = torch.zeros(1, *shape), torch.full((1,), pipe.num_train_timesteps // 2)
        emb = net.embed_class(torch.zeros(1, dtype=torch.long))
        with FlopCounterMode(display=False) as counter:
            net(x, t, class_emb=emb)
        net(x, t, class_emb=emb)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            net(x, t, class_emb=emb)
            times.append(time.perf_counter() - start)
        rows[name] = {"shape": list(shape), "numbers": int(np.prod(shape)), "flops": int(counter.get_total_flops()),
                      "ms": 1000 * float(np.median(times))}  # fmt: skip
    rows["flops_ratio"] = rows["pixel"]["flops"] / max(rows["latent"]["flops"], 1)
    rows["ms_ratio"] = rows["pixel"]["ms"] / max(rows["latent"]["ms"], 1e-9)
    return rows
