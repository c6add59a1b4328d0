"""Samplers: parity with diffusers' schedulers, exactness on a Gaussian where the true denoiser is known."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from conftest import randomize_
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    HeunDiscreteScheduler,
)
from test_schedule import diffusers_kwargs
from torch import Tensor

from ldm_core.samplers import (
    SAMPLERS,
    StepInfo,
    ddim_invert,
    get_sampler,
    guided_denoiser,
    randn,
    repaint_moves,
    sample_ddim,
    sample_ddpm,
    sample_euler,
    sample_heun,
)
from ldm_core.schedule import NoiseSchedule, make_schedule, make_timesteps
from ldm_core.unet import UNet, UNetConfig

SHAPE = (3, 4, 7, 7)


@pytest.fixture(scope="module")
def unet() -> UNet:
    torch.manual_seed(0)
    net = randomize_(UNet(UNetConfig(base_channels=16, channel_mult=(1, 2), num_res_blocks=1, num_heads=2)), 0)
    return net.eval()


def make_model(unet: UNet, schedule_name: str = "linear", prediction_type: str = "epsilon"):
    """A fixed model function f(x_t, t) -> ε̂ (or v̂) used by both libraries: the exact denoiser of a Gaussian
    data set plus a random UNet's output, so it is non-trivial but keeps x̂_0 of order 1 at every t."""
    s = make_schedule(schedule_name)
    exact = gaussian_denoiser(s)
    labels = torch.tensor([0, 1, 2])

    @torch.inference_mode()
    def f(x: Tensor, t: Tensor) -> Tensor:
        t = torch.as_tensor(t).reshape(-1).expand(x.shape[0])
        eps = exact(x, t.round().long()) + 0.2 * unet(x, t.float(), labels[: x.shape[0]])
        if prediction_type == "v_prediction":
            a = s.alphas_cumprod[t.round().long()].float().view(-1, 1, 1, 1)
            return (eps - (1 - a).sqrt() * x) / a.sqrt()  # the v that gives this ε
        return eps

    return f


@pytest.fixture(scope="module")
def model(unet: UNet) -> Callable[[Tensor, Tensor], Tensor]:
    return make_model(unet)


def generators(seed: int = 0, n: int = SHAPE[0]) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(seed + i) for i in range(n)]


def run_diffusers(scheduler, model, x: Tensor, n_steps: int, gens=None, eta: float | None = None, ve_scale=False):
    """The standard diffusers denoising loop."""
    scheduler.set_timesteps(n_steps)
    if ve_scale:  # Euler-type schedulers work on x̃ = x sqrt(σ² + 1); start from the same point as ours
        x = x * math.sqrt(float(scheduler.sigmas[0]) ** 2 + 1)
    kwargs = {} if gens is None else {"generator": gens}
    if eta is not None:
        kwargs["eta"] = eta
    for t in scheduler.timesteps:
        inp = scheduler.scale_model_input(x, t)
        x = scheduler.step(model(inp, t), t, x, **kwargs).prev_sample
    return x


def eps_denoiser(model, schedule: NoiseSchedule, prediction_type: str):
    def d(x: Tensor, t: Tensor) -> Tensor:
        out = model(x, t)
        return schedule.eps_from_v(x, t, out) if prediction_type == "v_prediction" else out

    return d


CASES = [(s, n) for s in ["linear", "cosine", "scaled_linear"] for n in [10, 50]]


def tolerance(schedule_name: str) -> float:
    """1e-4 in float32. The cosine schedule reaches ᾱ_999 ≈ 2e-9, so x̂_0 = (x - sqrt(1-ᾱ) ε̂) / sqrt(ᾱ) divides
    a float32 cancellation by 5e-5 at the first step: both libraries lose digits there, differently (measured up
    to 2.4e-3 apart), and parity is checked to 5e-3 for it."""
    return 5e-3 if schedule_name == "cosine" else 1e-4


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
@pytest.mark.parametrize(("schedule_name", "n"), CASES)
@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_matches_diffusers(unet, schedule_name, n, eta, prediction_type) -> None:
    model = make_model(unet, schedule_name, prediction_type)
    x = randn(SHAPE, generators(100))
    ref = DDIMScheduler(
        **diffusers_kwargs(schedule_name), clip_sample=False, set_alpha_to_one=True,
        timestep_spacing="trailing", prediction_type=prediction_type,
    )  # fmt: skip
    expected = run_diffusers(ref, model, x, n, generators(), eta=eta)
    s = make_schedule(schedule_name)
    ours = sample_ddim(
        eps_denoiser(model, s, prediction_type), x, s, make_timesteps(1000, n, "trailing"),
        eta=eta, generators=generators(),
    )  # fmt: skip
    assert (ours - expected).abs().max().item() <= tolerance(schedule_name)


@pytest.mark.parametrize(("schedule_name", "n"), CASES)
@pytest.mark.parametrize("spacing", ["leading", "trailing"])
def test_ddpm_matches_diffusers(unet, schedule_name, n, spacing) -> None:
    model = make_model(unet, schedule_name)
    x = randn(SHAPE, generators(100))
    ref = DDPMScheduler(**diffusers_kwargs(schedule_name), clip_sample=False, timestep_spacing=spacing)
    expected = run_diffusers(ref, model, x, n, generators())
    s = make_schedule(schedule_name)
    ours = sample_ddpm(model, x, s, make_timesteps(1000, n, spacing), generators=generators())
    assert (ours - expected).abs().max().item() <= tolerance(schedule_name)


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
@pytest.mark.parametrize(("schedule_name", "n"), CASES)
def test_dpmpp_2m_matches_diffusers(unet, schedule_name, n, prediction_type) -> None:
    model = make_model(unet, schedule_name, prediction_type)
    x = randn(SHAPE, generators(100))
    ref = DPMSolverMultistepScheduler(
        **diffusers_kwargs(schedule_name), algorithm_type="dpmsolver++", solver_order=2,
        timestep_spacing="trailing", prediction_type=prediction_type,
    )  # fmt: skip
    expected = run_diffusers(ref, model, x, n)
    s = make_schedule(schedule_name)
    ours = get_sampler("dpmpp_2m")(eps_denoiser(model, s, prediction_type), x, s, make_timesteps(1000, n))
    assert (ours - expected).abs().max().item() <= tolerance(schedule_name)


@pytest.mark.parametrize(("schedule_name", "n"), CASES)
def test_euler_matches_diffusers(unet, schedule_name, n) -> None:
    model = make_model(unet, schedule_name)
    x = randn(SHAPE, generators(100))
    ref = EulerDiscreteScheduler(**diffusers_kwargs(schedule_name), timestep_spacing="trailing")
    expected = run_diffusers(ref, model, x, n, ve_scale=True)
    s = make_schedule(schedule_name)
    ours = sample_euler(model, x, s, make_timesteps(1000, n))
    assert (ours - expected).abs().max().item() <= tolerance(schedule_name)


@pytest.mark.parametrize("schedule_name", ["linear", "scaled_linear"])
@pytest.mark.parametrize("n", [10, 50])
def test_heun_matches_diffusers(unet, schedule_name, n) -> None:
    """(Measured 1e-6 apart. Not on cosine: its first step from σ ≈ 2e4 makes Heun's correction unstable in float32,
    in both libraries.)"""
    model = make_model(unet, schedule_name)
    x = randn(SHAPE, generators(100))
    ref = HeunDiscreteScheduler(**diffusers_kwargs(schedule_name), timestep_spacing="trailing")
    expected = run_diffusers(ref, model, x, n, ve_scale=True)
    s = make_schedule(schedule_name)
    ours = sample_heun(model, x, s, make_timesteps(1000, n))
    assert (ours - expected).abs().max().item() <= 1e-4


def test_euler_takes_the_same_steps_as_ddim(model) -> None:
    """Euler on the probability-flow ODE in x̃ = x / sqrt(ᾱ) is DDIM with eta = 0 (Karras et al. 2022)."""
    s = make_schedule("linear")
    x = randn(SHAPE, generators(5))
    ts = make_timesteps(1000, 20)
    torch.testing.assert_close(sample_euler(model, x, s, ts), sample_ddim(model, x, s, ts), atol=1e-4, rtol=1e-4)


def test_ddpm_is_ddim_with_eta_one(model) -> None:
    """DDPM's posterior variance β̃_t equals DDIM's σ_t(η=1)², and the means agree: same draws, same samples."""
    s = make_schedule("cosine")
    x = randn(SHAPE, generators(5))
    ts = make_timesteps(1000, 25)
    a = sample_ddpm(model, x, s, ts, generators=generators())
    b = sample_ddim(model, x, s, ts, eta=1.0, generators=generators())
    assert (a - b).abs().max().item() <= 1e-4


# ----------------------------------------------------------------------------- a Gaussian with a known denoiser
MU, STD = 0.7, 0.5


def gaussian_denoiser(schedule: NoiseSchedule) -> Callable[[Tensor, Tensor], Tensor]:
    """For data x_0 ~ N(μ, s² I) the exact E[ε | x_t] = sqrt(1-ᾱ) (x_t - sqrt(ᾱ) μ) / (ᾱ s² + 1 - ᾱ)."""

    def d(x: Tensor, t: Tensor) -> Tensor:
        a = schedule.alphas_cumprod[t].to(x.dtype).view(-1, *([1] * (x.ndim - 1)))
        return (1 - a).sqrt() * (x - a.sqrt() * MU) / (a * STD**2 + 1 - a)

    return d


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_samplers_reach_the_data_distribution(name: str) -> None:
    s = make_schedule("linear")
    n = 400
    x = randn((n, 1, 4, 4), generators(0, n))
    steps = 500 if name == "ddpm" else 50  # ancestral steps with the posterior mean lose variance when large
    out = get_sampler(name)(
        gaussian_denoiser(s), x, s, make_timesteps(1000, steps), eta=0.0, generators=generators(10_000, n)
    )
    assert out.mean().item() == pytest.approx(MU, abs=0.03)
    assert out.std().item() == pytest.approx(STD, abs=0.03)


def test_heun_is_more_accurate_than_euler() -> None:
    """Against a 1000-step reference solution of the same ODE, Heun (2nd order) beats Euler at equal steps."""
    s = make_schedule("linear")
    d = gaussian_denoiser(s)
    x = randn((8, 1, 4, 4), generators(3, 8))
    ref = sample_ddim(d, x, s, make_timesteps(1000, 1000))
    err_euler = (sample_euler(d, x, s, make_timesteps(1000, 20)) - ref).abs().max().item()
    err_heun = (sample_heun(d, x, s, make_timesteps(1000, 20)) - ref).abs().max().item()
    assert err_heun < err_euler / 3  # measured 0.048 vs 0.176


def test_ddim_inversion_round_trip() -> None:
    """With the exact denoiser, invert-then-sample returns to x_0: plain inversion is off by O(1/N) (0.16 at 50
    steps here); 3 fixed-point iterations per step bring it under 5e-4 (measured 5e-5), 5 at 10 steps under 1e-2."""
    s = make_schedule("linear")
    d = gaussian_denoiser(s)
    x0 = MU + STD * randn((8, 4, 7, 7), generators(7, 8))
    ts = make_timesteps(1000, 50)
    plain = sample_ddim(d, ddim_invert(d, x0, s, ts, fixed_point_iterations=0), s, ts)
    assert (plain - x0).abs().max().item() > 0.05
    xT = ddim_invert(d, x0, s, ts, fixed_point_iterations=3)
    assert xT.std().item() == pytest.approx(1.06, abs=0.05)  # the exact preimage of this data is near unit noise
    assert (sample_ddim(d, xT, s, ts) - x0).abs().max().item() < 5e-4
    ts10 = make_timesteps(1000, 10)
    back10 = sample_ddim(d, ddim_invert(d, x0, s, ts10, fixed_point_iterations=5), s, ts10)
    assert (back10 - x0).abs().max().item() < 1e-2


def test_callback_reports_every_step(model) -> None:
    s = make_schedule("linear")
    seen: list[StepInfo] = []
    ts = make_timesteps(1000, 7)
    x = randn(SHAPE, generators())
    sample_ddim(model, x, s, ts, callback=seen.append)
    assert [info.i for info in seen] == list(range(7))
    assert [info.t for info in seen] == ts.tolist()
    first = seen[0]
    torch.testing.assert_close(first.x_t, x)
    torch.testing.assert_close(first.x0, s.predict_x0(x, int(ts[0]), first.eps))


def test_guidance_one_is_the_conditional_model_and_batches_both_passes() -> None:
    s = make_schedule("linear")
    calls = []

    def model(x, t, emb):
        calls.append(x.shape[0])
        return torch.tanh(x + emb.mean(dim=1).view(-1, 1, 1, 1))

    cond, null = torch.randn(3, 8), torch.zeros(3, 8)
    x, t = torch.randn(SHAPE), torch.full((3,), 500)
    out1 = guided_denoiser(model, s, cond, null, 1.0)(x, t)
    torch.testing.assert_close(out1, model(x, t, cond), rtol=0, atol=0)
    calls.clear()
    out3 = guided_denoiser(model, s, cond, null, 3.0)(x, t)
    assert calls == [6]  # one batched forward for both passes
    u, c = model(x, t, null), model(x, t, cond)
    torch.testing.assert_close(out3, u + 3.0 * (c - u))


def test_per_image_generators_make_batches_consistent(model) -> None:
    """Image i drawn with generator seed + i is the same whether it is made alone or in a batch."""
    s = make_schedule("linear")
    ts = make_timesteps(1000, 10)
    batch = sample_ddpm(model, randn(SHAPE, generators(0)), s, ts, generators=generators(50))
    labels_model = model  # the model's class labels are fixed per row; compare row 0 alone
    alone = sample_ddpm(
        lambda x, t: labels_model(torch.cat([x, x, x]), t)[:1], randn((1, *SHAPE[1:]), generators(0, 1)), s, ts,
        generators=generators(50, 1),
    )  # fmt: skip
    assert (batch[:1] - alone).abs().max().item() < 1e-5


def test_repaint_moves() -> None:
    assert repaint_moves(4, 1, 1) == [4, 3, 2, 1, 0]
    levels = repaint_moves(6, 2, 3)
    assert levels[0] == 6 and levels[-1] == 0
    assert all(abs(a - b) == 1 for a, b in itertools.pairwise(levels))
    downs = sum(1 for a, b in itertools.pairwise(levels) if b < a)
    ups = len(levels) - 1 - downs
    assert downs - ups == 6
    assert ups == 2 * 2 * 2  # jumps at levels 0 and 2 (range(0, 6 - 2, 2)), twice each, 2 levels up
    with pytest.raises(ValueError, match="jump_length"):
        repaint_moves(5, 0, 1)


def test_noise_is_per_image_and_reproducible() -> None:
    a = randn((3, 2, 2), generators(5))
    b = torch.cat([randn((1, 2, 2), generators(5 + i, 1)) for i in range(3)])
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    with pytest.raises(ValueError, match="one generator per image"):
        randn((3, 2), generators(0, 2))
    assert not np.allclose(a[0].numpy(), a[1].numpy())


def test_unknown_sampler() -> None:
    with pytest.raises(ValueError, match=r"sampler must be one of \['ddim', 'ddpm', 'dpmpp_2m', 'euler', 'heun'\]"):
        get_sampler("plms")
