"""The app with a colour model (3x32x32 images, as the emoji model): every tab's handler end to end, in RGB."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_tiny_pipeline
from PIL import Image

from demo import build_demo
from demo import edit as edit_tab
from demo import generate as generate_tab
from demo import inpaint as inpaint_tab
from demo import interpolate as interpolate_tab
from demo.common import PARAMETERS_KEY, parse_parameters
from demo.layout import model_note

COLOUR = "tiny colour"
SIZE = 32


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    pipe = make_tiny_pipeline(num_classes=3, in_channels=3, image_size=SIZE, prediction_type="v_prediction", seed=5)
    pipe.class_names = ["Animals", "Flags", "Smileys"]
    pipe.extra_config["display_name"] = COLOUR
    pipe.extra_config["attribution"] = "Images: Twemoji (CC BY 4.0)"
    folder = pipe.save_pretrained(tmp_path_factory.mktemp("rgb") / "colour")
    return build_demo([str(folder)]).registry


def pixels(im: Image.Image) -> np.ndarray:
    return np.asarray(im, dtype=np.float32) / 255.0


def red_square_on_white() -> Image.Image:
    arr = np.full((SIZE, SIZE, 3), 255, np.uint8)
    arr[8:24, 8:24] = (220, 30, 30)
    return Image.fromarray(arr, "RGB")


def editor(background, layers=()) -> dict:
    return {"background": background, "layers": list(layers), "composite": None}


def generate_one(registry, seed: int, steps: int = 5) -> Image.Image:
    *_, final = generate_tab.generate(registry, COLOUR, "Smileys", steps, 2.0, "ddim", 0.0, seed, 1)
    return final[2][0][0]


def test_the_header_names_the_colour_model_and_its_credit(registry):
    note = model_note(registry.get(COLOUR))
    assert "32x32 RGB images (3,072 numbers)" in note and "4x8x8 latent (256 numbers)" in note
    assert "Twemoji (CC BY 4.0)" in note


def test_generate_makes_colour_images_that_match_the_pipeline(registry):
    *previews, final = generate_tab.generate(registry, COLOUR, "Flags", 6, 2.0, "ddim", 0.0, 3, 2)
    assert previews and all(p[0].mode == "RGB" for p in previews)
    _preview, grid, gallery, _info, _seed = final
    assert grid.mode == "RGB" and grid.size == (2 * SIZE + 6, SIZE + 4)  # 2 images side by side, 2 px borders
    im = gallery[1][0]
    assert im.mode == "RGB" and im.size == (SIZE, SIZE)
    assert parse_parameters(im.info[PARAMETERS_KEY])["Size"] == "32x32"
    direct = registry.get(COLOUR)([1], num_inference_steps=6, guidance_scale=2.0, seed=4).images[0]  # [32, 32, 3]
    np.testing.assert_allclose(pixels(im), direct, atol=1.5 / 255)
    a = pixels(im)
    assert np.abs(a[..., 0] - a[..., 2]).max() > 0.01  # the channels differ: not a gray picture in RGB


def test_interpolate_ends_are_the_seeds_colour_images(registry):
    image, strip, _ = interpolate_tab.interpolate(registry, COLOUR, "Smileys", "same as class A", 5, 9, "slerp", 3,
                                                  0.0, 5, 2.0, "ddim", 0.0)  # fmt: skip
    assert image.mode == strip.mode == "RGB"
    np.testing.assert_allclose(pixels(image), pixels(generate_one(registry, 5)), atol=1.5 / 255)


def test_edit_keeps_the_colours_of_the_input_and_recolours_towards_the_class(registry):
    seen, result, _ = edit_tab.edit(registry, COLOUR, editor(red_square_on_white()), "Animals", 0.3,
                                    "SDEdit (fresh noise)", 10, 2.0, "ddim", 0.0, 0)  # fmt: skip
    s = pixels(seen)
    assert seen.mode == "RGB" and s[16, 16, 0] > 0.8 and s[16, 16, 1] < 0.2 and s[2, 2].min() > 0.95  # red on white
    assert result.mode == "RGB" and result.size == (SIZE, SIZE)
    # a blue brush stroke drawn over the picture reaches the model in blue
    stroke = np.zeros((SIZE, SIZE, 4), np.uint8)
    stroke[4:12, 20:28] = (0, 0, 255, 255)
    seen2, *_ = edit_tab.edit(registry, COLOUR, editor(red_square_on_white(), [Image.fromarray(stroke, "RGBA")]),
                              "Animals", 0.3, "SDEdit (fresh noise)", 10, 2.0, "ddim", 0.0, 0)  # fmt: skip
    assert pixels(seen2)[8, 24, 2] > 0.9 and pixels(seen2)[8, 24, 0] < 0.1


def test_inpaint_keeps_the_unmasked_colour_pixels(registry):
    mask = np.zeros((SIZE, SIZE, 4), np.uint8)
    mask[:, SIZE // 2 :] = (255, 0, 0, 255)
    result, mask_view, _ = inpaint_tab.inpaint(registry, COLOUR, editor(red_square_on_white(),
                                               [Image.fromarray(mask, "RGBA")]), "Smileys", "Latent blending", 0, 2,
                                               2, 6, 2.0, "ddim", 0.0, 1)  # fmt: skip
    r, original = pixels(result), pixels(red_square_on_white())
    assert result.mode == "RGB" and mask_view.size == (SIZE, SIZE)
    np.testing.assert_array_equal(r[:, : SIZE // 2], original[:, : SIZE // 2])
    assert np.abs(r[:, SIZE // 2 :] - original[:, SIZE // 2 :]).max() > 0.05
