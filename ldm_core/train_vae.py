"""Stage 1: train the autoencoder (L1 + light KL, plus a patch discriminator after a warm-up, as LDM's KL-f models).

Writes ``<out>/config.json`` + ``<out>/vae.safetensors`` (a model folder that ``train_diffusion`` reads), the log,
sample grids (top row: images, bottom row: reconstructions) and the resumable state.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import distributed as ddp
from . import images as imx
from .checkpoint import save_model_folder
from .data import Dataset, batch_indices
from .discriminator import DiscriminatorConfig, PatchDiscriminator, adaptive_weight, hinge_d_loss
from .train import Loop, LoopConfig, save_grid, seeded
from .train_state import find_state, load_state, save_state, step_generator
from .vae import VAE, VAEConfig, vae_loss


@dataclass
class VAETrainConfig:
    kl_weight: float = 1e-6  # weight of KL / pixels (vae_loss)
    disc_start: int = 2000  # step at which the discriminator starts training (>= steps: never)
    disc_warmup: int = 100  # steps the discriminator trains alone before its loss reaches the decoder
    disc_weight: float = 0.5  # factor on the adaptive GAN weight (VQGAN eq. 7)
    disc_max_weight: float = 0.2  # cap on that weight (uncapped, the decoder overpowers the discriminator)
    disc: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)  # patch discriminator size
    num_preview: int = 16  # images in the reconstruction grids

    def __post_init__(self) -> None:
        if self.disc_warmup < 0 or not self.disc_max_weight > 0:
            raise ValueError(f"disc_warmup must be >= 0 and disc_max_weight > 0, got {self.disc_warmup}, "
                             f"{self.disc_max_weight}")  # fmt: skip


def psnr(x: Tensor, y: Tensor) -> float:
    """Peak signal-to-noise ratio in dB of images in [-1, 1] (peak-to-peak range 2)."""
    mse = F.mse_loss(y.clamp(-1, 1), x).item()
    return 10 * torch.log10(torch.tensor(4.0 / max(mse, 1e-12))).item()


def vae_step(
    vae: nn.Module, disc: nn.Module, opts: dict[str, torch.optim.Optimizer], x: Tensor, gen: torch.Generator,
    use_disc: bool, use_gan_loss: bool, cfg: VAETrainConfig, grad_clip: float,
) -> dict[str, float]:  # fmt: skip
    """One update of the autoencoder (with the GAN term if ``use_gan_loss``), then (``use_disc``) one of the
    discriminator. x [B, C, H, W]."""
    recon, posterior = vae(x, [gen] * x.shape[0])  # x̂ [B, C, H, W]; z drawn with the step's generator
    rec = vae_loss(x, recon, posterior, cfg.kl_weight)
    loss = rec["loss"]
    out = {"loss": rec["loss"].item(), "l1": rec["recon"].item(), "kl": rec["kl"].item(), "psnr": psnr(x, recon)}
    if use_gan_loss:
        d = ddp.unwrap(disc).requires_grad_(False)
        g_loss = -d(recon).mean()  # the decoder wants D(x̂) high
        weight = adaptive_weight(rec["loss"], g_loss, ddp.unwrap(vae).decoder.conv_out.weight, cfg.disc_weight,
                                 cfg.disc_max_weight)  # fmt: skip
        loss = loss + weight * g_loss
        d.requires_grad_(True)
        out |= {"g_loss": g_loss.item(), "d_weight": weight.item()}
    opts["vae"].zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        nn.utils.clip_grad_norm_(vae.parameters(), grad_clip)
    opts["vae"].step()
    if use_disc:
        logits = disc(torch.cat([x, recon.detach()]))  # [2B, 1, h, w]: real first, then reconstructions
        d_loss = hinge_d_loss(*logits.chunk(2))
        opts["disc"].zero_grad(set_to_none=True)
        d_loss.backward()
        opts["disc"].step()
        out["d_loss"] = d_loss.item()
    return out


@torch.no_grad()
def reconstruction_grid(vae: VAE, images: Tensor, path: Path) -> Path:
    """Images on the top row, their reconstructions (posterior mode) below."""
    was_training = vae.training
    vae.eval()
    recon = vae.decode(vae.encode(images).mode())
    vae.train(was_training)
    both = imx.to_numpy_images(torch.cat([images, recon.cpu()]))
    return save_grid(both, path, ncols=len(images))


def build(data: Dataset, vae_cfg: VAEConfig, cfg: VAETrainConfig, seed: int) -> tuple[VAE, PatchDiscriminator]:
    if vae_cfg.in_channels != data.channels:
        raise ValueError(f"VAE in_channels ({vae_cfg.in_channels}) must match the data's channels ({data.channels})")
    with seeded(seed):
        vae = VAE(vae_cfg, image_size=data.image_size)
        disc = PatchDiscriminator(DiscriminatorConfig(**{**asdict(cfg.disc), "in_channels": data.channels}))
    return vae, disc


def train_vae(
    data: Dataset, vae_cfg: VAEConfig, loop_cfg: LoopConfig, cfg: VAETrainConfig, out_dir: str | Path,
    info: ddp.DistInfo, extra_config: dict[str, Any] | None = None, command: str | None = None,
) -> Path:  # fmt: skip
    """Train (or resume) the VAE; returns the model folder ``out_dir`` holding config.json + vae.safetensors."""
    out_dir = Path(out_dir)
    vae, disc = build(data, vae_cfg, cfg, loop_cfg.seed)
    vae.to(info.device).train()
    disc.to(info.device).train()
    opts = {
        "vae": torch.optim.AdamW(vae.parameters(), loop_cfg.lr, betas=(0.5, 0.9), weight_decay=0.0),
        "disc": torch.optim.AdamW(disc.parameters(), loop_cfg.lr, betas=(0.5, 0.9), weight_decay=0.0),
    }
    meta: dict[str, Any] = {"step": 0, "elapsed_s": 0.0}
    state_dir = find_state(out_dir / "state") if loop_cfg.resume else None
    if state_dir is not None:
        meta = load_state(state_dir, {"vae": vae, "disc": disc}, opts)
    loop = Loop(loop_cfg, out_dir, info, "vae", meta["step"], meta["elapsed_s"])
    vae_d, disc_d = ddp.wrap(vae, info), ddp.wrap(disc, info)
    preview = data.images[: cfg.num_preview].to(info.device)

    def save() -> None:
        if info.is_main:
            save_state(out_dir / "state", {"vae": vae, "disc": disc}, opts,
                       {"step": loop.step, "elapsed_s": loop.elapsed_s, "seed": loop_cfg.seed})  # fmt: skip

    preview_fn = functools.partial(reconstruction_grid, vae, preview)
    while not loop.done():
        step = loop.step
        idx = batch_indices(len(data), loop_cfg.batch_size, step, loop_cfg.seed, info.rank, info.world_size)
        x = data.images[idx].to(info.device)
        lr = loop.set_lr(list(opts.values()))
        gen = step_generator(loop_cfg.seed, info.rank, step)
        losses = vae_step(vae_d, disc_d, opts, x, gen, step >= cfg.disc_start,
                          step >= cfg.disc_start + cfg.disc_warmup, cfg, loop_cfg.grad_clip)  # fmt: skip
        loop.record(losses, lr)
        loop.after_step(save, preview_fn)
    loop.finish(save, preview_fn)
    if info.is_main:
        training = loop.record_of_run(command, vae_training=asdict(cfg))
        config = {"name": "vae", "image_size": data.image_size, "vae": asdict(vae_cfg),
                  "class_names": data.class_names, "training": training, **(extra_config or {})}  # fmt: skip
        save_model_folder(out_dir, config, {"vae": vae.state_dict()})
    ddp.barrier(info)
    return out_dir
