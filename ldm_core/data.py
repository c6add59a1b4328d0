"""Training data: an .npz file, torchvision's MNIST / FashionMNIST, or an image folder -> tensors in [-1, 1].

Every loader returns a ``Dataset``: images float32 [N, C, H, W] in [-1, 1], labels int64 [N], class names.
Grayscale data has C = 1, colour data C = 3; the image size comes from the data.

A data source is named by one string (what ``--data`` takes on the command line):

- ``path/to/file.npz``: keys ``{split}_images`` (or ``--npz-key`` e.g. ``train_images_32``), ``{split}_labels`` and
  ``class_names``; images uint8 [N, H, W] (grayscale) or [N, H, W, C] (RGB).
- ``torchvision:mnist`` / ``torchvision:fashion-mnist``: downloaded to ``root`` when missing.
- ``path/to/folder``: one subfolder per class holding images; class names are the sorted subfolder names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

SPLITS = ("train", "test")
TORCHVISION_SETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "fashion_mnist": "FashionMNIST"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


@dataclass
class Dataset:
    images: Tensor  # float32 [N, C, H, W] in [-1, 1]
    labels: Tensor  # int64 [N], 0..len(class_names) - 1
    class_names: list[str]  # one name per class

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape[2] != self.images.shape[3]:
            raise ValueError(f"images must be square [N, C, H, W], got {tuple(self.images.shape)}")
        if len(self.labels) != len(self.images):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")
        if len(self.images) == 0:
            raise ValueError("the data set is empty")
        if self.labels.min() < 0 or self.labels.max() >= len(self.class_names):
            raise ValueError(
                f"labels must be in 0..{len(self.class_names) - 1}, got {self.labels.min()}..{self.labels.max()}"
            )

    def __len__(self) -> int:
        return len(self.images)

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    def subset(self, n: int) -> Dataset:
        """The first ``n`` images (all of them if n >= N)."""
        return Dataset(self.images[:n], self.labels[:n], self.class_names)

    def with_flips(self, classes: Sequence[str]) -> Dataset:
        """This data set plus a left-right mirror of every image of the named classes (appended after the originals).

        For small data sets whose pictures stay valid when mirrored (a mirrored cat is a cat; a mirrored flag, arrow or
        letter is not: name only the classes where mirroring keeps the meaning). Colours are never changed.
        """
        unknown = [c for c in classes if c not in self.class_names]
        if unknown:
            raise ValueError(f"flip classes {unknown} are not classes of this data set; classes: {self.class_names}")
        ids = torch.tensor([self.class_names.index(c) for c in classes], dtype=torch.long)
        pick = torch.isin(self.labels, ids)
        flipped = self.images[pick].flip(-1)  # mirror along W
        return Dataset(torch.cat([self.images, flipped]), torch.cat([self.labels, self.labels[pick]]), self.class_names)


def uint8_to_tensor(images: np.ndarray) -> Tensor:
    """uint8 [N, H, W] or [N, H, W, C] (0..255) -> float32 [N, C, H, W] in [-1, 1]."""
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 0..255, got dtype {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must be [N, H, W] or [N, H, W, C] with C in (1, 3), got {images.shape}")
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    return x.float() / 127.5 - 1.0


def load_npz(path: str | os.PathLike, split: str = "train", key: str | None = None) -> Dataset:
    """``{split}_images`` (or ``key``, e.g. ``train_images_32``), ``{split}_labels`` and ``class_names`` of an npz."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    with np.load(path, allow_pickle=False) as d:
        keys = [k for k in d.files if k.startswith(f"{split}_images")]
        if key is None:  # detect: {split}_images, or the only {split}_images_* key
            key = f"{split}_images" if f"{split}_images" in d.files or len(keys) != 1 else keys[0]
        for other in SPLITS:  # e.g. key "train_images_32" for the test split: test_images_32
            if key.startswith(f"{other}_"):
                key = split + key[len(other) :]
        if key not in d.files:
            raise ValueError(f"{path} has no key {key!r}; image keys there: {keys} (choose one with --npz-key)")
        images, labels = d[key], d[f"{split}_labels"]
        names = [str(n) for n in d["class_names"]] if "class_names" in d.files else None
    labels = torch.from_numpy(labels.astype(np.int64))
    names = names or [str(i) for i in range(int(labels.max()) + 1)]
    return Dataset(uint8_to_tensor(images), labels, names)


def load_torchvision(
    name: str, root: str | os.PathLike = "runs/data", split: str = "train", download: bool = True
) -> Dataset:
    """torchvision's MNIST or FashionMNIST (downloaded into ``root`` when missing)."""
    if name not in TORCHVISION_SETS:
        raise ValueError(f"torchvision data set must be one of {sorted(TORCHVISION_SETS)}, got {name!r}")
    import torchvision  # imported here: only this source needs it (and it is slow to import)

    cls = getattr(torchvision.datasets, TORCHVISION_SETS[name])
    ds = cls(str(root), train=split == "train", download=download)
    images = ds.data.numpy().astype(np.uint8)  # [N, 28, 28]
    return Dataset(uint8_to_tensor(images), ds.targets.long(), [str(c) for c in ds.classes])


def load_image_folder(path: str | os.PathLike, image_size: int | None = None) -> Dataset:
    """One subfolder per class; images are read as grayscale if all of them are, else RGB, resized to a square."""
    root = Path(path)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise ValueError(f"{root} has no class subfolders (expected {root}/<class>/<image>.png)")
    files = [(f, c) for c, name in enumerate(classes) for f in sorted((root / name).iterdir())
             if f.suffix.lower() in IMAGE_SUFFIXES]  # fmt: skip
    if not files:
        raise ValueError(f"{root} has no images ({', '.join(IMAGE_SUFFIXES)}) in its class subfolders")
    pil = [Image.open(f) for f, _ in files]
    gray = all(im.mode in ("L", "1", "I;16", "I") for im in pil)
    size = image_size or pil[0].size[0]
    arr = np.stack([np.asarray(im.convert("L" if gray else "RGB").resize((size, size), Image.LANCZOS)) for im in pil])
    labels = torch.tensor([c for _, c in files], dtype=torch.long)
    return Dataset(uint8_to_tensor(arr.astype(np.uint8)), labels, classes)


def load_dataset(source: str, split: str = "train", npz_key: str | None = None, root: str = "runs/data") -> Dataset:
    """Load a data source named by a string (see the module docstring)."""
    if source.startswith("torchvision:"):
        return load_torchvision(source.split(":", 1)[1], root, split)
    path = Path(source)
    if path.suffix == ".npz":
        if not path.is_file():
            raise ValueError(f"data file {source!r} does not exist")
        return load_npz(path, split, npz_key)
    if path.is_dir():
        return load_image_folder(path)
    raise ValueError(
        f"data source {source!r} is neither an .npz file, an image folder nor torchvision:<name> "
        f"(<name> one of {sorted(TORCHVISION_SETS)})"
    )


def epoch_order(num_items: int, seed: int, epoch: int) -> Tensor:
    """The shuffled order of one epoch, a function of (seed, epoch) only, so a resumed run sees the same batches."""
    g = torch.Generator().manual_seed(int(seed) * 100_003 + int(epoch))
    return torch.randperm(num_items, generator=g)


def batch_indices(num_items: int, batch_size: int, step: int, seed: int, rank: int = 0, world_size: int = 1) -> Tensor:
    """Indices of this rank's share of global batch ``step`` (epochs of whole batches; the remainder is dropped).

    The global batch holds ``batch_size * world_size`` images; rank r takes every world_size-th one from r.
    """
    global_batch = batch_size * world_size
    per_epoch = num_items // global_batch
    if per_epoch < 1:
        raise ValueError(f"{num_items} images are fewer than one global batch ({batch_size} x {world_size} ranks)")
    epoch, i = divmod(step, per_epoch)
    order = epoch_order(num_items, seed, epoch)
    return order[i * global_batch : (i + 1) * global_batch][rank::world_size]
