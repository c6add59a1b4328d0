"""numpy -> pictures for the Learn tab: images, latents as colour heatmaps with their value scale, curves.

No tensors here: ldm_core.teaching returns numpy, this module only draws it.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from ..common import grid_image, upscale
from ..i18n import I18nData, current_lang, say, t, text

LATENT_LIM = 3.0  # latents and noise drawn from -3 (blue) through 0 (white) to +3 (red)
IMAGE_HEIGHT = 150


def picture(label: I18nData, elem_id: str, height: int = IMAGE_HEIGHT) -> gr.Image:
    """An output image (nearest-neighbour scaled, so each pixel and latent cell stays a block)."""
    return gr.Image(label=label, type="pil", format="png", interactive=False, elem_id=elem_id,
                    elem_classes="pixelated", height=height)  # fmt: skip


def image(arr: np.ndarray) -> Image.Image:
    """float [H, W, C] in [0, 1] -> PIL."""
    return grid_image(np.asarray(arr)[None])


def strip(images: np.ndarray, ncols: int | None = None) -> Image.Image:
    """float [K, H, W, C] -> one PIL row (gray gaps)."""
    images = np.asarray(images)
    return grid_image(images, ncols=ncols or len(images))


def _colormap(values: np.ndarray, lim: float, cmap: str) -> np.ndarray:
    from matplotlib import colormaps  # imported on first use: keeps the app's start fast

    lo = -lim if cmap == "RdBu_r" else 0.0
    u = ((np.asarray(values, np.float64) - lo) / (lim - lo)).clip(0.0, 1.0)
    return colormaps[cmap](u)[..., :3].astype(np.float32)  # [..., 3]


def heatmap(values: np.ndarray, lim: float = LATENT_LIM, factor: int = 4, cmap: str = "RdBu_r") -> Image.Image:
    """[c, h, w] (one tile a channel, side by side) or [h, w] -> a colour PIL image. ``RdBu_r``: -lim blue,
    0 white, +lim red; ``magma``: 0 black to lim yellow (errors)."""
    v = np.asarray(values)
    v = v[None] if v.ndim == 2 else v
    tiles = upscale(_colormap(v, lim, cmap), factor)  # [c, h*f, w*f, 3]
    return grid_image(tiles, ncols=len(tiles))


def factor_for(image_size: int, latent_size: int) -> int:
    """Upscale of a latent cell so a latent tile is about as large as the image."""
    return max(1, -(-image_size // latent_size))


def scale_note(lim: float = LATENT_LIM) -> str:
    return say("scale", lim=f"{lim:g}")


# Chinese plot labels need a CJK font: Debian's fonts-noto-cjk (matplotlib does not find its .ttc files itself)
CJK_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",)
FAMILIES = ["DejaVu Sans", "Noto Sans CJK SC"]  # Latin first, then the CJK fallback (matplotlib >= 3.6)
_fonts_added = False


def _add_cjk_fonts() -> None:
    global _fonts_added
    if _fonts_added:
        return
    from pathlib import Path

    from matplotlib import font_manager

    for path in CJK_FONTS:
        if Path(path).is_file():
            font_manager.fontManager.addfont(path)
    _fonts_added = True


def curve_figure(title: str, xlabel: str, ylabel: str, curves: dict[str, tuple[np.ndarray, np.ndarray]],
                 mark: float | None = None, logy: bool = False, size: tuple[float, float] = (6.0, 2.6)) -> Any:  # fmt: skip
    """A small matplotlib figure of named (x, y) curves, with an optional vertical marker at x = ``mark``."""
    from matplotlib.figure import Figure

    _add_cjk_fonts()
    font = {"family": FAMILIES}
    fig = Figure(figsize=size, tight_layout=True)
    ax = fig.add_subplot()
    for name, (x, y) in curves.items():
        ax.plot(x, y, label=name, marker="o" if len(x) < 30 else None, markersize=3)
    if mark is not None:
        ax.axvline(mark, color="black", linestyle="--", linewidth=1)
    if logy:
        ax.set_yscale("log")
    ax.set_title(title, fontsize=10, fontfamily=FAMILIES)
    ax.set_xlabel(xlabel, fontfamily=FAMILIES)
    ax.set_ylabel(ylabel, fontfamily=FAMILIES)
    ax.legend(prop={**font, "size": 8})
    return fig


def noise_axis() -> str:
    """The noise-level axis of the plots, in the request's language."""
    return text("fwd.t", current_lang())


def noise_slider(bindings: Any, num_train_timesteps: int, value: int, elem_id: str) -> gr.Slider:
    """A slider over the noise level t = 0..T-1 whose maximum follows the picked model."""
    slider = gr.Slider(0, num_train_timesteps - 1, value=value, step=1, label=t("fwd.t"),
                       elem_id=elem_id)  # fmt: skip
    return bindings.add(slider, lambda p: {"maximum": p.num_train_timesteps - 1})
