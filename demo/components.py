"""Inputs that answer bad values with a clear ``gr.Error`` instead of a bare exception.

Gradio turns what a client sent into a handler's argument in the component's ``preprocess``, before any handler
runs: it opens uploads with PIL and compares numbers with the slider's bounds. A corrupt or non-image file, or a
string where a number belongs ("abc", "nan", "", a path), would end there as an unexplained error ("the app has
raised an exception"). ``checked_upload`` and ``checked_number`` wrap that one method of a component instance (a
subclass would make gradio write a ``.pyi`` stub next to this file at import); ``check_inputs`` applies them to
every input of a built app.
"""

from __future__ import annotations

import functools
import math
from typing import Any, TypeVar

import gradio as gr
from PIL import Image, UnidentifiedImageError

from .i18n import I18nData, current_lang, lang_of, language, name_of, say, text

UNREADABLE = (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError)
C = TypeVar("C", gr.Image, gr.ImageEditor)


def checked_upload(component: C) -> C:
    """Make ``component`` raise ``gr.Error`` (saying what is allowed) for an upload PIL cannot read."""
    preprocess = component.preprocess

    @functools.wraps(preprocess)
    def checked(payload: Any) -> Any:
        try:
            return preprocess(payload)
        except gr.Error:
            raise
        except UNREADABLE as e:
            raise gr.Error(
                say("err.upload_unreadable", kind=type(e).__name__, allowed=say("err.allowed_images"))
            ) from e
        except (TypeError, ValueError, KeyError, AttributeError) as e:  # not a file at all (a string, a number)
            raise gr.Error(say("err.upload_not_file", allowed=say("err.allowed_images"), value=_short(payload))) from e

    component.preprocess = checked
    return component


N = TypeVar("N", gr.Number, gr.Slider)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def checked_number(component: N) -> N:
    """Make a Number or Slider raise ``gr.Error`` for a value that is not a finite number, saying what is allowed."""
    preprocess = component.preprocess

    @functools.wraps(preprocess)
    def checked(payload: Any) -> Any:
        if payload is None and isinstance(component, gr.Number):
            return preprocess(payload)  # an empty number box: the handler decides (e.g. seed: random)
        if isinstance(payload, bool) or not isinstance(payload, (int, float)) or not math.isfinite(payload):
            lo, hi = component.minimum, component.maximum
            bounds = say("err.bounds", lo=f"{lo:g}", hi=f"{hi:g}") if lo is not None and hi is not None else ""
            raise gr.Error(say("err.number", name=_label(component), bounds=bounds, value=_short(payload)))
        return preprocess(payload)

    component.preprocess = checked
    return component


def _label(component: Any) -> str:
    """A widget's label as an error message names it, in the request's language (not its translation key)."""
    label = component.label
    if isinstance(label, I18nData):
        return text(label.key, current_lang())
    return str(label) if label else name_of("value")


def speak_the_requests_language(blocks: gr.Blocks) -> None:
    """Run each request of ``blocks`` in its browser's language (``demo.i18n.language``), from the reading of its
    inputs on: a widget's ``preprocess`` (the checks above) runs before the handler, where Gradio's own request
    context is not set yet."""
    process_api = blocks.process_api
    if getattr(process_api, "speaks_the_requests_language", False):
        return

    @functools.wraps(process_api)
    async def in_language(*args: Any, **kwargs: Any) -> Any:
        with language(lang_of(kwargs.get("request"))):
            return await process_api(*args, **kwargs)

    in_language.speaks_the_requests_language = True
    blocks.process_api = in_language


def check_inputs(blocks: gr.Blocks) -> int:
    """Wrap every Number, Slider, Image and ImageEditor of ``blocks`` (and answer in the request's language);
    returns how many were wrapped."""
    speak_the_requests_language(blocks)
    n = 0
    for block in blocks.blocks.values():
        if getattr(getattr(block, "preprocess", None), "__wrapped__", None) is not None:
            continue  # wrapped already
        if isinstance(block, (gr.Number, gr.Slider)):
            checked_number(block)
        elif isinstance(block, (gr.Image, gr.ImageEditor)):
            checked_upload(block)
        else:
            continue
        n += 1
    return n
