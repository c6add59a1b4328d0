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

from .i18n import english

ALLOWED = "a PNG, JPEG, WEBP, BMP or GIF image"
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
                f"the uploaded file could not be read as an image ({type(e).__name__}): upload {ALLOWED}"
            ) from e
        except (TypeError, ValueError, KeyError, AttributeError) as e:  # not a file at all (a string, a number)
            raise gr.Error(f"expected an uploaded image ({ALLOWED}), got {_short(payload)}") from e

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
            bounds = f" from {lo:g} to {hi:g}" if lo is not None and hi is not None else ""
            raise gr.Error(f"{english(component.label or 'a number')} must be a number{bounds}, got {_short(payload)}")
        return preprocess(payload)

    component.preprocess = checked
    return component


def check_inputs(blocks: gr.Blocks) -> int:
    """Wrap every Number, Slider, Image and ImageEditor of ``blocks``; returns how many were wrapped."""
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
