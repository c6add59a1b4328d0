"""Image inputs that answer an unreadable upload with a clear ``gr.Error`` instead of a bare exception.

Gradio opens uploads with PIL in the component's ``preprocess``, before any handler runs; a corrupt or non-image
file would end there as an unexplained error. ``checked_upload`` wraps that one method of a component instance
(a subclass would make gradio write a ``.pyi`` stub next to this file at import).
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

import gradio as gr
from PIL import Image, UnidentifiedImageError

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
        except UNREADABLE as e:
            raise gr.Error(
                f"the uploaded file could not be read as an image ({type(e).__name__}): upload {ALLOWED}"
            ) from e

    component.preprocess = checked
    return component
