"""Model folders: hashes checked before loading, clear errors that name the file, never a pickle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ldm_core import LatentDiffusionPipeline
from ldm_core.checkpoint import CheckpointError, load_model_folder, sha256_file


@pytest.fixture()
def model_dir(tmp_path: Path, tiny_model_dir: str) -> Path:
    dst = tmp_path / "model"
    shutil.copytree(tiny_model_dir, dst)
    return dst


def test_config_records_every_file_hash(model_dir: Path) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    assert set(config["files"]) == {"vae.safetensors", "unet.safetensors"}
    for name, digest in config["files"].items():
        assert sha256_file(model_dir / name) == digest and len(digest) == 64
    assert config["format"] == "ldm-explorer" and config["vae"]["latent_channels"] == 4
    _, weights = load_model_folder(model_dir)
    assert "conv_out.weight" in weights["unet"]


def test_missing_folder_and_files(tmp_path: Path, model_dir: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        LatentDiffusionPipeline.from_pretrained(tmp_path / "nope")
    (model_dir / "unet.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"weight file .*unet\.safetensors is missing"):
        LatentDiffusionPipeline.from_pretrained(model_dir)
    (model_dir / "config.json").unlink()
    with pytest.raises(CheckpointError, match=r"config\.json is missing"):
        LatentDiffusionPipeline.from_pretrained(model_dir)


def test_truncated_file(model_dir: Path) -> None:
    path = model_dir / "vae.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=r"vae\.safetensors is damaged or altered: sha256"):
        LatentDiffusionPipeline.from_pretrained(model_dir)


def test_altered_file(model_dir: Path) -> None:
    path = model_dir / "unet.safetensors"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # one flipped byte inside a weight
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"unet\.safetensors is damaged or altered"):
        LatentDiffusionPipeline.from_pretrained(model_dir)


def test_bad_config(model_dir: Path) -> None:
    (model_dir / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="is not valid JSON"):
        LatentDiffusionPipeline.from_pretrained(model_dir)
    (model_dir / "config.json").write_text(json.dumps({"format": "ldm-explorer", "files": {"../x.safetensors": "0"}}))
    with pytest.raises(CheckpointError, match="only plain"):
        LatentDiffusionPipeline.from_pretrained(model_dir)


def test_weights_that_do_not_fit_the_config(model_dir: Path) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    config["unet"]["base_channels"] = 32
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"unet\.safetensors does not fit the model"):
        LatentDiffusionPipeline.from_pretrained(model_dir)


def test_no_pickle_loading_in_the_library() -> None:
    root = Path(__file__).resolve().parents[1]
    sources = [p for d in ("ldm_core", "demo") for p in (root / d).rglob("*.py")] + [root / "app.py"]
    for p in sources:
        if p.exists():
            text = p.read_text()
            assert "torch.load(" not in text and "import pickle" not in text, p
