"""VAE and UNet: shapes from config, the KL term against its closed form, embeddings, guidance's null class."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import randomize_
from torch.distributions import Normal, kl_divergence

from ldm_core.unet import UNet, UNetConfig, timestep_embedding
from ldm_core.vae import VAE, DiagonalGaussian, VAEConfig, vae_loss


def test_kl_matches_torch_distributions() -> None:
    g = torch.Generator().manual_seed(0)
    mean, logvar = torch.randn(3, 4, 7, 7, generator=g), torch.randn(3, 4, 7, 7, generator=g)
    q = DiagonalGaussian(mean, logvar)
    ref = kl_divergence(Normal(mean, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(dim=(1, 2, 3))
    torch.testing.assert_close(q.kl(), ref, rtol=1e-5, atol=1e-4)
    assert DiagonalGaussian(torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2)).kl().item() == 0.0
    # KL(N(1, e^0) || N(0, 1)) = 0.5 per element
    assert DiagonalGaussian(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)).kl().item() == pytest.approx(2.0)


def test_posterior_sample_uses_the_given_generators() -> None:
    q = DiagonalGaussian(torch.full((2000, 1, 1, 1), 0.5), torch.full((2000, 1, 1, 1), math.log(0.25)))
    z = q.sample([torch.Generator().manual_seed(i) for i in range(2000)])
    assert z.mean().item() == pytest.approx(0.5, abs=0.03) and z.std().item() == pytest.approx(0.5, abs=0.03)
    z2 = q.sample([torch.Generator().manual_seed(i) for i in range(2000)])
    torch.testing.assert_close(z, z2, rtol=0, atol=0)
    torch.testing.assert_close(q.mode(), q.mean)


@pytest.mark.parametrize(
    ("cfg", "size", "latent"),
    [
        (VAEConfig(), 28, (4, 7, 7)),
        (VAEConfig(in_channels=3, channel_mult=(1, 2, 2, 2)), 32, (4, 4, 4)),
        (VAEConfig(latent_channels=3, channel_mult=(1, 2)), 28, (3, 14, 14)),
    ],
)
def test_vae_shapes_follow_config(cfg: VAEConfig, size: int, latent: tuple) -> None:
    vae = VAE(cfg, image_size=size)
    x = torch.rand(2, cfg.in_channels, size, size) * 2 - 1
    q = vae.encode(x)
    assert tuple(q.mean.shape[1:]) == latent == (cfg.latent_channels, cfg.latent_size(size), cfg.latent_size(size))
    recon, post = vae(x, [torch.Generator().manual_seed(i) for i in range(2)])
    assert recon.shape == x.shape
    losses = vae_loss(x, recon, post, kl_weight=1e-3)
    expected = (recon - x).abs().mean() + 1e-3 * post.kl().mean() / x[0].numel()
    torch.testing.assert_close(losses["loss"], expected)


def test_timestep_embedding_known_values() -> None:
    e = timestep_embedding(torch.tensor([0.0, 1.0]), 8)
    torch.testing.assert_close(e[0], torch.tensor([1.0, 1, 1, 1, 0, 0, 0, 0]))
    freqs = torch.exp(-math.log(10000.0) * torch.arange(4) / 4)
    torch.testing.assert_close(e[1], torch.cat([torch.cos(freqs), torch.sin(freqs)]))


def test_unet_output_shape_zero_init_and_null_class() -> None:
    cfg = UNetConfig(base_channels=16, channel_mult=(1, 2, 2), num_res_blocks=1, num_heads=2, num_classes=5)
    unet = UNet(cfg).eval()
    x, t = torch.randn(3, 4, 7, 7), torch.tensor([0, 500, 999])
    assert unet(x, t, torch.tensor([0, 1, 2])).abs().max().item() == 0.0  # zero-initialised output conv
    randomize_(unet)
    out = unet(x, t, torch.tensor([0, -1, 5]))
    assert out.shape == x.shape
    # -1 and num_classes both mean the null class
    same = unet(x[:1].expand(2, -1, -1, -1), t[:1].expand(2), torch.tensor([-1, 5]))
    torch.testing.assert_close(same[0], same[1])
    torch.testing.assert_close(unet.embed_class(torch.tensor([-1])), unet.class_embed.weight[5:6])
    # class_emb overrides labels; an embedding halfway between two classes is accepted
    emb = unet.embed_class(torch.tensor([0, 1, 2]))
    torch.testing.assert_close(unet(x, t, class_emb=emb), unet(x, t, torch.tensor([0, 1, 2])))
    assert not torch.allclose(out[0], unet(x[:1], t[:1], torch.tensor([1]))[0])


def test_unet_bad_config() -> None:
    with pytest.raises(ValueError, match="prediction_type must be one of"):
        UNetConfig(prediction_type="sample")


def test_unet_patch_size_is_a_unet_on_unshuffled_latents() -> None:
    """patch_size 2 on a 3x14x14 latent == a patch-1 UNet on the 12x7x7 pixel_unshuffle, shuffled back."""
    kw = dict(
        base_channels=16, channel_mult=(1, 2), num_res_blocks=1, attention_levels=(1,), num_heads=2, num_classes=3
    )
    patched = UNet(UNetConfig(in_channels=3, patch_size=2, **kw)).eval()
    plain = UNet(UNetConfig(in_channels=12, **kw)).eval()
    randomize_(plain)
    patched.load_state_dict(plain.state_dict())  # same parameter shapes: only the view of the input differs
    x, t, y = torch.randn(2, 3, 14, 14), torch.tensor([10, 900]), torch.tensor([0, 2])
    out = patched(x, t, y)
    assert out.shape == x.shape
    expected = torch.nn.functional.pixel_shuffle(plain(torch.nn.functional.pixel_unshuffle(x, 2), t, y), 2)
    torch.testing.assert_close(out, expected)
    assert out.abs().max() > 0.01  # the randomised weights give a non-trivial output
    # each output pixel depends on its own input patch: moving one latent pixel changes its 2x2 block's output
    x2 = x.clone()
    x2[0, 0, 5, 5] += 1.0
    assert not torch.allclose(patched(x2, t, y)[0, :, 4:6, 4:6], out[0, :, 4:6, 4:6])
    with pytest.raises(ValueError, match="not divisible by patch_size 2"):
        patched(torch.randn(1, 3, 7, 7), t[:1], y[:1])
    with pytest.raises(ValueError, match="patch_size must be >= 1"):
        UNetConfig(patch_size=0)
