"""The app's handlers called directly (no server): widget values in, images with their settings out."""

from __future__ import annotations

import json
import os
import threading
import time

import gradio as gr
import numpy as np
import pytest
from app_fixtures import CLOTHES, CLOTHES_CLASSES, DIGITS, app, app_model_dirs, digit_image, half_mask_layer  # noqa: F401
from PIL import Image

from demo import build_demo, find_model_dirs
from demo import edit as edit_tab
from demo import generate as generate_tab
from demo import inpaint as inpaint_tab
from demo import interpolate as interpolate_tab
from demo.common import PARAMETERS_KEY, parse_parameters, resolve_seed
from demo.edit import steps_to_run
from demo.streaming import Step, stream
from ldm_core import PipelineOutput, Preview
from ldm_core.sampling import preview_every


def pixels(im: Image.Image) -> np.ndarray:
    return np.asarray(im, dtype=np.float32) / 255.0


def run_generate(registry, **kw):
    args = {"model": DIGITS, "class_name": "1", "steps": 12, "guidance": 3.0, "sampler": "ddim", "eta": 0.0,
            "seed": 42, "batch_size": 3} | kw  # fmt: skip
    return list(generate_tab.generate(registry, **args))


# ---------------------------------------------------------------------- the registry and the app
def test_find_model_dirs_skips_classifiers_and_incomplete(app_model_dirs, tmp_path):  # noqa: F811
    root = tmp_path / "checkpoints"
    root.mkdir()
    assert find_model_dirs(root) == []
    (root / "half").mkdir()
    (root / "half" / "config.json").write_text("{}")  # no weights yet: a training in progress
    assert find_model_dirs(root) == []
    found = find_model_dirs(str(app_model_dirs[0]).rsplit("/", 1)[0])
    assert [p.rsplit("/", 1)[1] for p in found] == ["clothes", "digits", "mnist"]  # classifiers/ left out
    assert find_model_dirs(tmp_path / "nowhere") == []
    import shutil

    for name, order in (("b-first", -1), ("a-later", 1), ("c", 0)):
        shutil.copytree(app_model_dirs[1], root / name)
        config = json.loads((root / name / "config.json").read_text())
        (root / name / "config.json").write_text(json.dumps({**config, "menu_order": order}))
    assert [p.rsplit("/", 1)[1] for p in find_model_dirs(root)] == ["b-first", "c", "a-later"]  # menu_order, name


def test_registry_loads_each_model_once_by_display_name(app):  # noqa: F811
    registry = app.registry
    assert registry.names == [CLOTHES, DIGITS, "MNIST digits"]  # display_name, else the config's name
    assert registry.get(CLOTHES).class_names == CLOTHES_CLASSES
    assert registry.get(DIGITS) is registry.get(DIGITS)
    with pytest.raises(gr.Error, match="model must be one of"):
        registry.get("sd-xl")


def test_registry_names_fall_back_to_the_config_name_and_stay_distinct(tiny_model_dir):
    from demo import ModelRegistry

    assert ModelRegistry([tiny_model_dir, tiny_model_dir]).names == ["tiny", "tiny (tiny)"]


def test_damaged_checkpoint_is_skipped_and_no_model_shows_a_message(app_model_dirs, tmp_path):  # noqa: F811
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("not json")
    demo = build_demo([str(bad)])
    assert len(demo.registry) == 0 and "not valid JSON" in demo.registry.errors[0]
    from demo.i18n import EN, ZH

    keys = [json.loads(b.value[len("__i18n__") :])["key"] for b in demo.blocks.values()
            if isinstance(b, gr.Markdown) and str(b.value).startswith("__i18n__")]  # fmt: skip
    assert any("No model to show yet" in EN[k] and "not valid JSON" in EN[k] for k in keys)
    assert any("还没有可以展示的模型" in ZH[k] and "not valid JSON" in ZH[k] for k in keys)  # the page in Chinese too
    assert not [d for d in demo.fns.values() if d.api_name == "generate"]


# ---------------------------------------------------------------------- generate
def test_generate_streams_previews_then_a_grid_and_images_with_settings(app):  # noqa: F811
    outs = run_generate(app.registry)
    *previews, final = outs
    assert len(previews) == 11  # up to 12 previews: after each of steps 1..11; step 12 gives the result
    for p in previews:
        assert isinstance(p[0], Image.Image) and p[1:4] == (None, None, "")  # the last run's result cleared
        assert p[4] == gr.skip()  # the last seed kept
    preview, grid, gallery, info, seed = final
    assert preview is previews[-1][0]  # the last preview stays (the grid in two outputs would be one file in two sets)
    assert grid.size == (62, 62) and seed == 42  # 3 images in a 2x2 grid of 28 px with 2 px gaps
    assert [cap for _, cap in gallery] == ["seed 42", "seed 43", "seed 44"]
    meta = parse_parameters(gallery[1][0].info[PARAMETERS_KEY])
    assert meta == {"Class": "1", "Steps": "12", "Sampler": "ddim", "CFG scale": "3.0", "Eta": "0.0", "Seed": "43",
                    "Size": "28x28", "Model": DIGITS}  # fmt: skip
    assert parse_parameters(grid.info[PARAMETERS_KEY])["Batch size"] == "3"
    assert "Seed: 42" in info
    # the images are the pipeline's own, pixel for pixel; image i is seed + i alone
    pipe = app.registry.get(DIGITS)
    direct = pipe([1], num_inference_steps=12, guidance_scale=3.0, seed=43, output_type="pil").images[0]
    np.testing.assert_allclose(pixels(gallery[1][0]), pixels(direct), atol=1.5 / 255)  # batch vs alone: <= 1 level
    assert pixels(gallery[0][0]).std() > 0.01  # not blank


def test_generate_same_seed_same_pixels_other_seed_other_pixels(app):  # noqa: F811
    a = run_generate(app.registry, batch_size=1, steps=4)[-1][1]
    b = run_generate(app.registry, batch_size=1, steps=4)[-1][1]
    c = run_generate(app.registry, batch_size=1, steps=4, seed=43)[-1][1]
    np.testing.assert_array_equal(pixels(a), pixels(b))
    assert np.abs(pixels(a) - pixels(c)).max() > 0.05


def test_generate_random_seed_is_reported_and_unconditional_works(app):  # noqa: F811
    *_, info, seed = run_generate(app.registry, seed=-1, batch_size=1, steps=2, class_name="unconditional")[-1]
    assert 0 <= seed < 2**32 and f"Seed: {seed}" in info and "unconditional" in info
    assert resolve_seed(7) == 7 and resolve_seed(7.0) == 7


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"class_name": "T-shirt/top"}, r"class must be one of \['0', '1', '2', 'unconditional'\]"),
        ({"steps": 0}, r"steps must be a whole number in 1\.\.1000, got 0"),
        ({"steps": 2.5}, "steps must be a whole number"),
        ({"guidance": 21}, r"guidance must be a number in \[0, 20\]"),
        ({"sampler": "plms"}, "sampler must be one of"),
        ({"eta": -0.1}, r"eta must be a number in \[0, 1\]"),
        ({"batch_size": 17}, r"batch size must be a whole number in 1\.\.16"),
        ({"seed": 2**32}, r"seed must be a whole number in 0\.\.4294967295"),
        ({"seed": "abc"}, "seed must be a whole number"),
        ({"model": "nope"}, "model must be one of"),
    ],
)
def test_generate_bad_input_says_what_is_allowed(app, kw, message):  # noqa: F811
    with pytest.raises(gr.Error, match=message):
        run_generate(app.registry, **kw)


def test_preview_every_keeps_at_most_twelve_previews():
    assert [preview_every(n) for n in (1, 12, 13, 25, 1000)] == [1, 1, 2, 3, 84]


def test_stopping_a_run_ends_its_sampling(app):  # noqa: F811
    pipe = app.registry.get(DIGITS)
    steps = pipe.num_train_timesteps
    seen: list[int] = []

    def run(callback, on_preview):
        def counted(info):
            seen.append(info.i)
            callback(info)

        return pipe([0], num_inference_steps=steps, callback=counted, on_preview=on_preview)

    it = stream(run)
    first = next(it)
    assert isinstance(first, Step) and first.done == 1
    it.close()  # what the Stop button's cancel does to the handler
    deadline = time.time() + 30
    while any(t.name == "ldm-request" for t in threading.enumerate()) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "ldm-request" for t in threading.enumerate())
    assert len(seen) < steps // 2  # the batcher dropped the request: its 1000 steps did not all run


def test_progress_reaches_the_handler_at_most_ten_times_a_second_and_previews_all(app, monkeypatch):  # noqa: F811
    from demo import streaming

    assert streaming.PROGRESS_INTERVAL_S == 0.1
    ticks = iter(range(10**6))  # a clock that moves 1/32 s each time a step reports: every fourth step goes out

    class Clock:
        @staticmethod
        def monotonic() -> float:
            return next(ticks) / 32  # exact in binary

    monkeypatch.setattr(streaming, "time", Clock)
    pipe = app.registry.get(DIGITS)
    items = list(stream(lambda callback, on_preview: pipe([0, 1], num_inference_steps=120, seed=0, callback=callback,
                                                            on_preview=on_preview)))  # fmt: skip
    assert [i.done for i in items if isinstance(i, Step)] == list(range(1, 121, 4))
    assert [i.step for i in items if isinstance(i, Preview)] == list(range(10, 120, 10))  # previews are not thinned
    assert isinstance(items[-1], PipelineOutput)


# ---------------------------------------------------------------------- interpolate and variations
def test_interpolate_strip_ends_are_the_seeds_images(app):  # noqa: F811
    reg = app.registry
    image, strip, _info = interpolate_tab.interpolate(reg, DIGITS, "2", "same as class A", 5, 9, "slerp", 4, 0.0, 6,
                                                     3.0, "ddim", 0.0)  # fmt: skip
    assert strip.size == (4 * 30 + 2, 32) and image.size == (28, 28)
    a = run_generate(reg, class_name="2", seed=5, steps=6, batch_size=1)[-1][2][0][0]
    b = run_generate(reg, class_name="2", seed=9, steps=6, batch_size=1)[-1][2][0][0]
    s = pixels(strip)
    np.testing.assert_allclose(s[2:30, 2:30], pixels(a), atol=1.5 / 255)  # first frame = seed A (batch of 5)
    np.testing.assert_allclose(s[2:30, 92:120], pixels(b), atol=1.5 / 255)  # last frame = seed B
    np.testing.assert_allclose(pixels(image), pixels(a), atol=1.5 / 255)  # position 0 = seed A
    meta = parse_parameters(image.info[PARAMETERS_KEY])
    assert meta["Seed B"] == "9" and meta["Interpolation"] == "slerp" and meta["Weight"] == "0.0"
    assert "Frames: 4" in strip.info[PARAMETERS_KEY]
    single, _ = interpolate_tab.interpolate_at(reg, DIGITS, "2", "0", 5, 9, "lerp", 0.5, 6, 3.0, "ddim", 0.0)
    assert "Class B: 0" in single.info[PARAMETERS_KEY] and pixels(single).std() > 0.01
    with pytest.raises(gr.Error, match=r"frames must be a whole number in 2\.\.16"):
        interpolate_tab.interpolate(reg, DIGITS, "2", "same as class A", 5, 9, "slerp", 1, 0.5, 6, 3.0, "ddim", 0.0)
    with pytest.raises(gr.Error, match="method must be one of"):
        interpolate_tab.interpolate(reg, DIGITS, "2", "same as class A", 5, 9, "nlerp", 3, 0.5, 6, 3.0, "ddim", 0.0)


def test_variation_strength_zero_is_the_seed_and_more_moves_away(app):  # noqa: F811
    reg = app.registry
    plain = run_generate(reg, class_name="0", seed=3, steps=5, batch_size=1)[-1][2][0][0]
    same, _ = interpolate_tab.variation(reg, DIGITS, "0", 3, 11, 0.0, 5, 3.0, "ddim", 0.0)
    moved, info = interpolate_tab.variation(reg, DIGITS, "0", 3, 11, 0.5, 5, 3.0, "ddim", 0.0)
    np.testing.assert_array_equal(pixels(same), pixels(plain))
    assert np.abs(pixels(moved) - pixels(plain)).max() > 0.05
    assert "Variation seed: 11, Variation seed strength: 0.5" in info


# ---------------------------------------------------------------------- edit
def editor(background=None, layers=(), composite=None) -> dict:
    return {"background": background, "layers": list(layers), "composite": composite}


def test_steps_to_run_note_follows_strength():
    assert steps_to_run(25, 0.4).startswith("**10 of 25 steps will run**")
    assert steps_to_run(50, 1.0).startswith("**50 of 50")
    assert steps_to_run(None, 0.5) == "steps that will run: ?"


@pytest.mark.parametrize("method", list(edit_tab.METHODS))
def test_edit_runs_int_steps_times_strength(app, method):  # noqa: F811
    seen, result, _info = edit_tab.edit(app.registry, DIGITS, editor(digit_image(56)), "2", 0.5, method, 10, 3.0,
                                       "ddim", 0.0, 4)  # fmt: skip
    assert seen.size == result.size == (28, 28)
    assert pixels(seen).max() > 0.9 and pixels(seen)[14, 14] < 0.1  # the ring, resized to 28x28
    meta = parse_parameters(result.info[PARAMETERS_KEY])
    assert meta["Steps run"] == "5" and meta["Denoising strength"] == "0.5"
    assert meta["Edit method"] == edit_tab.METHODS[method]


def test_edit_uses_the_drawing_over_the_background(app):  # noqa: F811
    black = Image.new("RGBA", (28, 28), (0, 0, 0, 255))
    stroke = np.zeros((28, 28, 4), np.uint8)
    stroke[4:24, 12:16] = 255
    seen, *_ = edit_tab.edit(app.registry, DIGITS, editor(black, [Image.fromarray(stroke, "RGBA")]), "1", 0.3,
                             "SDEdit (fresh noise)", 10, 3.0, "ddim", 0.0, 0)  # fmt: skip
    s = pixels(seen)  # mode L [28, 28]
    assert s[10, 13] > 0.9 and s[10, 3] < 0.1


@pytest.mark.parametrize(
    ("image", "strength", "message"),
    [
        (None, 0.5, "no image: upload one, draw one or pick an example"),
        (editor(digit_image(28).resize((40, 28))), 0.5, "image must be square"),
        (editor(Image.new("L", (2000, 2000))), 0.5, r"image must be 1\.\.1024 pixels a side, got 2000x2000"),
        (editor(digit_image()), 0.0, r"strength must be a number in \[0.01, 1\]"),
        (editor(digit_image()), 0.02, r"runs no step: int\(steps \* strength\) must be >= 1"),
        ("a string", 0.5, "image must be an ImageEditor value"),
    ],
)
def test_edit_bad_input_says_what_is_allowed(app, image, strength, message):  # noqa: F811
    with pytest.raises(gr.Error, match=message):
        edit_tab.edit(app.registry, DIGITS, image, "2", strength, "SDEdit (fresh noise)", 10, 3.0, "ddim", 0.0, 0)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "LA", "CMYK", "1", "I", "F"])
def test_edit_sees_the_same_picture_in_any_image_mode(app, mode):  # noqa: F811
    ring = pixels(digit_image())  # mode L, 0 or 255
    seen, result, _ = edit_tab.edit(app.registry, CLOTHES, editor(digit_image(28, mode)), "Trouser", 0.5,
                                    "SDEdit (fresh noise)", 4, 3.0, "ddim", 0.0, 0)  # fmt: skip
    assert result.size == (28, 28)
    np.testing.assert_allclose(pixels(seen), ring, atol=2 / 255)


# ---------------------------------------------------------------------- inpaint
def run_inpaint(registry, image, method="Latent blending", blur=0, **kw):
    args = {"class_name": "2", "jump_length": 2, "jump_n_sample": 2, "steps": 6, "guidance": 3.0,
            "sampler": "ddim", "eta": 0.0, "seed": 1} | kw  # fmt: skip
    return inpaint_tab.inpaint(registry, DIGITS, image, method=method, mask_blur=blur, **args)


@pytest.mark.parametrize("method", list(inpaint_tab.METHODS))
def test_inpaint_keeps_the_unmasked_half_and_shows_the_latent_mask(app, method):  # noqa: F811
    ring = digit_image()
    result, mask_view, _info = run_inpaint(app.registry, editor(ring, [half_mask_layer()]), method)
    r, original = pixels(result), pixels(ring)
    np.testing.assert_array_equal(r[:, :14], original[:, :14])  # kept pixels unchanged (blur 0)
    assert np.abs(r[:, 14:] - original[:, 14:]).max() > 0.05  # the painted half was repainted
    m = np.asarray(mask_view, dtype=np.float32) / 255  # RGB: repainted latent cells tinted red
    assert mask_view.mode == "RGB" and mask_view.size == (28, 28)
    assert (m[:, 16:, 0] - m[:, 16:, 1] > 0.3).all() and (np.abs(m[:, :12, 0] - m[:, :12, 1]) < 1e-6).all()
    meta = parse_parameters(result.info[PARAMETERS_KEY])
    assert meta["Inpaint method"] == inpaint_tab.METHODS[method] and meta["Mask blur"] == "0"
    assert ("Jump length" in meta) == (method == "RePaint resampling")


def test_inpaint_bad_masks_say_what_is_allowed(app):  # noqa: F811
    ring = digit_image()
    full = Image.new("RGBA", (28, 28), (255, 0, 0, 255))
    with pytest.raises(gr.Error, match="the mask is empty: paint over the part"):
        run_inpaint(app.registry, editor(ring, []))
    with pytest.raises(gr.Error, match="the mask is empty"):
        run_inpaint(app.registry, editor(ring, [Image.new("RGBA", (28, 28))]))
    with pytest.raises(gr.Error, match="the mask covers the whole image"):
        run_inpaint(app.registry, editor(ring, [full]))
    with pytest.raises(gr.Error, match="the mask layer must have the image's size 28x28, got 30x30"):
        run_inpaint(app.registry, editor(ring, [half_mask_layer(30)]))
    with pytest.raises(gr.Error, match="no image: upload an image"):
        run_inpaint(app.registry, None)
    with pytest.raises(gr.Error, match=r"jump length must be a whole number in 1\.\.6"):
        run_inpaint(app.registry, editor(ring, [half_mask_layer()]), "RePaint resampling", jump_length=7)
    with pytest.raises(gr.Error, match=r"mask blur must be a whole number in 0\.\.16"):
        run_inpaint(app.registry, editor(ring, [half_mask_layer()]), blur=17)


# ---------------------------------------------------------------------- offline and Spaces settings
def test_launch_settings_keep_the_page_offline():
    from pathlib import Path

    from gradio.themes.utils.fonts import GoogleFont

    from demo import LAUNCH_KWARGS

    theme = LAUNCH_KWARGS["theme"]
    assert not [f for f in [*theme._font, *theme._font_mono] if isinstance(f, GoogleFont)]  # no font CDN
    assert LAUNCH_KWARGS["max_file_size"] == "5mb" and LAUNCH_KWARGS["ssr_mode"] is False
    source = (Path(__file__).resolve().parent.parent / "app.py").read_text()
    analytics_off = source.index('os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")')
    assert analytics_off < source.index("from demo import")  # demo imports gradio
    assert 'if __name__ == "__main__":\n    demo.launch(' in source


def test_the_sampler_thread_gets_ldm_num_threads_or_all_cores(monkeypatch):
    from demo.registry import ModelRegistry, sampler_workers, sampling_threads

    monkeypatch.setenv("LDM_NUM_THREADS", "3")
    monkeypatch.setenv("LDM_SAMPLER_WORKERS", "1")
    assert ModelRegistry([]).batcher.num_threads == 3
    monkeypatch.setenv("LDM_NUM_THREADS", "4")
    monkeypatch.setenv("LDM_SAMPLER_WORKERS", "2")  # two workers share the threads
    batcher = ModelRegistry([]).batcher
    assert (batcher.num_workers, batcher.num_threads) == (2, 2)
    monkeypatch.delenv("LDM_SAMPLER_WORKERS")
    assert sampler_workers() == (2 if (os.cpu_count() or 1) >= 2 else 1)
    for bad in ("two", "0", "-1"):
        monkeypatch.setenv("LDM_SAMPLER_WORKERS", bad)
        with pytest.raises(ValueError, match="LDM_SAMPLER_WORKERS must be a whole number of workers, 1 or more"):
            sampler_workers()
    monkeypatch.delenv("LDM_SAMPLER_WORKERS")
    monkeypatch.delenv("LDM_NUM_THREADS")
    assert sampling_threads() == (os.cpu_count() or 1)
    for bad in ("two", "0", "-1"):
        monkeypatch.setenv("LDM_NUM_THREADS", bad)
        with pytest.raises(ValueError, match="LDM_NUM_THREADS must be a whole number of threads, 1 or more"):
            sampling_threads()
