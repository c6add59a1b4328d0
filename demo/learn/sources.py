"""The image the Learn tab teaches on: an example that fits the selected model, one it generated, or an upload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from ldm_core import LatentDiffusionPipeline

from ..common import class_choices, class_label, user_errors
from ..example_images import example_paths
from ..i18n import say
from ..registry import ModelRegistry
from .cache import cached, image_key

GENERATED = "generated: "  # "generated: 3" = an image the model made of class "3" (seed 0)
DIGITS = ("digit-",)
CLOTHES = ("tshirt", "trousers", "bag", "sneaker")


def _drawn_for(pipe: LatentDiffusionPipeline) -> list[str]:
    """The drawn examples that look like the model's data: digits for a digit model, clothes for a clothes model."""
    names = [Path(p).stem for p in example_paths()]
    if pipe.image_channels != 1:
        return []  # the drawings are gray shapes on black: no use to a colour model
    if all(c.isdigit() for c in pipe.class_names):
        return [n for n in names if n.startswith(DIGITS)]
    if any(w in " ".join(pipe.class_names).lower() for w in ("shirt", "trouser", "boot", "bag", "sneaker")):
        return [n for n in names if n in CLOTHES]
    return []


def source_choices(pipe: LatentDiffusionPipeline) -> list[str]:
    """Examples that fit the model first, then one generated image of each class."""
    return [*_drawn_for(pipe), *(GENERATED + c for c in pipe.class_names)]


def learn_class(registry: ModelRegistry, pipe: LatentDiffusionPipeline, name: Any) -> int:
    """``class_label``, except that a class of another served model becomes this model's first class: on a model
    switch the sections recompute before the class picker shows the new model's classes."""
    if name not in class_choices(pipe) and any(name in p.class_names for p in registry.pipelines.values()):
        name = pipe.class_names[0]
    return class_label(pipe, name)


def source_image(registry: ModelRegistry, model: str, source: str | None, upload: Any) -> tuple[Any, str]:
    """-> (the image, a cache key for it). An upload wins over the picker; a choice of another model (the picker
    is updated when the model changes, which may come after this call) becomes this model's first choice."""
    pipe = registry.get(model)
    if upload is not None:
        return upload, "upload:" + image_key(upload)
    if source and source not in source_choices(pipe):
        source = source_choices(pipe)[0]  # the picker still shows the last model's example: this model's first
    if source in _drawn_for(pipe):
        path = example_paths()[[Path(p).stem for p in example_paths()].index(source)]
        return Image.open(path), f"example:{source}"
    if isinstance(source, str) and source.startswith(GENERATED) and source[len(GENERATED) :] in pipe.class_names:
        label = pipe.class_names.index(source[len(GENERATED) :])

        def make() -> np.ndarray:
            with user_errors():
                return np.asarray(pipe([label], num_inference_steps=20, seed=0).images)[0]

        return cached((registry.folders[model], "generated", label), make), f"generated:{label}"
    raise gr.Error(say("err.pick_image", allowed=source_choices(pipe)))
