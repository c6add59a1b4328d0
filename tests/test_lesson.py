"""The lesson (demo/lesson.py): every step's show me lands on its tab or Learn section with presets the page accepts,
back and next stay in range, a missing model is said, a model switch keeps the presets; docs match the app."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from app_fixtures import CLOTHES, app, app_model_dirs  # noqa: F401
from PIL import Image

from demo import lesson
from demo.i18n import ZH

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _show_fn(app):  # noqa: F811
    """The show-me event of the built app."""
    button = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "lesson-show")
    return next(f for f in app.fns.values() if any(t[0] == button._id for t in f.targets))


def _show(app):  # noqa: F811
    """The show-me handler of the built app: (step, current model) -> {component: update}."""
    return _show_fn(app).fn


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
    if step.section:  # closed by show me, opened by the event after it: the opening computes the section
        accordion = ids[f"learn-sec-{step.section}"]
        assert out[accordion].open is False
        assert _then(app, _show_fn(app)).fn(k)[accordion].open is True
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


def _then(app, fn):  # noqa: F811
    """The event that runs after ``fn`` (its ``.then``)."""
    return next(f for f in app.fns.values() if f.trigger_after == fn._id)


def _page_after_show(app, k, current):  # noqa: F811
    """Every widget's value on the page after show me on step ``k`` while ``current`` is picked (the layout's
    values, then the show me's updates on top); and those updates."""
    out = _show(app)(k, current)
    values = {b: getattr(b, "value", None) for b in app.blocks.values()}
    values[_by_id(app)["model"]] = current
    values[next(b for b in app.blocks.values() if isinstance(b, gr.BrowserState))] = k  # the step, kept in the browser
    values.update({c: _value(u) for c, u in out.items() if not isinstance(u, gr.Tabs)})
    return values, out


def test_on_another_model_show_me_picks_the_steps_model_with_its_classes_and_the_presets(app):  # noqa: F811
    ids = _by_id(app)
    k = [s.key for s in lesson.STEPS].index("generate")
    values, out = _page_after_show(app, k, CLOTHES)
    assert _value(out[ids["model"]]) == "MNIST digits" and out[ids["lesson-note"]] == ""
    tabs = next(b for b in app.blocks.values() if isinstance(b, gr.Tabs))
    assert out[tabs].selected == "generate"
    digits = [*(str(i) for i in range(10)), "unconditional"]
    gen_class = out[ids["gen-class"]]  # the new model's classes, and the step's class
    assert [v for _, v in gen_class["choices"]] == digits and gen_class["value"] == "3"
    assert [values[ids[i]] for i in ("gen-seed", "gen-steps", "gen-guidance", "gen-sampler", "gen-batch")] == [
        42, 25, 1.4, "ddim", 4]  # fmt: skip
    # a model-dependent widget the step does not preset follows the new model, as on a user's pick
    assert [v for _, v in out[ids["var-class"]]["choices"]] == digits and out[ids["var-class"]]["value"] == "0"
    assert out[ids["learn-source"]]["value"] == lesson_sources(app, "MNIST digits")[0]


def test_nothing_resets_the_presets_after_show_me_sets_the_model(app):  # noqa: F811
    """The model picker's change (which show me's setting of it fires in the browser) runs no handler that writes
    a widget some step presets: the model-dependent updates run on the user's input only."""
    ids = _by_id(app)
    model = ids["model"]
    preset = {ids[i]._id for s in lesson.STEPS for i in s.presets}
    on_change = [f for f in app.fns.values() if (model._id, "change") in f.targets]
    written = {o._id for f in on_change for o in f.outputs} & preset
    assert written == set(), [b.elem_id for b in app.blocks.values() if b._id in written]
    on_input = [f for f in app.fns.values() if (model._id, "input") in f.targets and
                {ids["gen-class"]._id, ids["learn-class"]._id} <= {o._id for o in f.outputs}]  # fmt: skip
    assert len(on_input) == 1  # the model-dependent updates (the Learn sections also recompute on the user's pick)
    # and the user's pick sends every model-dependent widget the picked model's values
    sent = dict(zip(on_input[0].outputs, on_input[0].fn("MNIST digits"), strict=True))
    assert sent[ids["gen-class"]]["value"] == "0" and sent[ids["gen-guidance"]]["value"] == 2.0  # the tiny default
    # the sampler menus start at the first model's sampler and follow the pick
    assert [ids[f"{tab}-sampler"].value for tab in ("gen", "interp", "edit", "inpaint")] == ["dpmpp_2m"] * 4
    assert [sent[ids[f"{tab}-sampler"]]["value"] for tab in ("gen", "interp", "edit", "inpaint")] == ["ddim"] * 4
    back = dict(zip(on_input[0].outputs, on_input[0].fn(CLOTHES), strict=True))
    assert back[ids["gen-sampler"]]["value"] == "dpmpp_2m"


@pytest.mark.parametrize("key", ["reverse", "chapter", "guidance"])
def test_show_me_computes_learn_sections_4_to_6_at_the_presets(app, key):  # noqa: F811
    """After show me, the section's opening computes it on the widgets show me set (also when it had to switch
    the model first): its pictures and note arrive without a click on the section's Run button."""
    k = [s.key for s in lesson.STEPS].index(key)
    for current in ("MNIST digits", CLOTHES):
        values, _ = _page_after_show(app, k, current)
        out = {}
        for f in _opening(app, k):  # what the section's opening (the event after show me) runs, on the page
            result = f.fn(*(values[c] for c in f.inputs))
            out |= dict(zip(f.outputs, result if isinstance(result, tuple) else (result,), strict=True))
        images = {c.elem_id: v for c, v in out.items() if isinstance(v, Image.Image)}
        notes = {c.elem_id: v for c, v in out.items() if isinstance(c, gr.Markdown)}
        if key == "reverse":
            assert set(images) >= {"learn-rev-a-xt", "learn-rev-a-x0", "learn-rev-b-x0"}
            assert "step **20 of 20**" in notes["learn-rev-note"]
        if key == "chapter":
            assert len(images) == 4 and {"learn-ch-ddpm", "learn-ch-ddim"} <= set(images), set(images)
            assert "20 steps" in notes["learn-ch-note"]
        if key == "guidance":
            assert set(images) >= {"learn-gd-row", "learn-gd-diff"}
            assert "step 10 of 20" in notes["learn-gd-note"] and "seed 0" in notes["learn-gd-note"]
        assert all(im.size[0] >= 28 and np.asarray(im).std() > 0 for im in images.values())  # drawn, not blank


def _opening(app, k):  # noqa: F811
    """The events the opening of step ``k``'s Learn section runs (its accordion's expand)."""
    opened = set(_then(app, _show_fn(app)).fn(k))
    return [f for f in app.fns.values() if any((a._id, "expand") in f.targets for a in opened)]


def test_show_me_on_a_tab_step_opens_and_computes_nothing(app):  # noqa: F811
    k = [s.key for s in lesson.STEPS].index("generate")
    assert _then(app, _show_fn(app)).fn(k) == {}


def _fired_by(app, component_ids, events=("change",)):  # noqa: F811
    """The events that a programmatic update of these components fires in the page (its ``change``)."""
    return [f for f in app.fns.values() if any(t in {(i, e) for i in component_ids for e in events} for t in f.targets)]


def test_show_me_computes_each_section_once_and_the_page_settles(app):  # noqa: F811
    """What show me and the event after it write fires no section computation through a ``change`` (the Learn
    pickers listen to the user's input): only the opening of the step's section computes it, one event per handler.
    And no chain of changes loops: no handler a ``change`` runs writes, through further changes, what fired it."""
    show_fn = _show_fn(app)
    opener = _then(app, show_fn)
    written = {o._id for o in (*show_fn.outputs, *opener.outputs)}
    assert [f.api_name for f in _fired_by(app, written) if f.api_name and f.api_name.startswith("learn_")] == []
    for k, step in enumerate(lesson.STEPS):
        if step.section:
            opening = _opening(app, k)
            assert opening, step.key
            assert len({f._id for f in opening}) == len(opening)  # each handler once
    # the change graph: component -> (its change) -> handler -> (writes) -> component; no cycle anywhere
    edges = {}
    for f in app.fns.values():
        for block_id, event in f.targets:
            if event == "change":
                edges.setdefault(block_id, set()).update(o._id for o in f.outputs)

    def reaches(start, goal, seen):
        for nxt in edges.get(start, ()):
            if nxt == goal or (nxt not in seen and (seen.add(nxt) or reaches(nxt, goal, seen))):
                return True
        return False

    looping = [app.blocks[b].elem_id for b in edges if reaches(b, b, set())]
    assert looping == [], looping


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


def test_the_pages_follow_the_stored_step_when_the_page_reads_it(app):  # noqa: F811
    """The stored step arrives when the folded lesson panel first opens (after the page's load): the pages follow
    the step's change, so a reload, or another browser language on the same storage, opens at the same step."""
    state = next(b for b in app.blocks.values() if isinstance(b, gr.BrowserState))
    on_change = [f for f in app.fns.values() if (state._id, "change") in f.targets]
    assert len(on_change) == 1 and on_change[0].queue is False
    pages = on_change[0].fn(4)
    assert [p.visible for p in pages] == [i == 4 for i in range(len(lesson.STEPS))]
