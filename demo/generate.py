"""Generate tab: class, sampler settings, seed, batch -> a grid and a gallery, with live x̂_0 previews."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import gradio as gr

from ldm_core import PipelineOutput, Preview

from .common import (
    MAX_BATCH,
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
from .streaming import Step, stream
from .widgets import ModelBindings, class_picker, sampler_controls, seed_box


def generate(
    registry: ModelRegistry,
    model: str,
    class_name: str,
    steps: int,
    guidance: float,
    sampler: str,
    eta: float,
    seed: int,
    batch_size: int,
    progress: gr.Progress = gr.Progress(),  # noqa: B008
) -> Iterator[tuple[Any, ...]]:
    """Yield (preview, None, None, "", gr.skip()) while sampling, then (last preview, grid, gallery, settings, seed
    used); a run too short for previews ends with no preview (None).

    While sampling, the result, gallery and settings of the last run are cleared rather than skipped: Gradio answers
    each ``gr.skip()`` of a component by building a new component and its API schema (30 ms for the three, measured,
    against 2 ms for plain empty values), which a class of 50 would pay about 600 times a burst. ``gr.skip()``
    stays for the seed's State, which Gradio skips cheaply."""
    pipe = registry.get(model)
    label = class_label(pipe, class_name)
    settings = sampler_settings(pipe, steps, guidance, sampler, eta)
    seed = resolve_seed(seed)
    n = as_int("batch size", batch_size, 1, MAX_BATCH)
    total = settings["num_inference_steps"]
    desc = say("prog.sampling")
    progress((0, total), desc=desc)
    shown = None  # the last preview, which stays in its frame at the end
    with user_errors():
        for item in stream(partial(pipe, [label] * n, seed=seed, **settings)):
            if isinstance(item, Step):
                progress((item.done, total), desc=desc)
            elif isinstance(item, Preview):
                shown = grid_image(item.images)
                yield shown, None, None, "", gr.skip()
            else:
                out: PipelineOutput = item
    size = f"{pipe.image_size}x{pipe.image_size}"
    texts = [parameters_text(model, class_name, settings, {"Seed": s, "Size": size}) for s in out.seeds]
    grid_text = parameters_text(model, class_name, settings, {"Seed": seed, "Size": size, "Batch size": n})
    grid = grid_image(out.images, grid_text)
    gallery = [(im, say("gen.caption", seed=s)) for im, s in zip(to_images(out.images, texts), out.seeds)]
    # the preview frame keeps the last preview, not the grid: one file in two components' sets is only forgotten by
    # one of them when Gradio's cleaner deletes it (gradio 6.31 route_utils.delete_files_created_by_app)
    yield shown, grid, gallery, info_markdown(grid_text), seed


def build(registry: ModelRegistry, model: gr.Dropdown, bindings: ModelBindings) -> None:
    pipe = registry.get(registry.default)
    last_seed = gr.State(None)
    with gr.Row():
        with gr.Column(scale=2):
            gr.Markdown(t("gen.intro"))
            class_name = class_picker(bindings, pipe, "gen-class")
            controls = sampler_controls(bindings, pipe, "gen")
            seed = seed_box("gen-seed", last=last_seed)
            batch = gr.Slider(1, MAX_BATCH, value=4, step=1, label=t("gen.batch"), elem_id="gen-batch")
            with gr.Row():
                run_btn = gr.Button(t("gen.run"), variant="primary", elem_id="gen-run")
                stop_btn = gr.Button(t("gen.stop"), variant="stop", elem_id="gen-stop")
        with gr.Column(scale=3):
            with gr.Row():
                preview = gr.Image(label=t("gen.preview"), type="pil", format="png", interactive=False,
                                   elem_id="gen-preview", elem_classes="pixelated", height=260)  # fmt: skip
                grid = gr.Image(label=t("gen.result"), type="pil", format="png", interactive=False, elem_id="gen-result",
                                elem_classes="pixelated", height=260)  # fmt: skip
            gallery = gr.Gallery(label=t("gen.gallery"), format="png", columns=8, object_fit="contain",
                                 height=220, elem_id="gen-gallery", elem_classes="pixelated")  # fmt: skip
            info = gr.Markdown(label=t("w.settings"), elem_id="gen-info")
    event = run_btn.click(
        partial(generate, registry), [model, class_name, *controls.inputs, seed, batch],
        [preview, grid, gallery, info, last_seed], api_name="generate",
    )  # fmt: skip
    stop_btn.click(None, None, None, cancels=[event])
