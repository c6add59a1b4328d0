"""Stage 2: train the class-conditional denoiser on the latents of a trained VAE (LDM, Rombach et al. 2022).

The training images are encoded once; each step draws z_0 ~ q(z | x) (scaled by the scaling factor), a timestep
t ~ U{0..T-1} and ε ~ N(0, I), and regresses the UNet's output on ε or v (DDPM Algorithm 1). Labels are replaced
by the null class with probability ``cond_drop`` so one network learns p(z) and p(z | class) (classifier-free
guidance). The EMA of the weights samples the preview grids and is what the exported model ships.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import distributed as ddp
from .checkpoint import load_model_folder
from .checkpoint import load_state as load_weights
from .data import Dataset, batch_indices
from .ema import EMA
from .pipeline import LatentDiffusionPipeline
from .replay import write_replay
from .schedule import NoiseSchedule, make_schedule
from .train import Loop, LoopConfig, save_grid, seeded
from .train_state import find_state, load_state, save_state, step_generator
from .unet import UNet, UNetConfig
from .vae import VAE, VAEConfig

PRECISIONS = ("fp32", "bf16")


@dataclass
class DiffusionTrainConfig:
    schedule: str = "linear"  # β recipe (schedule.BETA_SCHEDULES)
    num_train_timesteps: int = 1000  # T
    cond_drop: float = 0.1  # probability that a label becomes the null class (classifier-free guidance)
    ema_decay: float = 0.999  # decay of the EMA weights that sample and ship
    scale_images: int = 5000  # train images whose latents measure the scaling factor (1 / std)
    guidance_scale: float = 3.0  # default_guidance_scale of the exported model and of the previews
    sample_steps: int = 25  # DDIM steps of the preview grids
    samples_per_class: int = 8  # columns of the preview grids (one row per class)
    snr_gamma: float = 0.0  # > 0: Min-SNR-γ loss weighting (Hang et al. 2023); 0: plain MSE (DDPM)
    precision: str = "fp32"  # "bf16": the UNet's forward and backward under bfloat16 autocast (weights stay fp32)

    def __post_init__(self) -> None:
        if not 0.0 <= self.cond_drop < 1.0:
            raise ValueError(f"cond_drop must be in [0, 1), got {self.cond_drop}")
        if self.snr_gamma < 0:
            raise ValueError(f"snr_gamma must be >= 0 (0 = off), got {self.snr_gamma}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")


def load_vae(folder: str | Path) -> tuple[VAE, dict[str, Any]]:
    """The VAE of a model folder (a ``train vae`` output or a full pipeline folder), hashes checked."""
    config, weights = load_model_folder(folder)
    if "vae" not in weights or "vae" not in config:
        raise ValueError(f"{folder} holds no VAE (needs vae.safetensors and a 'vae' entry in config.json)")
    vae = VAE(VAEConfig(**config["vae"]), image_size=int(config["image_size"]))
    load_weights(vae, weights["vae"], "vae")
    return vae.eval().requires_grad_(False), config


def pixel_vae(data: Dataset) -> tuple[VAE, dict[str, Any]]:
    """The identity VAE for a pixel-space denoiser on ``data`` (no weights, no training record)."""
    vae = VAE(VAEConfig.pixel_space(data.channels), image_size=data.image_size)
    return vae.eval().requires_grad_(False), {}


@torch.no_grad()
def encode_dataset(vae: VAE, images: Tensor, device: torch.device, batch_size: int = 500) -> tuple[Tensor, Tensor]:
    """Posterior mean and std of every image: two float32 [N, c, h, w] tensors on the CPU."""
    means, stds = [], []
    for i in range(0, len(images), batch_size):
        q = vae.encode(images[i : i + batch_size].to(device))
        means.append(q.mean.cpu())
        stds.append(q.std.cpu())
    return torch.cat(means), torch.cat(stds)


def scaling_factor(mean: Tensor, std: Tensor, num_images: int, seed: int) -> float:
    """1 / std of latents z ~ q(z | x) of the first ``num_images`` images (LDM's scale_factor, measured)."""
    g = torch.Generator().manual_seed(seed)
    m, s = mean[:num_images], std[:num_images]
    z = m + s * torch.randn(m.shape, generator=g)
    return float(1.0 / z.double().std())


def min_snr_weight(snr: Tensor, gamma: float, prediction_type: str) -> Tensor:
    """Min-SNR-γ weights [B] of the MSE on ε or v, so the effective x̂0 loss is weighted by min(SNR, γ).

    ε-MSE = SNR · x̂0-MSE and v-MSE = (SNR + 1) · x̂0-MSE, hence min(SNR, γ) / SNR and min(SNR, γ) / (SNR + 1).
    """
    clipped = snr.clamp(max=gamma)
    return clipped / snr if prediction_type == "epsilon" else clipped / (snr + 1.0)


def diffusion_loss(
    unet: nn.Module, schedule: NoiseSchedule, z0: Tensor, labels: Tensor, gen: torch.Generator, cond_drop: float,
    snr_gamma: float = 0.0,
) -> Tensor:  # fmt: skip
    """DDPM Algorithm 1 on scaled latents z0 [B, c, h, w]: MSE between the UNet's output and ε (or v).

    With ``snr_gamma`` > 0 each image's MSE is weighted by :func:`min_snr_weight` (mean over the batch).
    """
    B = z0.shape[0]
    t = torch.randint(0, schedule.num_train_timesteps, (B,), generator=gen)  # [B]
    eps = torch.randn(z0.shape, generator=gen)  # ε [B, c, h, w]
    drop = torch.rand(B, generator=gen) < cond_drop
    labels = torch.where(drop, torch.full_like(labels, -1), labels.cpu())  # -1 = null class
    eps, t, labels = eps.to(z0.device), t.to(z0.device), labels.to(z0.device)
    z_t = schedule.q_sample(z0, t, eps)  # sqrt(ᾱ_t) z_0 + sqrt(1 - ᾱ_t) ε
    prediction_type = ddp.unwrap(unet).config.prediction_type
    target = eps if prediction_type == "epsilon" else schedule.get_velocity(z0, t, eps)
    pred = unet(z_t, t, labels).float()  # fp32 even under bf16 autocast
    if snr_gamma <= 0:
        return F.mse_loss(pred, target)
    per_image = (pred - target).pow(2).flatten(1).mean(1)  # [B]
    weight = min_snr_weight(schedule.snr(t).to(per_image), snr_gamma, prediction_type)
    return (weight * per_image).mean()


def schedule_on(cfg: DiffusionTrainConfig, device: torch.device) -> NoiseSchedule:
    s = make_schedule(cfg.schedule, cfg.num_train_timesteps)
    return NoiseSchedule(s.name, s.betas.to(device), s.alphas.to(device), s.alphas_cumprod.to(device))


def make_pipeline(vae: VAE, unet: UNet, cfg: DiffusionTrainConfig, scale: float, class_names: list[str],
                  name: str, extra_config: dict[str, Any]) -> LatentDiffusionPipeline:  # fmt: skip
    schedule = make_schedule(cfg.schedule, cfg.num_train_timesteps)
    return LatentDiffusionPipeline(vae, unet, schedule, scale, class_names, default_guidance_scale=cfg.guidance_scale,
                                   name=name, extra_config=extra_config)  # fmt: skip


def preview_grid(pipe: LatentDiffusionPipeline, cfg: DiffusionTrainConfig, path: Path) -> Path:
    """One row per class, ``samples_per_class`` columns, DDIM, seeds 0.."""
    k = cfg.samples_per_class
    labels = [c for c in range(len(pipe.class_names)) for _ in range(k)]
    out = pipe(class_labels=labels, num_inference_steps=cfg.sample_steps, seed=0, output_type="np")
    return save_grid(out.images, path, ncols=k)


def train_diffusion(
    data: Dataset, vae_folder: str | Path | None, unet_cfg: UNetConfig, loop_cfg: LoopConfig, cfg: DiffusionTrainConfig,
    out_dir: str | Path, info: ddp.DistInfo, name: str = "model", extra_config: dict[str, Any] | None = None,
    command: str | None = None, init_unet: tuple[dict[str, Tensor], str] | None = None,
) -> Path:  # fmt: skip
    """Train (or resume) the denoiser on the VAE's latents; returns the exported model folder ``<out>/model``.

    ``vae_folder`` None: a pixel-space model (``VAEConfig.pixel_space``): the same denoiser on the images themselves,
    in [-1, 1] and unscaled, as in DDPM.

    ``init_unet`` = (state dict, where it came from): a fresh run starts from these weights (a warm start, e.g.
    a longer training of a shipped model) instead of a random initialisation; its EMA starts from them at full decay.
    """
    out_dir = Path(out_dir)
    vae, vae_config = pixel_vae(data) if vae_folder is None else load_vae(vae_folder)
    if vae.image_size != data.image_size or vae.config.in_channels != data.channels:
        raise ValueError(
            f"the VAE in {vae_folder} is for {vae.config.in_channels}x{vae.image_size}x{vae.image_size} images, "
            f"the data has {data.channels}x{data.image_size}x{data.image_size}"
        )
    if unet_cfg.in_channels != vae.config.latent_channels or unet_cfg.num_classes != len(data.class_names):
        raise ValueError(f"UNet in_channels/num_classes must be {vae.config.latent_channels}/{len(data.class_names)}")
    vae.to(info.device)
    mean, std = encode_dataset(vae, data.images, info.device)  # [N, c, h, w] each
    scale = 1.0 if vae.config.identity else scaling_factor(mean, std, cfg.scale_images, loop_cfg.seed)
    with seeded(loop_cfg.seed):
        unet = UNet(unet_cfg)
    unet.to(info.device).train()
    ema = EMA(unet, cfg.ema_decay)
    opt = torch.optim.AdamW(unet.parameters(), loop_cfg.lr, weight_decay=0.0)
    meta: dict[str, Any] = {"step": 0, "elapsed_s": 0.0}
    state_dir = find_state(out_dir / "state") if loop_cfg.resume else None
    if state_dir is not None:
        meta = load_state(state_dir, {"unet": unet, "ema": ema.model}, {"unet": opt})
        ema.num_updates = meta["step"]
    if init_unet is not None:
        if state_dir is None:
            load_weights(unet, init_unet[0], "unet")
            ema.model.load_state_dict(unet.state_dict())
        ema.skip_warmup()  # the average starts from trained weights: no warm-up towards them
        extra_config = {**(extra_config or {}), "init_unet": init_unet[1]}
    loop = Loop(loop_cfg, out_dir, info, "diffusion", meta["step"], meta["elapsed_s"])
    loop.log({"step": loop.step, "scaling_factor": scale, "latent_shape": list(mean.shape[1:])})
    unet_d = ddp.wrap(unet, info)
    schedule = schedule_on(cfg, info.device)
    extra = {**(extra_config or {}), "vae_training": vae_config.get("training", {})}
    pipe = make_pipeline(vae, ema.model, cfg, scale, data.class_names, name, extra)

    def save() -> None:
        if info.is_main:
            save_state(out_dir / "state", {"unet": unet, "ema": ema.model}, {"unet": opt},
                       {"step": loop.step, "elapsed_s": loop.elapsed_s, "seed": loop_cfg.seed})  # fmt: skip

    preview = functools.partial(preview_grid, pipe, cfg)
    while not loop.done():
        step = loop.step
        idx = batch_indices(len(data), loop_cfg.batch_size, step, loop_cfg.seed, info.rank, info.world_size)
        gen = step_generator(loop_cfg.seed, info.rank, step)
        z0 = (mean[idx] + std[idx] * torch.randn(mean[idx].shape, generator=gen)) * scale  # z_0 ~ q(z | x), scaled
        lr = loop.set_lr([opt])
        with torch.autocast(info.device.type, torch.bfloat16, enabled=cfg.precision == "bf16"):
            loss = diffusion_loss(unet_d, schedule, z0.to(info.device), data.labels[idx], gen, cfg.cond_drop,
                                  cfg.snr_gamma)  # fmt: skip
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if loop_cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(unet.parameters(), loop_cfg.grad_clip)
        opt.step()
        ema.update(unet)
        loop.record({"loss": loss.item()}, lr)
        loop.after_step(save, preview)
    loop.finish(save, preview)
    model_dir = out_dir / "model"
    if info.is_main:
        pipe.extra_config["training"] = loop.record_of_run(command, diffusion_training=asdict(cfg))
        pipe.save_pretrained(model_dir)
    if info.is_main and vae_folder is not None:  # a pixel-space model has no stage 1 to replay
        num_preview = vae_config.get("training", {}).get("vae_training", {}).get("num_preview", 16)
        write_replay(vae_folder, out_dir, model_dir, image_size=data.image_size, channels=data.channels,
                     num_preview=min(num_preview, len(data)), samples_per_class=cfg.samples_per_class,
                     num_classes=len(data.class_names), commands=[vae_config.get("training", {}).get("command", ""),
                     pipe.extra_config["training"]["command"]])  # fmt: skip
    ddp.barrier(info)
    return model_dir
