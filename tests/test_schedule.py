"""Schedules against diffusers' own tables and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from diffusers import DDPMScheduler, DPMSolverMultistepScheduler

from ldm_core.schedule import make_schedule, make_timesteps

DIFFUSERS_NAMES = {"linear": "linear", "scaled_linear": "scaled_linear", "cosine": "squaredcos_cap_v2"}
BETA_RANGES = {"linear": (1e-4, 0.02), "scaled_linear": (0.00085, 0.012), "cosine": (1e-4, 0.02)}


def diffusers_kwargs(name: str) -> dict:
    """diffusers' scheduler arguments for our recipe (its beta_start/beta_end default to the linear ones)."""
    lo, hi = BETA_RANGES[name]
    return {"num_train_timesteps": 1000, "beta_schedule": DIFFUSERS_NAMES[name], "beta_start": lo, "beta_end": hi}


@pytest.mark.parametrize("name", ["linear", "scaled_linear", "cosine"])
def test_alphas_cumprod_match_diffusers(name: str) -> None:
    ours = make_schedule(name, 1000)
    ref = DDPMScheduler(**diffusers_kwargs(name))
    assert ours.betas.dtype == torch.float64
    np.testing.assert_allclose(ours.betas.numpy(), ref.betas.double().numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.alphas_cumprod.numpy(), ref.alphas_cumprod.double().numpy(), rtol=2e-5, atol=1e-9)


def test_known_values() -> None:
    lin = make_schedule("linear", 1000)
    assert lin.betas[0].item() == pytest.approx(1e-4)
    assert lin.betas[-1].item() == pytest.approx(0.02)
    # ᾱ_T of the DDPM linear schedule is about 4.04e-5 (a well-known number)
    assert lin.alphas_cumprod[-1].item() == pytest.approx(4.0358e-5, rel=1e-3)
    sl = make_schedule("scaled_linear", 1000)
    assert sl.betas[0].item() == pytest.approx(0.00085)
    assert sl.betas[-1].item() == pytest.approx(0.012)
    cos = make_schedule("cosine", 1000)
    assert cos.betas.max().item() <= 0.999 + 1e-12
    # improved DDPM: ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) π/2); check the middle step
    f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    assert cos.alphas_cumprod[499].item() == pytest.approx(f(500 / 1000) / f(0), rel=1e-9)


def test_snr_and_sigmas() -> None:
    s = make_schedule("linear", 1000)
    t = torch.tensor([0, 10, 500, 999])
    a = s.alphas_cumprod[t]
    torch.testing.assert_close(s.snr(t), a / (1 - a))
    torch.testing.assert_close(s.sigmas[t] ** 2, 1 / s.snr(t))
    assert torch.all(s.snr(torch.arange(999)) > s.snr(torch.arange(1, 1000)))  # SNR falls monotonically


def test_q_sample_and_conversions_round_trip() -> None:
    s = make_schedule("cosine", 1000)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(4, 4, 7, 7, generator=g)
    eps = torch.randn(4, 4, 7, 7, generator=g)
    t = torch.tensor([0, 100, 600, 999])
    xt = s.q_sample(x0, t, eps)
    a = s.alphas_cumprod[t].float().view(-1, 1, 1, 1)
    torch.testing.assert_close(xt, a.sqrt() * x0 + (1 - a).sqrt() * eps)
    torch.testing.assert_close(s.predict_x0(xt, t, eps), x0, atol=2e-3, rtol=1e-4)
    torch.testing.assert_close(s.predict_eps(xt, t, x0), eps, atol=1e-4, rtol=1e-4)
    v = s.get_velocity(x0, t, eps)
    torch.testing.assert_close(s.eps_from_v(xt, t, v), eps, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(s.x0_from_v(xt, t, v), x0, atol=1e-5, rtol=1e-5)
    # v against diffusers' get_velocity
    ref = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
    torch.testing.assert_close(v, ref.get_velocity(x0, eps, t), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("n", [1, 7, 10, 50, 999, 1000])
@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
def test_timesteps_match_diffusers(n: int, spacing: str) -> None:
    ours = make_timesteps(1000, n, spacing)
    assert ours.dtype == torch.int64 and len(ours) == n
    assert torch.all(ours[:-1] > ours[1:]) and ours.min() >= 0 and ours.max() <= 999
    if spacing == "linspace":
        ref = np.linspace(0, 999, n).round()[::-1].astype(np.int64)
    else:
        sched = DDPMScheduler(num_train_timesteps=1000, timestep_spacing=spacing)
        sched.set_timesteps(n)
        ref = sched.timesteps.numpy()
    np.testing.assert_array_equal(ours.numpy(), ref)


def test_trailing_matches_dpm_solver_spacing() -> None:
    sched = DPMSolverMultistepScheduler(num_train_timesteps=1000, timestep_spacing="trailing")
    sched.set_timesteps(20)
    np.testing.assert_array_equal(make_timesteps(1000, 20, "trailing").numpy(), sched.timesteps.numpy())


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="schedule must be one of"):
        make_schedule("quadratic")
    with pytest.raises(ValueError, match=r"num_inference_steps must be 1\.\.1000, got 0"):
        make_timesteps(1000, 0)
    with pytest.raises(ValueError, match=r"1\.\.1000, got 1001"):
        make_timesteps(1000, 1001)
    with pytest.raises(ValueError, match="timestep spacing must be one of"):
        make_timesteps(1000, 10, "uniform")
