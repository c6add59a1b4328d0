"""A convolutional VAE in the AutoencoderKL style of latent diffusion (Rombach et al. 2022).

image [B, C, H, W] in [-1, 1] --encode--> DiagonalGaussian over z [B, c, H/f, W/f] --decode--> image.
Each downsampling level halves H and W (rounding up), so 28x28 with two levels gives a 7x7 latent.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import Downsample, ResBlock, SelfAttention, Upsample, group_norm


@dataclass
class VAEConfig:
    in_channels: int = 1  # image channels (1 grayscale, 3 RGB)
    latent_channels: int = 4  # c, channels of the latent z
    base_channels: int = 32  # width of the first level
    channel_mult: tuple[int, ...] = (1, 2, 2)  # width multiplier per level; len - 1 downsamplings
    num_res_blocks: int = 1  # residual blocks per level
    mid_attention: bool = True  # self-attention at the lowest resolution
    norm_groups: int = 8  # GroupNorm groups
    identity: bool = False  # pixel space: no autoencoder, the "latent" is the image itself (for comparisons)

    def __post_init__(self) -> None:
        self.channel_mult = tuple(int(m) for m in self.channel_mult)
        if self.identity and (self.latent_channels != self.in_channels or len(self.channel_mult) != 1):
            raise ValueError(
                "an identity (pixel-space) VAE needs latent_channels == in_channels and one level (channel_mult of "
                f"length 1), got latent_channels {self.latent_channels}, in_channels {self.in_channels}, "
                f"channel_mult {self.channel_mult}"
            )

    @classmethod
    def pixel_space(cls, channels: int) -> VAEConfig:
        """The identity "autoencoder" of a pixel-space diffusion model: z = x, no weights."""
        return cls(in_channels=channels, latent_channels=channels, channel_mult=(1,), identity=True)

    @property
    def downsample_factor(self) -> int:
        return 2 ** (len(self.channel_mult) - 1)

    def latent_size(self, image_size: int) -> int:
        """Latent side length for a square image (each level rounds up: 28 -> 14 -> 7)."""
        s = image_size
        for _ in range(len(self.channel_mult) - 1):
            s = (s + 1) // 2
        return s


class DiagonalGaussian:
    """q(z | x) = N(mean, diag(exp(logvar))), as ``DiagonalGaussianDistribution`` in latent-diffusion."""

    def __init__(self, mean: Tensor, logvar: Tensor):
        self.mean = mean  # [B, c, h, w]
        self.logvar = logvar.clamp(-30.0, 20.0)  # [B, c, h, w]
        self.std = torch.exp(0.5 * self.logvar)
        self.var = torch.exp(self.logvar)

    def sample(self, generators: list[torch.Generator] | None = None) -> Tensor:
        """z = mean + std * ε (the reparameterisation trick); ε from one generator per image if given."""
        if generators is None:
            eps = torch.randn_like(self.mean)
        else:
            eps = torch.cat([torch.randn((1, *self.mean.shape[1:]), generator=g) for g in generators])
            eps = eps.to(self.mean)
        return self.mean + self.std * eps

    def mode(self) -> Tensor:
        return self.mean

    def kl(self) -> Tensor:
        """KL(q || N(0, I)) per image = 0.5 Σ (μ² + σ² - 1 - log σ²), shape [B]."""
        return 0.5 * (self.mean.pow(2) + self.var - 1.0 - self.logvar).sum(dim=(1, 2, 3))


class Encoder(nn.Module):
    def __init__(self, cfg: VAEConfig):
        super().__init__()
        chs = [cfg.base_channels * m for m in cfg.channel_mult]
        g = cfg.norm_groups
        self.conv_in = nn.Conv2d(cfg.in_channels, chs[0], 3, padding=1)
        blocks: list[nn.Module] = []
        ch = chs[0]
        for level, out_ch in enumerate(chs):
            for _ in range(cfg.num_res_blocks):
                blocks.append(ResBlock(ch, out_ch, groups=g))
                ch = out_ch
            if level < len(chs) - 1:
                blocks.append(Downsample(ch))
        self.down = nn.Sequential(*blocks)
        self.mid = nn.Sequential(
            ResBlock(ch, ch, groups=g),
            SelfAttention(ch, num_heads=1, groups=g) if cfg.mid_attention else nn.Identity(),
            ResBlock(ch, ch, groups=g),
        )
        self.norm_out = group_norm(ch, g)
        self.conv_out = nn.Conv2d(ch, 2 * cfg.latent_channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.mid(self.down(self.conv_in(x)))
        return self.conv_out(F.silu(self.norm_out(h)))  # [B, 2c, h, w]: mean and logvar


class Decoder(nn.Module):
    def __init__(self, cfg: VAEConfig):
        super().__init__()
        chs = [cfg.base_channels * m for m in cfg.channel_mult]
        g = cfg.norm_groups
        ch = chs[-1]
        self.conv_in = nn.Conv2d(cfg.latent_channels, ch, 3, padding=1)
        self.mid = nn.Sequential(
            ResBlock(ch, ch, groups=g),
            SelfAttention(ch, num_heads=1, groups=g) if cfg.mid_attention else nn.Identity(),
            ResBlock(ch, ch, groups=g),
        )
        self.levels = nn.ModuleList()
        for level in reversed(range(len(chs))):
            blocks = nn.ModuleList()
            for _ in range(cfg.num_res_blocks + 1):
                blocks.append(ResBlock(ch, chs[level], groups=g))
                ch = chs[level]
            self.levels.append(nn.ModuleDict({"blocks": blocks, "up": Upsample(ch) if level > 0 else nn.Identity()}))
        self.norm_out = group_norm(ch, g)
        self.conv_out = nn.Conv2d(ch, cfg.in_channels, 3, padding=1)

    def forward(self, z: Tensor, sizes: list[tuple[int, int]]) -> Tensor:
        """``sizes``: the spatial size to upsample to at each level, from low to high resolution."""
        h = self.mid(self.conv_in(z))
        ups = iter(sizes)
        for level in self.levels:
            for block in level["blocks"]:
                h = block(h)
            if isinstance(level["up"], Upsample):
                h = level["up"](h, next(ups))
        return self.conv_out(F.silu(self.norm_out(h)))  # [B, C, H, W]


class VAE(nn.Module):
    """Encoder + decoder with a diagonal Gaussian posterior. Images in [-1, 1].

    With ``cfg.identity`` it has no weights: encode gives the image itself (a point mass, std e^-15) and decode
    returns the latent, so the same pipeline and training code run a diffusion model in pixel space.
    """

    def __init__(self, cfg: VAEConfig, image_size: int = 28):
        super().__init__()
        self.config = cfg
        self.image_size = image_size
        self.encoder = None if cfg.identity else Encoder(cfg)
        self.decoder = None if cfg.identity else Decoder(cfg)

    def _sizes(self) -> list[tuple[int, int]]:
        """Spatial sizes of the decoder's upsampling targets, low to high: e.g. [(14, 14), (28, 28)]."""
        s, sizes = self.image_size, []
        for _ in range(len(self.config.channel_mult) - 1):
            sizes.append((s, s))
            s = (s + 1) // 2
        return sizes[::-1]

    def encode(self, x: Tensor) -> DiagonalGaussian:
        """x [B, C, H, W] in [-1, 1] -> q(z | x) over [B, c, h, w]."""
        if self.encoder is None:
            return DiagonalGaussian(x, torch.full_like(x, -30.0))
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return DiagonalGaussian(mean, logvar)

    def decode(self, z: Tensor) -> Tensor:
        """z [B, c, h, w] (unscaled) -> x̂ [B, C, H, W], roughly in [-1, 1]."""
        if self.decoder is None:
            return z
        return self.decoder(z, self._sizes())

    def forward(self, x: Tensor, generators: list[torch.Generator] | None = None) -> tuple[Tensor, DiagonalGaussian]:
        posterior = self.encode(x)
        return self.decode(posterior.sample(generators)), posterior


def vae_loss(x: Tensor, recon: Tensor, posterior: DiagonalGaussian, kl_weight: float = 1e-6) -> dict[str, Tensor]:
    """L = L1(x, x̂) + kl_weight * KL / (pixels): a lightly KL-regularised autoencoder, as in LDM's "KL-f" models.

    Returns ``{"loss", "recon", "kl"}``; ``kl`` is per image (summed over latent elements).
    """
    recon_loss = F.l1_loss(recon, x)
    kl = posterior.kl().mean()
    return {"loss": recon_loss + kl_weight * kl / x[0].numel(), "recon": recon_loss, "kl": kl}
