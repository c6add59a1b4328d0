"""Noise schedules as data (DDPM, Ho et al. 2020; improved DDPM, Nichol & Dhariwal 2021).

A schedule is a frozen dataclass of float64 tensors built from a named recipe. It holds no
state and needs no call order: ``q_sample`` is the forward process (eq. 4 of DDPM) and the
``predict_*`` helpers convert between the three things a denoiser may predict (epsilon, x_0, v).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

BETA_SCHEDULES = ("linear", "scaled_linear", "cosine")
TIMESTEP_SPACINGS = ("leading", "trailing", "linspace")


@dataclass(frozen=True)
class NoiseSchedule:
    """The variance schedule of a discrete-time diffusion process; index t = 0..T-1."""

    name: str  # the recipe it was built from ("linear", "scaled_linear", "cosine")
    betas: Tensor  # β_t, float64 [T]
    alphas: Tensor  # α_t = 1 - β_t, float64 [T]
    alphas_cumprod: Tensor  # ᾱ_t = Π_{s<=t} α_s, float64 [T]

    @property
    def num_train_timesteps(self) -> int:
        """T, the number of training timesteps."""
        return int(self.betas.shape[0])

    @property
    def sqrt_alphas_cumprod(self) -> Tensor:
        return self.alphas_cumprod.sqrt()  # \sqrt{ᾱ_t}

    @property
    def sqrt_one_minus_alphas_cumprod(self) -> Tensor:
        return (1.0 - self.alphas_cumprod).sqrt()  # \sqrt{1 - ᾱ_t}

    @property
    def sigmas(self) -> Tensor:
        """σ_t = sqrt((1 - ᾱ_t) / ᾱ_t): the noise level in the variance-exploding view (Karras et al.)."""
        return ((1.0 - self.alphas_cumprod) / self.alphas_cumprod).sqrt()

    def snr(self, t: Tensor | int) -> Tensor:
        """Signal-to-noise ratio SNR(t) = ᾱ_t / (1 - ᾱ_t) (Kingma et al. 2021)."""
        a = self.alphas_cumprod[torch.as_tensor(t)]
        return a / (1.0 - a)

    def alpha_bar(self, t: Tensor | int) -> Tensor:
        """ᾱ_t for integer t; t = -1 means "before the first step", where ᾱ = 1."""
        t = torch.as_tensor(t, dtype=torch.long)
        ones = torch.ones_like(t, dtype=torch.float64)
        return torch.where(t >= 0, self.alphas_cumprod[t.clamp(min=0)], ones)

    def _coefficients(self, t: Tensor | int, like: Tensor) -> tuple[Tensor, Tensor]:
        """sqrt(ᾱ_t), sqrt(1 - ᾱ_t) shaped to broadcast against ``like`` [B, ...]."""
        a = self.alpha_bar(t).to(like.dtype)
        a = a.reshape(-1, *([1] * (like.ndim - 1))) if a.ndim else a
        return a.sqrt(), (1.0 - a).sqrt()

    def q_sample(self, x0: Tensor, t: Tensor | int, noise: Tensor) -> Tensor:
        """Forward process q(x_t | x_0): x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε   (DDPM eq. 4)."""
        sa, s1a = self._coefficients(t, x0)
        return sa * x0 + s1a * noise

    def predict_x0(self, x_t: Tensor, t: Tensor | int, eps: Tensor) -> Tensor:
        """x_0 = (x_t - sqrt(1 - ᾱ_t) ε) / sqrt(ᾱ_t)   (DDIM eq. 12, "predicted x_0")."""
        sa, s1a = self._coefficients(t, x_t)
        return (x_t - s1a * eps) / sa

    def predict_eps(self, x_t: Tensor, t: Tensor | int, x0: Tensor) -> Tensor:
        """ε = (x_t - sqrt(ᾱ_t) x_0) / sqrt(1 - ᾱ_t)."""
        sa, s1a = self._coefficients(t, x_t)
        return (x_t - sa * x0) / s1a

    def get_velocity(self, x0: Tensor, t: Tensor | int, noise: Tensor) -> Tensor:
        """v = sqrt(ᾱ_t) ε - sqrt(1 - ᾱ_t) x_0   (Salimans & Ho 2022, progressive distillation)."""
        sa, s1a = self._coefficients(t, x0)
        return sa * noise - s1a * x0

    def eps_from_v(self, x_t: Tensor, t: Tensor | int, v: Tensor) -> Tensor:
        """ε = sqrt(ᾱ_t) v + sqrt(1 - ᾱ_t) x_t."""
        sa, s1a = self._coefficients(t, x_t)
        return sa * v + s1a * x_t

    def x0_from_v(self, x_t: Tensor, t: Tensor | int, v: Tensor) -> Tensor:
        """x_0 = sqrt(ᾱ_t) x_t - sqrt(1 - ᾱ_t) v."""
        sa, s1a = self._coefficients(t, x_t)
        return sa * x_t - s1a * v


def _cosine_betas(num_train_timesteps: int, max_beta: float = 0.999) -> np.ndarray:
    """Improved DDPM eq. 17: ᾱ(t) = cos²(((t/T + s)/(1 + s)) π/2), s = 0.008, β clipped at 0.999."""

    def alpha_bar(u: float) -> float:
        return math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2

    T = num_train_timesteps
    return np.array([min(1 - alpha_bar((i + 1) / T) / alpha_bar(i / T), max_beta) for i in range(T)])


def make_schedule(
    name: str = "linear",
    num_train_timesteps: int = 1000,
    beta_start: float | None = None,
    beta_end: float | None = None,
) -> NoiseSchedule:
    """Build a schedule from a named recipe, in float64.

    - ``linear``: β from 1e-4 to 0.02 (DDPM).
    - ``scaled_linear``: sqrt(β) linear from sqrt(0.00085) to sqrt(0.012) (LDM / Stable Diffusion).
    - ``cosine``: ᾱ follows a squared cosine (improved DDPM), β capped at 0.999.
    """
    if name not in BETA_SCHEDULES:
        raise ValueError(f"schedule must be one of {BETA_SCHEDULES}, got {name!r}")
    T = int(num_train_timesteps)
    if not 2 <= T <= 100_000:
        raise ValueError(f"num_train_timesteps must be 2..100000, got {num_train_timesteps}")
    if name == "linear":
        lo, hi = beta_start or 1e-4, beta_end or 0.02
        betas = np.linspace(lo, hi, T, dtype=np.float64)
    elif name == "scaled_linear":
        lo, hi = beta_start or 0.00085, beta_end or 0.012
        betas = np.linspace(lo**0.5, hi**0.5, T, dtype=np.float64) ** 2
    else:
        betas = _cosine_betas(T)
    betas_t = torch.from_numpy(betas)
    alphas = 1.0 - betas_t  # α_t
    return NoiseSchedule(name=name, betas=betas_t, alphas=alphas, alphas_cumprod=torch.cumprod(alphas, 0))


def make_timesteps(num_train_timesteps: int, num_inference_steps: int, spacing: str = "trailing") -> Tensor:
    """The N timesteps a sampler visits, descending, int64 [N] (the spacings of diffusers).

    - ``leading``: 0, T//N, 2T//N, ... (DDIM paper), reversed.
    - ``trailing``: T-1, T-1-T/N, ... (Lin et al. 2024: always starts at the last timestep).
    - ``linspace``: N evenly spaced points in [0, T-1], rounded.
    """
    T, N = int(num_train_timesteps), int(num_inference_steps)
    if not 1 <= N <= T:
        raise ValueError(f"num_inference_steps must be 1..{T}, got {num_inference_steps}")
    if spacing == "leading":
        ts = (np.arange(0, N) * (T // N)).round()[::-1]
    elif spacing == "trailing":
        ts = np.round(np.arange(T, 0, -T / N)) - 1
    elif spacing == "linspace":
        ts = np.linspace(0, T - 1, N).round()[::-1]
    else:
        raise ValueError(f"timestep spacing must be one of {TIMESTEP_SPACINGS}, got {spacing!r}")
    return torch.from_numpy(ts.copy().astype(np.int64))
