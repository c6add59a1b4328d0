"""What a student sends: the arguments of each named endpoint at the app's own default widget values.

The defaults come from the running app (``Client.view_api``: each parameter's ``parameter_default``, which is the
widget's value), not from this file; only the pictures a student would upload are made here: an example image from
demo/examples and, for Inpaint, a brush layer over its right half.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
from gradio_client import Client, handle_file
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
MIXED = ("generate", "interpolate", "edit", "inpaint")  # what --endpoint mixed cycles through
SEED_PARAMS = ("seed", "seed_a")  # varied per student with --vary-seeds


def endpoint_defaults(client: Client) -> dict[str, dict[str, Any]]:
    """{"generate": {"model": "Fashion-MNIST", "class_name": ..., "steps": 25, ...}, ...} from the app's API info."""
    api = client.view_api(print_info=False, return_format="dict")
    return {
        name.lstrip("/"): {p["parameter_name"]: p.get("parameter_default") for p in info["parameters"]}
        for name, info in api["named_endpoints"].items()
    }


def example_image() -> Path:
    """The example picture a student picks (the T-shirt: a plain shape every model can edit)."""
    paths = sorted((ROOT / "demo" / "examples").glob("*.png"))
    named = [p for p in paths if p.stem == "tshirt"]
    if not paths:
        raise FileNotFoundError(f"no example images in {ROOT / 'demo' / 'examples'} (python -m demo.example_images)")
    return (named or paths)[0]


def mask_layer(size: tuple[int, int], folder: Path) -> Path:
    """An RGBA brush layer of ``size`` painted over the right half (what a student paints to inpaint)."""
    w, h = size
    arr = np.zeros((h, w, 4), np.uint8)
    arr[:, w // 2 :] = (255, 42, 109, 255)
    path = folder / f"mask-{w}x{h}.png"
    Image.fromarray(arr, "RGBA").save(path)
    return path


def editor_value(background: Path | None, *layers: Path) -> dict:
    """An ImageEditor value as gradio_client sends it."""
    return {"background": handle_file(str(background)) if background else None,
            "layers": [handle_file(str(p)) for p in layers], "composite": None}  # fmt: skip


class Workload:
    """Keyword arguments for ``Client.predict`` per endpoint, at the app's defaults (seed varied if asked)."""

    def __init__(self, client: Client, folder: Path, vary_seeds: bool = False):
        folder.mkdir(parents=True, exist_ok=True)
        self.defaults = endpoint_defaults(client)
        self.vary_seeds = vary_seeds
        self.image = example_image()
        self.mask = mask_layer(Image.open(self.image).size, folder)

    @property
    def endpoints(self) -> list[str]:
        return list(self.defaults)

    def kwargs(self, endpoint: str, i: int = 0) -> dict[str, Any]:
        """Student ``i``'s arguments for ``endpoint`` (a name from the app's API, without the slash)."""
        if endpoint not in self.defaults:
            raise ValueError(f"endpoint must be one of {self.endpoints}, got {endpoint!r}")
        kw = dict(self.defaults[endpoint])
        if endpoint == "edit":
            kw["image"] = editor_value(self.image)  # the default is the server's own blank canvas
        elif endpoint == "inpaint":
            kw["image"] = editor_value(self.image, self.mask)
        if self.vary_seeds:
            for name in SEED_PARAMS:
                if name in kw:
                    kw[name] = int(kw[name]) + i
        return kw

    def plan(self, endpoint: str, n: int) -> list[tuple[str, dict[str, Any]]]:
        """``n`` requests: all to ``endpoint``, or with "mixed" cycling through MIXED."""
        names = itertools.cycle(MIXED) if endpoint == "mixed" else itertools.repeat(endpoint)
        return [(name, self.kwargs(name, i)) for i, name in zip(range(n), names)]
