"""The lesson (demo/lesson.py): every step's show me lands on its tab or Learn section with presets the page accepts,
back and next stay in range, a missing model is said, a model switch keeps the presets; docs match the app."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from app_fixtures import CLOTHES, app, app_model_dirs  # noqa: F401
from PIL import Image

from demo import lesson
from demo.i18n import ZH

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _show(app):  # noqa: F811
    """The show-me handler of the built app: (step, current model) -> {component: update}."""
    button = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "lesson-show")
    fn = next(f for f in app.fns.values() if any(t[0] == button._id for t in f.targets))
    return fn.fn


def _by_id(app) -> dict:  # noqa: F811
    return {b.elem_id: b for b in app.blocks.values() if getattr(b, "elem_id", None)}


def _value(update):
    return update.get("value") if isinstance(update, dict) and update.get("__type__") == "update" else update


@pytest.mark.parametrize("k", range(len(lesson.STEPS)))
def test_every_step_opens_its_tab_with_presets_the_widgets_accept(app, k):  # noqa: F811
    step, ids = lesson.STEPS[k], _by_id(app)
    mnist = lesson.model_for(app.registry, step)
    assert mnist == "MNIST digits"
    out = _show(app)(k, mnist)
    tabs = next(b for b in app.blocks.values() if isinstance(b, gr.Tabs))
    assert out[tabs].selected == step.tab and out[ids["lesson-note"]] == ""
    assert ids["model"] not in out  # already the step's model: not switched
    for elem_id, preset in step.presets.items():
        block, value = ids[elem_id], _value(out[ids[elem_id]])
        assert callable(preset) or value == preset, (elem_id, value)
        if isinstance(block, (gr.Dropdown, gr.Radio)):
            choices = [v for _, v in block.choices]
            if elem_id.endswith("class") or elem_id.endswith("class-b"):
                choices = [*app.registry.get(mnist).class_names, "unconditional"]
            if elem_id == "learn-source":
                choices = lesson_sources(app, mnist)
            assert value in choices, (elem_id, value, choices)
        elif isinstance(block, (gr.Slider, gr.Number)):
            assert block.minimum <= value <= block.maximum, (elem_id, value)
        elif isinstance(block, gr.ImageEditor):
            assert isinstance(value["background"], Image.Image)
    if step.section:
        accordion = ids[f"learn-sec-{step.section}"]
        assert out[accordion].open is True
        computes = [f.api_name for f in app.fns.values() if (accordion._id, "expand") in f.targets]
        assert any(name and name.startswith("learn_") for name in computes), computes  # opening computes it


def lesson_sources(app, name):  # noqa: F811
    from demo.learn.sources import source_choices

    return source_choices(app.registry.get(name))


def test_inpaint_step_paints_a_mask_the_handler_reads(app):  # noqa: F811
    from demo.common import editor_mask

    value = dict(lesson.masked("digit-7"))
    image, mask = editor_mask(value)
    assert mask.shape == image.size[::-1] and 0.4 < mask.mean() < 0.6  # the right half


def test_on_another_model_show_me_asks_for_the_steps_model_and_changes_nothing(app):  # noqa: F811
    ids = _by_id(app)
    k = [s.key for s in lesson.STEPS].index("generate")
    out = _show(app)(k, CLOTHES)
    assert list(out) == [ids["lesson-note"]] and out[ids["lesson-note"]].key == "lesson.pick.mnist"
    assert "MNIST digits" in ZH["lesson.pick.mnist"]


def test_a_step_whose_model_is_missing_says_so(app, monkeypatch):  # noqa: F811
    steps = [lesson.Step("vae", "learn", {}, "vae", model="no-such-model"), *lesson.STEPS[1:]]
    monkeypatch.setattr(lesson, "STEPS", steps)
    out = _show(app)(0, "MNIST digits")
    assert list(out) == [_by_id(app)["lesson-note"]] and out[_by_id(app)["lesson-note"]].key == "lesson.missing"


def test_back_and_next_stay_in_range_and_show_one_page():
    n = len(lesson.STEPS)
    assert lesson.go(0, -1)[0] == 0 and lesson.go(n - 1, +1)[0] == n - 1 and lesson.go(None, +1)[0] == 1
    k, *pages, note = lesson.go(3, +1)
    assert k == 4 and note == "" and [p.visible for p in pages] == [i == 4 for i in range(n)]


def test_the_lesson_follows_the_chapters_order_and_has_both_languages():
    keys = [s.key for s in lesson.STEPS]
    assert keys == ["vae", "forward", "denoiser", "reverse", "chapter", "guidance", "replay", "latent", "generate",
                    "interpolate", "edit", "inpaint"]  # fmt: skip
    assert all(f"lesson.{k}.question" in ZH for k in keys)
    assert "逆扩散过程" in lesson.lesson_markdown("zh") and "Question for the class" in lesson.lesson_markdown("en")


def test_docs_are_the_lesson_the_app_shows():
    assert (DOCS / "lesson.md").read_text() == lesson.lesson_markdown("en"), "rerun: python -m demo.lesson"
    assert (DOCS / "lesson.zh.md").read_text() == lesson.lesson_markdown("zh"), "rerun: python -m demo.lesson"
