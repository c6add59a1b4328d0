"""Data loaders: npz (grayscale and RGB), image folders, and the batch order that resume and DDP rely on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ldm_core.data import Dataset, batch_indices, epoch_order, load_dataset, load_npz, uint8_to_tensor


def write_npz(path: Path, n: int = 12, size: int = 28, rgb: bool = False) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    shape = (n, size, size, 3) if rgb else (n, size, size)
    arrays = {
        ("train_images_32" if rgb else "train_images"): rng.integers(0, 256, shape, dtype=np.uint8),
        ("test_images_32" if rgb else "test_images"): rng.integers(0, 256, (4, *shape[1:]), dtype=np.uint8),
        "train_labels": (np.arange(n) % 3).astype(np.uint8),
        "test_labels": np.array([2, 1, 0, 2], dtype=np.uint8),
        "class_names": np.array(["cat", "dog", "emu"]),
    }
    np.savez_compressed(path, **arrays)
    return arrays


def test_uint8_maps_to_minus_one_one() -> None:
    x = uint8_to_tensor(np.array([[[0, 255], [51, 204]]], dtype=np.uint8))  # [1, 2, 2]
    assert x.shape == (1, 1, 2, 2) and x.dtype == torch.float32
    np.testing.assert_allclose(x.flatten().numpy(), [-1.0, 1.0, 51 / 127.5 - 1, 204 / 127.5 - 1], atol=1e-6)
    with pytest.raises(ValueError, match="uint8"):
        uint8_to_tensor(np.zeros((1, 2, 2), np.float32))


def test_grayscale_npz(tmp_path: Path) -> None:
    arrays = write_npz(tmp_path / "d.npz")
    d = load_npz(tmp_path / "d.npz")
    assert d.images.shape == (12, 1, 28, 28) and d.channels == 1 and d.image_size == 28
    np.testing.assert_allclose(((d.images[:, 0] + 1) * 127.5).round().numpy(), arrays["train_images"])
    assert d.labels.tolist() == [i % 3 for i in range(12)] and d.class_names == ["cat", "dog", "emu"]
    test = load_dataset(str(tmp_path / "d.npz"), "test")
    assert test.labels.tolist() == [2, 1, 0, 2] and len(test) == 4


def test_rgb_npz_with_key(tmp_path: Path) -> None:
    arrays = write_npz(tmp_path / "e.npz", size=32, rgb=True)
    assert load_npz(tmp_path / "e.npz").images.shape == (12, 3, 32, 32)  # the only train_images_* key is found
    np.savez(tmp_path / "two.npz", **arrays, train_images_64=np.zeros((12, 64, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="train_images_32', 'train_images_64"):  # two sizes: the error names them
        load_npz(tmp_path / "two.npz")
    assert load_npz(tmp_path / "two.npz", key="train_images_64").images.shape == (12, 3, 64, 64)
    d = load_npz(tmp_path / "e.npz", key="train_images_32")
    assert d.images.shape == (12, 3, 32, 32)
    # channel c of pixel (y, x) stays channel c: [N, H, W, C] -> [N, C, H, W]
    assert round(float((d.images[5, 2, 7, 9] + 1) * 127.5)) == arrays["train_images_32"][5, 7, 9, 2]
    test = load_npz(tmp_path / "e.npz", "test", key="train_images_32")  # the same key picks the test images
    assert test.images.shape == (4, 3, 32, 32)


def test_image_folder(tmp_path: Path) -> None:
    for c, name in enumerate(["b_circle", "a_square"]):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(np.full((16, 16), 40 * c + i, np.uint8)).save(tmp_path / name / f"{i}.png")
    d = load_dataset(str(tmp_path))
    assert d.class_names == ["a_square", "b_circle"]  # sorted subfolders
    assert d.images.shape == (6, 1, 16, 16) and d.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert round(float((d.images[0, 0, 0, 0] + 1) * 127.5)) == 40  # a_square was class index 1 when written
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "a_square" / "rgb.png")
    assert load_dataset(str(tmp_path)).channels == 3  # one colour image makes the set RGB


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_dataset(str(tmp_path / "missing.npz"))
    with pytest.raises(ValueError, match="neither"):
        load_dataset(str(tmp_path / "x.txt"))
    with pytest.raises(ValueError, match="torchvision data set"):
        load_dataset("torchvision:cifar")
    with pytest.raises(ValueError, match="labels must be in"):
        Dataset(torch.zeros(2, 1, 4, 4), torch.tensor([0, 3]), ["a", "b"])


def test_batches_cover_each_epoch_once_and_split_over_ranks() -> None:
    n, b = 50, 8  # 6 whole batches per epoch, 2 images left out
    epoch = torch.cat([batch_indices(n, b, s, seed=1) for s in range(6)])
    assert len(set(epoch.tolist())) == 48
    assert torch.equal(epoch, epoch_order(n, 1, 0)[:48])
    assert not torch.equal(batch_indices(n, b, 6, seed=1), batch_indices(n, b, 0, seed=1))  # a new epoch, reshuffled
    assert torch.equal(batch_indices(n, b, 3, seed=1), batch_indices(n, b, 3, seed=1))
    # two ranks with batch 4 each take the same global batch of 8 as one rank with batch 8, split between them
    r0, r1 = (batch_indices(n, 4, 2, seed=1, rank=r, world_size=2) for r in (0, 1))
    assert sorted(torch.cat([r0, r1]).tolist()) == sorted(batch_indices(n, 8, 2, seed=1).tolist())
    assert not set(r0.tolist()) & set(r1.tolist())
    with pytest.raises(ValueError, match="fewer than one global batch"):
        batch_indices(5, 4, 0, seed=0, world_size=2)


def test_flips_mirror_only_the_named_classes() -> None:
    g = torch.Generator().manual_seed(0)
    images = torch.rand(6, 3, 4, 4, generator=g) * 2 - 1
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    data = Dataset(images, labels, ["cat", "flag", "face"]).with_flips(["cat", "face"])
    assert len(data) == 10  # 6 originals + mirrors of the 2 cats and the 2 faces
    assert torch.equal(data.images[:6], images)  # originals first, unchanged
    assert data.labels[6:].tolist() == [0, 2, 0, 2]
    assert torch.equal(data.images[6], images[0][..., torch.arange(3, -1, -1)])  # left-right mirror, colours kept
    assert torch.equal(data.images[7], images[2].flip(-1))
    with pytest.raises(ValueError, match="not classes of this data set"):
        Dataset(images, labels, ["cat", "flag", "face"]).with_flips(["dog"])
