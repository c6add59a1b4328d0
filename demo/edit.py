"""Edit tab: img2img. Noise an image's latent part of the way (strength) and denoise it towards a class,
with fresh noise (SDEdit) or by DDIM inversion."""

from __future__ import annotations

from functools import partial

import gradio as gr
from PIL import Image

from .common import (
    as_choice,
    as_float,
    class_label,
    editor_composite,
    info_markdown,
    model_view,
    parameters_text,
    resolve_seed,
    sampler_settings,
    to_images,
    user_errors,
)
from .i18n import compose, say, t
from .registry import ModelRegistry
from .streaming import run_with_progress
from .widgets import BRUSH_COLOURS, CANVAS, ModelBindings, class_picker, image_editor, sampler_controls, seed_box

METHODS = {"SDEdit (fresh noise)": "sdedit", "DDIM inversion, then regenerate": "inversion"}  # the API's values


def steps_to_run(steps: float, strength: float, lang: str | None = None) -> str:
    """What the strength slider says next to it: how many of the steps will really run, int(steps × strength)."""
    try:
        n = int(int(steps) * float(strength))
    except (TypeError, ValueError):
        return say("edit.steps_run_unknown", lang)
    return say("edit.steps_run", lang, n=n, steps=int(steps), start=int(steps) - n)


def edit(
    registry: ModelRegistry,
    model: str,
    image: dict | None,
    class_name: str,
    strength: float,
    method: str,
    steps: int,
    guidance: float,
    sampler: str,
    eta: float,
    seed: int,
    progress: gr.Progress = gr.Progress(),  # noqa: B008
):
    """-> (the input as the model sees it, the edited image, settings)."""
    pipe = registry.get(model)
    picture = editor_composite(image)
    label = class_label(pipe, class_name)
    settings = sampler_settings(pipe, steps, guidance, sampler, eta)
    strength = as_float("strength", strength, 0.01, 1.0)
    method_id = METHODS[as_choice("method", method, list(METHODS))]
    seed = resolve_seed(seed)
    n_run = int(settings["num_inference_steps"] * strength)
    seen = model_view(pipe, picture)
    with user_errors():
        run = partial(pipe.img2img, picture, strength=strength, class_labels=[label], seed=seed, method=method_id,
                      **settings)  # fmt: skip
        out = run_with_progress(run, max(n_run, 1), progress, say("prog.editing"))
    extra = {"Seed": seed, "Denoising strength": strength, "Edit method": method_id,
             "Steps run": out.num_inference_steps_run}  # fmt: skip
    text = parameters_text(model, class_name, settings, extra)
    return to_images(seen[None])[0], to_images(out.images, text)[0], info_markdown(text)


def build(registry: ModelRegistry, model: gr.Dropdown, bindings: ModelBindings) -> None:
    pipe = registry.get(registry.default)
    gr.Markdown(t("edit.intro"))
    with gr.Row():
        with gr.Column(scale=2):
            image = image_editor(
                "edit-image", t("edit.image"),
                gr.Brush(colors=BRUSH_COLOURS, default_size=18, color_mode="defaults"),
                value=Image.new("RGB", CANVAS, "black"),  # a black sheet to draw on in white, as MNIST digits are
            )  # fmt: skip
        with gr.Column(scale=2):
            class_name = class_picker(bindings, pipe, "edit-class", t("edit.class"))
            strength = gr.Slider(0.01, 1.0, value=0.6, step=0.01, label=t("edit.strength"), elem_id="edit-strength")
            steps_note = gr.Markdown(compose("edit.steps_run.first", lambda lang: steps_to_run(25, 0.6, lang)),
                                     elem_id="edit-steps-run")  # fmt: skip
            method = gr.Radio([(t(f"edit.method.{v}"), k) for k, v in METHODS.items()], value=next(iter(METHODS)),
                              label=t("edit.method"), elem_id="edit-method")  # fmt: skip
            controls = sampler_controls(bindings, pipe, "edit")
            seed = seed_box("edit-seed")
            run_btn = gr.Button(t("edit.run"), variant="primary", elem_id="edit-run")
        with gr.Column(scale=2):
            seen = gr.Image(label=t("edit.input"), type="pil", format="png", interactive=False,
                            elem_id="edit-input", elem_classes="pixelated", height=160)  # fmt: skip
            result = gr.Image(label=t("edit.result"), type="pil", format="png", interactive=False, elem_id="edit-result",
                              elem_classes="pixelated", height=220)  # fmt: skip
            info = gr.Markdown(label=t("w.settings"), elem_id="edit-info")
    for trigger in (strength.change, controls.steps.change):
        trigger(steps_to_run, [controls.steps, strength], steps_note, api_visibility="private", queue=False,
                show_progress="hidden")  # fmt: skip
    run_btn.click(partial(edit, registry), [model, image, class_name, strength, method, *controls.inputs, seed],
                  [seen, result, info], api_name="edit")  # fmt: skip
