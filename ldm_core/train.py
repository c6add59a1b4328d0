"""What every training stage shares: the loop settings, learning-rate schedule, clock, progress bar and JSONL log.

The stages themselves are ``train_vae.py`` (autoencoder) and ``train_diffusion.py`` (denoiser on its latents).
A stage keeps everything in its output folder::

    <out>/log.jsonl         one JSON object per logged step: step, losses, lr, elapsed_s
    <out>/samples/*.png     sample grids made every ``sample_every`` steps
    <out>/state/            the resumable state (train_state.py)
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from . import distributed as ddp
from . import images as imx


@dataclass
class LoopConfig:
    steps: int = 10_000  # total optimiser steps
    batch_size: int = 64  # images per process and step
    lr: float = 2e-4  # peak learning rate (AdamW)
    warmup_steps: int = 200  # linear learning-rate warm-up from 0
    min_lr_ratio: float = 0.1  # cosine decay to lr * min_lr_ratio at `steps` (1.0 = constant)
    max_minutes: float = 0.0  # stop cleanly and save after this much training time, summed over resumes (0 = no limit)
    log_every: int = 50  # steps between log lines
    sample_every: int = 1000  # steps between sample grids (the last step always gets one)
    save_every: int = 500  # steps between resumable checkpoints
    seed: int = 0  # makes a run repeatable: weights, batches and noise follow from it
    grad_clip: float = 1.0  # max gradient norm (0 = no clipping)
    resume: bool = True  # continue from <out>/state if it exists

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every", "sample_every", "save_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.max_minutes < 0:
            raise ValueError(f"max_minutes must be >= 0 (0 = no limit), got {self.max_minutes}")


def learning_rate(cfg: LoopConfig, step: int) -> float:
    """Linear warm-up, then cosine decay from lr to lr * min_lr_ratio at cfg.steps."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block (model construction) under torch's global RNG seeded with ``seed``, restoring it afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class Loop:
    """Clock, progress bar, JSONL log and the stop rule of one stage on one process."""

    def __init__(self, cfg: LoopConfig, out_dir: Path, info: ddp.DistInfo, desc: str, step: int, elapsed_s: float):
        self.cfg, self.out_dir, self.info = cfg, Path(out_dir), info
        self.step = step  # optimiser steps done
        self.elapsed_before = elapsed_s  # training seconds of earlier (interrupted) runs
        self.started = time.monotonic()
        self.stopped_by_time = False
        self.sums: dict[str, float] = {}  # loss sums since the last log line
        self.count = 0
        self.running: float | None = None  # smoothed loss for the progress bar
        self.bar = tqdm(total=cfg.steps, initial=step, desc=desc, disable=not info.is_main, dynamic_ncols=True)
        if info.is_main:
            (self.out_dir / "samples").mkdir(parents=True, exist_ok=True)

    @property
    def elapsed_s(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started

    def done(self) -> bool:
        """True once all steps ran or the time limit passed (decided together by all processes)."""
        if self.step >= self.cfg.steps:
            return True
        over = self.cfg.max_minutes > 0 and self.elapsed_s >= 60 * self.cfg.max_minutes
        self.stopped_by_time = ddp.any_rank(over, self.info)
        return self.stopped_by_time

    def set_lr(self, optimizers: list[torch.optim.Optimizer]) -> float:
        lr = learning_rate(self.cfg, self.step)
        for opt in optimizers:
            for group in opt.param_groups:
                group["lr"] = lr
        return lr

    def record(self, losses: dict[str, float], lr: float) -> None:
        """Count one finished step; update the bar; write a log line every ``log_every`` steps."""
        self.step += 1
        for k, v in losses.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.count += 1
        loss = losses["loss"]
        self.running = loss if self.running is None else 0.98 * self.running + 0.02 * loss
        self.bar.update(1)
        if self.step % self.cfg.log_every == 0 or self.step == self.cfg.steps:
            means = {k: ddp.mean_over_ranks(v / self.count, self.info) for k, v in self.sums.items()}
            self.bar.set_postfix(loss=f"{self.running:.4f}", lr=f"{lr:.2e}")
            self.log({"step": self.step, **means, "lr": lr, "elapsed_s": round(self.elapsed_s, 2)})
            self.sums, self.count = {}, 0

    def log(self, entry: dict[str, Any]) -> None:
        if self.info.is_main:
            with open(self.out_dir / "log.jsonl", "a") as f:
                f.write(json.dumps(entry) + "\n")

    def due(self, every: int) -> bool:
        return self.step % every == 0

    def close(self) -> None:
        self.bar.close()

    def after_step(self, save: Callable[[], None], preview: Callable[[Path], object]) -> None:
        """Save the resumable state every ``save_every`` steps, a preview grid every ``sample_every`` (main only)."""
        if self.due(self.cfg.save_every):
            save()
        if self.info.is_main and self.due(self.cfg.sample_every):
            preview(self.out_dir / "samples" / f"step_{self.step:06d}.png")

    def finish(self, save: Callable[[], None], preview: Callable[[Path], object]) -> None:
        """After the last step: close the bar, save the state and (main only) a last preview grid."""
        self.close()
        save()
        if self.info.is_main:
            preview(self.out_dir / "samples" / f"step_{self.step:06d}.png")

    def record_of_run(self, command: str | None, **stage: Any) -> dict[str, Any]:
        """What config.json keeps of this run: command, steps, wall time, stop reason, loop and ``stage`` settings."""
        return {"command": command or " ".join(sys.argv), "steps": self.step, "wall_time_s": round(self.elapsed_s, 1),
                "stopped_by_time_limit": self.stopped_by_time, "world_size": self.info.world_size,
                "loop": asdict(self.cfg), **stage}  # fmt: skip


def save_grid(images: np.ndarray, path: Path, ncols: int) -> Path:
    """float [B, H, W, C] in [0, 1] -> one PNG grid."""
    path.parent.mkdir(parents=True, exist_ok=True)
    imx.to_pil(imx.make_grid(images, ncols=ncols)[None])[0].save(path, optimize=True)
    return path


def read_log(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
