"""Resumable training state in safetensors + JSON (never pickle): weights, optimiser state, EMA, step, clock.

A state folder is a model folder (``checkpoint.save_model_folder``): one ``.safetensors`` file per part and a
``config.json`` holding the step, the elapsed time, each optimiser's structure and the file hashes. An optimiser
state is split into its tensors (``state.<param index>.<name>``, e.g. ``state.3.exp_avg``) and the rest (param
groups, non-tensor entries), which goes to JSON.

Randomness of step k is drawn from generators seeded by (seed, rank, k) (``step_generator``), so the seed and the
step are the whole RNG state and a resumed run draws exactly what an uninterrupted one would.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .checkpoint import CONFIG_NAME, load_model_folder, save_model_folder


def flatten_optimizer(state_dict: dict[str, Any]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """``optimizer.state_dict()`` -> (flat tensors for safetensors, JSON-ready structure)."""
    tensors: dict[str, Tensor] = {}
    state: dict[str, dict[str, Any]] = {}
    for idx, entry in state_dict["state"].items():
        state[str(idx)] = {}
        for key, value in entry.items():
            if isinstance(value, Tensor):
                name = f"state.{idx}.{key}"
                tensors[name] = value.detach().cpu().contiguous()
                state[str(idx)][key] = {"tensor": name}
            else:
                state[str(idx)][key] = {"value": value}
    return tensors, {"state": state, "param_groups": state_dict["param_groups"]}


def unflatten_optimizer(tensors: dict[str, Tensor], structure: dict[str, Any]) -> dict[str, Any]:
    """Inverse of ``flatten_optimizer``: a state dict that ``optimizer.load_state_dict`` accepts."""
    state = {
        int(idx): {k: tensors[v["tensor"]] if "tensor" in v else v["value"] for k, v in entry.items()}
        for idx, entry in structure["state"].items()
    }
    return {"state": state, "param_groups": structure["param_groups"]}


def step_generator(seed: int, rank: int, step: int, stream: int = 0) -> torch.Generator:
    """The CPU generator for one training step of one rank (``stream`` separates independent uses)."""
    return torch.Generator().manual_seed(((int(seed) * 1_000_003 + rank) * 10_000_019 + step) * 7 + stream)


def save_state(
    folder: str | os.PathLike,
    modules: dict[str, torch.nn.Module | dict[str, Tensor]],
    optimizers: dict[str, torch.optim.Optimizer],
    meta: dict[str, Any],
) -> Path:
    """Write the state to ``folder`` atomically (a temporary folder renamed into place).

    ``modules``: name -> module or state dict; ``optimizers``: name -> optimiser; ``meta``: JSON (step, clock, ...).
    """
    folder = Path(folder)
    weights = {name: m.state_dict() if isinstance(m, torch.nn.Module) else m for name, m in modules.items()}
    structures = {}
    for name, opt in optimizers.items():
        weights[f"optimizer_{name}"], structures[name] = flatten_optimizer(opt.state_dict())
    tmp, old = folder.with_name(folder.name + ".tmp"), folder.with_name(folder.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    save_model_folder(tmp, {**meta, "optimizers": structures}, weights)
    if folder.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def find_state(folder: str | os.PathLike) -> Path | None:
    """The state folder to resume from, or None (falls back to ``<folder>.old`` if a save was interrupted)."""
    folder = Path(folder)
    for candidate in (folder, folder.with_name(folder.name + ".old")):
        if (candidate / CONFIG_NAME).is_file():
            return candidate
    return None


def load_state(
    folder: str | os.PathLike,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
) -> dict[str, Any]:
    """Load weights and optimiser states saved by ``save_state`` (hashes checked); returns the meta data."""
    meta, weights = load_model_folder(folder)
    for name, module in modules.items():
        module.load_state_dict(weights[name])
    for name, opt in optimizers.items():
        opt.load_state_dict(unflatten_optimizer(weights[f"optimizer_{name}"], meta["optimizers"][name]))
    return meta
