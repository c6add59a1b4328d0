"""A small CNN classifier whose penultimate layer gives the features for the Fréchet distance of our data sets.

FID uses Inception-v3 features of ImageNet photos; for 28x28 digits and clothes a small CNN trained on the
train split of the same data set is the better judge (and runs in seconds on a CPU):

    x [B, C, H, W] in [-1, 1] -> 3 x (conv 3x3 -> BatchNorm -> ReLU -> maxpool 2) -> flatten
      -> linear (the features, [B, feature_dim]) -> ReLU -> dropout -> linear (the logits, [B, num_classes])

The features are taken before the ReLU, so no unit is stuck at 0 and their covariance is full rank.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checkpoint import CheckpointError, load_model_folder, load_state, save_model_folder

log = logging.getLogger(__name__)
WEIGHTS_NAME = "classifier"  # classifier.safetensors


@dataclass
class ClassifierConfig:
    in_channels: int = 1  # image channels (1 grayscale, 3 RGB)
    image_size: int = 28  # square input side; each conv level halves it (rounding down)
    num_classes: int = 10  # outputs of the head
    widths: tuple[int, ...] = (32, 64, 128)  # channels of the conv levels
    feature_dim: int = 128  # width of the feature layer used for the Fréchet distance
    dropout: float = 0.3  # dropout between features and head (training only)

    def __post_init__(self) -> None:
        self.widths = tuple(int(w) for w in self.widths)
        if self.image_size >> len(self.widths) < 1:
            raise ValueError(f"{len(self.widths)} pooling levels are too many for {self.image_size}x{self.image_size}")


@dataclass
class ClassifierTrainConfig:
    epochs: int = 8  # passes over the train split
    batch_size: int = 128  # images per step
    lr: float = 2e-3  # peak AdamW learning rate (linear warm-up over 100 steps, cosine decay to 0)
    weight_decay: float = 5e-4  # AdamW weight decay
    label_smoothing: float = 0.05  # cross-entropy label smoothing
    max_shift: int = 2  # augmentation: random translation by up to this many pixels (0 = none)
    seed: int = 0  # weights init, shuffling, augmentation and dropout all draw from generators seeded here


class SmallCNN(nn.Module):
    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        self.config = cfg
        layers: list[nn.Module] = []
        ch = cfg.in_channels
        for w in cfg.widths:
            layers += [nn.Conv2d(ch, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
            ch = w
        self.convs = nn.Sequential(*layers)
        side = cfg.image_size >> len(cfg.widths)  # 28 -> 14 -> 7 -> 3
        self.to_features = nn.Linear(ch * side * side, cfg.feature_dim)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.feature_dim, cfg.num_classes)

    def features(self, x: Tensor) -> Tensor:
        """x [B, C, H, W] in [-1, 1] -> features [B, feature_dim] (pre-activation)."""
        return self.to_features(self.convs(x).flatten(1))

    def forward(self, x: Tensor) -> Tensor:
        """x [B, C, H, W] in [-1, 1] -> logits [B, num_classes]."""
        return self.head(self.dropout(F.relu(self.features(x))))


def to_model_input(images: np.ndarray) -> Tensor:
    """uint8 [N, H, W] / [N, H, W, C] (0..255) or float [N, H, W, C] in [0, 1] -> float32 [N, C, H, W] in [-1, 1]."""
    arr = images[..., None] if images.ndim == 3 else images
    if arr.ndim != 4:
        raise ValueError(f"images must be [N, H, W] or [N, H, W, C], got shape {images.shape}")
    x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float()  # [N, C, H, W]
    if arr.dtype == np.uint8:
        x = x / 255.0
    return x * 2.0 - 1.0


def random_shift(x: Tensor, max_shift: int, generator: torch.Generator) -> Tensor:
    """Translate each image [B, C, H, W] by its own random (dy, dx) in [-max_shift, max_shift], edges replicated."""
    if max_shift <= 0:
        return x
    B, C, H, W = x.shape
    padded = F.pad(x, (max_shift,) * 4, mode="replicate")  # [B, C, H + 2s, W + 2s]
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, B), generator=generator)
    rows = (dy[:, None] + torch.arange(H))[:, None, :, None]  # [B, 1, H, 1]
    cols = (dx[:, None] + torch.arange(W))[:, None, None, :]  # [B, 1, 1, W]
    return padded[torch.arange(B)[:, None, None, None], torch.arange(C)[None, :, None, None], rows, cols]


@torch.inference_mode()
def embed(model: SmallCNN, images: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Images (see ``to_model_input``) -> (features [N, feature_dim] float64, logits [N, num_classes] float64)."""
    model.eval()
    device = next(model.parameters()).device
    feats, logits = [], []
    for start in range(0, len(images), batch_size):
        x = to_model_input(images[start : start + batch_size]).to(device)
        f = model.features(x)  # [b, feature_dim]
        feats.append(f.double().cpu())
        logits.append(model.head(F.relu(f)).double().cpu())
    return torch.cat(feats).numpy(), torch.cat(logits).numpy()


def accuracy(model: SmallCNN, images: np.ndarray, labels: np.ndarray, batch_size: int = 500) -> float:
    _, logits = embed(model, images, batch_size)
    return float((logits.argmax(1) == np.asarray(labels)).mean())


@dataclass
class TrainResult:
    model: SmallCNN
    losses: list[float] = field(default_factory=list)  # mean training loss per epoch
    train_accuracy: list[float] = field(default_factory=list)  # accuracy on the (augmented) batches per epoch
    seconds: float = 0.0


def train_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    cfg: ClassifierConfig,
    train_cfg: ClassifierTrainConfig,
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> TrainResult:
    """Train a SmallCNN on images [N, H, W(, C)] and integer labels [N]; ``on_epoch(epoch, loss, accuracy)``."""
    t0 = time.perf_counter()
    labels_t = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if len(images) != len(labels_t) or len(images) == 0:
        raise ValueError(f"need as many labels as images (at least one), got {len(images)} images, {len(labels_t)}")
    if labels_t.min() < 0 or labels_t.max() >= cfg.num_classes:
        raise ValueError(f"labels must be in 0..{cfg.num_classes - 1}, got {labels_t.min()}..{labels_t.max()}")
    x_all = to_model_input(images)  # [N, C, H, W]
    if tuple(x_all.shape[1:]) != (cfg.in_channels, cfg.image_size, cfg.image_size):
        raise ValueError(
            f"images are {tuple(x_all.shape[1:])} (C, H, W); the classifier expects "
            f"{(cfg.in_channels, cfg.image_size, cfg.image_size)}"
        )
    # Weight init and dropout draw from torch's default generator: it is seeded only inside fork_rng, which
    # restores the caller's state afterwards, so training is reproducible and leaves no global trace.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(train_cfg.seed)
        model = SmallCNN(cfg)
        result = _fit(model, x_all, labels_t, train_cfg, on_epoch)
    result.seconds = time.perf_counter() - t0
    return result


def _fit(
    model: SmallCNN,
    x_all: Tensor,
    labels: Tensor,
    train_cfg: ClassifierTrainConfig,
    on_epoch: Callable[[int, float, float], None] | None,
) -> TrainResult:
    gen = torch.Generator().manual_seed(train_cfg.seed)
    steps_per_epoch = math.ceil(len(x_all) / train_cfg.batch_size)
    total = max(train_cfg.epochs * steps_per_epoch, 1)
    warmup = min(100, total // 10)
    opt = torch.optim.AdamW(model.parameters(), lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / (warmup + 1) if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / total))
    )
    result = TrainResult(model)
    model.train()
    for epoch in range(train_cfg.epochs):
        order = torch.randperm(len(x_all), generator=gen)
        loss_sum, correct = 0.0, 0
        for start in range(0, len(x_all), train_cfg.batch_size):
            idx = order[start : start + train_cfg.batch_size]
            x = random_shift(x_all[idx], train_cfg.max_shift, gen)  # [b, C, H, W]
            logits = model(x)
            loss = F.cross_entropy(logits, labels[idx], label_smoothing=train_cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(1) == labels[idx]).sum())
        result.losses.append(loss_sum / len(x_all))
        result.train_accuracy.append(correct / len(x_all))
        log.info("epoch %d: loss %.4f, train accuracy %.4f", epoch + 1, result.losses[-1], result.train_accuracy[-1])
        if on_epoch is not None:
            on_epoch(epoch + 1, result.losses[-1], result.train_accuracy[-1])
    model.eval()
    return result


def save_classifier(
    folder: str | os.PathLike,
    model: SmallCNN,
    class_names: list[str],
    train_cfg: ClassifierTrainConfig | None = None,
    metrics: dict[str, Any] | None = None,
    **extra: Any,
) -> Path:
    """Write ``classifier.safetensors`` + ``config.json`` (configs, class names, metrics, sha256 of the weights)."""
    if len(class_names) != model.config.num_classes:
        raise ValueError(f"{len(class_names)} class names for a classifier of {model.config.num_classes} classes")
    config = {
        "kind": "classifier",
        "classifier": asdict(model.config),
        "class_names": list(class_names),
        "train": asdict(train_cfg) if train_cfg is not None else None,
        "metrics": dict(metrics or {}),
        **extra,
    }
    return save_model_folder(folder, config, {WEIGHTS_NAME: model.state_dict()})


def load_classifier(folder: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[SmallCNN, dict[str, Any]]:
    """Load a classifier folder (hashes checked, safetensors only) -> (model in eval mode, its config dict)."""
    config, weights = load_model_folder(folder)
    if config.get("kind") != "classifier" or WEIGHTS_NAME not in weights:
        raise CheckpointError(f"{Path(folder)} is not a classifier folder (needs kind 'classifier' and "
                              f"{WEIGHTS_NAME}.safetensors)")  # fmt: skip
    try:
        model = SmallCNN(ClassifierConfig(**config["classifier"]))
    except (TypeError, KeyError, ValueError) as e:
        raise CheckpointError(f"{Path(folder) / 'config.json'} has an unusable classifier config: {e}") from e
    load_state(model, weights[WEIGHTS_NAME], WEIGHTS_NAME)
    return model.to(device).eval(), config
