"""The lesson (teacher mode): twelve numbered steps in the chapter's order, each a short text and one question for the
class, with a "show me" button that opens the right tab or Learn section with its settings filled in; back and next.

The current step lives in the browser (``gr.BrowserState``): it survives a model switch and a reload (a change of
the browser's language included). docs/lesson.md and docs/lesson.zh.md are ``lesson_markdown("en" / "zh")``.
"""

from __future__ import annotations

import json
import logging
import threading
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

log = logging.getLogger(__name__)
WARM = ("reverse", "chapter", "guidance")  # the sections whose show me runs a sampler: computed once at start


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


# Every setting a step's page uses is preset, so nothing depends on what the class touched before. Guidance is
# MNIST's own default (its config's default_guidance_scale); the samplers are the tabs' defaults.
G = 1.4
LEARN = {"learn-seed": 0, "learn-class": "3", "learn-guidance": G}
SAMPLING = {"sampler": "ddim", "eta": 0.0, "guidance": G}  # "<tab>-sampler" ... of a tab's sampler controls


def sampling(tab: str, steps: int) -> dict[str, Any]:
    """A tab's sampler controls (steps, sampler, eta, guidance) preset."""
    return {f"{tab}-steps": steps, **{f"{tab}-{k}": v for k, v in SAMPLING.items()}}


STEPS = [
    Step("vae", "learn", {**LEARN, "learn-source": "digit-3", "learn-vae-ch": 0, "learn-vae-row": 3, "learn-vae-col": 3,
                          "learn-vae-value": 3.0}, "vae"),
    Step("forward", "learn", {**LEARN, "learn-source": "digit-3", "learn-t": 250}, "forward"),
    Step("denoiser", "learn", {**LEARN, "learn-source": "digit-3", "learn-den-t": 300}, "denoiser"),
    Step("reverse", "learn", {**LEARN, "learn-rev-steps": 20, "learn-rev-a": "ddim", "learn-rev-b": "ddpm"}, "reverse"),
    Step("chapter", "learn", {**LEARN, "learn-ch-steps": 20}, "chapter"),
    Step("guidance", "learn", {**LEARN, "learn-gd-steps": 20, "learn-gd-step": 10}, "guidance"),
    Step("replay", "learn", {}, "replay"),
    Step("latent", "learn", LEARN, "latent"),
    Step("generate", "generate", {"gen-class": "3", "gen-seed": 42, **sampling("gen", 25), "gen-batch": 4}),
    Step("interpolate", "interpolate", {"interp-class": "1", "interp-class-b": "7", "interp-seed-a": 0,
                                        "interp-seed-b": 1, "interp-method": "slerp", "interp-frames": 8,
                                        **sampling("interp", 20), "interp-position": 0.5}),
    Step("edit", "edit", {"edit-image": partial(example, "digit-3"), "edit-class": "8", "edit-strength": 0.6,
                          "edit-method": "SDEdit (fresh noise)", **sampling("edit", 25), "edit-seed": 42}),
    Step("inpaint", "inpaint", {"inpaint-image": partial(masked, "digit-7"), "inpaint-class": "1",
                                "inpaint-method": "Latent blending", "inpaint-blur": 2, "inpaint-jump": 5,
                                "inpaint-jump-n": 3, **sampling("inpaint", 25), "inpaint-seed": 42}),
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


def step_at(k: Any) -> Step:
    """The step at index ``k`` (what the BrowserState holds), kept in range; a missing or bad value is step 1."""
    try:
        i = int(k or 0)
    except (TypeError, ValueError):
        i = 0
    return STEPS[min(max(i, 0), len(STEPS) - 1)]


def _with_value(update: Any, value: Any) -> dict[str, Any]:
    """``update`` (a ``gr.update`` dict, or nothing) with its value set to ``value``."""
    return {**update, "value": value} if isinstance(update, dict) and update.get("__type__") == "update" else \
        gr.update(value=value)  # fmt: skip


def show_updates(step: Step, current: str, registry: ModelRegistry, widgets: dict[str, Any], model: Any,
                 tabs: Any, note: Any, bindings: ModelBindings, accordions: dict[str, Any]) -> dict[Any, Any]:  # fmt: skip
    """{component: update} of a show me on ``step`` while model ``current`` is picked.

    On another model it picks the step's model itself and sends what a model change sends to every
    model-dependent widget (``ModelBindings.updates``): the picker's change listener that does this on a user's
    pick listens to the user's input only, so setting the picker here runs no second round of updates that would
    reset the presets. The presets go on top (a class picker gets the new model's classes and the preset class)."""
    name = model_for(registry, step)
    if name is None:
        return {note: t("lesson.missing")}
    out: dict[Any, Any] = {note: "", tabs: gr.Tabs(selected=step.tab)}
    if name != current:
        out[model] = gr.update(value=name)
        out |= bindings.updates(registry.get(name))
    for elem_id, preset in step.presets.items():
        widget = widgets[elem_id]
        out[widget] = _with_value(out.get(widget), preset() if callable(preset) else preset)
    if step.section:  # closed here, opened by the event after (``open_section``): its opening computes it, once
        out[accordions[step.section]] = gr.Accordion(open=False)
    return out


def open_section(step: Step, accordions: dict[str, Any]) -> dict[Any, Any]:
    """{accordion: open} of the step's Learn section, which show me has just closed; nothing for a tab step. The page
    fires the accordion's expand (also on an opening it is sent), whose listeners compute the section on the presets
    show me has set: each section once, whether it was open before or not."""
    return {accordions[step.section]: gr.Accordion(open=True)} if step.section else {}


def scroll_js(accordions: dict[str, Any]) -> str:
    """The page's part of opening a step's Learn section: scroll it to the top of the window (it may lie below
    the sections opened before it; its pictures load lazily, so off-screen they would never show); -> the step."""
    ids = [accordions[s.section].elem_id if s.section else None for s in STEPS]
    return f"""(k) => {{
        const ids = {json.dumps(ids)};
        const id = ids[Math.min(Math.max(parseInt(k) || 0, 0), ids.length - 1)];
        const top = () => {{ const el = id && document.getElementById(id); if (el) el.scrollIntoView({{block: "start"}}); }};
        top(); setTimeout(top, 300);
        return k;
    }}"""


def compute_section(step: Step, model: str, registry: ModelRegistry, runners: list[tuple[Any, list, list]],
                    values: dict[Any, Any]) -> dict[Any, Any]:  # fmt: skip
    """{output: value} of what opening ``step``'s Learn section computes, run on the widgets' ``values`` (the
    presets show me sets); nothing for a step that opens no section or when its model is not picked. The warm-up
    runs it at start; in the page the section's opening runs the same handlers."""
    if model != model_for(registry, step):
        return {}
    out: dict[Any, Any] = {}
    for fn, inputs, outputs in runners:
        result = fn(*(values[c] for c in inputs))
        out |= dict(zip(outputs, result if isinstance(result, tuple) else (result,), strict=True))
    return out


def wire(panel: LessonPanel, demo: gr.Blocks, registry: ModelRegistry, model: gr.Dropdown, tabs: gr.Tabs,
         bindings: ModelBindings, learn: Any) -> None:  # fmt: skip
    """Connect back, next and show me to the built page (widgets found by elem_id); ``learn`` is the Learn tab's
    context (its accordions, and what each section computes). Show me sets the step's tab, model and presets at
    once and closes the step's Learn section (queue=False: no model runs); the event after opens it, and its
    opening computes it on the presets. The presets fire no computation themselves: the Learn pickers' listeners
    hear the user's input only (``LearnContext.source_triggers``)."""
    by_id = {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None)}
    preset_ids = sorted({i for s in STEPS for i in s.presets})
    missing = [i for i in preset_ids if i not in by_id]
    if missing:
        raise ValueError(f"lesson presets name widgets the page does not have: {missing}")
    accordions = learn.accordions
    outputs = list(dict.fromkeys([tabs, panel.note, model, *(by_id[i] for i in preset_ids), *accordions.values(),
                                  *(c for c, _ in bindings.items)]))  # fmt: skip
    runners = {s.section: learn.runners.get(s.section, []) for s in STEPS if s.section}
    run_inputs = list(dict.fromkeys([model, *(c for rs in runners.values() for _, ins, _ in rs for c in ins)]))

    def show(k: Any, current: str) -> dict[Any, Any]:
        return show_updates(step_at(k), current, registry, by_id, model, tabs, panel.note, bindings, accordions)

    panel.back.click(lambda k: go(k, -1), panel.step, [panel.step, *panel.pages, panel.note],
                     api_visibility="private", queue=False)  # fmt: skip
    panel.next.click(lambda k: go(k, +1), panel.step, [panel.step, *panel.pages, panel.note],
                     api_visibility="private", queue=False)  # fmt: skip
    panel.show.click(show, [panel.step, model], outputs, api_visibility="private", queue=False).then(
        lambda k: open_section(step_at(k), accordions), panel.step, list(accordions.values()),
        api_visibility="private", queue=False, js=scroll_js(accordions)
    )  # fmt: skip
    # the stored step is read when the lesson's panel first opens (the page mounts what is in a folded accordion
    # then): after the page's load, so the pages follow the step's change, not the load
    panel.step.change(lambda k: go(k, 0)[1:-1], panel.step, panel.pages, api_visibility="private", queue=False)

    def warm_up() -> None:  # the slow sections' first show me then answers from the cache (measured on MNIST, one
        for step in STEPS:  # core: reverse 2.0 s, chapter 1.7 s, guidance 1.0 s cold; 2 ms cached)
            name = model_for(registry, step)
            if step.section not in WARM or name is None:
                continue
            values = {c: getattr(c, "value", None) for c in run_inputs} | {model: name}
            values |= {by_id[i]: v() if callable(v) else v for i, v in step.presets.items()}
            try:
                compute_section(step, name, registry, runners[step.section], values)
            except Exception:  # a warm-up only: the show me will say what is wrong
                log.exception("lesson warm-up of %s failed", step.key)

    # not a daemon: a process that ends during the warm-up waits for it (seconds) instead of killing torch mid-call
    threading.Thread(target=warm_up, name="lesson-warm-up", daemon=False).start()


if __name__ == "__main__":  # python -m demo.lesson: write docs/lesson.md and docs/lesson.zh.md
    docs = Path(__file__).resolve().parent.parent / "docs"
    (docs / "lesson.md").write_text(lesson_markdown("en"))
    (docs / "lesson.zh.md").write_text(lesson_markdown("zh"))
