"""The class-conditional denoiser: a small UNet (Ho et al. 2020; Dhariwal & Nichol 2021) on the VAE latent.

unet(z_t [B, c, h, w], t [B], class_labels [B]) -> ε̂ or v̂ [B, c, h, w].
Time enters as a sinusoidal embedding, the class as a learned embedding; index ``num_classes`` is the
null class used for classifier-free guidance (Ho & Salimans 2022), and label -1 maps to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import Downsample, ResBlock, SelfAttention, Upsample, group_norm, zero_module

PREDICTION_TYPES = ("epsilon", "v_prediction")


@dataclass
class UNetConfig:
    in_channels: int = 4  # latent channels c
    base_channels: int = 64  # width of the first level
    channel_mult: tuple[int, ...] = (1, 2, 2)  # width multiplier per level; 7x7 -> 4x4 -> 2x2
    num_res_blocks: int = 2  # residual blocks per level on the way down
    attention_levels: tuple[int, ...] = (1, 2)  # levels (0 = highest resolution) with self-attention
    num_heads: int = 4  # attention heads
    num_classes: int = 10  # real classes; index num_classes is the null class
    dropout: float = 0.0  # dropout inside residual blocks
    prediction_type: str = "epsilon"  # what the network predicts: "epsilon" or "v_prediction"
    norm_groups: int = 8  # GroupNorm groups
    patch_size: int = 1  # p > 1: the UNet works on p x p patches of the latent (pixel_unshuffle; c*p² channels)

    def __post_init__(self) -> None:
        self.channel_mult = tuple(int(m) for m in self.channel_mult)
        self.attention_levels = tuple(int(a) for a in self.attention_levels)
        if self.prediction_type not in PREDICTION_TYPES:
            raise ValueError(f"prediction_type must be one of {PREDICTION_TYPES}, got {self.prediction_type!r}")
        if self.patch_size < 1:
            raise ValueError(f"patch_size must be >= 1, got {self.patch_size}")


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Sinusoidal embedding of (possibly fractional) timesteps (Transformer / DDPM): [B] -> [B, dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]  # [B, half]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class UNet(nn.Module):
    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.config = cfg
        ch0 = cfg.base_channels
        emb_dim = 4 * ch0
        g = cfg.norm_groups
        self.time_embed = nn.Sequential(nn.Linear(ch0, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_embed = nn.Embedding(cfg.num_classes + 1, emb_dim)  # row num_classes = null class
        patch_ch = cfg.in_channels * cfg.patch_size**2  # channels the convolutions see
        self.conv_in = nn.Conv2d(patch_ch, ch0, 3, padding=1)

        chs = [ch0 * m for m in cfg.channel_mult]
        self.down = nn.ModuleList()
        skip_chs = [ch0]
        ch = ch0
        for level, out_ch in enumerate(chs):
            for _ in range(cfg.num_res_blocks):
                self.down.append(self._block(ch, out_ch, emb_dim, level))
                ch = out_ch
                skip_chs.append(ch)
            if level < len(chs) - 1:
                self.down.append(Downsample(ch))
                skip_chs.append(ch)

        self.mid = nn.ModuleList(
            [
                ResBlock(ch, ch, emb_dim, cfg.dropout, g),
                SelfAttention(ch, cfg.num_heads, g),
                ResBlock(ch, ch, emb_dim, cfg.dropout, g),
            ]
        )

        self.up = nn.ModuleList()
        for level in reversed(range(len(chs))):
            for i in range(cfg.num_res_blocks + 1):
                self.up.append(self._block(ch + skip_chs.pop(), chs[level], emb_dim, level))
                ch = chs[level]
                if level > 0 and i == cfg.num_res_blocks:
                    self.up.append(Upsample(ch))

        self.norm_out = group_norm(ch, g)
        self.conv_out = zero_module(nn.Conv2d(ch, patch_ch, 3, padding=1))

    def _block(self, in_ch: int, out_ch: int, emb_dim: int, level: int) -> nn.Module:
        cfg = self.config
        res = ResBlock(in_ch, out_ch, emb_dim, cfg.dropout, cfg.norm_groups)
        if level in cfg.attention_levels:
            return nn.ModuleList([res, SelfAttention(out_ch, cfg.num_heads, cfg.norm_groups)])
        return nn.ModuleList([res])

    @property
    def null_class(self) -> int:
        return self.config.num_classes

    def embed_class(self, class_labels: Tensor) -> Tensor:
        """Class labels [B] (-1 or num_classes = null) -> embeddings [B, emb_dim]."""
        labels = torch.where(class_labels < 0, torch.full_like(class_labels, self.null_class), class_labels)
        return self.class_embed(labels)

    def forward(
        self, x: Tensor, t: Tensor, class_labels: Tensor | None = None, class_emb: Tensor | None = None
    ) -> Tensor:
        """x [B, c, h, w], t [B] (int or float), class_labels [B] int, or class_emb [B, emb] -> [B, c, h, w].

        ``class_emb`` overrides ``class_labels`` (used to blend two classes' embeddings).
        """
        B = x.shape[0]
        if t.ndim == 0:
            t = t.expand(B)
        if class_emb is None:
            if class_labels is None:
                class_labels = torch.full((B,), self.null_class, dtype=torch.long, device=x.device)
            class_emb = self.embed_class(class_labels)
        emb = self.time_embed(timestep_embedding(t, self.config.base_channels)) + class_emb  # [B, emb]

        p = self.config.patch_size
        if p > 1:
            if x.shape[-1] % p or x.shape[-2] % p:
                raise ValueError(f"latent size {tuple(x.shape[-2:])} is not divisible by patch_size {p}")
            x = F.pixel_unshuffle(x, p)  # [B, c p², h/p, w/p]: a permutation, so the noise stays i.i.d.
        h = self.conv_in(x)  # [B, ch0, h, w]
        skips = [h]
        for layer in self.down:
            if isinstance(layer, Downsample):
                h = layer(h)
            else:
                h = self._run_block(layer, h, emb)
            skips.append(h)
        h = self.mid[2](self.mid[1](self.mid[0](h, emb)), emb)
        for layer in self.up:
            if isinstance(layer, Upsample):
                h = layer(h, skips[-1].shape[-2:])
            else:
                h = self._run_block(layer, torch.cat([h, skips.pop()], dim=1), emb)
        out = self.conv_out(F.silu(self.norm_out(h)))
        return F.pixel_shuffle(out, p) if p > 1 else out  # [B, c, h, w]

    @staticmethod
    def _run_block(block: nn.ModuleList, h: Tensor, emb: Tensor) -> Tensor:
        h = block[0](h, emb)
        return block[1](h) if len(block) > 1 else h
