"""The Learn tab: ldm_core.teaching's numbers on tiny models, the tab's handlers through the app's registry (its
batcher included), and the chapter's sampler against DDPM on the shipped MNIST model, judged by its classifier."""

from __future__ import annotations

import json
import math
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from app_fixtures import CLOTHES, DIGITS, app, app_model_dirs, digit_image  # noqa: F401
from PIL import Image

from demo.learn import chapter, denoiser, formulas, forward, guidance, latent, replay, reverse, sources, vae
from ldm_core import make_schedule, teaching
from ldm_core.pipeline import generators_for
from ldm_core.samplers import guided_output, randn

ROOT = Path(__file__).resolve().parent.parent / "checkpoints"
RING = np.asarray(digit_image())  # uint8 [28, 28]


def pixels(im: Image.Image) -> np.ndarray:
    return np.asarray(im, dtype=np.float32) / 255.0


# ---------------------------------------------------------------------------------------------------- teaching
def test_vae_view_numbers(tiny_pipe):
    v = teaching.vae_view(tiny_pipe, RING)
    assert v["num_pixels"] == 784 and v["num_latent"] == 4 * 7 * 7
    np.testing.assert_allclose(v["error"], np.abs(v["recon"] - v["input"]).mean(-1), atol=1e-6)
    mse = float(((v["recon"] - v["input"]) ** 2).mean())
    assert v["psnr_db"] == pytest.approx(10 * math.log10(1 / mse), rel=1e-4)
    assert v["l1"] == pytest.approx(2 * np.abs(v["recon"] - v["input"]).mean(), rel=1e-3)  # L1 in [-1, 1] units
    assert v["loss"] == pytest.approx(v["l1"] + v["kl_weight"] * v["kl"] / 784, rel=1e-6)
    assert v["kl"] > 0 and v["latent"].shape == (4, 7, 7)


def test_nudge_changes_only_what_one_cell_decodes_to(tiny_pipe):
    v = teaching.vae_view(tiny_pipe, RING)
    same = teaching.nudge_cell(tiny_pipe, v["latent"], 1, 3, 3, float(v["latent"][1, 3, 3]))
    assert np.abs(same["change"]).max() < 1e-6  # unchanged value: the same picture
    moved = teaching.nudge_cell(tiny_pipe, v["latent"], 1, 3, 3, 8.0)
    assert moved["latent"][1, 3, 3] == 8.0 and moved["change"].max() > 1e-3
    np.testing.assert_array_equal(np.delete(moved["latent"].ravel(), 1 * 49 + 3 * 7 + 3),
                                  np.delete(v["latent"].ravel(), 1 * 49 + 3 * 7 + 3))  # fmt: skip
    with pytest.raises(ValueError, match=r"latent row must be in \[0, 6\]"):
        teaching.nudge_cell(tiny_pipe, v["latent"], 0, 7, 0, 1.0)


def test_forward_at_t0_decodes_to_the_reconstruction_and_at_the_end_is_pure_noise(tiny_pipe):
    recon = teaching.vae_view(tiny_pipe, RING)["recon"]
    f0 = teaching.forward_view(tiny_pipe, RING, 0, seed=3)
    assert np.abs(f0["model"]["image"] - recon).mean() < 0.01  # ᾱ_0 = 0.9999: a trace of noise
    np.testing.assert_allclose(f0["z0_image"], recon, atol=1e-5)
    last = teaching.forward_view(tiny_pipe, RING, 999, seed=3)
    zt = last["model"]["zt"]
    assert abs(zt.mean()) < 0.2 and abs(zt.var() - 1) < 0.25  # 196 numbers of N(0, 1)
    assert last["model"]["alpha_bar"] < 1e-4
    np.testing.assert_allclose(zt, math.sqrt(last["model"]["alpha_bar"]) * last["z0"]
                               + math.sqrt(1 - last["model"]["alpha_bar"]) * last["eps"], atol=1e-5)  # fmt: skip
    mid = teaching.forward_view(tiny_pipe, RING, 500, seed=3)
    assert mid["cosine"]["alpha_bar"] == pytest.approx(float(make_schedule("cosine").alphas_cumprod[500]))
    assert mid["cosine"]["alpha_bar"] > 3 * mid["linear"]["alpha_bar"]  # cosine keeps more signal mid-way
    assert np.abs(mid["cosine"]["image"] - mid["linear"]["image"]).mean() > 1e-3


def test_iterated_one_step_formula_has_the_closed_form_statistics(tiny_pipe):
    z0 = teaching.vae_view(tiny_pipe, RING)["latent"]
    for t in (50, 500):
        r = teaching.iterated_vs_closed(tiny_pipe, z0, t, seed=1, num_draws=128)
        for stats in (r["iterated"], r["closed"]):
            assert abs(stats["mean"]) < 0.03
            assert stats["std"] == pytest.approx(r["std_closed_form"], rel=0.04)
        assert r["iterated"]["signal_corr"] == pytest.approx(r["closed"]["signal_corr"], abs=0.05)


def test_denoiser_view_loss_is_the_mse_of_the_shown_difference(tiny_pipe):
    d = teaching.denoiser_view(tiny_pipe, RING, 300, seed=2, label=1)
    np.testing.assert_allclose(d["diff"], d["eps_hat"] - d["eps"], atol=1e-6)
    assert d["eps_loss"] == pytest.approx(float((d["diff"] ** 2).mean()), rel=1e-5)
    assert d["target_loss"] == pytest.approx(d["eps_loss"], rel=1e-5)  # an ε-prediction model
    k = list(d["curve_t"]).index(300)
    assert d["curve_eps_loss"][k] == pytest.approx(d["eps_loss"], rel=1e-5)
    a = float(tiny_pipe.schedule.alphas_cumprod[300])
    np.testing.assert_allclose(d["zt"], math.sqrt(a) * d["z0"] + math.sqrt(1 - a) * d["eps"], atol=1e-5)
    np.testing.assert_array_equal(d["chapter_input"], d["chapter_target"])


def test_denoiser_view_of_a_v_model_reports_the_v_loss():
    from conftest import make_tiny_pipeline

    pipe = make_tiny_pipeline(prediction_type="v_prediction", seed=4)
    d = teaching.denoiser_view(pipe, RING, 600, seed=0)
    assert d["prediction_type"] == "v_prediction" and d["target_loss"] != pytest.approx(d["eps_loss"], rel=1e-3)


def test_reverse_film_last_x0_is_the_generated_image(tiny_pipe):
    for sampler in ("ddim", "ddpm"):
        f = teaching.reverse_film(tiny_pipe, 1, seed=5, steps=8, sampler=sampler, guidance=2.0)
        assert len(f["timesteps"]) == 8 and list(f["timesteps"]) == sorted(f["timesteps"], reverse=True)
        np.testing.assert_allclose(f["x0_images"][-1], f["image"], atol=1e-5)
        alone = tiny_pipe([1], num_inference_steps=8, guidance_scale=2.0, sampler=sampler, seed=5).images[0]
        np.testing.assert_allclose(f["image"], alone, atol=1 / 255)
        x0 = tiny_pipe.schedule.predict_x0(torch.from_numpy(f["xt"]), torch.from_numpy(f["timesteps"]),
                                           torch.from_numpy(f["eps"]))  # fmt: skip
        np.testing.assert_allclose(tiny_pipe.decode(x0), f["x0_images"], atol=1e-4)
        assert np.abs(f["xt_images"][0] - f["image"]).mean() > 0.05  # step 1 sees pure noise


def test_chapter_sampler_is_the_chapters_update_rule(tiny_pipe):
    got = teaching.sample_chapter(tiny_pipe, [2], seed=9, steps=5, guidance=1.0)
    ts = tiny_pipe.check_args(5).timesteps().tolist()
    z = randn((1, *tiny_pipe.latent_shape), generators_for([9]))
    emb, null = tiny_pipe.class_embeddings([2]), tiny_pipe.null_embeddings(1)
    with torch.inference_mode():
        for i, t in enumerate(ts):
            prev = ts[i + 1] if i + 1 < len(ts) else -1
            beta = 1 - float(tiny_pipe.schedule.alpha_bar(t)) / float(tiny_pipe.schedule.alpha_bar(prev))
            z_hat = guided_output(tiny_pipe.model_output, tiny_pipe.schedule, z, torch.tensor([t]), emb, null, 1.0)
            z = (z - beta * z_hat) / math.sqrt(1 - beta)  # the chapter's generate()
    np.testing.assert_allclose(got[0], tiny_pipe.decode(z)[0], atol=1e-5)
    ddim = tiny_pipe([2], num_inference_steps=5, guidance_scale=1.0, seed=9).images[0]
    assert np.abs(got[0] - ddim).mean() > 1e-3


def test_guidance_row_matches_single_runs_and_split_adds_up(tiny_pipe):
    row = teaching.guidance_row(tiny_pipe, 1, seed=4, steps=6, scales=(0.0, 1.0, 4.0))
    for k, s in enumerate((0.0, 1.0, 4.0)):
        alone = tiny_pipe([1], num_inference_steps=6, guidance_scale=s, seed=4).images[0]
        np.testing.assert_allclose(row[k], alone, atol=1 / 255)
    assert np.abs(row[0] - row[2]).mean() > 1e-4
    x = np.random.default_rng(0).standard_normal(tiny_pipe.latent_shape).astype(np.float32)
    g = teaching.guidance_split(tiny_pipe, x, 500, 1, scale=3.0)
    np.testing.assert_allclose(g["eps_guided"], g["eps_uncond"] + 3.0 * g["eps_diff"], atol=1e-5)
    assert g["diff_rms"] == pytest.approx(float(np.sqrt((g["eps_diff"] ** 2).mean())), rel=1e-5)


def test_step_cost_pixel_space_costs_more(tiny_pipe):
    c = teaching.step_cost(tiny_pipe, repeats=1)
    assert c["latent"]["shape"] == [4, 7, 7] and c["pixel"]["shape"] == [1, 28, 28]
    assert c["flops_ratio"] > 2 and c["latent"]["flops"] > 0


def test_teaching_handles_a_colour_model():
    from conftest import make_tiny_pipeline

    pipe = make_tiny_pipeline(in_channels=3, image_size=32, seed=5)
    rgb = np.random.default_rng(1).uniform(size=(32, 32, 3)).astype(np.float32)
    v = teaching.vae_view(pipe, rgb)
    assert v["recon"].shape == (32, 32, 3) and v["num_pixels"] == 3072 and v["latent"].shape == (4, 8, 8)
    f = teaching.reverse_film(pipe, 0, seed=0, steps=3)
    assert f["x0_images"].shape == (3, 32, 32, 3)
    assert sources.source_choices(pipe) == [f"generated: class {i}" for i in range(3)]


# ---------------------------------------------------------------------------------------------------- the tab
def test_sources_follow_the_model(app):  # noqa: F811
    reg = app.registry
    assert sources.source_choices(reg.get(DIGITS))[:4] == ["digit-0", "digit-1", "digit-3", "digit-7"]
    assert sources.source_choices(reg.get(CLOTHES))[:4] == ["tshirt", "trousers", "bag", "sneaker"]
    gen, key = sources.source_image(reg, CLOTHES, "generated: Trouser", None)
    assert gen.shape == (28, 28, 1) and key == "generated:1"
    _, key = sources.source_image(reg, CLOTHES, "digit-0", None)  # a digit is no example for clothes
    assert key == "example:tshirt"
    with pytest.raises(gr.Error, match="pick an image"):
        sources.source_image(reg, CLOTHES, None, None)


def test_vae_section_pictures_and_numbers(app):  # noqa: F811
    inp, rec, err, lat, text = vae.vae_section(app.registry, DIGITS, "digit-0", None)
    assert inp.size == rec.size == (28, 28) and err.size == (28, 28) and lat.size == (4 * 30 + 2, 32)
    assert pixels(inp).max() > 0.9 and pixels(inp).min() < 0.1  # the example, not a blank
    assert "784 pixel values → 4×7×7 = 196 latent numbers" in text and "PSNR" in text
    moved, _change, note = vae.nudge(app.registry, DIGITS, "digit-0", None, 0, 3, 3, 6.0)
    assert moved.size == (28, 28) and "largest pixel change" in note
    with pytest.raises(gr.Error, match=r"row must be a whole number in 0\.\.6"):
        vae.nudge(app.registry, DIGITS, "digit-0", None, 0, 9, 3, 1.0)


def test_forward_section(app):  # noqa: F811
    out = forward.forward_section(app.registry, DIGITS, None, digit_image(), 999, 0)
    z0, zt, channels, plot, formula, _lin, _cos, _it, _closed, _compare, stats = out
    assert zt.size == (28, 28) and channels.size == (4 * 30 + 2, 32)
    assert np.abs(pixels(zt) - pixels(z0)).mean() > 0.05
    a = float(app.registry.get(DIGITS).schedule.alphas_cumprod[999])
    assert f"{math.sqrt(a):.4f}\\, z_0" in formula and "noise level t = 999" in formula
    assert "closed form" in stats and plot.axes[0].get_xlabel().startswith("noise level t")
    with pytest.raises(gr.Error, match=r"timestep must be a whole number in 0\.\.999"):
        forward.forward_section(app.registry, DIGITS, "digit-0", None, 1000, 0)
    with pytest.raises(gr.Error, match="pick an image"):
        forward.forward_section(app.registry, DIGITS, None, None, 10, 0)


def test_denoiser_section(app):  # noqa: F811
    _zt, eps, eps_hat, diff, _x0, _curve, text, ch_in, ch_target, note = denoiser.denoiser_section(
        app.registry, DIGITS, "digit-1", None, 300, 0, "1"
    )
    assert eps.size == eps_hat.size == diff.size == (4 * 30 + 2, 32)
    assert not np.array_equal(pixels(eps), pixels(eps_hat))
    np.testing.assert_array_equal(pixels(ch_in), pixels(ch_target))
    assert "t = 300" in text and "mse_loss(self.model(x), x)" in note
    with pytest.raises(gr.Error, match="class must be one of"):
        denoiser.denoiser_section(app.registry, DIGITS, "digit-1", None, 300, 0, "no such class")
    # a class of another model (the picker before a model switch reaches it) falls back to the first class
    assert "t = 300" in denoiser.denoiser_section(app.registry, DIGITS, "digit-1", None, 300, 0, "7")[6]


def test_reverse_scrub_last_x0_equals_generated(app):  # noqa: F811
    reg = app.registry
    slider, *views, note = reverse.run(reg, DIGITS, "1", 0, 10, "ddim", "ddpm", 2.0)
    assert slider.maximum == 10 and "step **10 of 10**" in note
    final = reg.get(DIGITS)([1], num_inference_steps=10, guidance_scale=2.0, sampler="ddim", seed=0).images[0]
    np.testing.assert_allclose(pixels(views[2]), final[..., 0], atol=1 / 255)  # A's last x̂₀ = the image
    first = reverse.show_step(reg, DIGITS, "1", 0, 10, "ddim", "ddpm", 2.0, 1)
    assert "noise level **t = 999**" in first[-1]
    assert np.abs(pixels(first[0]) - final[..., 0]).mean() > 0.05  # step 1: noise
    frames = list(reverse.play(reg, DIGITS, "1", 0, 10, "ddim", "ddpm", 2.0, 8))
    assert [f[0] for f in frames] == [8, 9, 10]
    jumped, full, jnote = reverse.jump(reg, DIGITS, "1", 0, 10, "ddim", 2.0, 1)
    assert np.abs(pixels(jumped) - pixels(full)).mean() > 1e-3 and "MSE" in jnote
    with pytest.raises(gr.Error, match=r"step must be a whole number in 1\.\.10"):
        reverse.show_step(reg, DIGITS, "1", 0, 10, "ddim", "ddpm", 2.0, 11)


def test_chapter_guidance_cost_replay_formulas_sections(app):  # noqa: F811
    reg = app.registry
    *imgs, note = chapter.chapter_section(reg, DIGITS, "2", 0, 8, 2.0)
    assert len(imgs) == 4 and all(im.size == (28, 28) for im in imgs)
    assert not np.array_equal(pixels(imgs[1]), pixels(imgs[3])) and "β_t" in note
    with pytest.raises(gr.Error, match="no reference set or classifier"):
        chapter.measure(reg, DIGITS, 2)
    row, _unc, _cond, _diff, x0s, gnote = guidance.guidance_section(reg, DIGITS, "2", 0, 8, 4)
    assert row.size == (5 * 30 + 2, 32) and x0s.size == (3 * 30 + 2, 32) and "step 4 of 8" in gnote
    assert "| ratio |" in latent.cost_section(reg, DIGITS)
    assert "no training replay" in replay.replay_section(reg, DIGITS)[-1]
    assert "ships no reference set" in latent.neighbours_section(reg, DIGITS, "1", 0)[-1]
    md = formulas.formulas_markdown()
    assert md.count("chapter: $$") == len(formulas.FORMULAS) and "`NoiseSchedule.q_sample`" in md


def test_chapter_own_net_only_shrinks_the_noise(tiny_pipe):
    got = teaching.sample_chapter_own_net(tiny_pipe, [0, 1], seed=3, steps=10)
    a = float(tiny_pipe.schedule.alphas_cumprod[999])  # the respaced chain's α's multiply to ᾱ of its first t
    z = tiny_pipe.initial_noise([3, 4]) * math.sqrt(a)
    np.testing.assert_allclose(got, tiny_pipe.decode(z), atol=1e-5)


def test_sample_quality_and_nearest_neighbours(tiny_pipe):
    from ldm_core.classifier import ClassifierConfig, SmallCNN

    torch.manual_seed(0)
    classifier = SmallCNN(ClassifierConfig(num_classes=3, in_channels=1, image_size=28)).eval()
    rng = np.random.default_rng(0)
    real = rng.uniform(size=(12, 28, 28, 1)).astype(np.float32)
    feats = rng.standard_normal((50, classifier.config.feature_dim))
    reference = {"images": real, "labels": np.arange(12) % 3, "mu": feats.mean(0), "sigma": np.cov(feats, rowvar=False)}
    q = teaching.sample_quality(tiny_pipe, classifier, reference, (teaching.CHAPTER, "ddim"), per_class=2, steps=3)
    assert set(q) == {teaching.CHAPTER, "ddim", "real"} and all(r["n"] == 6 for r in q.values())
    assert all(0 <= r["accuracy"] <= 1 and r["fd"] > 0 for r in q.values())
    nn = teaching.nearest_training_images(real[5], real, k=3)
    assert nn["indices"][0] == 5 and nn["distances"][0] == 0.0  # a copy is at distance 0
    assert list(nn["distances"]) == sorted(nn["distances"]) and nn["train_nn_median"] > 0.2


def test_replay_section_slides_over_both_stages(app_model_dirs, tmp_path):  # noqa: F811
    import shutil

    from demo.registry import ModelRegistry
    from ldm_core.replay import write_replay
    from ldm_core.train import save_grid

    folder = tmp_path / "digits"
    shutil.copytree(app_model_dirs[1], folder)
    rng = np.random.default_rng(0)
    for run, cols, rows in (("vae", 16, 2), ("diffusion", 8, 3)):
        (tmp_path / run).mkdir()
        for step in (10, 20, 30):
            save_grid(rng.uniform(size=(cols * rows, 28, 28, 1)), tmp_path / run / "samples" / f"step_{step:06d}.png",
                      ncols=cols)  # fmt: skip
        logs = [{"step": s, "loss": 1.0 / s, "psnr": 10.0 + s} for s in range(1, 31)]
        (tmp_path / run / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in logs))
    write_replay(tmp_path / "vae", tmp_path / "diffusion", folder, image_size=28, channels=1, num_preview=16,
                 samples_per_class=8, num_classes=3, commands=["train vae", "train diffusion"])  # fmt: skip
    reg = ModelRegistry([str(folder)])
    name = reg.names[0]
    k1, k2, fig, note = replay.replay_section(reg, name)
    assert fig.axes[0].get_xlabel() == "training step (both stages)"
    assert k1.maximum == 3 and k2.maximum == 3 and "A short run" in note and "train diffusion" in note
    vae_row, samples, caption = replay.replay_frame(reg, name, 2, 1)
    assert vae_row.size == (8 * 30 + 2, 2 * 30 + 2) and samples.size == (3 * 30 + 2, 32)
    assert "VAE step **20** (PSNR about 30.0 dB)" in caption and "denoiser step **10**" in caption
    with pytest.raises(gr.Error, match=r"stage 2 point must be a whole number in 1\.\.3"):
        replay.replay_frame(reg, name, 1, 4)


# ---------------------------------------------------------------------------------------------------- shipped
@pytest.mark.skipif(not (ROOT / "mnist" / "reference").is_dir(), reason="no shipped MNIST model with reference/")
def test_chapter_sampler_is_worse_than_ddpm_by_the_evaluate_numbers():
    """The project's judge (the shipped classifier; FD to the test split as ``ldm_core evaluate`` computes it, from
    the model's stored test statistics) on 3 samples per class of each sampler, same seeds."""
    from ldm_core import LatentDiffusionPipeline
    from ldm_core.classifier import load_classifier
    from ldm_core.reference import load_reference

    torch.set_num_threads(1)
    pipe = LatentDiffusionPipeline.from_pretrained(ROOT / "mnist")
    classifier, _ = load_classifier(ROOT / "classifiers" / "mnist")
    samplers = (teaching.CHAPTER_OWN_NET, teaching.CHAPTER, "ddpm")
    q = teaching.sample_quality(pipe, classifier, load_reference(ROOT / "mnist"), samplers, per_class=3)
    assert q["ddpm"]["accuracy"] >= 0.9
    # FD at 30 images is mostly the small-sample floor (real images: 28.7); above it, measured: chapter +11, DDPM -0.7
    assert q[teaching.CHAPTER]["fd"] > q["ddpm"]["fd"] + 5 and q[teaching.CHAPTER]["fd"] > q["real"]["fd"] + 5, q
    assert q["ddpm"]["fd"] < q["real"]["fd"] + 5, q
    assert q[teaching.CHAPTER_OWN_NET]["accuracy"] < 0.3 and q[teaching.CHAPTER_OWN_NET]["fd"] > 10 * q["ddpm"]["fd"]


def test_cost_section_shows_the_stored_benchmark(app_model_dirs, tmp_path):  # noqa: F811
    import shutil

    from demo.registry import ModelRegistry

    folder = tmp_path / "digits"
    shutil.copytree(app_model_dirs[1], folder)
    row = {"shape": [4, 7, 7], "numbers": 196, "flops": 2_000_000, "ms": 1.5}
    result = {"latent": row, "pixel": row | {"shape": [1, 28, 28], "numbers": 784, "flops": 30_000_000, "ms": 6.0},
              "flops_ratio": 15.0, "ms_ratio": 4.0}  # fmt: skip
    (folder / "reference").mkdir()
    (folder / "reference" / latent.COST_FILE).write_text(
        json.dumps({"command": "python benchmarks/bench_latent_vs_pixel.py x", "machine": "a CPU", "result": result})
    )
    reg = ModelRegistry([str(folder)])
    md = latent.cost_section(reg, reg.names[0])
    assert "measured by `python benchmarks/bench_latent_vs_pixel.py x` (a CPU)" in md and "**15.0×**" in md
    assert "| ratio | | 4.0× |" in md and "measured now" in latent.measure_cost(reg, reg.names[0])


def test_sections_draw_a_colour_model(tmp_path):
    """An RGB 32 x 32 model with a 4 x 8 x 8 latent (like the coming emoji model) through the tab's handlers."""
    from conftest import make_tiny_pipeline

    from demo.registry import ModelRegistry

    pipe = make_tiny_pipeline(in_channels=3, image_size=32, seed=6)
    pipe.class_names = ["smile", "heart", "star"]
    pipe.save_pretrained(tmp_path / "emoji")
    reg = ModelRegistry([str(tmp_path / "emoji")])
    name = reg.names[0]
    choice = sources.source_choices(reg.get(name))[0]
    assert choice == "generated: smile"  # the drawn gray examples are no use to a colour model
    inp, rec, err, lat, text = vae.vae_section(reg, name, choice, None)
    assert inp.mode == rec.mode == "RGB" and inp.size == err.size == (32, 32) and lat.size == (4 * 34 + 2, 36)
    assert "32×32×3 = **3072 pixel values → 4×8×8 = 256 latent numbers** (12.0× fewer)" in text
    z0, zt, channels, *_ = forward.forward_section(reg, name, choice, None, 500, 0)
    assert z0.mode == zt.mode == "RGB" and channels.size == (4 * 34 + 2, 36)
    _, *views, note = reverse.run(reg, name, "heart", 0, 4, "ddim", "euler", 2.0)
    assert views[2].size == (32, 32) and views[1].size == (4 * 34 + 2, 36) and "step **4 of 4**" in note


@pytest.mark.skipif(not (ROOT / "mnist" / "reference" / latent.BUDGET_FILE).is_file(), reason="no stored comparison")
def test_budget_section_shows_the_same_minutes_in_latent_and_pixels(app_model_dirs, tmp_path):  # noqa: F811
    """Section 8 shows benchmarks/why_latent.py's stored result: the latent model beats the pixel-space model trained
    for the same minutes on both of the project's measures; a model without one shows the served model's that has."""
    import shutil

    from demo.registry import ModelRegistry

    stored = json.loads((ROOT / "mnist" / "reference" / latent.BUDGET_FILE).read_text())
    lat, pix = stored["models"]["latent"], stored["models"]["pixel"]
    assert abs(lat["training_minutes"] - pix["training_minutes"]) < 0.25 * stored["budget_minutes"]
    assert lat["accuracy"] > pix["accuracy"] + 0.2 and lat["fd"] < 0.6 * pix["fd"]
    assert lat["denoiser_steps"] > 4 * pix["denoiser_steps"]
    folder = tmp_path / "mnist"
    shutil.copytree(ROOT / "mnist", folder)
    reg = ModelRegistry([app_model_dirs[1], str(folder)])
    other = next(n for n in reg.names if reg.folders[n] != str(folder))
    grid, md = latent.budget_section(reg, other)  # a model without a comparison: the MNIST model's is shown
    w = 10 * 28 + 9 * 2  # ten classes (gray gaps between tiles), twice, and a 4-pixel gap between the two grids
    assert grid.size[0] >= 2 * w and grid.size[1] >= 4 * 28
    assert f"({reg.names[1]};" in md and f"| {lat['denoiser_steps']:,} |" in md and "| pixel space | 1×28×28 |" in md
    assert f"{100 * lat['accuracy']:.0f} %" in md and stored["note"] in md
