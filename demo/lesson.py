"""The lesson (teacher mode): twelve numbered steps in the chapter's order, each a short text and one question for the
class, with a "show me" button that opens the right tab or Learn section with its settings filled in; back and next.

The current step lives in the browser (``gr.BrowserState``): it survives a model switch and a reload (a change of
the browser's language included). docs/lesson.md and docs/lesson.zh.md are ``lesson_markdown("en" / "zh")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from .example_images import EXAMPLES_DIR
from .i18n import compose, t, text
from .registry import ModelRegistry
from .widgets import ModelBindings


def example(name: str) -> dict[str, Any]:
    """An ImageEditor value: the drawn example ``name`` (demo/examples/<name>.png) with nothing painted on it."""
    image = Image.open(EXAMPLES_DIR / f"{name}.png").convert("RGB")
    return {"background": image, "layers": [], "composite": image}


def masked(name: str) -> dict[str, Any]:
    """An ImageEditor value: the example ``name`` with its right half painted (the inpainting mask)."""
    image = Image.open(EXAMPLES_DIR / f"{name}.png").convert("RGB")
    W, H = image.size
    layer = np.zeros((H, W, 4), np.uint8)  # [H, W, RGBA]
    layer[:, W // 2 :] = (255, 42, 109, 255)
    return {"background": image, "layers": [Image.fromarray(layer, "RGBA")], "composite": image}


@dataclass(frozen=True)
class Step:
    key: str  # its texts: "lesson.<key>.title", ".text" and ".question" in demo/i18n.py
    tab: str  # the tab it opens (a tab id of demo/layout.py)
    presets: dict[str, Any] = field(default_factory=dict)  # elem_id -> value (a callable is called when shown)
    section: str | None = None  # the Learn section it opens
    model: str = "mnist"  # the model folder it is written for (its classes, its examples)


# The Learn tab's image and class pickers keep the model's first choices (a show me that set them, with the
# section's accordion, ran their change events in a loop in Chromium with Gradio 6.31; not tracked down)
LEARN = {"learn-seed": 0}
STEPS = [
    Step("vae", "learn", {**LEARN, "learn-vae-value": 3.0}, "vae"),
    Step("forward", "learn", {**LEARN, "learn-t": 250}, "forward"),
    Step("denoiser", "learn", {**LEARN, "learn-den-t": 300}, "denoiser"),
    Step("reverse", "learn", {**LEARN, "learn-rev-steps": 20, "learn-rev-a": "ddim", "learn-rev-b": "ddpm"}, "reverse"),
    Step("chapter", "learn", {**LEARN, "learn-ch-steps": 20}, "chapter"),
    Step("guidance", "learn", {**LEARN, "learn-gd-steps": 20, "learn-gd-step": 10}, "guidance"),
    Step("replay", "learn", {}, "replay"),
    Step("latent", "learn", LEARN, "latent"),
    Step("generate", "generate", {"gen-class": "3", "gen-seed": 42, "gen-steps": 25, "gen-sampler": "ddim",
                                  "gen-eta": 0.0, "gen-batch": 4}),
    Step("interpolate", "interpolate", {"interp-class": "1", "interp-class-b": "7", "interp-seed-a": 0,
                                        "interp-seed-b": 1, "interp-method": "slerp", "interp-frames": 8,
                                        "interp-steps": 20, "interp-position": 0.5}),
    Step("edit", "edit", {"edit-image": partial(example, "digit-3"), "edit-class": "8", "edit-strength": 0.6,
                          "edit-method": "SDEdit (fresh noise)", "edit-steps": 25, "edit-seed": 42}),
    Step("inpaint", "inpaint", {"inpaint-image": partial(masked, "digit-7"), "inpaint-class": "1",
                                "inpaint-method": "Latent blending", "inpaint-blur": 2, "inpaint-steps": 25,
                                "inpaint-seed": 42}),
]  # fmt: skip


def step_markdown(k: int, lang: str) -> str:
    """Step ``k`` (0-based) as markdown in ``lang``: number, title, what it shows, the question."""
    key = STEPS[k].key
    return (f"### {k + 1} / {len(STEPS)} · {text(f'lesson.{key}.title', lang)}\n\n{text(f'lesson.{key}.text', lang)}"
            f"\n\n**{text('lesson.question', lang)}** {text(f'lesson.{key}.question', lang)}")  # fmt: skip


def lesson_markdown(lang: str) -> str:
    """The whole lesson as one document (docs/lesson.md in English, docs/lesson.zh.md in Chinese)."""
    steps = "\n\n".join(step_markdown(k, lang).replace("### ", "## ", 1) + "\n\n" + _opens(s, lang)
                          for k, s in enumerate(STEPS))  # fmt: skip
    return f"# {text('lesson.title', lang)}\n\n{text('lesson.intro', lang)}\n\n{steps}\n"


def _opens(step: Step, lang: str) -> str:
    """Where a step's show me goes, and the settings it fills in (by the widgets' elem_ids)."""
    where = text(f"tab.{step.tab}", lang) + (f" → {text(f'learn.sec.{step.section}', lang)}" if step.section else "")

    def shown(v: Any) -> str:  # an image preset is a partial(example, "digit-3"): say which
        return f"{v.func.__name__}({v.args[0]!r})" if isinstance(v, partial) else repr(v)

    settings = ", ".join(f"`{k}` = {shown(v)}" for k, v in step.presets.items())
    return f"*{text('lesson.opens', lang)}:* **{where}** (`{step.model}`)" + (
        f"; {text('lesson.with', lang)} {settings}" if settings else ""
    )


def model_for(registry: ModelRegistry, step: Step) -> str | None:
    """The registry's name of the model folder the step is written for, or None if it is not served."""
    return next((n for n in registry.names if Path(registry.folders[n]).name == step.model), None)


@dataclass
class LessonPanel:
    """The panel's widgets."""

    step: gr.BrowserState
    pages: list[gr.Column]
    show: gr.Button
    back: gr.Button
    next: gr.Button
    note: gr.Markdown


def build_panel(bindings: ModelBindings) -> LessonPanel:
    """The lesson above the tabs (folded): one page a step, visible one at a time."""
    with gr.Accordion(t("lesson.title"), open=False, elem_id="lesson"):
        gr.Markdown(t("lesson.intro"))
        step = gr.BrowserState(0, storage_key="ldm-explorer-lesson-step")
        pages = []
        for k in range(len(STEPS)):
            with gr.Column(visible=k == 0, elem_id=f"lesson-step-{k + 1}") as page:
                gr.Markdown(compose(f"lesson.md.{k}", lambda lang, k=k: step_markdown(k, lang)))
            pages.append(page)
        note = gr.Markdown(elem_id="lesson-note")
        with gr.Row():
            back = gr.Button(t("lesson.back"), elem_id="lesson-back", scale=0, min_width=110)
            show = gr.Button(t("lesson.show"), variant="primary", elem_id="lesson-show", scale=0, min_width=140)
            nxt = gr.Button(t("lesson.next"), elem_id="lesson-next", scale=0, min_width=110)
    return LessonPanel(step, pages, show, back, nxt, note)


def _pages(k: int) -> list[Any]:
    return [gr.Column(visible=i == k) for i in range(len(STEPS))]


def go(k: Any, move: int) -> list[Any]:
    """-> (the step after moving by ``move``, kept in 0..N-1, the pages shown, the note cleared)."""
    k = min(max(int(k or 0) + move, 0), len(STEPS) - 1)
    return [k, *_pages(k), ""]


def wire(panel: LessonPanel, demo: gr.Blocks, registry: ModelRegistry, model: gr.Dropdown, tabs: gr.Tabs,
         bindings: ModelBindings, accordions: dict[str, gr.Accordion]) -> None:  # fmt: skip
    """Connect back, next and show me to the built page (widgets found by elem_id)."""
    by_id = {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None)}
    preset_ids = sorted({i for s in STEPS for i in s.presets})
    missing = [i for i in preset_ids if i not in by_id]
    if missing:
        raise ValueError(f"lesson presets name widgets the page does not have: {missing}")
    presets = [by_id[i] for i in preset_ids]
    outputs = list(dict.fromkeys([tabs, panel.note, *presets, *accordions.values()]))

    def show(k: Any, current: str) -> dict[Any, Any]:
        step = STEPS[min(max(int(k or 0), 0), len(STEPS) - 1)]
        name = model_for(registry, step)
        if name is None:
            return {panel.note: t("lesson.missing")}
        if name != current:  # the teacher picks it: a model set by a handler makes Gradio 6.31 fire its change
            return {panel.note: t(f"lesson.pick.{step.model}")}  # events in a loop (seen in Chromium)
        out: dict[Any, Any] = {panel.note: "", tabs: gr.Tabs(selected=step.tab)}
        out |= {by_id[i]: v() if callable(v) else v for i, v in step.presets.items()}
        if step.section:  # opened: sections 1-3 follow the model and image already; the others draw on their
            # Run button (a programmatic open did not fire the accordion's expand in Chromium: not settled)
            out[accordions[step.section]] = gr.Accordion(open=True)
        return out

    panel.back.click(lambda k: go(k, -1), panel.step, [panel.step, *panel.pages, panel.note],
                     api_visibility="private", queue=False)  # fmt: skip
    panel.next.click(lambda k: go(k, +1), panel.step, [panel.step, *panel.pages, panel.note],
                     api_visibility="private", queue=False)  # fmt: skip
    panel.show.click(show, [panel.step, model], outputs, api_visibility="private", queue=False)
    demo.load(lambda k: go(k, 0)[1:-1], panel.step, panel.pages, api_visibility="private", queue=False)


if __name__ == "__main__":  # python -m demo.lesson: write docs/lesson.md and docs/lesson.zh.md
    docs = Path(__file__).resolve().parent.parent / "docs"
    (docs / "lesson.md").write_text(lesson_markdown("en"))
    (docs / "lesson.zh.md").write_text(lesson_markdown("zh"))
