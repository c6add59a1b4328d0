"""Checkpoints: safetensors weights plus a ``config.json`` that holds every config and each file's sha256.

A model folder looks like::

    checkpoints/mnist/
        config.json        {"format": "ldm-explorer", "vae": {...}, "unet": {...}, "schedule": {...},
                            "scaling_factor": ..., "class_names": [...], ..., "files": {name: sha256}}
        vae.safetensors
        unet.safetensors

Weights are never unpickled: only safetensors is read, and only after its hash matched.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

FORMAT = "ldm-explorer"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"


class CheckpointError(ValueError):
    """A model folder is missing a file, or a file is damaged or altered."""


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_model_folder(folder: str | os.PathLike, config: dict[str, Any], weights: dict[str, dict[str, Tensor]]) -> Path:
    """Write ``<name>.safetensors`` for each entry of ``weights`` and a ``config.json`` with their hashes.

    ``config`` must be JSON-serialisable (configs as ``dataclasses.asdict``). Returns the folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, state in weights.items():
        path = folder / f"{name}.safetensors"
        tmp = path.with_suffix(".safetensors.tmp")
        save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(tmp))
        os.replace(tmp, path)  # never leave a half-written weight file under the real name
        files[path.name] = sha256_file(path)
    full = {"format": FORMAT, "format_version": FORMAT_VERSION, **config, "files": files}
    tmp = folder / (CONFIG_NAME + ".tmp")
    tmp.write_text(json.dumps(full, indent=2) + "\n")
    os.replace(tmp, folder / CONFIG_NAME)
    return folder


def add_weights(folder: str | os.PathLike, name: str, state: dict[str, Tensor], config_entry: dict[str, Any]) -> Path:
    """Add (or replace) ``<name>.safetensors`` in an existing model folder, its hash and ``config[name]``; the other
    files stay as they are (their hashes are checked first, so a damaged folder is not blessed anew)."""
    folder = Path(folder)
    config, _ = load_model_folder(folder)
    path = folder / f"{name}.safetensors"
    tmp = path.with_suffix(".safetensors.tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(tmp))
    os.replace(tmp, path)
    config["files"][path.name] = sha256_file(path)
    config[name] = config_entry
    tmp = folder / (CONFIG_NAME + ".tmp")
    tmp.write_text(json.dumps(config, indent=2) + "\n")
    os.replace(tmp, folder / CONFIG_NAME)
    return path


def read_config(folder: str | os.PathLike) -> dict[str, Any]:
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"model folder {str(folder)!r} does not exist (expected a folder with {CONFIG_NAME})")
    path = folder / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: a model folder needs {CONFIG_NAME} and its .safetensors files")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON ({e})") from e
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an {FORMAT} config (its 'format' must be {FORMAT!r})")
    if not isinstance(config.get("files"), dict) or not config["files"]:
        raise CheckpointError(f"{path} lists no weight files under 'files'")
    return config


def load_model_folder(folder: str | os.PathLike) -> tuple[dict[str, Any], dict[str, dict[str, Tensor]]]:
    """Read ``config.json``, check each listed weight file's sha256, then load it with safetensors.

    Returns ``(config, {"vae": state_dict, "unet": state_dict, ...})``. Raises ``CheckpointError`` naming the
    file that is missing, truncated or altered.
    """
    folder = Path(folder)
    config = read_config(folder)
    weights = {}
    for filename, expected in config["files"].items():
        if Path(filename).name != filename or not filename.endswith(".safetensors"):
            raise CheckpointError(
                f"{folder / CONFIG_NAME} names {filename!r}; only plain *.safetensors names are allowed"
            )
        path = folder / filename
        if not path.is_file():
            raise CheckpointError(f"weight file {path} is missing (listed in {CONFIG_NAME})")
        actual = sha256_file(path)
        if actual != expected:
            raise CheckpointError(
                f"weight file {path} is damaged or altered: sha256 {actual[:16]}... does not match "
                f"{expected[:16]}... recorded in {CONFIG_NAME}"
            )
        try:
            weights[filename.removesuffix(".safetensors")] = load_file(str(path))
        except Exception as e:  # a file whose hash was recorded from a broken write
            raise CheckpointError(f"weight file {path} could not be read as safetensors ({e})") from e
    return config, weights


def load_state(module: torch.nn.Module, state: dict[str, Tensor], name: str) -> None:
    """``load_state_dict(strict=True)`` with an error that names the weight file."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{name}.safetensors does not fit the model described in {CONFIG_NAME}: {e}") from e
