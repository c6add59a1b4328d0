"""The public contract of LatentDiffusionPipeline (DESIGN.md) on a tiny random model."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from conftest import make_tiny_pipeline
from PIL import Image
from test_samplers import gaussian_denoiser

from ldm_core import LatentDiffusionPipeline
from ldm_core.pipeline import slerp
from ldm_core.samplers import SAMPLERS, sample_ddim
from ldm_core.schedule import make_timesteps

STEPS = 8


def digit_like(seed: int = 0, size: int = 28) -> np.ndarray:
    """A uint8 [size, size] image: a bright ring on black, like an MNIST zero."""
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - size / 2 + 0.5, xx - size / 2 + 0.5)
    img = np.clip(255 * np.exp(-((r - size / 4) ** 2) / 6), 0, 255)
    return (img + np.random.default_rng(seed).uniform(0, 20, img.shape)).clip(0, 255).astype(np.uint8)


def test_same_seed_same_bits(tiny_pipe: LatentDiffusionPipeline) -> None:
    for sampler in SAMPLERS:
        a = tiny_pipe([0, 1], num_inference_steps=STEPS, sampler=sampler, eta=0.5, seed=3).images
        b = tiny_pipe([0, 1], num_inference_steps=STEPS, sampler=sampler, eta=0.5, seed=3).images
        assert a.dtype == np.float32 and a.shape == (2, 28, 28, 1)
        assert a.min() >= 0.0 and a.max() <= 1.0
        np.testing.assert_array_equal(a, b)
        c = tiny_pipe([0, 1], num_inference_steps=STEPS, sampler=sampler, eta=0.5, seed=4).images
        assert np.abs(a - c).max() > 1e-3


@pytest.mark.parametrize("sampler", ["ddim", "ddpm", "dpmpp_2m"])
def test_image_i_of_a_batch_is_image_alone(tiny_pipe: LatentDiffusionPipeline, sampler: str) -> None:
    """Image i uses seed + i: the batch of 8 and the single image agree to within one 8-bit level.

    (Measured with the MNIST model, 50 steps: max difference 1.5e-6, 4e-4 of a level; never bit-identical.)
    """
    labels = [0, 1, 2, -1, 0, 1, 2, None]
    batch = tiny_pipe(labels, num_inference_steps=STEPS, sampler=sampler, eta=1.0, seed=10).images
    for i in (0, 5, 7):
        alone = tiny_pipe([labels[i]], num_inference_steps=STEPS, sampler=sampler, eta=1.0, seed=10 + i).images
        assert np.abs(batch[i] - alone[0]).max() <= 1 / 255


def test_guidance_one_is_the_conditional_model(tiny_pipe: LatentDiffusionPipeline) -> None:
    out = tiny_pipe([2], num_inference_steps=STEPS, guidance_scale=1.0, seed=1, output_type="latent")
    unet = tiny_pipe.unet
    x = tiny_pipe.initial_noise([1])
    with torch.inference_mode():
        ref = sample_ddim(
            lambda z, t: unet(z, t, torch.tensor([2])), x, tiny_pipe.schedule, make_timesteps(1000, STEPS)
        )
    torch.testing.assert_close(out.latents, ref, rtol=0, atol=0)
    guided = tiny_pipe([2], num_inference_steps=STEPS, guidance_scale=4.0, seed=1, output_type="latent").latents
    assert (guided - ref).abs().max() > 1e-3


def test_unconditional_labels(tiny_pipe: LatentDiffusionPipeline) -> None:
    a = tiny_pipe(None, num_inference_steps=STEPS, seed=2, num_images=2)
    b = tiny_pipe([-1, None], num_inference_steps=STEPS, seed=2)
    assert a.class_labels == [-1, -1] == b.class_labels
    np.testing.assert_array_equal(a.images, b.images)


def test_output_types(tiny_pipe: LatentDiffusionPipeline) -> None:
    pil = tiny_pipe([1, 2], num_inference_steps=STEPS, seed=0, output_type="pil").images
    arr = tiny_pipe([1, 2], num_inference_steps=STEPS, seed=0).images
    assert [im.size for im in pil] == [(28, 28), (28, 28)] and pil[0].mode == "L"
    np.testing.assert_array_equal(np.asarray(pil[1]), (arr[1, ..., 0] * 255).round().astype(np.uint8))


def test_callback_and_intermediates(tiny_pipe: LatentDiffusionPipeline) -> None:
    seen = []
    out = tiny_pipe([0], num_inference_steps=5, seed=0, callback=seen.append, return_intermediates=True)
    assert [s.i for s in seen] == [0, 1, 2, 3, 4] == [d["i"] for d in out.intermediates]
    assert out.timesteps == make_timesteps(1000, 5).tolist() and out.num_inference_steps_run == 5
    torch.testing.assert_close(out.intermediates[0]["x_t"], tiny_pipe.initial_noise([0]))


def test_img2img_strength(tiny_pipe: LatentDiffusionPipeline) -> None:
    img = digit_like()
    out = tiny_pipe.img2img(img, strength=0.5, class_labels=[1], num_inference_steps=10, seed=0)
    assert out.num_inference_steps_run == 5 and out.timesteps == make_timesteps(1000, 10).tolist()[5:]
    assert tiny_pipe.img2img(img, 0.36, [1], num_inference_steps=25, seed=0).num_inference_steps_run == 9
    # strength 1.0 starts from pure noise: the same as generating with that seed
    full = tiny_pipe.img2img(img, strength=1.0, class_labels=[1], num_inference_steps=10, seed=0)
    gen = tiny_pipe([1], num_inference_steps=10, seed=0)
    np.testing.assert_array_equal(full.images, gen.images)
    # lower strength stays closer to the input's latent
    z0 = out.extras["source_latents"]
    dist = {
        s: (tiny_pipe.img2img(img, s, [1], num_inference_steps=20, seed=0).latents - z0).abs().mean().item()
        for s in (0.1, 0.5, 0.9)
    }
    assert dist[0.1] < dist[0.5] < dist[0.9]


def test_img2img_inversion_method(tiny_pipe: LatentDiffusionPipeline) -> None:
    img = digit_like(1)
    out = tiny_pipe.img2img(img, 0.6, [2], num_inference_steps=10, method="inversion", seed=0)
    assert out.num_inference_steps_run == 6
    again = tiny_pipe.img2img(img, 0.6, [2], num_inference_steps=10, method="inversion", seed=0)
    np.testing.assert_array_equal(out.images, again.images)


def test_invert_then_regenerate_comes_back(tiny_pipe: LatentDiffusionPipeline) -> None:
    """The pipeline's invert -> latents= -> DDIM plumbing, with a smooth denoiser (a random UNet is not one)."""
    pipe = copy.copy(tiny_pipe)
    exact = gaussian_denoiser(pipe.schedule)
    pipe.model_output = lambda x, t, class_emb: exact(x, t)  # type: ignore[method-assign]
    img = digit_like(2)
    xT = pipe.invert(img, class_labels=[0], num_inference_steps=20)
    assert xT.shape == (1, 4, 7, 7)
    back = pipe([0], num_inference_steps=20, guidance_scale=1.0, latents=xT, output_type="latent").latents
    z0 = pipe.encode(torch.from_numpy(img / 127.5 - 1).float()[None, None])
    assert (back - z0).abs().max().item() < 5e-3  # measured 1.5e-3 at 20 steps
    np.testing.assert_allclose(pipe.decode(back), pipe.decode(z0), atol=5e-3)


def test_inpaint_keeps_unmasked_pixels(tiny_pipe: LatentDiffusionPipeline) -> None:
    img = digit_like(3)
    mask = np.zeros((28, 28), dtype=np.uint8)
    mask[4:12, 14:24] = 255
    for method in ("blend", "repaint"):
        out = tiny_pipe.inpaint(
            img, mask, [1, 2], num_inference_steps=STEPS, seed=0, mask_blur=2, method=method, jump_length=2,
            jump_n_sample=2,
        )  # fmt: skip
        far = out.extras["blurred_mask"] == 0
        assert far.sum() > 0.6 * far.size
        for i in range(2):
            np.testing.assert_array_equal(out.images[i, ..., 0][far], (img / 255.0).astype(np.float32)[far])
        assert np.abs(out.images[0, ..., 0] - img / 255.0)[mask > 0].mean() > 0.01  # the masked part changed
    lat = out.extras["latent_mask"]  # [h, w] numpy
    assert lat.shape == (7, 7) and (lat[1:3, 3:6] == 1).all() and lat.sum() == 2 * 3


def test_inpaint_mask_errors(tiny_pipe: LatentDiffusionPipeline) -> None:
    img = digit_like()
    with pytest.raises(ValueError, match="mask is empty"):
        tiny_pipe.inpaint(img, np.zeros((28, 28), np.uint8), [0], num_inference_steps=2)
    with pytest.raises(ValueError, match=r"mask must have the image's size 28x28, got 20x28"):
        tiny_pipe.inpaint(img, np.ones((28, 20), np.uint8), [0], num_inference_steps=2)


def test_interpolate_endpoints_and_slerp(tiny_pipe: LatentDiffusionPipeline) -> None:
    out = tiny_pipe.interpolate(seed_a=5, seed_b=9, weights=[0, 0.5, 1], class_labels=[1], num_inference_steps=STEPS)
    a = tiny_pipe([1], num_inference_steps=STEPS, seed=5).images
    b = tiny_pipe([1], num_inference_steps=STEPS, seed=9).images
    assert np.abs(out.images[0] - a[0]).max() <= 1 / 255
    assert np.abs(out.images[2] - b[0]).max() <= 1 / 255
    assert np.abs(out.images[1] - a[0]).max() > 1e-3
    mixed = tiny_pipe.interpolate(5, 5, [1.0], [1], num_inference_steps=STEPS, class_labels_b=[2]).images
    np.testing.assert_allclose(mixed[0], tiny_pipe([2], num_inference_steps=STEPS, seed=5).images[0], atol=1 / 255)
    # slerp keeps the noise norm (on the Gaussian shell); lerp shrinks it at the midpoint
    na, nb = tiny_pipe.initial_noise([0]), tiny_pipe.initial_noise([1])
    rms = ((na.norm() ** 2 + nb.norm() ** 2) / 2).sqrt().item()  # nearly orthogonal: the midpoint has the RMS norm
    assert slerp(na, nb, 0.5).norm().item() == pytest.approx(rms, rel=0.02)
    assert ((na + nb) / 2).norm().item() < 0.8 * na.norm().item()


def test_variation_seed(tiny_pipe: LatentDiffusionPipeline) -> None:
    base = tiny_pipe([0], num_inference_steps=STEPS, seed=1).images
    zero = tiny_pipe([0], num_inference_steps=STEPS, seed=1, variation_seed=7, variation_strength=0.0).images
    full = tiny_pipe([0], num_inference_steps=STEPS, seed=1, variation_seed=7, variation_strength=1.0).images
    other = tiny_pipe([0], num_inference_steps=STEPS, seed=7).images
    np.testing.assert_array_equal(base, zero)
    np.testing.assert_array_equal(full, other)
    some = tiny_pipe([0], num_inference_steps=STEPS, seed=1, variation_seed=7, variation_strength=0.3).images
    assert 0 < np.abs(some - base).mean() < np.abs(other - base).mean()


def test_image_inputs_are_converted(tiny_pipe: LatentDiffusionPipeline) -> None:
    img = digit_like(4)
    ref = tiny_pipe.img2img(img, 0.5, [0], num_inference_steps=STEPS).images
    as_float = tiny_pipe.img2img(img.astype(np.float32) / 255, 0.5, [0], num_inference_steps=STEPS).images
    as_pil_rgb = tiny_pipe.img2img(Image.fromarray(img).convert("RGB"), 0.5, [0], num_inference_steps=STEPS).images
    np.testing.assert_allclose(as_float, ref, atol=1e-6)
    np.testing.assert_allclose(as_pil_rgb, ref, atol=2 / 255)
    big = Image.fromarray(img).resize((56, 56), Image.NEAREST)
    assert tiny_pipe.img2img(big, 0.5, [0], num_inference_steps=STEPS).images.shape == (1, 28, 28, 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"num_inference_steps": 0}, ValueError, r"num_inference_steps must be in \[1, 1000\], got 0"),
        ({"num_inference_steps": 1001}, ValueError, r"num_inference_steps must be in \[1, 1000\], got 1001"),
        ({"num_inference_steps": 2.5}, TypeError, "num_inference_steps must be an int"),
        ({"guidance_scale": 25}, ValueError, r"guidance_scale must be in \[0, 20\], got 25"),
        ({"eta": 1.5}, ValueError, r"eta must be in \[0, 1\], got 1.5"),
        ({"seed": -1}, ValueError, "seed must be in"),
        ({"sampler": "plms"}, ValueError, "sampler must be one of"),
        ({"output_type": "tensor"}, ValueError, "output_type must be one of"),
        ({"class_labels": [3]}, ValueError, r"class label must be in 0\.\.2 \(tiny\) or -1/None for unconditional"),
        ({"class_labels": ["1"]}, TypeError, "class labels must be ints"),
        ({"class_labels": "1"}, TypeError, "class_labels must be a list of ints"),
        ({"class_labels": [0], "num_images": 2}, ValueError, r"num_images \(2\) must match"),
        ({"guidance_scale": float("nan")}, ValueError, "guidance_scale must be finite"),
    ],
)
def test_bad_arguments(tiny_pipe: LatentDiffusionPipeline, kwargs: dict, error: type, message: str) -> None:
    args = {"class_labels": [0], "num_inference_steps": 2, **kwargs}
    with pytest.raises(error, match=message):
        tiny_pipe(**args)


def test_bad_edit_arguments(tiny_pipe: LatentDiffusionPipeline) -> None:
    img = digit_like()
    with pytest.raises(ValueError, match=r"strength must be in \(0, 1\], got 0"):
        tiny_pipe.img2img(img, 0.0, [0])
    with pytest.raises(ValueError, match=r"int\(steps \* strength\) must be >= 1"):
        tiny_pipe.img2img(img, 0.05, [0], num_inference_steps=10)
    with pytest.raises(ValueError, match="must be square"):
        tiny_pipe.img2img(np.zeros((28, 30), np.uint8), 0.5, [0])
    with pytest.raises(ValueError, match=r"float image must be in \[0, 1\]"):
        tiny_pipe.img2img(np.full((28, 28), 3.0), 0.5, [0])
    with pytest.raises(TypeError, match="image must be a PIL image or a numpy array"):
        tiny_pipe.img2img("digit.png", 0.5, [0])
    with pytest.raises(ValueError, match="method must be one of"):
        tiny_pipe.img2img(img, 0.5, [0], method="pix2pix")
    with pytest.raises(ValueError, match=r"interpolation weight must be in \[0, 1\], got 1.5"):
        tiny_pipe.interpolate(0, 1, [0, 1.5], [0])


def test_save_and_load_give_the_same_images(tmp_path, tiny_pipe: LatentDiffusionPipeline) -> None:
    tiny_pipe.save_pretrained(tmp_path / "m")
    loaded = LatentDiffusionPipeline.from_pretrained(tmp_path / "m")
    assert loaded.class_names == tiny_pipe.class_names and loaded.scaling_factor == tiny_pipe.scaling_factor
    np.testing.assert_array_equal(
        loaded([0, 2], num_inference_steps=STEPS, seed=0).images, tiny_pipe([0, 2], num_inference_steps=STEPS).images
    )


def test_v_prediction_and_rgb_models() -> None:
    pipe = make_tiny_pipeline(prediction_type="v_prediction", in_channels=3, image_size=32, schedule="cosine")
    out = pipe([0, 1], num_inference_steps=4, seed=0, output_type="pil")
    assert out.images[0].mode == "RGB" and out.images[0].size == (32, 32)
    assert pipe.latent_shape == (4, 8, 8)


def test_float16_weights_halve_the_folder_and_load_into_float32(tmp_path, tiny_pipe: LatentDiffusionPipeline) -> None:
    tiny_pipe.save_pretrained(tmp_path / "fp32")
    tiny_pipe.save_pretrained(tmp_path / "fp16", dtype=torch.float16)
    size = {d: (tmp_path / d / "unet.safetensors").stat().st_size for d in ("fp32", "fp16")}
    assert 0.45 < size["fp16"] / size["fp32"] < 0.55
    loaded = LatentDiffusionPipeline.from_pretrained(tmp_path / "fp16")
    assert all(p.dtype == torch.float32 for p in loaded.unet.parameters())
    for a, b in zip(loaded.unet.parameters(), tiny_pipe.unet.parameters(), strict=True):
        torch.testing.assert_close(a, b.half().float(), rtol=0, atol=0)  # exactly the rounded weights
    out16 = loaded([0, 2], num_inference_steps=STEPS, seed=0).images
    out32 = tiny_pipe([0, 2], num_inference_steps=STEPS, seed=0).images
    assert 0 < np.abs(out16 - out32).max() < 0.02  # rounded, so not identical, but close


def test_default_sampler_from_the_config_is_what_sampler_none_runs(tmp_path) -> None:
    """A model folder may name its sampler (config.json ``default_sampler``, as a diffusers repo ships its
    scheduler): every task's ``sampler=None`` then runs it; naming a sampler still wins; an unknown one is refused."""
    import json

    from ldm_core.checkpoint import CheckpointError

    pipe = make_tiny_pipeline()
    assert pipe.default_sampler == "ddim" and "default_sampler" not in pipe.config_dict()
    kw = {"num_inference_steps": STEPS, "guidance_scale": 2.0, "seed": 3, "output_type": "latent"}
    ddim, dpm = pipe([1, 2], sampler="ddim", **kw).latents, pipe([1, 2], sampler="dpmpp_2m", **kw).latents
    assert (ddim - dpm).abs().max() > 1e-3
    assert torch.equal(pipe([1, 2], **kw).latents, ddim)
    pipe.default_sampler = "dpmpp_2m"
    pipe.save_pretrained(tmp_path / "m")
    again = LatentDiffusionPipeline.from_pretrained(tmp_path / "m")
    assert again.default_sampler == "dpmpp_2m" and again.check_args().sampler == "dpmpp_2m"
    torch.testing.assert_close(again([1, 2], **kw).latents, dpm, rtol=0, atol=0)
    torch.testing.assert_close(again([1, 2], sampler="ddim", **kw).latents, ddim, rtol=0, atol=0)
    image = np.full((again.image_size, again.image_size, again.image_channels), 0.5, np.float32)
    edit = again.img2img(image, 0.5, [1], **kw).latents  # the other tasks take it too
    assert torch.equal(edit, again.img2img(image, 0.5, [1], sampler="dpmpp_2m", **kw).latents)
    assert not torch.equal(edit, again.img2img(image, 0.5, [1], sampler="ddim", **kw).latents)
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    for bad in ("plms", 3):
        (tmp_path / "m" / "config.json").write_text(json.dumps({**config, "default_sampler": bad}))
        with pytest.raises(CheckpointError, match="unknown default_sampler"):
            LatentDiffusionPipeline.from_pretrained(tmp_path / "m")


def test_guidance_interval_guides_only_inside_and_is_kept_with_the_model(tmp_path) -> None:
    """Guidance at lo <= t < hi only: the same as DDIM with the guided ε̂ inside and the plain conditional one (one
    UNet pass) outside; the interval is saved with the model and a bad one is refused."""
    from ldm_core.samplers import guided_output

    pipe = make_tiny_pipeline()
    timesteps = make_timesteps(1000, STEPS)  # trailing: 999, 874, ..., 124
    lo, hi = 300, 700
    pipe.set_guidance_interval(lo, hi)
    calls: list[int] = []
    unet_call = pipe.model_output

    def counting(x, t, emb):
        calls.append(len(x))
        return unet_call(x, t, emb)

    pipe.model_output = counting
    out = pipe([2], num_inference_steps=STEPS, guidance_scale=4.0, seed=1, output_type="latent").latents
    del pipe.model_output
    inside = [int(t) for t in timesteps if lo <= t < hi]
    assert calls == [2 if lo <= int(t) < hi else 1 for t in timesteps] and len(inside) in range(1, STEPS)
    emb, null = pipe.class_embeddings([2]), pipe.null_embeddings(1)

    def denoise(z, t):
        g = 4.0 if lo <= int(t[0]) < hi else 1.0
        return guided_output(pipe.model_output, pipe.schedule, z, t, emb, null, g, pipe.prediction_type)

    with torch.inference_mode():
        ref = sample_ddim(denoise, pipe.initial_noise([1]), pipe.schedule, timesteps)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-6)
    pipe.set_guidance_interval(0, 1000)
    full = pipe([2], num_inference_steps=STEPS, guidance_scale=4.0, seed=1, output_type="latent").latents
    assert (full - out).abs().max() > 1e-3

    pipe.set_guidance_interval(lo, hi)
    pipe.save_pretrained(tmp_path / "m")
    again = LatentDiffusionPipeline.from_pretrained(tmp_path / "m")
    assert again.guidance_interval == (lo, hi)
    torch.testing.assert_close(again([2], num_inference_steps=STEPS, guidance_scale=4.0, seed=1,
                                     output_type="latent").latents, out, rtol=0, atol=0)  # fmt: skip
    for bad, message in (((700, 300), "start < end"), ((0, 1001), r"end must be in \[1, 1000\]"),
                         ((-1, 10), r"start must be in \[0, 999\]")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            pipe.set_guidance_interval(*bad)
