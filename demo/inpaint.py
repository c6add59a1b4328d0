"""Inpaint tab: paint a mask over an image (the editor's brush layer) and let the model repaint that part."""

from __future__ import annotations

from functools import partial

import gradio as gr
import numpy as np

from ldm_core.samplers import repaint_moves

from .common import (
    as_choice,
    as_int,
    class_label,
    editor_mask,
    info_markdown,
    model_view,
    parameters_text,
    resolve_seed,
    sampler_settings,
    to_images,
    upscale,
    user_errors,
)
from .registry import ModelRegistry
from .streaming import run_with_progress
from .widgets import ModelBindings, class_picker, image_editor, sampler_controls, seed_box

METHODS = {"Latent blending": "blend", "RePaint resampling": "repaint"}


def inpaint(
    registry: ModelRegistry,
    model: str,
    image: dict | None,
    class_name: str,
    method: str,
    mask_blur: int,
    jump_length: int,
    jump_n_sample: int,
    steps: int,
    guidance: float,
    sampler: str,
    eta: float,
    seed: int,
    progress: gr.Progress = gr.Progress(),  # noqa: B008
):
    """-> (the inpainted image, the input with the latent mask's cells tinted red, settings)."""
    pipe = registry.get(model)
    picture, mask = editor_mask(image)
    label = class_label(pipe, class_name)
    settings = sampler_settings(pipe, steps, guidance, sampler, eta)
    method_id = METHODS[as_choice("method", method, list(METHODS))]
    blur = as_int("mask blur", mask_blur, 0, 16)
    jumps = {"jump_length": as_int("jump length", jump_length, 1, settings["num_inference_steps"]),
             "jump_n_sample": as_int("jump count", jump_n_sample, 1, 20)}  # fmt: skip
    seed = resolve_seed(seed)
    with user_errors():
        run = partial(pipe.inpaint, picture, mask, class_labels=[label], seed=seed, method=method_id, mask_blur=blur,
                      **jumps, **settings)  # fmt: skip
        steps = settings["num_inference_steps"]
        total = len(repaint_moves(steps, **jumps)) - 1 if method_id == "repaint" else steps
        out = run_with_progress(run, total, progress, "inpainting")
    extra = {"Seed": seed, "Inpaint method": method_id, "Mask blur": blur}
    if method_id == "repaint":
        extra |= {"Jump length": jumps["jump_length"], "Jump count": jumps["jump_n_sample"]}
    text = parameters_text(model, class_name, settings, extra)
    latent_mask = out.extras["latent_mask"][..., None]  # [h, w, 1] in {0, 1}
    return (
        to_images(out.images, text)[0],
        to_images(mask_overlay(model_view(pipe, picture), latent_mask)[None])[0],
        info_markdown(text),
    )


def mask_overlay(image: np.ndarray, latent_mask: np.ndarray) -> np.ndarray:
    """The image [H, W, C] in [0, 1] as RGB with each repainted latent cell ([h, w, 1] mask, nearest-upscaled)
    tinted red: what "the mask at latent resolution" covers."""
    H = image.shape[0]
    factor = -(-H // latent_mask.shape[0])
    cells = upscale(latent_mask[None], factor)[0, :H, :H]  # [H, W, 1]
    rgb = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
    red = np.array([1.0, 0.16, 0.43], dtype=np.float32)
    return (1 - 0.6 * cells) * rgb + 0.6 * cells * red


def build(registry: ModelRegistry, model: gr.Dropdown, bindings: ModelBindings) -> None:
    pipe = registry.get(registry.default)
    gr.Markdown(
        "Upload an image (or pick an example), then **paint over the part to repaint**: the brush layer is the "
        "mask. The model works on the small latent, so the mask is taken to latent resolution: a latent cell is "
        "repainted if any pixel in it is painted (shown on the right). **Latent blending** puts the known part "
        "back, noised to the current level, after every step; **RePaint** also jumps back up in noise and "
        "resamples, so the new part fits the old better (slower: jump count × more steps)."
    )
    with gr.Row():
        with gr.Column(scale=2):
            image = image_editor(
                "inpaint-image",
                "Image; paint the mask over it",
                gr.Brush(colors=["#ff2a6d"], default_size=24, color_mode="fixed"),
            )
        with gr.Column(scale=2):
            class_name = class_picker(bindings, pipe, "inpaint-class", "Class to paint")
            method = gr.Radio(list(METHODS), value=next(iter(METHODS)), label="Method", elem_id="inpaint-method")
            blur = gr.Slider(0, 16, value=2, step=1, label="Mask blur (pixels)", elem_id="inpaint-blur")
            with gr.Row():
                jump_length = gr.Slider(1, 50, value=5, step=1, label="RePaint jump length", elem_id="inpaint-jump")
                jump_n = gr.Slider(1, 20, value=3, step=1, label="RePaint jump count", elem_id="inpaint-jump-n")
            controls = sampler_controls(bindings, pipe, "inpaint")
            seed = seed_box("inpaint-seed")
            run_btn = gr.Button("Inpaint", variant="primary", elem_id="inpaint-run")
        with gr.Column(scale=2):
            result = gr.Image(label="Inpainted", type="pil", format="png", interactive=False,
                              elem_id="inpaint-result", elem_classes="pixelated", height=220)  # fmt: skip
            mask_view = gr.Image(label="Mask at latent resolution (red cells are repainted)", type="pil", format="png",
                                 interactive=False, elem_id="inpaint-mask", elem_classes="pixelated", height=160)  # fmt: skip
            info = gr.Markdown(label="Settings", elem_id="inpaint-info")
    run_btn.click(
        partial(inpaint, registry),
        [model, image, class_name, method, blur, jump_length, jump_n, *controls.inputs, seed],
        [result, mask_view, info], api_name="inpaint",
    )  # fmt: skip
