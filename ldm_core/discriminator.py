"""A small patch discriminator and the GAN terms of LDM's autoencoder loss (Esser et al. 2021, "VQGAN").

The discriminator scores overlapping patches as real or reconstructed; the decoder is pushed to make patches it
cannot tell apart, which keeps edges sharp where an L1 loss alone would blur them. Its weight is set adaptively
(VQGAN eq. 7) so the GAN term's gradient at the decoder's last layer matches the reconstruction term's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import group_norm


@dataclass
class DiscriminatorConfig:
    in_channels: int = 1  # image channels
    base_channels: int = 32  # width of the first layer; doubled after each stride-2 layer
    num_layers: int = 2  # stride-2 layers (28x28 -> 7x7 patch logits with 2)


class PatchDiscriminator(nn.Module):
    """image [B, C, H, W] -> patch logits [B, 1, H / 2^n, W / 2^n] (PatchGAN, Isola et al. 2017)."""

    def __init__(self, cfg: DiscriminatorConfig):
        super().__init__()
        ch = cfg.base_channels
        layers: list[nn.Module] = [nn.Conv2d(cfg.in_channels, ch, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        for _ in range(cfg.num_layers - 1):
            layers += [nn.Conv2d(ch, 2 * ch, 4, stride=2, padding=1), group_norm(2 * ch), nn.LeakyReLU(0.2)]
            ch *= 2
        layers += [nn.Conv2d(ch, ch, 3, padding=1), group_norm(ch), nn.LeakyReLU(0.2), nn.Conv2d(ch, 1, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def hinge_d_loss(logits_real: Tensor, logits_fake: Tensor) -> Tensor:
    """Discriminator hinge loss: mean(relu(1 - D(x))) + mean(relu(1 + D(x̂))), halved (as in VQGAN)."""
    return 0.5 * (F.relu(1.0 - logits_real).mean() + F.relu(1.0 + logits_fake).mean())


def adaptive_weight(
    rec_loss: Tensor, g_loss: Tensor, last_layer: Tensor, scale: float = 1.0, max_weight: float = 1e4
) -> Tensor:
    """λ = scale · ||∇_L rec_loss|| / (||∇_L g_loss|| + 1e-4) at the decoder's last layer L (VQGAN eq. 7), capped at
    ``max_weight``, no gradient. A low cap matters: uncapped, λ grows as the discriminator weakens and the decoder
    overpowers it (its hinge loss sticks at 1.0)."""
    rec_grad = torch.autograd.grad(rec_loss, last_layer, retain_graph=True)[0]
    g_grad = torch.autograd.grad(g_loss, last_layer, retain_graph=True)[0]
    return (scale * rec_grad.norm() / (g_grad.norm() + 1e-4)).clamp(0.0, max_weight).detach()
