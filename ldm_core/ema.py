"""Exponential moving average of a model's weights (Polyak averaging), as used for sampling in DDPM and LDM.

θ_ema <- d θ_ema + (1 - d) θ, with the warm-up d_k = min(decay, (1 + k) / (10 + k)) so early averages are not
dominated by the random initialisation.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import Tensor, nn


class EMA:
    def __init__(self, model: nn.Module, decay: float = 0.999):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)  # the averaged copy
        self.num_updates = 0  # k, updates so far

    def current_decay(self) -> float:
        k = self.num_updates
        return min(self.decay, (1 + k) / (10 + k))

    def skip_warmup(self) -> None:
        """Average at the full decay from the next update on (for an average that starts from trained weights)."""
        d = self.decay
        self.num_updates = max(self.num_updates, math.ceil((10 * d - 1) / (1 - d)) + 1)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.current_decay()
        for ema_p, p in zip(self.model.parameters(), model.parameters(), strict=True):
            ema_p.lerp_(p.detach(), 1.0 - d)
        for ema_b, b in zip(self.model.buffers(), model.buffers(), strict=True):
            ema_b.copy_(b)
        self.num_updates += 1

    def state_dict(self) -> dict[str, Tensor]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, Tensor], num_updates: int) -> None:
        self.model.load_state_dict(state)
        self.num_updates = num_updates
