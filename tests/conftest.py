"""Shared fixtures: tiny random models that run in milliseconds on the CPU, and an offline environment."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("LDM_COMPILE", "0")  # app.py imported by tests serves eager; its TorchScript default is tested
# on its own (test_app_client.py), and LDM_COMPILE=1 would compile for minutes

import pytest
import torch

from ldm_core import VAE, LatentDiffusionPipeline, UNet, UNetConfig, VAEConfig, make_schedule


def randomize_(module: torch.nn.Module, seed: int = 0, std: float = 0.05) -> torch.nn.Module:
    """Give zero-initialised parameters (e.g. the UNet's output conv) random values, so outputs are not constant."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if torch.count_nonzero(p) == 0 and p.ndim > 1:
                p.copy_(torch.randn(p.shape, generator=g) * std)
    return module


def make_tiny_pipeline(
    num_classes: int = 3,
    schedule: str = "linear",
    prediction_type: str = "epsilon",
    in_channels: int = 1,
    image_size: int = 28,
    seed: int = 0,
) -> LatentDiffusionPipeline:
    torch.manual_seed(seed)
    vae = VAE(VAEConfig(in_channels=in_channels, base_channels=8, mid_attention=True), image_size=image_size)
    unet = UNet(
        UNetConfig(
            base_channels=16,
            channel_mult=(1, 2),
            num_res_blocks=1,
            attention_levels=(1,),
            num_heads=2,
            num_classes=num_classes,
            prediction_type=prediction_type,
        )
    )
    randomize_(unet, seed)
    names = [f"class {i}" for i in range(num_classes)]
    return LatentDiffusionPipeline(
        vae, unet, make_schedule(schedule), 0.8, names, default_guidance_scale=2.0, name="tiny"
    )


@pytest.fixture(scope="session")
def tiny_pipe() -> LatentDiffusionPipeline:
    return make_tiny_pipeline()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_pipe: LatentDiffusionPipeline) -> str:
    folder = tmp_path_factory.mktemp("models") / "tiny"
    tiny_pipe.save_pretrained(folder)
    return str(folder)


def write_bars_npz(path, n: int = 40, seed: int = 0):
    """A tiny training set: n 8x8 images of one white bar on black, two classes ("a", "b"). Returns the images."""
    import numpy as np

    g = np.random.default_rng(seed)
    images = np.zeros((n, 8, 8), np.uint8)
    for i in range(n):
        images[i, g.integers(1, 7), :] = 255  # bars on black
    np.savez_compressed(path, train_images=images, train_labels=np.arange(n) % 2, class_names=np.array(["a", "b"]))
    return images
