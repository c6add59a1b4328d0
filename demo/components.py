"""Image inputs that answer an unreadable upload with a clear ``gr.Error`` instead of a bare exception.

Gradio opens uploads with PIL in ``preprocess``, before any handler runs; a corrupt or non-image file would end
there as an unexplained error. These subclasses are templates (``is_template``) of the stock components, so the
browser draws them with the stock front end.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from PIL import Image, UnidentifiedImageError

ALLOWED = "a PNG, JPEG, WEBP, BMP or GIF image"


def _unreadable(e: Exception) -> gr.Error:
    return gr.Error(f"the uploaded file could not be read as an image ({type(e).__name__}): upload {ALLOWED}")


class CheckedImageEditor(gr.ImageEditor):
    is_template = True

    def preprocess(self, payload: Any) -> Any:
        try:
            return super().preprocess(payload)
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as e:
            raise _unreadable(e) from e


class CheckedImage(gr.Image):
    is_template = True

    def preprocess(self, payload: Any) -> Any:
        try:
            return super().preprocess(payload)
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as e:
            raise _unreadable(e) from e
