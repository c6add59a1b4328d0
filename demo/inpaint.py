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
from .i18n import say, t
from .registry import ModelRegistry
from .streaming import run_with_progress
from .widgets import ModelBindings, class_picker, image_editor, sampler_controls, seed_box

METHODS = {"Latent blending": "blend", "RePaint resampling": "repaint"}  # the API's values -> the pipeline's


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
        out = run_with_progress(run, total, progress, say("prog.inpainting"))
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
    gr.Markdown(t("inpaint.intro"))
    with gr.Row():
        with gr.Column(scale=2):
            image = image_editor(
                "inpaint-image",
                t("inpaint.image"),
                gr.Brush(colors=["#ff2a6d"], default_size=24, color_mode="fixed"),
            )
        with gr.Column(scale=2):
            class_name = class_picker(bindings, pipe, "inpaint-class", t("inpaint.class"))
            method = gr.Radio([(t(f"inpaint.method.{v}"), k) for k, v in METHODS.items()], value=next(iter(METHODS)),
                              label=t("inpaint.method"), elem_id="inpaint-method")  # fmt: skip
            blur = gr.Slider(0, 16, value=2, step=1, label=t("inpaint.blur"), elem_id="inpaint-blur")
            with gr.Row():
                jump_length = gr.Slider(1, 50, value=5, step=1, label=t("inpaint.jump"), elem_id="inpaint-jump")
                jump_n = gr.Slider(1, 20, value=3, step=1, label=t("inpaint.jump_n"), elem_id="inpaint-jump-n")
            controls = sampler_controls(bindings, pipe, "inpaint")
            seed = seed_box("inpaint-seed")
            run_btn = gr.Button(t("inpaint.run"), variant="primary", elem_id="inpaint-run")
        with gr.Column(scale=2):
            result = gr.Image(label=t("inpaint.result"), type="pil", format="png", interactive=False,
                              elem_id="inpaint-result", elem_classes="pixelated", height=220)  # fmt: skip
            mask_view = gr.Image(label=t("inpaint.mask"), type="pil", format="png",
                                 interactive=False, elem_id="inpaint-mask", elem_classes="pixelated", height=160)  # fmt: skip
            info = gr.Markdown(label=t("w.settings"), elem_id="inpaint-info")
    run_btn.click(
        partial(inpaint, registry),
        [model, image, class_name, method, blur, jump_length, jump_n, *controls.inputs, seed],
        [result, mask_view, info], api_name="inpaint",
    )  # fmt: skip
