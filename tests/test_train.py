"""Training: losses fall, resume continues exactly, the scaling factor is 1 / std of the latents, DDP stays in sync.

Everything runs on tiny data made here (8x8 bars) with tiny models, in seconds on one CPU thread.
"""

from __future__ import annotations

import math
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from conftest import randomize_
from safetensors.torch import load_file, save_file

from ldm_core import distributed as ddp
from ldm_core.data import Dataset
from ldm_core.ema import EMA
from ldm_core.pipeline import LatentDiffusionPipeline
from ldm_core.schedule import make_schedule
from ldm_core.train import Loop, LoopConfig, learning_rate, read_log
from ldm_core.train_decoder import DecoderTrainConfig, encoder_state, finetune_decoder, swap_vae
from ldm_core.train_diffusion import (
    DiffusionTrainConfig,
    diffusion_loss,
    encode_dataset,
    load_vae,
    min_snr_weight,
    scaling_factor,
    train_diffusion,
)
from ldm_core.train_state import flatten_optimizer, unflatten_optimizer
from ldm_core.train_vae import VAETrainConfig, build, train_vae
from ldm_core.unet import UNet, UNetConfig
from ldm_core.vae import VAEConfig

SINGLE = ddp.DistInfo(rank=0, world_size=1, device=torch.device("cpu"))
TINY_VAE = VAEConfig(in_channels=1, latent_channels=2, base_channels=8, channel_mult=(1, 2), mid_attention=False)
TINY_UNET = dict(base_channels=16, channel_mult=(1, 2), num_res_blocks=1, attention_levels=(1,), num_heads=2)


def bars(n: int = 64, size: int = 8, seed: int = 0) -> Dataset:
    """Class 0: a bright horizontal bar, class 1: a vertical bar, at random positions on black; [-1, 1]."""
    g = np.random.default_rng(seed)
    x = np.full((n, 1, size, size), -1.0, np.float32)
    labels = np.arange(n) % 2
    for i, pos in enumerate(g.integers(1, size - 1, n)):
        if labels[i] == 0:
            x[i, 0, pos, :] = 1.0
        else:
            x[i, 0, :, pos] = 1.0
    return Dataset(torch.from_numpy(x), torch.from_numpy(labels).long(), ["horizontal", "vertical"])


def loop_cfg(steps: int, **kw: object) -> LoopConfig:
    base = dict(steps=steps, batch_size=16, lr=3e-3, warmup_steps=2, log_every=1, sample_every=1000, save_every=5)
    return LoopConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def vae_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny VAE trained 40 steps (the discriminator on from step 25, its loss on the decoder from step 30)."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("vae")
    return train_vae(bars(), TINY_VAE, loop_cfg(40), VAETrainConfig(disc_start=25, disc_warmup=5), out, SINGLE)


def weights(folder: Path, name: str) -> dict[str, torch.Tensor]:
    return load_file(str(folder / f"{name}.safetensors"))


def test_vae_loss_falls_and_gan_starts(vae_dir: Path) -> None:
    log = read_log(vae_dir / "log.jsonl")
    assert [e["step"] for e in log] == list(range(1, 41))
    first, last = np.mean([e["l1"] for e in log[:5]]), np.mean([e["l1"] for e in log[-5:]])
    assert last < 0.6 * first, (first, last)
    assert log[-1]["psnr"] > log[0]["psnr"] + 3  # dB
    assert "d_loss" not in log[24] and "d_loss" in log[25] and "d_weight" not in log[29]  # the warm-up
    assert all(0 < e["d_weight"] <= 0.2 for e in log[30:])  # the adaptive weight, capped at disc_max_weight
    assert all(set(e) >= {"loss", "lr", "elapsed_s"} for e in log)
    assert (vae_dir / "samples" / "step_000040.png").is_file()


def test_diffusion_loss_falls_and_model_loads(vae_dir: Path, tmp_path: Path) -> None:
    unet_cfg = UNetConfig(in_channels=2, num_classes=2, **TINY_UNET)
    cfg = DiffusionTrainConfig(sample_steps=2, samples_per_class=2, guidance_scale=2.5)
    model = train_diffusion(bars(), vae_dir, unet_cfg, loop_cfg(60), cfg, tmp_path, SINGLE, "bars", {"x": 1})
    log = [e for e in read_log(tmp_path / "log.jsonl") if "loss" in e]
    first, last = np.mean([e["loss"] for e in log[:10]]), np.mean([e["loss"] for e in log[-10:]])
    assert last < 0.8 * first, (first, last)
    pipe = LatentDiffusionPipeline.from_pretrained(model)
    assert pipe.name == "bars" and pipe.default_guidance_scale == 2.5 and pipe.class_names == ["horizontal", "vertical"]
    assert pipe.extra_config["x"] == 1 and pipe.extra_config["training"]["steps"] == 60
    # the shipped denoiser is the EMA copy, not the last raw weights
    state = weights(tmp_path / "state", "ema")
    assert all(torch.equal(state[k], v) for k, v in pipe.unet.state_dict().items())
    assert not torch.equal(weights(tmp_path / "state", "unet")["conv_in.weight"], state["conv_in.weight"])


def test_min_snr_weights_known_values_and_loss() -> None:
    snr = torch.tensor([0.5, 1.0, 5.0, 10.0], dtype=torch.float64)
    # ε: min(SNR, 5) / SNR; v: min(SNR, 5) / (SNR + 1)
    torch.testing.assert_close(
        min_snr_weight(snr, 5.0, "epsilon"), torch.tensor([1.0, 1.0, 1.0, 0.5], dtype=torch.float64)
    )
    torch.testing.assert_close(min_snr_weight(snr, 5.0, "v_prediction"),
                               torch.tensor([1 / 3, 1 / 2, 5 / 6, 5 / 11], dtype=torch.float64))  # fmt: skip
    schedule = make_schedule("linear")
    unet = UNet(UNetConfig(in_channels=2, num_classes=2, **TINY_UNET))
    randomize_(unet)
    z0, labels = torch.randn(8, 2, 7, 7), torch.tensor([0, 1] * 4)

    def loss(gamma: float, prediction_type: str = "epsilon") -> float:
        unet.config.prediction_type = prediction_type
        return diffusion_loss(unet, schedule, z0, labels, torch.Generator().manual_seed(3), 0.1, gamma).item()

    # with γ above every SNR the ε weights are all 1: the plain MSE, same draws
    assert loss(1e9) == pytest.approx(loss(0.0), rel=1e-5)
    assert loss(1.0) < loss(0.0)  # γ = 1 only lowers weights (min(SNR, 1) / SNR <= 1)
    assert loss(1e9, "v_prediction") < loss(0.0, "v_prediction")  # v: SNR / (SNR + 1) < 1


def test_bf16_autocast_loss_is_close_to_fp32_and_bad_precision_is_refused() -> None:
    schedule = make_schedule("linear")
    unet = UNet(UNetConfig(in_channels=2, num_classes=2, **TINY_UNET))
    randomize_(unet)
    z0, labels = torch.randn(16, 2, 8, 8), torch.tensor([0, 1] * 8)

    def loss(bf16: bool) -> torch.Tensor:
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            out = diffusion_loss(unet, schedule, z0, labels, torch.Generator().manual_seed(5), 0.1)
        return out

    fp32, bf16 = loss(False), loss(True)
    assert bf16.dtype == torch.float32  # the MSE itself is taken in fp32
    assert bf16.item() != fp32.item()  # autocast did run the UNet in bfloat16 ...
    assert bf16.item() == pytest.approx(fp32.item(), rel=2e-2)  # ... to within bfloat16's 8-bit mantissa
    with pytest.raises(ValueError, match="precision must be one of"):
        DiffusionTrainConfig(precision="fp16")


def test_scaling_factor_is_one_over_latent_std(vae_dir: Path) -> None:
    # on Gaussian latents of known spread: mean ~ N(0, 2²) and posterior std 1.5 -> z ~ N(0, 2.5²)
    g = torch.Generator().manual_seed(123)  # not the seed scaling_factor draws its noise with
    mean, std = 2.0 * torch.randn(4000, 2, 4, 4, generator=g), torch.full((4000, 2, 4, 4), 1.5)
    assert scaling_factor(mean, std, 4000, seed=0) == pytest.approx(1 / 2.5, rel=0.01)
    assert scaling_factor(mean, torch.zeros_like(std), 1000, seed=0) == pytest.approx(1 / mean[:1000].std().item())
    # and the exported model stores exactly what its own VAE's latents give
    vae, _ = load_vae(vae_dir)
    m, s = encode_dataset(vae, bars().images, torch.device("cpu"))
    z = m + s * torch.randn(m.shape, generator=torch.Generator().manual_seed(0))
    assert scaling_factor(m, s, 5000, seed=0) == pytest.approx(1 / z.double().std().item(), rel=1e-9)


def test_learning_rate_schedule() -> None:
    cfg = LoopConfig(steps=100, lr=1e-3, warmup_steps=10, min_lr_ratio=0.1)
    assert learning_rate(cfg, 0) == pytest.approx(1e-4)
    assert learning_rate(cfg, 9) == pytest.approx(1e-3)
    assert learning_rate(cfg, 55) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5))))
    assert learning_rate(cfg, 100) == pytest.approx(1e-4)


def test_ema_follows_the_average() -> None:
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    ema = EMA(model, decay=0.9)
    with torch.no_grad():
        model.weight.fill_(1.0)
    d = []
    for _ in range(3):
        d.append(ema.current_decay())
        ema.update(model)
    assert d == pytest.approx([0.1, 2 / 11, 0.25])  # warm-up (1 + k) / (10 + k)
    assert ema.model.weight.item() == pytest.approx(1 - 0.1 * (2 / 11) * 0.25)


def test_optimizer_state_round_trip() -> None:
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, betas=(0.5, 0.9))
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    tensors, structure = flatten_optimizer(opt.state_dict())
    assert set(tensors) == {f"state.{i}.{k}" for i in (0, 1) for k in ("step", "exp_avg", "exp_avg_sq")}
    import json

    structure = json.loads(json.dumps(structure))  # what state.json holds
    opt2 = torch.optim.AdamW(torch.nn.Linear(3, 2).parameters(), lr=1.0)
    opt2.load_state_dict(unflatten_optimizer(tensors, structure))
    assert opt2.param_groups[0]["lr"] == 0.1 and list(opt2.param_groups[0]["betas"]) == [0.5, 0.9]
    assert torch.equal(opt2.state_dict()["state"][1]["exp_avg"], opt.state_dict()["state"][1]["exp_avg"])


def crash_at(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    """Make the next training run die (as if interrupted) right after ``step`` steps."""
    record = Loop.record

    def record_then_crash(self: Loop, losses: dict[str, float], lr: float) -> None:
        record(self, losses, lr)
        if self.step == step:
            raise KeyboardInterrupt

    monkeypatch.setattr(Loop, "record", record_then_crash)


def test_vae_resume_matches_an_uninterrupted_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = VAETrainConfig(disc_start=6, disc_warmup=2)
    train_vae(bars(), TINY_VAE, loop_cfg(16), cfg, tmp_path / "straight", SINGLE)
    with monkeypatch.context() as m:
        crash_at(m, 13)  # the last save was at step 10
        with pytest.raises(KeyboardInterrupt):
            train_vae(bars(), TINY_VAE, loop_cfg(16), cfg, tmp_path / "resumed", SINGLE)
    train_vae(bars(), TINY_VAE, loop_cfg(16), cfg, tmp_path / "resumed", SINGLE)
    steps = [e["step"] for e in read_log(tmp_path / "resumed" / "log.jsonl")]
    assert steps == [*range(1, 14), *range(11, 17)]  # picked up after the step-10 checkpoint
    for part in ("vae", "disc", "optimizer_vae", "optimizer_disc"):
        a, b = weights(tmp_path / "straight" / "state", part), weights(tmp_path / "resumed" / "state", part)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), part


def test_diffusion_resume_matches_an_uninterrupted_run(
    vae_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unet_cfg = UNetConfig(in_channels=2, num_classes=2, **TINY_UNET)
    cfg = DiffusionTrainConfig(sample_steps=2, samples_per_class=1)
    train_diffusion(bars(), vae_dir, unet_cfg, loop_cfg(14), cfg, tmp_path / "straight", SINGLE)
    with monkeypatch.context() as m:
        crash_at(m, 7)
        with pytest.raises(KeyboardInterrupt):
            train_diffusion(bars(), vae_dir, unet_cfg, loop_cfg(14), cfg, tmp_path / "resumed", SINGLE)
    train_diffusion(bars(), vae_dir, unet_cfg, loop_cfg(14), cfg, tmp_path / "resumed", SINGLE)
    for part in ("unet", "ema", "optimizer_unet"):
        a, b = weights(tmp_path / "straight" / "state", part), weights(tmp_path / "resumed" / "state", part)
        assert all(torch.equal(a[k], b[k]) for k in a), part
    # --no-resume starts over: a fresh run of 3 steps differs from the 14-step state
    train_diffusion(bars(), vae_dir, unet_cfg, loop_cfg(3, resume=False), cfg, tmp_path / "resumed", SINGLE)
    meta = LatentDiffusionPipeline.from_pretrained(tmp_path / "resumed" / "model").extra_config["training"]
    assert meta["steps"] == 3


def test_time_limit_stops_and_saves(vae_dir: Path, tmp_path: Path) -> None:
    unet_cfg = UNetConfig(in_channels=2, num_classes=2, **TINY_UNET)
    cfg = DiffusionTrainConfig(sample_steps=2, samples_per_class=1)
    model = train_diffusion(bars(), vae_dir, unet_cfg, loop_cfg(10_000, max_minutes=0.02), cfg, tmp_path, SINGLE)
    training = LatentDiffusionPipeline.from_pretrained(model).extra_config["training"]
    assert training["stopped_by_time_limit"] and 0 < training["steps"] < 10_000
    assert 1.2 <= training["wall_time_s"] < 10
    assert (tmp_path / "state" / "config.json").is_file()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ddp_worker(rank: int, world_size: int, port: int, out: str) -> None:
    """One process of a 2-process gloo run of both stages; saves this rank's final weights to <out>/rank<r>.safetensors.

    The models are caught where the training code hands them to DistributedDataParallel (``ddp.wrap``).
    """
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    models: list[torch.nn.Module] = []
    wrap = ddp.wrap

    def catch(model: torch.nn.Module, info: ddp.DistInfo) -> torch.nn.Module:
        models.append(model)
        return wrap(model, info)

    ddp.wrap = catch
    info = ddp.setup("cpu")
    try:
        data, root = bars(), Path(out)
        vae_out = train_vae(
            data, TINY_VAE, loop_cfg(6, batch_size=8), VAETrainConfig(disc_start=3, disc_warmup=1), root / "vae", info
        )
        unet_cfg = UNetConfig(in_channels=2, num_classes=2, **TINY_UNET)
        cfg = DiffusionTrainConfig(sample_steps=2, samples_per_class=1)
        train_diffusion(data, vae_out, unet_cfg, loop_cfg(6, batch_size=8), cfg, root / "diffusion", info)
    finally:
        ddp.cleanup(info)
    flat = {f"{i}.{k}": v.contiguous() for i, m in enumerate(models) for k, v in m.state_dict().items()}
    save_file(flat, str(Path(out) / f"rank{rank}.safetensors"))


@pytest.mark.slow
def test_two_process_ddp_ends_with_identical_weights(tmp_path: Path) -> None:
    mp.spawn(ddp_worker, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1))
    assert r0.keys() == r1.keys() and any(k.startswith("2.") for k in r0)  # vae, discriminator, unet
    assert all(torch.equal(r0[k], r1[k]) for k in r0)
    # they trained: 6 steps moved the VAE away from its (seeded) initial weights
    vae, _ = build(bars(), TINY_VAE, VAETrainConfig(), seed=0)
    assert not torch.equal(vae.state_dict()["encoder.conv_in.weight"], r0["0.encoder.conv_in.weight"])
    for stage in ("vae", "diffusion"):
        log = [e for e in read_log(tmp_path / stage / "log.jsonl") if "loss" in e]
        assert [e["step"] for e in log] == list(range(1, 7))
    training = LatentDiffusionPipeline.from_pretrained(tmp_path / "diffusion" / "model").extra_config["training"]
    assert training["world_size"] == 2


def test_decoder_finetune_keeps_the_encoder_and_learns_noisy_latents(vae_dir: Path, tmp_path: Path) -> None:
    data = bars()
    vae0, _ = load_vae(vae_dir)
    with torch.no_grad():
        q = vae0.encode(data.images)
    scale = scaling_factor(q.mean, q.std, 5000, 0)
    noisy = q.mean + 0.8 / scale * torch.randn(q.mean.shape, generator=torch.Generator().manual_seed(1))

    def noisy_l1(vae: torch.nn.Module) -> float:
        with torch.no_grad():
            return torch.nn.functional.l1_loss(vae.decode(noisy), data.images).item()

    folders = {}
    for noise_max in (0.0, 1.0):
        folders[noise_max] = finetune_decoder(data, vae_dir, loop_cfg(200, lr=1e-3), DecoderTrainConfig(noise_max),
                                              tmp_path / f"dec{noise_max}", SINGLE)  # fmt: skip
    plain, _ = load_vae(folders[0.0])
    robust, config = load_vae(folders[1.0])
    assert config["decoder_training"]["steps"] == 200 and config["vae"] == load_vae(vae_dir)[1]["vae"]
    # the encoder (so every latent) is bit-identical; the decoder moved
    enc0, enc1 = encoder_state(vae0), encoder_state(robust)
    assert enc0.keys() == enc1.keys() and all(torch.equal(enc0[k], enc1[k]) for k in enc0)
    assert not torch.equal(vae0.decoder.conv_out.weight, robust.decoder.conv_out.weight)
    # trained on noisy latents, it decodes them better than the same fine-tuning without noise does
    assert noisy_l1(robust) < 0.9 * noisy_l1(plain), (noisy_l1(vae0), noisy_l1(plain), noisy_l1(robust))

    # a full model with that VAE gets the new decoder; its denoiser is untouched
    unet = UNet(UNetConfig(in_channels=2, num_classes=2, **TINY_UNET))
    pipe = LatentDiffusionPipeline(vae0, unet, make_schedule("linear"), scale, data.class_names, name="bars")
    pipe.save_pretrained(tmp_path / "model")
    swapped = LatentDiffusionPipeline.from_pretrained(swap_vae(tmp_path / "model", folders[1.0], tmp_path / "new"))
    assert all(torch.equal(v, robust.state_dict()[k]) for k, v in swapped.vae.state_dict().items())
    assert all(torch.equal(v, unet.state_dict()[k]) for k, v in swapped.unet.state_dict().items())
    assert swapped.scaling_factor == scale and swapped.extra_config["decoder_training"]["steps"] == 200
    # a VAE with another encoder would give other latents: refused
    other = train_vae(bars(seed=1), TINY_VAE, loop_cfg(3, seed=5), VAETrainConfig(), tmp_path / "other", SINGLE)
    with pytest.raises(ValueError, match=r"encoder of .* differs"):
        swap_vae(tmp_path / "model", other, tmp_path / "bad")


def test_pixel_space_model_trains_saves_and_samples_images_directly(tmp_path: Path) -> None:
    """--pixel-space: the identity VAE (no weights, z = x, scale 1), the same UNet on the 1x8x8 images."""
    unet_cfg = UNetConfig(in_channels=1, num_classes=2, **TINY_UNET)
    cfg = DiffusionTrainConfig(sample_steps=2, samples_per_class=2)
    model = train_diffusion(bars(), None, unet_cfg, loop_cfg(30), cfg, tmp_path, SINGLE, "bars-pixel")
    log = [e for e in read_log(tmp_path / "log.jsonl") if "loss" in e]
    assert np.mean([e["loss"] for e in log[-5:]]) < np.mean([e["loss"] for e in log[:5]])
    pipe = LatentDiffusionPipeline.from_pretrained(model)
    assert pipe.vae.config.identity and pipe.scaling_factor == 1.0 and pipe.latent_shape == (1, 8, 8)
    assert sum(p.numel() for p in pipe.vae.parameters()) == 0
    x = bars(4).images
    torch.testing.assert_close(pipe.encode(x), x)  # the "latent" is the image
    np.testing.assert_allclose(pipe.decode(x)[..., 0], (x[:, 0].numpy() + 1) / 2, atol=1e-6)
    assert not (model / "replay").exists()  # no stage 1 to replay
    with pytest.raises(ValueError, match="latent_channels == in_channels"):
        VAEConfig(in_channels=1, latent_channels=4, channel_mult=(1,), identity=True)


def test_warm_start_begins_at_the_given_weights_with_the_ema_at_full_decay(vae_dir: Path, tmp_path: Path) -> None:
    unet_cfg = UNetConfig(in_channels=2, num_classes=2, **TINY_UNET)
    cfg = DiffusionTrainConfig(sample_steps=2, samples_per_class=2)
    first = train_diffusion(bars(), vae_dir, unet_cfg, loop_cfg(10), cfg, tmp_path / "a", SINGLE, "bars")
    start = LatentDiffusionPipeline.from_pretrained(first).unet.state_dict()
    # one AdamW step (each weight moves by about lr): the EMA at decay 0.999 with no warm-up moves 0.1 % of that
    second = train_diffusion(bars(), vae_dir, unet_cfg, loop_cfg(1, lr=1e-3, warmup_steps=0), cfg, tmp_path / "b",
                             SINGLE, "bars", init_unet=(start, str(first)))  # fmt: skip
    raw = weights(tmp_path / "b" / "state", "unet")
    ema = LatentDiffusionPipeline.from_pretrained(second).unet.state_dict()
    moved = max(float((raw[k] - start[k]).abs().max()) for k in start)
    assert 5e-4 < moved < 2e-3
    assert max(float((ema[k] - start[k]).abs().max()) for k in start) == pytest.approx(1e-3 * moved, rel=0.02)
    # the warm start's first loss is the trained model's, well below the first run's random start
    loss_a, loss_b = (read_log(tmp_path / d / "log.jsonl")[1]["loss"] for d in ("a", "b"))
    assert loss_b < 0.9 * loss_a, (loss_a, loss_b)
    assert LatentDiffusionPipeline.from_pretrained(second).extra_config["init_unet"] == str(first)
