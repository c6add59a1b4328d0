"""Layout pieces several tabs share: class pickers, sampler settings, seed boxes; and the model-change wiring."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from ldm_core import LatentDiffusionPipeline

from .common import MAX_SEED, MAX_STEPS, UNCONDITIONAL, random_seed
from .components import checked_upload
from .example_images import example_paths
from .i18n import I18nData, choice_pairs, t
from .registry import ModelRegistry

CANVAS = (280, 280)  # drawing canvas in pixels (10x the 28 px models)
# the Edit brush: white, black and gray for the grayscale models, then colours to recolour pictures for a colour model
BRUSH_COLOURS = ["#ffffff", "#000000", "#808080", "#e53935", "#fdd835", "#43a047", "#1e88e5", "#8e24aa", "#fb8c00"]
Update = Callable[[LatentDiffusionPipeline], dict[str, Any]]


@dataclass
class ModelBindings:
    """Components whose choices or defaults depend on the picked model, each with how to update it."""

    items: list[tuple[gr.components.Component, Update]] = field(default_factory=list)

    def add(self, component: gr.components.Component, update: Update) -> gr.components.Component:
        self.items.append((component, update))
        return component

    def updates(self, pipe: LatentDiffusionPipeline) -> dict[gr.components.Component, dict[str, Any]]:
        """What a switch to ``pipe`` sends to every bound component."""
        return {c: gr.update(**update(pipe)) for c, update in self.items}

    def wire(self, model: gr.Dropdown, registry: ModelRegistry) -> None:
        """A user's pick of a model updates every bound component. It listens to ``input`` (the user's pick), not
        ``change``: the lesson's show me sets the picker together with these updates and its own presets, which a
        second round of updates on the picker's change would reset."""

        def on_model(name: str) -> list[dict[str, Any]]:
            return list(self.updates(registry.get(name)).values())

        model.input(on_model, model, [c for c, _ in self.items], api_visibility="private", queue=False)


def class_picker(
    bindings: ModelBindings, pipe: LatentDiffusionPipeline, elem_id: str, label: I18nData | None = None,
    extra: tuple[tuple[I18nData, str], ...] = (), value: str | None = None,
) -> gr.Dropdown:  # fmt: skip
    """A class picker by name (then "unconditional", then ``extra`` (shown, value) choices such as "same as A").
    Each class shows in the page's language; its value stays the model's English class name."""

    def choices(p: LatentDiffusionPipeline) -> list[tuple[I18nData | str, str]]:
        return [*choice_pairs("class.", p.class_names), (t("w.unconditional"), UNCONDITIONAL), *extra]

    def first(p: LatentDiffusionPipeline) -> str:
        return value or choices(p)[0][1]

    picker = gr.Dropdown(
        choices(pipe), value=first(pipe), label=label or t("w.class"), elem_id=elem_id,
        allow_custom_value=True,  # the choices change with the model; handlers check the name
    )  # fmt: skip
    return bindings.add(picker, lambda p: {"choices": choices(p), "value": first(p)})


@dataclass
class SamplerControls:
    steps: gr.Slider
    guidance: gr.Slider
    sampler: gr.Dropdown
    eta: gr.Slider

    @property
    def inputs(self) -> list[gr.components.Component]:
        return [self.steps, self.guidance, self.sampler, self.eta]


def sampler_controls(
    bindings: ModelBindings, pipe: LatentDiffusionPipeline, prefix: str, steps: int = 25
) -> SamplerControls:
    """Steps (1..1000), guidance, sampler (every one the library has) and eta, with elem_ids ``<prefix>-steps`` ...
    Guidance and sampler start at the picked model's defaults and follow the model menu."""
    with gr.Row():
        steps_slider = bindings.add(
            gr.Slider(1, min(MAX_STEPS, pipe.num_train_timesteps), value=steps, step=1, label=t("w.steps"),
                      elem_id=f"{prefix}-steps"),
            lambda p: {"maximum": min(MAX_STEPS, p.num_train_timesteps)},
        )  # fmt: skip
        guidance = bindings.add(
            gr.Slider(0.0, 20.0, value=pipe.default_guidance_scale, step=0.1, label=t("w.guidance"),
                      elem_id=f"{prefix}-guidance"),
            lambda p: {"value": p.default_guidance_scale},
        )  # fmt: skip
    with gr.Row():
        sampler_dd = bindings.add(
            gr.Dropdown(pipe.sampler_names, value=pipe.default_sampler, label=t("w.sampler"), elem_id=f"{prefix}-sampler"),
            lambda p: {"value": p.default_sampler},
        )  # fmt: skip
        eta = gr.Slider(0.0, 1.0, value=0.0, step=0.05, label=t("w.eta"),
                        elem_id=f"{prefix}-eta")  # fmt: skip
    return SamplerControls(steps_slider, guidance, sampler_dd, eta)


def seed_box(elem_id: str, label: I18nData | None = None, value: int = 42, last: gr.State | None = None) -> gr.Number:
    """A seed number (-1 = random) with a 🎲 button that puts a fresh random seed in it and, given the ``last``
    seed used (a ``gr.State``), a ♻️ button that puts that one back."""
    with gr.Row(equal_height=True):
        seed = gr.Number(value, label=label or t("w.seed"), precision=0, minimum=-1, maximum=MAX_SEED,
                         elem_id=elem_id, info=t("w.seed_info"), scale=4)  # fmt: skip
        dice = gr.Button("🎲", elem_id=f"{elem_id}-random", scale=0, min_width=48)
        if last is not None:
            reuse = gr.Button("♻️", elem_id=f"{elem_id}-reuse", scale=0, min_width=48)
            reuse.click(lambda s: gr.skip() if s is None else s, last, seed, api_visibility="private", queue=False)
    dice.click(random_seed, None, seed, api_visibility="private", queue=False)
    return seed


def image_editor(elem_id: str, label: I18nData, brush: gr.Brush, value: Any = None) -> gr.ImageEditor:
    """An ImageEditor (upload, paste or draw; unreadable uploads answered by ``gr.Error``) and the example images
    under it. Its value reaches handlers as {"background", "layers", "composite"} of RGBA PIL images."""
    editor = checked_upload(
        gr.ImageEditor(
            value=value, label=label, type="pil", image_mode="RGBA", sources=["upload", "clipboard"],
            canvas_size=CANVAS, height=340, elem_id=elem_id, brush=brush, layers=False, transforms=(),
        )
    )  # fmt: skip
    if example_paths():
        gr.Examples(example_paths(), inputs=editor, label=t("w.examples"), examples_per_page=12)
    return editor
