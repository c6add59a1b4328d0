"""A model folder's small reference set, so the Learn tab measures without the data set.

    python -m ldm_core.reference --model checkpoints/mnist --data ../shared/data/mnist.npz \
        --classifier checkpoints/classifiers/mnist [--per-class 50]

writes ``<model>/reference/``:

    train_subset.png          ``per_class`` training images of each class (stratified, seed 0), tiles without gaps
    reference.json            their labels and indices in the data file, the data file's name, sizes
    test_features.safetensors mean [d] and covariance [d, d] of the classifier's features of the whole test split:
                              the reference of ``evaluate``'s Fréchet distances, so FD here is FD there

The training images serve the nearest-neighbour check (does a sample copy its training data?); the test statistics
the FD of samples. PNG, JSON and safetensors only (no pickle).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from .checkpoint import sha256_file

REFERENCE_DIR = "reference"


def _sheet(images: np.ndarray, ncols: int) -> np.ndarray:
    """uint8 [N, H, W(, C)] -> one [rows*H, ncols*W(, C)] picture, row-major, no gaps."""
    N, H, W = images.shape[:3]
    rows = -(-N // ncols)
    pad = np.zeros((rows * ncols - N, *images.shape[1:]), images.dtype)
    full = np.concatenate([images, pad]).reshape(rows, ncols, H, W, *images.shape[3:])
    return full.swapaxes(1, 2).reshape(rows * H, ncols * W, *images.shape[3:])


def _unsheet(sheet: np.ndarray, n: int, size: int) -> np.ndarray:
    """The inverse of ``_sheet`` for square tiles -> [n, size, size, C]."""
    sheet = sheet[..., None] if sheet.ndim == 2 else sheet
    rows, ncols = sheet.shape[0] // size, sheet.shape[1] // size
    tiles = (
        sheet.reshape(rows, size, ncols, size, sheet.shape[-1]).swapaxes(1, 2).reshape(-1, size, size, sheet.shape[-1])
    )
    return tiles[:n]


def write_reference(model_folder: str | Path, data_path: str | Path, classifier_folder: str | Path,
                    per_class: int = 50, seed: int = 0) -> Path:  # fmt: skip
    from .classifier import embed, load_classifier
    from .evaluate import load_data, stratified_subset
    from .metrics import feature_stats

    config = json.loads((Path(model_folder) / "config.json").read_text())
    data = load_data(data_path, int(config["image_size"]))
    k = len(config["class_names"])
    idx = stratified_subset(data["train_labels"], per_class, k, seed)
    images = data["train_images"][idx]  # uint8 [N, H, W(, C)]
    classifier, _ = load_classifier(classifier_folder)
    feats, _ = embed(classifier, data["test_images"])
    mu, sigma = feature_stats(feats)
    out = Path(model_folder) / REFERENCE_DIR
    out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(_sheet(images, ncols=25)).save(out / "train_subset.png", optimize=True)
    save_file({"mu": torch.from_numpy(np.asarray(mu, np.float32)), "sigma": torch.from_numpy(np.asarray(sigma, np.float32))},
              out / "test_features.safetensors")  # fmt: skip
    meta = {"format": "ldm-explorer-reference", "format_version": 1, "data": Path(data_path).name,
            "image_size": int(images.shape[1]), "channels": 1 if images.ndim == 3 else int(images.shape[-1]),
            "num_train": len(idx), "train_indices": idx.tolist(), "train_labels": data["train_labels"][idx].tolist(),
            "num_test": len(data["test_images"]),
            "classifier_sha256": sha256_file(Path(classifier_folder) / "classifier.safetensors"),
            "per_class": per_class, "seed": seed}  # fmt: skip
    (out / "reference.json").write_text(json.dumps(meta))
    return out


def load_reference(model_folder: str | Path) -> dict[str, Any] | None:
    """-> {"images" float32 [N, H, W, C] in [0, 1], "labels" [N], "mu" [d], "sigma" [d, d], ...}; None if absent."""
    folder = Path(model_folder) / REFERENCE_DIR
    if not (folder / "reference.json").is_file():
        return None
    meta = json.loads((folder / "reference.json").read_text())
    sheet = np.asarray(Image.open(folder / "train_subset.png"))
    images = _unsheet(sheet, int(meta["num_train"]), int(meta["image_size"])).astype(np.float32) / 255.0
    stats = load_file(folder / "test_features.safetensors")
    return {**meta, "images": images, "labels": np.asarray(meta["train_labels"]), "mu": stats["mu"].double().numpy(),
            "sigma": stats["sigma"].double().numpy()}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ldm_core.reference", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="the model folder to write reference/ into")
    p.add_argument("--data", required=True, help="the npz the model was trained on (train and test splits)")
    p.add_argument("--classifier", required=True, help="the evaluation classifier's folder")
    p.add_argument("--per-class", type=int, default=50, help="training images kept per class (default 50)")
    args = p.parse_args(argv)
    out = write_reference(args.model, args.data, args.classifier, args.per_class)
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"wrote {out} ({size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
