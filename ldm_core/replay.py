"""The training replay: a small record of both training stages, kept in a model folder for the Learn tab.

The training loops already write a preview grid every ``sample_every`` steps (``<run>/samples/step_*.png``: for the
VAE the fixed first images of the data on the top row and their reconstructions below; for the denoiser a grid of
fixed-seed DDIM samples, one row per class) and a JSONL log. ``write_replay`` cuts a few images out of each grid and
keeps, in ``<model>/replay/``:

    stage1.png    row 0: the fixed images; row k: their reconstructions at the k-th recorded VAE step
    stage2.png    row k: one fixed-seed sample per class at the k-th recorded denoiser step
    replay.json   image size and channels, the steps of the rows, the loss curves (at most ``max_points`` each),
                  the commands, and a note (e.g. that it is a short run of the shipped recipe)

PNG and JSON only (no pickle), a few tens of KB for 28 px models. ``load_replay`` reads it back as numpy.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from . import images as imx

REPLAY_DIR = "replay"
PAD = 2  # the grids' padding (images.make_grid)


def _tiles(grid: np.ndarray, size: int, ncols: int) -> np.ndarray:
    """A ``make_grid`` picture [H', W', C] of size x size tiles in rows of ``ncols`` -> tiles [N, size, size, C]."""
    nrows = (grid.shape[0] - PAD) // (size + PAD)
    out = []
    for r in range(nrows):
        for c in range(ncols):
            y, x = PAD + r * (size + PAD), PAD + c * (size + PAD)
            out.append(grid[y : y + size, x : x + size])
    return np.stack(out)


def _frames(run: Path) -> list[tuple[int, Path]]:
    found = [
        (int(m.group(1)), p) for p in (run / "samples").glob("step_*.png") if (m := re.match(r"step_(\d+)", p.stem))
    ]
    return sorted(found)


def _spread(items: list[Any], most: int) -> list[Any]:
    """At most ``most`` items, evenly spread, first and last kept."""
    if len(items) <= most:
        return items
    idx = np.linspace(0, len(items) - 1, most).round().astype(int)
    return [items[i] for i in sorted(set(idx.tolist()))]


def _curve(log: Path, keys: tuple[str, ...], max_points: int) -> dict[str, list[float]]:
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.is_file() else []
    rows = _spread([r for r in rows if "loss" in r], max_points)
    return {k: [float(r[k]) for r in rows if k in r] for k in ("step", *keys)}


def _read(path: Path, channels: int) -> np.ndarray:
    arr = np.asarray(Image.open(path).convert("L" if channels == 1 else "RGB"), dtype=np.float32) / 255.0
    return arr[..., None] if arr.ndim == 2 else arr  # [H', W', C]


def write_replay(vae_run: str | Path, diffusion_run: str | Path, model_folder: str | Path, *, image_size: int,
                 channels: int, num_preview: int, samples_per_class: int, num_classes: int, keep: int = 8,
                 max_frames: int = 16, max_points: int = 60, commands: list[str] | None = None,
                 note: str = "") -> Path | None:  # fmt: skip
    """Write ``<model_folder>/replay/`` from the two run folders; None if a run has no preview grids."""
    vae_frames, diff_frames = _frames(Path(vae_run)), _frames(Path(diffusion_run))
    if not vae_frames or not diff_frames:
        return None
    vae_frames, diff_frames = _spread(vae_frames, max_frames), _spread(diff_frames, max_frames)
    k = min(keep, num_preview)
    stage1 = []
    for n, (_, path) in enumerate(vae_frames):
        tiles = _tiles(_read(path, channels), image_size, num_preview)  # [2 * num_preview, ...]: images, recons
        if n == 0:
            stage1.append(tiles[:k])
        stage1.append(tiles[num_preview : num_preview + k])
    stage2 = []
    for _, path in diff_frames:
        tiles = _tiles(_read(path, channels), image_size, samples_per_class)  # one row per class
        stage2.append(tiles[::samples_per_class][:num_classes])  # the first sample (seed 0 of its row) per class
    out = Path(model_folder) / REPLAY_DIR
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("stage1", stage1), ("stage2", stage2)):
        grid = imx.make_grid(np.concatenate(rows), ncols=len(rows[0]))
        imx.to_pil(grid[None])[0].save(out / f"{name}.png", optimize=True)
    meta = {
        "format": "ldm-explorer-replay", "format_version": 1, "image_size": image_size, "channels": channels,
        "stage1": {"steps": [s for s, _ in vae_frames], "num_images": k,
                   "losses": _curve(Path(vae_run) / "log.jsonl", ("loss", "l1", "kl", "psnr"), max_points)},
        "stage2": {"steps": [s for s, _ in diff_frames], "num_images": len(stage2[0]),
                   "losses": _curve(Path(diffusion_run) / "log.jsonl", ("loss",), max_points)},
        "commands": list(commands or []), "note": note,
    }  # fmt: skip
    (out / "replay.json").write_text(json.dumps(meta, indent=1))
    return out


def load_replay(model_folder: str | Path) -> dict[str, Any] | None:
    """``<model_folder>/replay/`` -> {"stage1": {"steps", "originals" [k, H, W, C], "frames" [F, k, H, W, C],
    "losses"}, "stage2": {"steps", "frames" [F, n, H, W, C], "losses"}, "note", ...}; None if there is none."""
    folder = Path(model_folder) / REPLAY_DIR
    if not (folder / "replay.json").is_file():
        return None
    meta = json.loads((folder / "replay.json").read_text())
    size, ch = int(meta["image_size"]), int(meta["channels"])
    for name in ("stage1", "stage2"):
        stage = meta[name]
        tiles = _tiles(_read(folder / f"{name}.png", ch), size, int(stage["num_images"]))
        rows = tiles.reshape(-1, int(stage["num_images"]), size, size, ch)
        if name == "stage1":
            stage["originals"], rows = rows[0], rows[1:]
        stage["frames"] = rows[: len(stage["steps"])]
    return meta
