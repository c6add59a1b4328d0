"""Fixtures for the app tests: two tiny random models saved as model folders, and the app built on them."""

from __future__ import annotations

import io
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
from conftest import make_tiny_pipeline
from PIL import Image

DIGITS = "tiny digits"
CLOTHES = "tiny clothes"
CLOTHES_CLASSES = ["T-shirt/top", "Trouser", "Ankle boot"]


@pytest.fixture(scope="session")
def app_model_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """checkpoints/-like folder with two models (and a classifiers folder the app must skip)."""
    root = tmp_path_factory.mktemp("checkpoints")
    digits = make_tiny_pipeline(num_classes=3, seed=0)
    digits.class_names = ["0", "1", "2"]
    digits.extra_config["display_name"] = DIGITS
    digits.save_pretrained(root / "digits")
    clothes = make_tiny_pipeline(num_classes=3, seed=1, schedule="cosine")
    clothes.class_names = list(CLOTHES_CLASSES)
    clothes.extra_config["display_name"] = CLOTHES
    clothes.default_sampler = "dpmpp_2m"  # as the shipped Fashion-MNIST: the tabs start at it and follow the model
    clothes.save_pretrained(root / "clothes")
    mnist = make_tiny_pipeline(num_classes=10, seed=2)  # the name and classes the README's gradio_client examples use
    mnist.class_names = [str(i) for i in range(10)]
    mnist.name = "mnist"
    mnist.extra_config["display_name"] = "MNIST digits"  # as the shipped checkpoints/mnist
    mnist.save_pretrained(root / "mnist")
    (root / "classifiers").mkdir()
    (root / "classifiers" / "config.json").write_text("{}")
    return [str(root / "clothes"), str(root / "digits"), str(root / "mnist")]


@pytest.fixture(scope="session")
def app(app_model_dirs: list[str]):
    from demo import build_demo

    return build_demo(app_model_dirs)


@pytest.fixture(scope="session")
def registry(app):
    return app.registry


def digit_image(size: int = 28, mode: str = "L") -> Image.Image:
    """A white ring on black, like a drawn zero."""
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - size / 2, xx - size / 2)
    arr = ((np.abs(r - size / 3.5) < size / 10) * 255).astype(np.uint8)
    return Image.fromarray(arr).convert(mode)


def half_mask_layer(size: int = 28) -> Image.Image:
    """An RGBA brush layer painted (alpha 255) over the right half."""
    arr = np.zeros((size, size, 4), np.uint8)
    arr[:, size // 2 :] = (255, 42, 109, 255)
    return Image.fromarray(arr, "RGBA")


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def server(app):
    """The app served on 127.0.0.1 (a free port) with the same launch settings as app.py; its local URL."""
    from demo import LAUNCH_KWARGS

    app.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", server_port=None, **LAUNCH_KWARGS)
    yield app.local_url
    app.close()
