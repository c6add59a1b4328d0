"""The preview decoder: a cheap latent -> picture map for live previews, distilled from the VAE decoder.

A live preview shows the sampler's current guess x̂_0 every few steps. Decoding it with the real VAE decoder costs
about three UNet passes per image (0.19 GFLOP for the 28x28 models), so a class's previews would cost half again the
sampling. Stable Diffusion UIs face the same problem and use either TAESD (a tiny distilled decoder) or a linear
latent-to-RGB map. Here the latent is small (4x7x7 = 196 numbers), so one *full* linear map from every latent number
to every pixel is both cheap and good:

    x̂ = W · vec(z) + b        W: [C·H·W, c·h·w]   (MNIST: 784 x 196, 0.15 MFLOP an image, 1/1,200 of the decoder)

fitted by ridge regression (closed form, seconds) to what the real decoder makes of latents of training images, so it
is distilled from the decoder, not from the data. Previews only: final images always come from ``vae.decode``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor, nn

PREVIEW_FILE = "preview"  # preview.safetensors in a model folder; its config under "preview" in config.json


@dataclass(frozen=True)
class PreviewConfig:
    latent_shape: tuple[int, int, int]  # (c, h, w) of the scaled latent it reads
    image_shape: tuple[int, int, int]  # (C, H, W) of the picture it makes, in [-1, 1]
    ridge: float = 1e-3  # ridge penalty relative to the mean latent energy (keeps W small where latents never go)
    num_images: int = 0  # training latents it was fitted on (0 = not fitted yet)
    psnr_vs_decoder: float = 0.0  # dB against the real decoder on held-out latents, measured when fitted


class LinearPreviewDecoder(nn.Module):
    """Scaled latents [B, c, h, w] -> images [B, C, H, W] in [-1, 1] by one affine map."""

    def __init__(self, config: PreviewConfig):
        super().__init__()
        self.config = config
        c, h, w = config.latent_shape
        C, H, W = config.image_shape
        self.linear = nn.Linear(c * h * w, C * H * W)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, z: Tensor) -> Tensor:
        B = z.shape[0]
        if tuple(z.shape[1:]) != self.config.latent_shape:
            raise ValueError(f"the preview decoder reads latents {self.config.latent_shape}, got {tuple(z.shape[1:])}")
        x = self.linear(z.reshape(B, -1).to(self.linear.weight.dtype))  # [B, C*H*W]
        return x.reshape(B, *self.config.image_shape).clamp(-1.0, 1.0)  # [B, C, H, W]


def config_dict(config: PreviewConfig) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def from_config_dict(d: dict) -> PreviewConfig:
    d = dict(d)
    d["latent_shape"], d["image_shape"] = tuple(d["latent_shape"]), tuple(d["image_shape"])
    return PreviewConfig(**d)


def psnr(a: Tensor, b: Tensor) -> float:
    """PSNR in dB of images in [-1, 1] (peak-to-peak 2)."""
    mse = float(((a.double() - b.double()) ** 2).mean())
    return float("inf") if mse == 0 else 10.0 * float(np.log10(4.0 / mse))


@torch.inference_mode()
def fit_linear_preview(
    latents: Tensor, decode: Callable[[Tensor], Tensor], ridge: float = 1e-3, holdout: int = 256, batch_size: int = 500
) -> LinearPreviewDecoder:
    """Fit x̂ = W vec(z) + b to ``decode(z)`` over ``latents`` [N, c, h, w] (scaled, as the sampler makes them).

    ``decode``: scaled latents -> images [B, C, H, W] in [-1, 1] (the real VAE decoder). The last ``holdout`` latents
    are not fitted on; the PSNR against the decoder on them is stored in the config.
    """
    N = len(latents)
    if 2 * holdout > N:
        holdout = N // 4
    fit_z, test_z = latents[: N - holdout], latents[N - holdout :]
    targets = torch.cat([decode(fit_z[i : i + batch_size]) for i in range(0, len(fit_z), batch_size)])
    X = fit_z.reshape(len(fit_z), -1).double()  # [n, d]
    Y = targets.reshape(len(targets), -1).double()  # [n, D]
    x_mean, y_mean = X.mean(0), Y.mean(0)
    Xc, Yc = X - x_mean, Y - y_mean
    gram = Xc.T @ Xc  # [d, d]
    lam = ridge * float(gram.diagonal().mean())
    W = torch.linalg.solve(gram + lam * torch.eye(gram.shape[0], dtype=gram.dtype), Xc.T @ Yc)  # [d, D]
    b = y_mean - x_mean @ W
    C, H, Wd = targets.shape[1:]
    config = PreviewConfig(tuple(latents.shape[1:]), (C, H, Wd), ridge, len(fit_z))
    model = LinearPreviewDecoder(config)
    model.linear.weight.copy_(W.T.float())
    model.linear.bias.copy_(b.float())
    if holdout:
        score = psnr(model(test_z), decode(test_z).clamp(-1, 1))
        model.config = PreviewConfig(config.latent_shape, config.image_shape, ridge, len(fit_z), round(score, 2))
    return model
