"""Stage 1b: make the VAE decoder robust to small latent errors, keeping the encoder (and so the latents) fixed.

A sampled latent is never exactly an encoder output: the denoiser leaves an error of a few percent of the latent's
std, and a decoder trained only on (near-deterministic, KL 1e-6) posterior samples passes it through as grain.
This stage fine-tunes only the decoder on decode(z + σ ε) -> x with z ~ q(z | x), ε ~ N(0, I) and
σ ~ U(0, noise_max) per image, in units of the scaled latent (std 1), with the VAE's own L1 loss.
The encoder is frozen, so a denoiser trained on the old VAE's latents works with the new decoder unchanged, and the
two stage-2 jobs (this and the denoiser) can run at the same time.
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
from .checkpoint import save_model_folder
from .data import Dataset, batch_indices
from .train import Loop, LoopConfig
from .train_diffusion import encode_dataset, load_vae, scaling_factor
from .train_state import find_state, load_state, save_state, step_generator
from .train_vae import psnr, reconstruction_grid
from .vae import VAE

ENCODER_PREFIXES = ("encoder.",)  # the parameters that make the latent; frozen here


@dataclass
class DecoderTrainConfig:
    noise_max: float = 0.2  # σ ~ U(0, noise_max), in units of the scaled latent (std 1)
    scale_images: int = 5000  # train images whose latents measure the scaling factor (as train_diffusion)
    num_preview: int = 16  # images in the reconstruction grids

    def __post_init__(self) -> None:
        if self.noise_max < 0:
            raise ValueError(f"noise_max must be >= 0, got {self.noise_max}")


def encoder_state(vae: VAE) -> dict[str, Tensor]:
    return {k: v for k, v in vae.state_dict().items() if k.startswith(ENCODER_PREFIXES)}


def decoder_parameters(vae: VAE) -> list[nn.Parameter]:
    return [p for name, p in vae.named_parameters() if not name.startswith(ENCODER_PREFIXES)]


def noisy_decoder_loss(vae: VAE, decoder: nn.Module, x: Tensor, mean: Tensor, std: Tensor, scale: float,
                       noise_max: float, gen: torch.Generator) -> tuple[Tensor, Tensor]:  # fmt: skip
    """L1(decode(z + σ ε / scale), x) with z ~ q(z | x) and σ ~ U(0, noise_max) per image; returns (loss, x̂).

    ``decoder`` is ``vae.decoder`` or its DistributedDataParallel wrapper.
    """
    B = x.shape[0]
    z = mean + std * torch.randn(mean.shape, generator=gen).to(mean)  # z ~ q(z | x), unscaled
    sigma = noise_max * torch.rand(B, 1, 1, 1, generator=gen).to(mean)  # [B, 1, 1, 1], scaled units
    z = z + sigma / scale * torch.randn(mean.shape, generator=gen).to(mean)
    recon = decoder(z, vae._sizes())
    return F.l1_loss(recon, x), recon


def finetune_decoder(
    data: Dataset, vae_folder: str | Path, loop_cfg: LoopConfig, cfg: DecoderTrainConfig, out_dir: str | Path,
    info: ddp.DistInfo, command: str | None = None,
) -> Path:  # fmt: skip
    """Fine-tune the decoder of the VAE in ``vae_folder``; returns ``out_dir``, a VAE folder (same encoder)."""
    out_dir = Path(out_dir)
    vae, base_config = load_vae(vae_folder)
    if vae.image_size != data.image_size or vae.config.in_channels != data.channels:
        raise ValueError(f"the VAE in {vae_folder} does not fit the data ({data.channels}x{data.image_size}²)")
    vae.to(info.device)
    mean, std = encode_dataset(vae, data.images[: cfg.scale_images], info.device)
    scale = scaling_factor(mean, std, cfg.scale_images, loop_cfg.seed)  # the value train_diffusion measures
    params = decoder_parameters(vae)
    for p in params:
        p.requires_grad_(True)
    vae.train()  # the encoder has no dropout or batch statistics: only its frozen weights matter
    opt = torch.optim.AdamW(params, loop_cfg.lr, betas=(0.5, 0.9), weight_decay=0.0)
    meta: dict[str, Any] = {"step": 0, "elapsed_s": 0.0}
    state_dir = find_state(out_dir / "state") if loop_cfg.resume else None
    if state_dir is not None:
        meta = load_state(state_dir, {"vae": vae}, {"decoder": opt})
    loop = Loop(loop_cfg, out_dir, info, "decoder", meta["step"], meta["elapsed_s"])
    loop.log({"step": loop.step, "scaling_factor": scale, "noise_max": cfg.noise_max})
    preview = data.images[: cfg.num_preview].to(info.device)
    decoder_d = ddp.wrap(vae.decoder, info)

    def save() -> None:
        if info.is_main:
            save_state(out_dir / "state", {"vae": vae}, {"decoder": opt},
                       {"step": loop.step, "elapsed_s": loop.elapsed_s, "seed": loop_cfg.seed})  # fmt: skip

    preview_fn = functools.partial(reconstruction_grid, vae, preview)
    while not loop.done():
        step = loop.step
        idx = batch_indices(len(data), loop_cfg.batch_size, step, loop_cfg.seed, info.rank, info.world_size)
        x = data.images[idx].to(info.device)
        with torch.no_grad():
            q = vae.encode(x)
        gen = step_generator(loop_cfg.seed, info.rank, step)
        lr = loop.set_lr([opt])
        loss, recon = noisy_decoder_loss(vae, decoder_d, x, q.mean, q.std, scale, cfg.noise_max, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if loop_cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(params, loop_cfg.grad_clip)
        opt.step()
        loop.record({"loss": loss.item(), "psnr": psnr(x, recon.detach())}, lr)
        loop.after_step(save, preview_fn)
    loop.finish(save, preview_fn)
    if info.is_main:
        training = loop.record_of_run(command, decoder_training=asdict(cfg), base_vae=str(vae_folder))
        config = {**base_config, "decoder_training": training}
        save_model_folder(out_dir, config, {"vae": vae.state_dict()})
    ddp.barrier(info)
    return out_dir


def swap_vae(model_folder: str | Path, vae_folder: str | Path, out: str | Path) -> Path:
    """Write ``model_folder`` with the VAE of ``vae_folder`` to ``out``; the encoders must be identical.

    An identical encoder means identical latents (and scaling factor), so the denoiser stays valid.
    """
    from .pipeline import LatentDiffusionPipeline

    pipe = LatentDiffusionPipeline.from_pretrained(model_folder)
    vae, vae_config = load_vae(vae_folder)
    new, old = encoder_state(vae), encoder_state(pipe.vae)
    if new.keys() != old.keys() or not all(torch.equal(new[k], old[k]) for k in new):
        raise ValueError(f"the encoder of {vae_folder} differs from that of {model_folder}: its latents would not "
                         "match the denoiser (fine-tune the decoder of the model's own VAE)")  # fmt: skip
    pipe.vae = vae
    pipe.extra_config["decoder_training"] = vae_config.get("decoder_training", {})
    pipe.save_pretrained(out)
    return Path(out)
