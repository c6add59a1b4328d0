"""The Learn tab: the chapter (../shared/seed, "详解潜在扩散模型架构") taught live, stage by stage, one module per
section, every view computed by the selected model through ``ldm_core.teaching``.

0 overview · 1 VAE · 2 forward process · 3 denoiser objective · 4 reverse process · 5 the chapter's sampler ·
6 guidance · 7 training stages · 8 why latent · 9 the chapter's formulas next to ldm_core's
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import gradio as gr

from ..common import MAX_SEED
from ..components import checked_upload
from ..i18n import choice_pairs, t
from ..registry import ModelRegistry
from ..widgets import ModelBindings, class_picker
from . import chapter, denoiser, formulas, forward, guidance, latent, overview, replay, reverse, vae
from .sources import source_choices

LATEX = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]
SECTIONS = [  # (key, module), in the chapter's order; each titled by "learn.sec.<key>" in demo/i18n.py
    ("vae", vae), ("forward", forward), ("denoiser", denoiser), ("reverse", reverse), ("chapter", chapter),
    ("guidance", guidance), ("replay", replay), ("latent", latent), ("formulas", formulas),
]  # fmt: skip


@dataclass
class LearnContext:
    """What every section shares: the model picker, the lesson's image, seed and class, and the section openers."""

    registry: ModelRegistry
    bindings: ModelBindings
    model: gr.Dropdown
    source: gr.Dropdown
    upload: gr.Image
    seed: gr.Number
    class_name: gr.Dropdown
    guidance: gr.Slider
    latex: list[dict[str, Any]] = field(default_factory=lambda: LATEX)
    accordions: dict[str, gr.Accordion] = field(default_factory=dict)
    openers: dict[str, list[gr.Button]] = field(default_factory=dict)  # overview boxes that open a section
    # what opening a section computes: (handler, inputs, outputs) per section, which the lesson's show me runs too
    runners: dict[str, list[tuple[Any, list[Any], list[Any]]]] = field(default_factory=dict)

    def bind(self, handler: Any) -> Any:
        return partial(handler, self.registry)

    def on(self, section: str, triggers: list[Any], handler: Any, inputs: list[Any], outputs: Any,
           **kwargs: Any) -> None:  # fmt: skip
        """``gr.on`` the section's openers and ``triggers``, running ``handler`` (bound to the registry); the lesson
        runs the same after its show me opens the section."""
        fn = self.bind(handler)
        gr.on([*self.opens(section), *triggers], fn, inputs, outputs, **kwargs)
        outputs = outputs if isinstance(outputs, list) else [outputs]
        self.runners.setdefault(section, []).append((fn, list(inputs), outputs))

    def opens(self, section: str) -> list[Any]:
        """The events that open a section: its accordion expanding, or a click on its overview box."""
        return [self.accordions[section].expand, *(b.click for b in self.openers.get(section, []))]

    @property
    def source_triggers(self) -> list[Any]:
        """A user's new image or model. The pickers' ``input`` (a user's pick), not ``change``: the lesson's show me
        sets them, and their programmatic change would recompute every section at once, each several times over
        (in Gradio 6.31 an always_last event that lands while it runs re-fires every listener of its trigger, so
        overlapping listeners re-fire each other without end). What show me opens is computed by the opening."""
        return [self.source.input, self.upload.change, self.model.input]


def _warm_up() -> None:
    import matplotlib.figure  # noqa: F401  (about 1 s the first time: paid at start, not by the first plot)


def build(
    registry: ModelRegistry, model: gr.Dropdown, bindings: ModelBindings, tab: gr.Tab | None = None
) -> LearnContext:
    """The tab's widgets and events; returns its context: the sections' accordions by key (opening one computes it)
    and what each computes (``runners``)."""
    threading.Thread(target=_warm_up, name="learn-warm-up", daemon=True).start()
    pipe = registry.get(registry.default)
    gr.Markdown(t("learn.intro"))
    with gr.Row():
        choices = source_choices(pipe)
        source = bindings.add(
            gr.Dropdown(choice_pairs("learn.source.", choices), value=choices[0], label=t("learn.source"),
                        elem_id="learn-source", allow_custom_value=True),
            lambda p: {"choices": choice_pairs("learn.source.", source_choices(p)), "value": source_choices(p)[0]},
        )  # fmt: skip
        upload = checked_upload(gr.Image(label=t("learn.upload"), type="pil", sources=["upload"], height=120,
                                         elem_id="learn-upload"))  # fmt: skip
        seed = gr.Number(0, label=t("learn.seed"), precision=0, minimum=0, maximum=MAX_SEED, elem_id="learn-seed")
        class_name = class_picker(bindings, pipe, "learn-class", label=t("learn.class"))
        guidance_s = bindings.add(
            gr.Slider(0.0, 20.0, value=pipe.default_guidance_scale, step=0.1, label=t("learn.guidance"),
                      elem_id="learn-guidance"),
            lambda p: {"value": p.default_guidance_scale},
        )  # fmt: skip
    ctx = LearnContext(registry, bindings, model, source, upload, seed, class_name, guidance_s)
    with gr.Group():
        gr.Markdown(t("learn.overview"))
        overview.build(registry, ctx)
    modules = []
    for key, module in SECTIONS:
        with gr.Accordion(t(f"learn.sec.{key}"), open=False, elem_id=f"learn-sec-{key}") as acc:
            ctx.accordions[key] = acc
            modules.append((acc, module))
    for key, module in SECTIONS:
        with ctx.accordions[key]:
            module.build(registry, ctx)
    for key, buttons in ctx.openers.items():
        for b in buttons:
            b.click(lambda: gr.Accordion(open=True), None, ctx.accordions[key], api_visibility="private", queue=False)
    return ctx
