"""The preview decoder: a linear map fitted to the VAE decoder, saved with its hash, used only for previews."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_tiny_pipeline

from ldm_core import LatentDiffusionPipeline
from ldm_core.checkpoint import CheckpointError, add_weights
from ldm_core.previews import PREVIEW_FILE, config_dict, fit_linear_preview


def test_the_fit_recovers_an_affine_decoder_exactly() -> None:
    g = torch.Generator().manual_seed(0)
    A = torch.randn(1 * 8 * 8, 2 * 3 * 3, generator=g) * 0.1  # [D, d]
    b = torch.randn(1 * 8 * 8, generator=g) * 0.1

    def decode(z: torch.Tensor) -> torch.Tensor:  # an affine "decoder" [B, 2, 3, 3] -> [B, 1, 8, 8]
        return (z.reshape(len(z), -1) @ A.T + b).reshape(len(z), 1, 8, 8)

    z = torch.randn(600, 2, 3, 3, generator=g)
    model = fit_linear_preview(z, decode, ridge=1e-9, holdout=100)
    assert model.config.num_images == 500
    assert torch.allclose(model.linear.weight, A, atol=1e-4) and torch.allclose(model.linear.bias, b, atol=1e-4)
    assert model.config.psnr_vs_decoder > 60  # held-out latents decode the same
    with pytest.raises(ValueError, match="reads latents"):
        model(torch.zeros(1, 4, 3, 3))


def test_a_fitted_preview_travels_with_the_model_folder(tmp_path: Path) -> None:
    pipe = make_tiny_pipeline(in_channels=3, image_size=16, seed=3)
    folder = pipe.save_pretrained(tmp_path / "m")
    g = torch.Generator().manual_seed(1)
    z = torch.randn(400, *pipe.latent_shape, generator=g)
    with torch.inference_mode():
        preview = fit_linear_preview(z, lambda zz: pipe.vae.decode(zz / pipe.scaling_factor), holdout=64)
        held_out = pipe.vae.decode(z[-64:] / pipe.scaling_factor).clamp(-1, 1)
        err = float(((preview(z[-64:]) - held_out) ** 2).mean())
    # on latents it was not fitted on, the map is closer to the decoder than the best constant picture is
    assert err < 0.8 * float(((held_out - held_out.mean(0)) ** 2).mean())
    vae_hash = json.loads((folder / "config.json").read_text())["files"]["vae.safetensors"]
    add_weights(folder, PREVIEW_FILE, preview.state_dict(), config_dict(preview.config))
    config = json.loads((folder / "config.json").read_text())
    assert config["files"]["vae.safetensors"] == vae_hash and "preview.safetensors" in config["files"]
    loaded = LatentDiffusionPipeline.from_pretrained(folder)
    assert loaded.preview_decoder is not None
    with torch.inference_mode():
        expected = ((preview(z[:8]) + 1) / 2).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(loaded.preview_images(z[:8]), expected, atol=1e-6)
    out = loaded([0, 1], num_inference_steps=3, seed=0)  # results still come from the real decoder
    np.testing.assert_array_equal(out.images, pipe([0, 1], num_inference_steps=3, seed=0).images)
    loaded.save_pretrained(tmp_path / "again")  # and a pipeline saves its preview decoder with itself
    assert LatentDiffusionPipeline.from_pretrained(tmp_path / "again").preview_decoder is not None
    (folder / "preview.safetensors").write_bytes(b"\0" * 64)
    with pytest.raises(CheckpointError, match="damaged or altered"):
        LatentDiffusionPipeline.from_pretrained(folder)
