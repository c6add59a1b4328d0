"""The whole app: a model picker over five tabs, or a message page when there is no model to serve."""

from __future__ import annotations

import os

import gradio as gr

from ldm_core import LatentDiffusionPipeline

from . import edit, event_loop, generate, inpaint, interpolate, learn, lesson, served_files, sessions
from .components import check_inputs
from .i18n import I18N, compose, say, t
from .registry import ModelRegistry
from .widgets import ModelBindings

TITLE = "LDM Explorer"
CSS = """
.pixelated img { image-rendering: pixelated; }
.pixelated .image-frame img { object-fit: contain; }  /* scale the 28 px images up, not only down */
[id$="-info"] pre, [id$="-info"] code { white-space: pre-wrap !important; }  /* settings wrap, no scrolling */
"""
THEME = gr.themes.Soft()  # built in: its fonts ship with gradio, so the page needs no font CDN
# max_threads: each request waiting in the batcher holds a worker thread, so a class needs more than Gradio's 40.
LAUNCH_KWARGS = {"theme": THEME, "css": CSS, "max_file_size": "5mb", "ssr_mode": False, "footer_links": ["api"],
                 "max_threads": 300, "i18n": I18N, "state_session_capacity": sessions.SESSION_CAPACITY}  # fmt: skip
# Up to 128 requests run at once (their sampling is merged by the registry's batcher, which bounds the images in
# memory); up to 512 more wait in Gradio's queue, so a class of 50 is never refused.
QUEUE_KWARGS = {"default_concurrency_limit": 128, "max_size": 512}
# Gradio keeps every served picture (previews, grids, gallery PNGs, uploads) in its cache folder; without this it
# never deletes them while the app runs (measured: 0.67 MB per 100 Generate requests). Every 5 minutes, files made
# more than 15 minutes ago go, so the folder holds at most about 20 minutes of requests.
DELETE_CACHE = (300, 900)  # (every frequency_s, delete files older than age_s)


def build_demo(model_dirs: list[str | os.PathLike]) -> gr.Blocks:
    """The app for these model folders (each loaded once), queued; a message page if none of them loads."""
    registry = ModelRegistry(model_dirs)
    served_files.install()  # pictures written whole: the same image for many students at once (served_files.py)
    sessions.install()  # a new session builds no config of the page's blocks up front (sessions.py)
    event_loop.cache_signatures()  # each block class's __init__ signature computed once, not per config (event_loop.py)
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        if not len(registry):
            _message_page(model_dirs, registry.errors)
        else:
            demo.bindings = _workbench(demo, registry)  # for tests: the model-dependent widgets and their updates
    check_inputs(demo)  # a bad number or upload gets a message that says what is allowed
    demo.registry = registry  # for tests and scripts: the loaded pipelines
    demo.queue(**QUEUE_KWARGS)
    event_loop.tune_queue(demo)  # Gradio's queue polls every 20 / 50 ms, not 1 / 10 ms (event_loop.py)
    return demo


def _message_page(model_dirs: list[str | os.PathLike], errors: list[str]) -> None:
    def page(lang: str) -> str:
        why = "\n".join(f"- `{e}`" for e in errors) if errors else say("app.no_model_none", lang)
        return say("app.no_model", lang, title=TITLE, n=len(model_dirs), why=why)

    gr.Markdown(compose("app.no_model.page", page), elem_id="no-model")


def model_note(pipe: LatentDiffusionPipeline, lang: str | None = None) -> str:
    """One line on the picked model (what it makes, its latent), and the credit its training images ask for, in
    ``lang`` (default: the request's)."""
    c, h, w = pipe.latent_shape
    colour = say("app.rgb" if pipe.image_channels == 3 else "app.gray", lang)
    size = pipe.image_size
    note = say("app.model_note", lang, name=pipe.extra_config.get("display_name") or pipe.name, size=size,
               colour=colour, n_img=f"{pipe.image_channels * size * size:,}", c=c, h=h, w=w, n_lat=f"{c * h * w:,}",
               k=len(pipe.class_names))  # fmt: skip
    lo, hi = pipe.guidance_interval
    if (lo, hi) != (0, pipe.num_train_timesteps):
        note += say("app.interval", lang, lo=lo, hi=hi - 1, T=pipe.num_train_timesteps - 1)
    attribution = pipe.extra_config.get("attribution")
    return f"{note}\n\n{attribution}" if attribution else note


def _workbench(demo: gr.Blocks, registry: ModelRegistry) -> ModelBindings:
    bindings = ModelBindings()
    with gr.Row(equal_height=True):
        gr.Markdown(t("app.intro"))
        model = gr.Dropdown(registry.names, value=registry.default, label=t("app.model"), elem_id="model", scale=0,
                            min_width=220)  # fmt: skip
    first = registry.get(registry.default)
    bindings.add(gr.Markdown(compose("app.model_note.first", lambda lang: model_note(first, lang)), elem_id="model-note"),
                 lambda p: {"value": model_note(p)})  # fmt: skip
    panel = lesson.build_panel(bindings)  # above the tabs: the step stays in view while its tab opens below
    with gr.Tabs(elem_id="tabs") as tabs:
        with gr.Tab(t("tab.generate"), id="generate"):
            generate.build(registry, model, bindings)
        with gr.Tab(t("tab.interpolate"), id="interpolate"):
            interpolate.build(registry, model, bindings)
        with gr.Tab(t("tab.edit"), id="edit"):
            edit.build(registry, model, bindings)
        with gr.Tab(t("tab.inpaint"), id="inpaint"):
            inpaint.build(registry, model, bindings)
        with gr.Tab(t("tab.learn"), id="learn") as learn_tab:
            learn_ctx = learn.build(registry, model, bindings, tab=learn_tab)
    bindings.wire(model, registry)
    lesson.wire(panel, demo, registry, model, tabs, bindings, learn_ctx)
    return bindings
