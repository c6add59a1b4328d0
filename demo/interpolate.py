"""Interpolate tab: walk between the noise of two seeds (slerp / lerp), optionally between two classes; and
Automatic1111's variation seeds."""

from __future__ import annotations

from functools import partial

import gradio as gr
import numpy as np

from .common import (
    MAX_SEED,
    as_choice,
    as_float,
    as_int,
    class_label,
    grid_image,
    info_markdown,
    parameters_text,
    resolve_seed,
    sampler_settings,
    to_images,
    user_errors,
)
from .i18n import say, t
from .registry import ModelRegistry
from .streaming import run_with_progress
from .widgets import ModelBindings, class_picker, sampler_controls, seed_box

SAME_CLASS = "same as class A"
METHODS = ["slerp", "lerp"]
MAX_FRAMES = 16


def _path_settings(registry: ModelRegistry, model: str, class_name: str, class_name_b: str, seed_a: int,
                   seed_b: int, method: str, steps: int, guidance: float, sampler: str, eta: float) -> tuple:  # fmt: skip
    pipe = registry.get(model)
    label = class_label(pipe, class_name)
    label_b = label if class_name_b in (None, "", SAME_CLASS) else class_label(pipe, class_name_b)
    settings = sampler_settings(pipe, steps, guidance, sampler, eta)
    seeds = (as_int("seed A", seed_a, 0, MAX_SEED), as_int("seed B", seed_b, 0, MAX_SEED))
    kwargs = dict(
        seed_a=seeds[0], seed_b=seeds[1], class_labels=[label], class_labels_b=[label_b],
        method=as_choice("method", method, METHODS), **settings,
    )  # fmt: skip
    b_name = class_name if label_b == label else class_name_b
    extra = {"Seed": seeds[0], "Seed B": seeds[1], "Class B": b_name, "Interpolation": method}
    return pipe, kwargs, settings, extra


def interpolate(
    registry: ModelRegistry,
    model: str,
    class_name: str,
    class_name_b: str,
    seed_a: int,
    seed_b: int,
    method: str,
    frames: int,
    position: float,
    steps: int,
    guidance: float,
    sampler: str,
    eta: float,
    progress: gr.Progress = gr.Progress(),  # noqa: B008
):
    """-> (the image at ``position``, a strip of ``frames`` evenly spaced images from A to B, settings)."""
    pipe, kwargs, settings, extra = _path_settings(
        registry, model, class_name, class_name_b, seed_a, seed_b, method, steps, guidance, sampler, eta
    )
    n = as_int("frames", frames, 2, MAX_FRAMES)
    w = as_float("position", position, 0.0, 1.0)
    weights = [*np.linspace(0.0, 1.0, n).round(4).tolist(), w]
    total = settings["num_inference_steps"]
    with user_errors():
        run = partial(pipe.interpolate, weights=weights, **kwargs)
        out = run_with_progress(run, total, progress, say("prog.sampling"))
    strip_text = parameters_text(model, class_name, settings, {**extra, "Frames": n})
    text = parameters_text(model, class_name, settings, {**extra, "Weight": w})
    return to_images(out.images[-1:], text)[0], grid_image(out.images[:-1], strip_text, ncols=n), info_markdown(text)


def interpolate_at(
    registry: ModelRegistry,
    model: str,
    class_name: str,
    class_name_b: str,
    seed_a: int,
    seed_b: int,
    method: str,
    position: float,
    steps: int,
    guidance: float,
    sampler: str,
    eta: float,
):
    """-> (the single image at ``position``, settings): what the slider shows as it moves."""
    pipe, kwargs, settings, extra = _path_settings(
        registry, model, class_name, class_name_b, seed_a, seed_b, method, steps, guidance, sampler, eta
    )
    w = as_float("position", position, 0.0, 1.0)
    with user_errors():
        out = pipe.interpolate(weights=[w], **kwargs)
    text = parameters_text(model, class_name, settings, {**extra, "Weight": w})
    return to_images(out.images, text)[0], info_markdown(text)


def variation(
    registry: ModelRegistry,
    model: str,
    class_name: str,
    seed: int,
    variation_seed: int,
    strength: float,
    steps: int,
    guidance: float,
    sampler: str,
    eta: float,
    progress: gr.Progress = gr.Progress(),  # noqa: B008
):
    """Automatic1111's variation: the seed's noise slerped towards the variation seed's by ``strength``."""
    pipe = registry.get(model)
    label = class_label(pipe, class_name)
    settings = sampler_settings(pipe, steps, guidance, sampler, eta)
    seed, vseed = resolve_seed(seed), resolve_seed(variation_seed)
    strength = as_float("variation strength", strength, 0.0, 1.0)
    total = settings["num_inference_steps"]
    with user_errors():
        run = partial(pipe, [label], seed=seed, variation_seed=vseed, variation_strength=strength, **settings)
        out = run_with_progress(run, total, progress, say("prog.sampling"))
    extra = {"Seed": seed, "Variation seed": vseed, "Variation seed strength": strength}
    text = parameters_text(model, class_name, settings, extra)
    return to_images(out.images, text)[0], info_markdown(text)


def build(registry: ModelRegistry, model: gr.Dropdown, bindings: ModelBindings) -> None:
    pipe = registry.get(registry.default)
    gr.Markdown(t("interp.intro"))
    with gr.Row():
        with gr.Column(scale=2):
            with gr.Row():
                class_a = class_picker(bindings, pipe, "interp-class", t("interp.class_a"))
                class_b = class_picker(bindings, pipe, "interp-class-b", t("interp.class_b"),
                                       extra=((t("interp.same_class"), SAME_CLASS),),
                                       value=SAME_CLASS)  # fmt: skip
            with gr.Row():
                seed_a = gr.Number(
                    0, label=t("interp.seed_a"), precision=0, minimum=0, maximum=MAX_SEED, elem_id="interp-seed-a"
                )
                seed_b = gr.Number(
                    1, label=t("interp.seed_b"), precision=0, minimum=0, maximum=MAX_SEED, elem_id="interp-seed-b"
                )
            with gr.Row():
                method = gr.Radio(METHODS, value="slerp", label=t("interp.path"), elem_id="interp-method")
                frames = gr.Slider(2, MAX_FRAMES, value=8, step=1, label=t("interp.frames"), elem_id="interp-frames")
            controls = sampler_controls(bindings, pipe, "interp", steps=20)
            run_btn = gr.Button(t("interp.run"), variant="primary", elem_id="interp-run")
        with gr.Column(scale=3):
            position = gr.Slider(0.0, 1.0, value=0.5, step=0.01, label=t("interp.position"),
                                 elem_id="interp-position")  # fmt: skip
            single = gr.Image(label=t("interp.image"), type="pil", format="png", interactive=False,
                              elem_id="interp-image", elem_classes="pixelated", height=200)  # fmt: skip
            strip = gr.Image(label=t("interp.strip"), type="pil", format="png", interactive=False,
                             elem_id="interp-strip", elem_classes="pixelated", height=140)  # fmt: skip
            info = gr.Markdown(label=t("w.settings"), elem_id="interp-info")
    path = [model, class_a, class_b, seed_a, seed_b, method]
    steps_in = controls.inputs  # steps, guidance, sampler, eta
    run_btn.click(partial(interpolate, registry), [*path, frames, position, *steps_in], [single, strip, info],
                  api_name="interpolate")  # fmt: skip
    position.release(partial(interpolate_at, registry), [*path, position, *steps_in], [single, info],
                     api_name="interpolate_at", api_visibility="undocumented", trigger_mode="always_last")  # fmt: skip

    with gr.Accordion(t("var.title"), open=False):
        gr.Markdown(t("var.intro"))
        with gr.Row():
            with gr.Column(scale=2):
                v_class = class_picker(bindings, pipe, "var-class")
                v_seed = seed_box("var-seed", value=42)
                v_vseed = seed_box("var-variation-seed", label=t("var.seed"), value=7)
                v_strength = gr.Slider(0.0, 1.0, value=0.2, step=0.01, label=t("var.strength"),
                                       elem_id="var-strength")  # fmt: skip
                v_run = gr.Button(t("var.run"), variant="primary", elem_id="var-run")
            with gr.Column(scale=3):
                v_image = gr.Image(label=t("var.image"), type="pil", format="png", interactive=False,
                                   elem_id="var-image", elem_classes="pixelated", height=200)  # fmt: skip
                v_info = gr.Markdown(label=t("w.settings"), elem_id="var-info")
    v_run.click(partial(variation, registry), [model, v_class, v_seed, v_vseed, v_strength, *controls.inputs],
                [v_image, v_info], api_name="variation")  # fmt: skip
