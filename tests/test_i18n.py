"""The app in English and Simplified Chinese (demo/i18n.py): both tables complete, and nothing a user can see in the
built layout left as a plain English string."""

from __future__ import annotations

import json
import re

import gradio as gr
import pytest
from app_fixtures import CLOTHES, app, app_model_dirs  # noqa: F401
from gradio.i18n import I18nData
from PIL import Image

from demo import LAUNCH_KWARGS
from demo.i18n import EN, ZH, english, text

CJK = re.compile(r"[\u4e00-\u9fff]")
# Markdown whose text the model or a handler computes (rewritten on every model change or slider move): they start
# as the default model's text; the rest of the page is translated
COMPUTED = {"model-note", "edit-steps-run"}
# Pickers whose choices are names, not words: model names, sampler names (ddim, dpmpp_2m, ...), slerp / lerp
NAMED_CHOICES = {"model", "gen-sampler", "interp-sampler", "edit-sampler", "inpaint-sampler", "learn-rev-a",
                 "learn-rev-b", "interp-method"}  # fmt: skip
# Values the same in both languages: names and symbols (DDPM, ε̂ − ε), and the English class names of the table
SAME_IN_BOTH = {"ch.ddpm", "ch.ddim", "den.diff", "gd.diff"}


def _key(value: object) -> str | None:
    """The translation key of a label or value: an ``I18nData``, or the string Markdown and Button keep it as."""
    if isinstance(value, I18nData):
        return value.key
    if isinstance(value, str) and value.startswith("__i18n__"):
        return json.loads(value[len("__i18n__") :])["key"]
    return None


def _words(s: str) -> bool:
    """Whether ``s`` has a letter in it (🎲, ♻️ and → need no translation)."""
    return any(c.isalpha() for c in s)


def test_both_languages_have_the_same_keys_and_no_empty_text():
    assert set(EN) == set(ZH), set(EN) ^ set(ZH)
    assert len(EN) > 200
    assert not [k for k, v in {**EN, **ZH}.items() if not v.strip()]
    untranslated = [k for k in EN if not CJK.search(ZH[k]) and k not in SAME_IN_BOTH]
    assert untranslated == [], f"these Chinese texts have no Chinese in them: {untranslated}"
    assert not [k for k in EN if CJK.search(EN[k])], "Chinese in the English table"


def test_the_chapters_terms_are_used():
    zh = " ".join(ZH.values())
    for term in ("潜在扩散模型", "变分自编码器", "扩散过程", "逆扩散过程", "潜在空间", "去噪"):
        assert term in zh, term


def test_class_names_show_in_both_languages_but_stay_english_values(app):  # noqa: F811
    picker = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "gen-class")
    shown = [(english(d), v) for d, v in picker.choices]
    assert shown[-1] == ("unconditional", "unconditional")
    assert all(isinstance(d, I18nData) for d, _ in picker.choices)
    values = [v for _, v in picker.choices]
    assert values == [*app.registry.get(app.registry.default).class_names, "unconditional"]
    assert ZH["class.T-shirt/top"] == "T 恤/上衣" and ZH["class.3"] == "数字 3" and ZH["class.Flags"] == "旗帜"
    # on a model switch the picker gets that model's classes, still as (translated, English value) pairs
    update = next(u for c, u in app.bindings.items if c is picker)(app.registry.get(CLOTHES))
    assert [(english(d), v) for d, v in update["choices"][:2]] == [
        ("T-shirt/top", "T-shirt/top"),
        ("Trouser", "Trouser"),
    ]
    assert update["value"] == "T-shirt/top"


def _visible_texts(block) -> list[tuple[str, object]]:
    """(what, text) of everything on ``block`` that a user reads."""
    out = []
    for attr in ("label", "info"):
        v = getattr(block, attr, None)
        if v is not None and not (attr == "label" and isinstance(block, (gr.State, gr.Blocks))):
            out.append((attr, v))
    if isinstance(block, (gr.Markdown, gr.Button)):
        out.append(("value", block.value))
    if isinstance(block, (gr.Dropdown, gr.Radio)) and block.elem_id not in NAMED_CHOICES:
        out += [("choice", shown) for shown, _ in block.choices]
    return out


def test_no_visible_string_in_the_layout_is_left_untranslated(app):  # noqa: F811
    plain, keys = [], 0
    for block in app.blocks.values():
        for what, value in _visible_texts(block):
            if (key := _key(value)) is not None:
                keys += 1
                assert key in EN and key in ZH, key
            elif isinstance(value, str) and _words(value):
                if what == "value" and block.elem_id in COMPUTED:
                    continue
                if what == "value" and isinstance(block, gr.Markdown) and not value:
                    continue
                plain.append(f"{type(block).__name__}#{block.elem_id} {what}={value!r}")
    assert plain == [], "\n".join(plain)
    assert keys > 150  # every tab contributes: this is the whole page, not an empty walk


def test_tabs_and_accordions_are_translated(app):  # noqa: F811
    tabs = [b for b in app.blocks.values() if isinstance(b, gr.Tab)]
    assert [english(t.label) for t in tabs] == ["Generate", "Interpolate", "Edit", "Inpaint", "Learn"]
    assert [text(t.label.key, "zh") for t in tabs] == ["生成", "插值", "编辑", "局部重绘", "学习"]
    accordions = [b for b in app.blocks.values() if isinstance(b, gr.Accordion)]
    assert len(accordions) >= 11 and all(isinstance(a.label, I18nData) for a in accordions)  # the lesson's too


def test_launch_gets_the_translations_and_the_page_config_carries_them(app):  # noqa: F811
    i18n = LAUNCH_KWARGS["i18n"]
    assert set(i18n.translations) == {"en", "zh"} and i18n.translations["zh"] is ZH
    config = str(app.get_config_file())
    assert '"key": "tab.generate"' in config.replace("'", '"')  # labels travel as keys, translated by the page


def test_composed_formula_table_is_in_both_languages(app):  # noqa: F811
    assert EN["learn.formulas"].count("chapter: $$") == 7 and ZH["learn.formulas"].count("本章: $$") == 7
    assert "不同之处" in ZH["learn.formulas"] and r"\sqrt{\alpha_t}" in ZH["learn.formulas"]


def test_a_bad_number_names_the_widget_in_english_not_its_key(app):  # noqa: F811
    steps = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "gen-steps")
    with pytest.raises(gr.Error) as e:
        steps.preprocess("abc")
    assert "Steps must be a number from 1 to" in str(e.value) and "__i18n__" not in str(e.value)


# ---------------------------------------------------------------------- what handlers make, in Chinese
ENGLISH_RUN = re.compile(r"[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,}){2,}")  # three English words in a row: a sentence
# formulas, code and quoted values (what a message echoes back: 'no such model') read the same in both languages
LATEX_AND_CODE = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`|'[^']*'", re.S)
WORD = re.compile(r"\b[a-z]{2,}|\b[A-Z][a-z]+")  # an English word (not an acronym such as MSE, nor a symbol)


def _strings(value) -> list[str]:
    """Every text in a handler's result: strings, update dicts, tuples, gallery captions, plot labels."""
    from matplotlib.figure import Figure

    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k in ("value", "label", "info") for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, Figure):
        ax = value.axes[0]
        return [ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), *(x.get_text() for x in ax.get_legend().texts)]
    return []


def _handler_texts(app, lang):  # noqa: F811
    """(what, text) of what the handlers return and raise in ``lang``, at the lesson's settings."""
    from demo import edit, generate, layout
    from demo.common import as_int, editor_mask
    from demo.i18n import language
    from demo.learn import chapter, denoiser, forward, guidance, latent, replay, reverse, vae

    reg, m = app.registry, "MNIST digits"
    calls = {
        "vae": lambda: vae.vae_section(reg, m, "digit-3", None),
        "vae nudge": lambda: vae.nudge(reg, m, "digit-3", None, 0, 3, 3, 3.0),
        "forward": lambda: forward.forward_section(reg, m, "digit-3", None, 250, 0),
        "denoiser": lambda: denoiser.denoiser_section(reg, m, "digit-3", None, 300, 0, "3"),
        "reverse": lambda: reverse.run(reg, m, "3", 0, 20, "ddim", "ddpm", 1.4),
        "reverse jump": lambda: reverse.jump(reg, m, "3", 0, 20, "ddim", 1.4, 1),
        "chapter": lambda: chapter.chapter_section(reg, m, "3", 0, 20, 1.4),
        "guidance": lambda: guidance.guidance_section(reg, m, "3", 0, 20, 10),
        "replay": lambda: replay.replay_section(reg, m),
        "neighbours": lambda: latent.neighbours_section(reg, m, "3", 0),
        "cost table": lambda: latent.cost_markdown(
            {
                "latent": {"shape": [4, 7, 7], "numbers": 196, "flops": 1e8, "ms": 1.0},
                "pixel": {"shape": [1, 28, 28], "numbers": 784, "flops": 2e9, "ms": 3.0},
                "flops_ratio": 20.0,
                "ms_ratio": 3.0,
            },
            "x",
        ),
        "model note": lambda: layout.model_note(reg.get(m)),
        "steps to run": lambda: edit.steps_to_run(25, 0.6),
    }
    errors = {
        "bad steps": lambda: as_int("steps", 0, 1, 1000),
        "bad model": lambda: reg.get("no such model"),
        "empty mask": lambda: editor_mask({"background": Image.new("RGB", (28, 28)), "layers": [], "composite": None}),
        "bad number": lambda: next(
            b for b in app.blocks.values() if getattr(b, "elem_id", None) == "gen-steps"
        ).preprocess("abc"),
        "bad class": lambda: list(generate.generate(reg, m, "no such class", 3, 1.4, "ddim", 0.0, 0, 1)),
    }
    descs = []

    def progress(_, desc=None):
        descs.append(desc)

    out = []
    with language(lang):
        for what, call in calls.items():
            out += [(what, s) for s in _strings(call())]
        for what, call in errors.items():
            with pytest.raises(gr.Error) as e:
                call()
            out.append((what, e.value.message))
        *_, last = generate.generate(reg, m, "3", 3, 1.4, "ddim", 0.0, 7, 2, progress=progress)
        out += [("gallery caption", caption) for _, caption in last[2]]
        out += [("progress", d) for d in dict.fromkeys(descs)]
    return [(w, s) for w, s in out if s and _words(s)]


def test_what_handlers_make_is_chinese_in_zh_with_no_english_sentence_left(app):  # noqa: F811
    names = [*app.registry.names, *app.registry.get("MNIST digits").class_names]
    texts = _handler_texts(app, "zh")
    found = {w for w, _ in texts}
    assert len(texts) > 30 and {"reverse", "chapter", "guidance", "bad steps", "gallery caption", "progress"} <= found
    left = []
    for what, s in texts:
        bare = LATEX_AND_CODE.sub(" ", s)
        for name in names:
            bare = bare.replace(name, " ")
        if ENGLISH_RUN.search(bare) or (WORD.search(bare) and not CJK.search(s)):
            left.append(f"{what}: {s!r}")
    assert left == [], "\n".join(left)
    by = dict(texts)
    assert "去噪步 **20 / 20**" in by["reverse"] and "随机种子 0" in by["guidance"] and "步数" in by["bad steps"]
    assert [s for w, s in texts if w == "gallery caption"] == ["随机种子 7", "随机种子 8"] and by[
        "progress"
    ] == "采样中"


def test_the_same_handlers_speak_english_in_en_and_by_default(app):  # noqa: F811
    by = dict(_handler_texts(app, "en"))
    assert "denoising step **20 of 20**" in by["reverse"] and "seed 0" in by["guidance"]
    assert by["bad steps"] == "steps must be a whole number in 1..1000, got 0" and not CJK.search(" ".join(by.values()))
    from demo.layout import model_note

    assert "classes." in model_note(app.registry.get("MNIST digits"))  # outside a request: English


def test_the_language_comes_from_the_browsers_accept_language():
    from demo.i18n import lang_of

    assert lang_of("zh-CN,zh;q=0.9,en;q=0.8") == "zh" and lang_of("en-US,en;q=0.9,zh;q=0.8") == "en"
    assert lang_of("fr-FR, zh;q=0.5, en;q=0.4") == "zh" and lang_of("de") == "en" and lang_of(None) == "en"
    assert lang_of(type("R", (), {"headers": {"accept-language": "zh-TW"}})()) == "zh"
