"""Shared by every tab: widget values -> checked pipeline arguments, pipeline results -> PIL images with settings.

Nothing here builds layout. Every check raises ``gr.Error`` with a message that says what is allowed, so a bad
request ends as a readable error in the browser (or an ``AppError`` in gradio_client) and the server goes on.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from ldm_core import LatentDiffusionPipeline, ServerBusy
from ldm_core import images as imx

from .i18n import name_of, say

UNCONDITIONAL = "unconditional"
MAX_SEED = 2**32 - 1  # seeds the UI hands out; -1 asks for a random one
MAX_BATCH = 16
MAX_STEPS = 1000
MAX_SIDE = 1024  # largest uploaded image side (pixels) the app accepts
PARAMETERS_KEY = "parameters"  # the PNG text chunk Automatic1111 writes its settings to


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the pipeline's ValueError / TypeError (messages that say what is allowed) into ``gr.Error``."""
    try:
        yield
    except gr.Error:
        raise
    except (ValueError, TypeError, ServerBusy) as e:  # ServerBusy says when to try again
        raise gr.Error(say("err.pipeline", message=str(e))) from e


# ---------------------------------------------------------------------- numbers and choices
def as_int(name: str, value: Any, lo: int, hi: int) -> int:
    """A widget number (int, float or numeric string) -> int in [lo, hi], or ``gr.Error``."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise gr.Error(say("err.int", name=name_of(name), lo=lo, hi=hi, value=repr(value))) from None
    if not np.isfinite(f) or not f.is_integer() or not lo <= f <= hi:
        raise gr.Error(say("err.int", name=name_of(name), lo=lo, hi=hi, value=repr(value)))
    return int(f)


def as_float(name: str, value: Any, lo: float, hi: float) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise gr.Error(say("err.float", name=name_of(name), lo=f"{lo:g}", hi=f"{hi:g}", value=repr(value))) from None
    if not np.isfinite(f) or not lo <= f <= hi:
        raise gr.Error(say("err.float", name=name_of(name), lo=f"{lo:g}", hi=f"{hi:g}", value=repr(value)))
    return f


def as_choice(name: str, value: Any, allowed: list[str]) -> str:
    if value not in allowed:
        raise gr.Error(say("err.choice", name=name_of(name), allowed=allowed, value=repr(value)))
    return value


def class_choices(pipe: LatentDiffusionPipeline) -> list[str]:
    """What the class pickers offer: the model's class names, then "unconditional"."""
    return [*pipe.class_names, UNCONDITIONAL]


def class_label(pipe: LatentDiffusionPipeline, name: Any) -> int:
    """A class name from a picker -> the pipeline's label (-1 = unconditional)."""
    as_choice("class", name, class_choices(pipe))
    return -1 if name == UNCONDITIONAL else pipe.class_names.index(name)


def resolve_seed(value: Any) -> int:
    """-1 (or an empty box) draws a random seed, as in Automatic1111; otherwise a seed in 0..2^32-1."""
    if value is None or value == "" or (isinstance(value, (int, float)) and value == -1):
        return random_seed()
    return as_int("seed", value, 0, MAX_SEED)


def random_seed() -> int:
    return random.randint(0, MAX_SEED)


def sampler_settings(pipe: LatentDiffusionPipeline, steps: Any, guidance: Any, sampler: Any, eta: Any = 0.0) -> dict:
    """The settings every sampling call shares, checked, as pipeline keyword arguments."""
    return {
        "num_inference_steps": as_int("steps", steps, 1, min(MAX_STEPS, pipe.num_train_timesteps)),
        "guidance_scale": as_float("guidance", guidance, 0.0, 20.0),
        "sampler": as_choice("sampler", sampler, pipe.sampler_names),
        "eta": as_float("eta", eta, 0.0, 1.0),
    }


# ---------------------------------------------------------------------- settings inside the PNG
def parameters_text(model: str, class_name: str, settings: dict, extra: dict[str, Any]) -> str:
    """Settings as Automatic1111 writes them: the "prompt" line (here the class), then ``Key: value, ...``.

    ``settings`` are the pipeline keyword arguments of ``sampler_settings``; ``extra`` the method's own fields
    (``{"Seed": 42, "Denoising strength": 0.6}``), written between the sampler fields and the model.
    """
    fields = {
        "Steps": settings["num_inference_steps"],
        "Sampler": settings["sampler"],
        "CFG scale": settings["guidance_scale"],
        "Eta": settings["eta"],
        **extra,
        "Model": model,
    }
    return class_name + "\n" + ", ".join(f"{k}: {v}" for k, v in fields.items())


def parse_parameters(text: str) -> dict[str, str]:
    """The inverse of ``parameters_text``: {"Class": ..., "Steps": "50", ...} (values as strings)."""
    first, _, last = text.rpartition("\n")
    out = {"Class": first}
    for item in last.split(", "):
        key, _, value = item.partition(": ")
        out[key] = value
    return out


def to_images(images: np.ndarray, text: str | list[str] | None = None) -> list[Image.Image]:
    """float [B, H, W, C] in [0, 1] -> PIL images; each carries its settings text as PNG "parameters"."""
    pils = imx.to_pil(np.asarray(images))
    texts = text if isinstance(text, list) else [text] * len(pils)
    for im, t in zip(pils, texts):
        if t is not None:
            im.info[PARAMETERS_KEY] = t
    return pils


def grid_image(images: np.ndarray, text: str | None = None, ncols: int | None = None) -> Image.Image:
    """float [B, H, W, C] -> one PIL grid (gray gaps between images) with the settings text; one image stays bare."""
    images = np.asarray(images)
    grid = images[0] if len(images) == 1 else imx.make_grid(images, ncols=ncols, pad_value=0.5)
    return to_images(grid[None], text)[0]


def upscale(images: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscale [B, H, W, C] -> [B, H*f, W*f, C], so that each latent cell stays a visible block."""
    return np.asarray(images).repeat(factor, axis=1).repeat(factor, axis=2)


def model_view(pipe: LatentDiffusionPipeline, image: Any) -> np.ndarray:
    """An input image as the model sees it: float [H, W, C] in [0, 1] at the model's size and channels."""
    with user_errors():
        arr = imx.match_channels(imx.to_float_array(image), pipe.image_channels)
        return imx.resize_square(arr, pipe.image_size)


def info_markdown(text: str) -> str:
    return "```text\n" + text + "\n```"


# ---------------------------------------------------------------------- images from the widgets
def _checked(im: Any, name: str) -> Image.Image | None:
    if im is None:
        return None
    if isinstance(im, np.ndarray):
        im = Image.fromarray(im)
    if not isinstance(im, Image.Image):
        raise gr.Error(say("err.image_type", name=name_of(name), kind=type(im).__name__))
    w, h = im.size
    if w < 1 or h < 1 or max(w, h) > MAX_SIDE:
        raise gr.Error(say("err.image_size", name=name_of(name), max=MAX_SIDE, w=w, h=h))
    return im


def editor_layers(value: Any) -> tuple[Image.Image | None, list[Image.Image], Image.Image | None]:
    """An ImageEditor value {"background", "layers", "composite"} -> (background, layers, composite), checked."""
    if value is None:
        return None, [], None
    if isinstance(value, (Image.Image, np.ndarray)):  # a plain image where the editor was bypassed
        return _checked(value, "image"), [], None
    if not isinstance(value, dict):
        raise gr.Error(say("err.editor_value", kind=type(value).__name__))
    layers = [_checked(x, "layer") for x in value.get("layers") or []]
    return (
        _checked(value.get("background"), "image"),
        [x for x in layers if x is not None],
        _checked(value.get("composite"), "image"),
    )


def editor_composite(value: Any) -> Image.Image:
    """The picture the user sees in an ImageEditor: its composite, or the background with the layers drawn over it."""
    background, layers, composite = editor_layers(value)
    if composite is not None:
        return composite
    if background is None and not layers:
        raise gr.Error(say("err.no_image"))
    base = (background or Image.new("RGBA", layers[0].size, (0, 0, 0, 255))).convert("RGBA")
    for layer in layers:
        if layer.size != base.size:
            raise gr.Error(say("err.layer_size", w=base.size[0], h=base.size[1], lw=layer.size[0], lh=layer.size[1]))
        base = Image.alpha_composite(base, layer.convert("RGBA"))
    return base


def editor_mask(value: Any) -> tuple[Image.Image, np.ndarray]:
    """An inpainting ImageEditor value -> (image = background, mask [H, W] uint8: 1 where any layer is painted)."""
    background, layers, _ = editor_layers(value)
    if background is None:
        raise gr.Error(say("err.no_background"))
    mask = np.zeros(background.size[::-1], dtype=np.uint8)
    for layer in layers:
        if layer.size != background.size:
            w, h = background.size
            raise gr.Error(say("err.mask_size", w=w, h=h, lw=layer.size[0], lh=layer.size[1]))
        alpha = np.asarray(layer.convert("RGBA"))[..., 3]
        mask |= (alpha > 0).astype(np.uint8)
    if not mask.any():
        raise gr.Error(say("err.mask_empty"))
    if mask.all():
        raise gr.Error(say("err.mask_full"))
    return background, mask
