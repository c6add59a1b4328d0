"""Measure a trained latent diffusion model against its data set, with a small CNN classifier as the judge.

    python -m ldm_core train-classifier --data ../shared/data/mnist.npz --out checkpoints/classifiers/mnist
    python -m ldm_core evaluate --model checkpoints/mnist --data ../shared/data/mnist.npz [--per-class 100]

All Fréchet distances (FD) are between classifier features (``classifier.SmallCNN.features``) of a set of images
and of the whole test split, so they are comparable with each other (FD grows as the set shrinks: compare sets of
the same size). The rows of the table, from best possible to the model's own:

- floor: a random train subset (stratified, ``per_class`` images of each class, the size of the generated set)
  vs test. Real images of the same distribution; no generator can be expected to get below it.
- ceiling: the VAE reconstructions of that same train subset vs test. The diffusion model samples VAE latents
  and the VAE decodes them, so a perfect latent model would score about this; do not expect samples to beat it.
- samples: ``per_class`` generated images per class (50 steps of the model's default sampler, DDIM unless its
  config names another, at its default guidance) vs test, and the classifier's accuracy on the requested class.
- also: VAE reconstruction PSNR on the first 2,000 images of the (shuffled) test split (per image, then averaged;
  and from the MSE of the whole set), FD of their reconstructions vs the test split, and FD of (up to 10,000) train
  images vs test. ``--recon-images 0 --train-images 0`` uses all of test and train (slower on Fashion-MNIST).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .checkpoint import CheckpointError, sha256_file
from .classifier import (
    ClassifierConfig,
    ClassifierTrainConfig,
    SmallCNN,
    accuracy,
    embed,
    load_classifier,
    save_classifier,
    to_model_input,
    train_classifier,
)
from .metrics import feature_stats, frechet_distance, psnr
from .pipeline import MAX_BATCH, LatentDiffusionPipeline

log = logging.getLogger(__name__)


@dataclass
class EvalConfig:
    per_class: int = 100  # generated images per class (and train-subset images per class for the floor)
    num_inference_steps: int = 50  # sampler steps per image
    guidance_scale: float | None = None  # classifier-free guidance; None = the model's default
    sampler: str | None = None  # a name in ldm_core.SAMPLERS; None = the model's default_sampler
    seed: int = 0  # generated image i uses seed + i; the train subset is drawn by np.random.default_rng(seed)
    batch_size: int = 200  # images per pipeline / classifier call (at most 256)
    recon_images: int = 2_000  # test images to reconstruct through the VAE, from the start (0 = all of test)
    train_images: int = 10_000  # random train images for the "train vs test" reference row (0 = all of train)


# ---------------------------------------------------------------------------------------------------- data
def load_data(path: str | Path, image_size: int | None = None) -> dict[str, Any]:
    """Read an npz of ``{train,test}_images`` (uint8 [N, H, W] or [N, H, W, C]), ``*_labels`` and ``class_names``.

    A file with several sizes (``train_images_32``, ``train_images_64``) gives the one of ``image_size``.
    Returns ``{"train_images", "train_labels", "test_images", "test_labels", "class_names"}``.
    """
    with np.load(path, allow_pickle=False) as npz:
        keys = set(npz.files)
        out: dict[str, Any] = {}
        for split in ("train", "test"):
            key = f"{split}_images"
            if key not in keys and image_size is not None:
                key = f"{split}_images_{image_size}"
            if key not in keys or f"{split}_labels" not in keys:
                raise ValueError(f"{path} has no {key!r} and {split}_labels (it has {sorted(keys)})")
            out[f"{split}_images"] = npz[key]
            out[f"{split}_labels"] = npz[f"{split}_labels"].astype(np.int64)
        out["class_names"] = [str(c) for c in npz["class_names"]] if "class_names" in keys else None
    return out


def stratified_subset(labels: np.ndarray, per_class: int, num_classes: int, seed: int) -> np.ndarray:
    """Indices of ``per_class`` random images of each class (all of a class that has fewer), sorted."""
    rng = np.random.default_rng(seed)
    picks = []
    for c in range(num_classes):
        idx = np.flatnonzero(labels == c)
        picks.append(rng.choice(idx, size=min(per_class, len(idx)), replace=False))
    return np.sort(np.concatenate(picks))


# ---------------------------------------------------------------------------------------------------- pieces
def reconstruct(pipe: LatentDiffusionPipeline, images: np.ndarray, batch_size: int = 200) -> np.ndarray:
    """Images (uint8 or [0, 1]) [N, H, W(, C)] -> VAE reconstructions decode(encode(x)), float32 [N, H, W, C]."""
    out = []
    for start in range(0, len(images), batch_size):
        x = to_model_input(images[start : start + batch_size])  # [b, C, H, W] in [-1, 1]
        out.append(pipe.decode(pipe.encode(x)))
    return np.concatenate(out)


def generate(
    pipe: LatentDiffusionPipeline,
    labels: np.ndarray,
    cfg: EvalConfig,
    progress: Callable[[str], None] | None = None,
) -> np.ndarray:
    """One image per label, image i with seed cfg.seed + i (whatever the batch size) -> float32 [N, H, W, C]."""
    out = []
    batch = min(cfg.batch_size, MAX_BATCH)
    for start in range(0, len(labels), batch):
        res = pipe(
            class_labels=[int(c) for c in labels[start : start + batch]],
            num_inference_steps=cfg.num_inference_steps,
            guidance_scale=cfg.guidance_scale,
            sampler=cfg.sampler,
            seed=cfg.seed + start,
            output_type="np",
        )
        out.append(res.images)
        if progress is not None:
            progress(f"generated {start + len(res.images)}/{len(labels)}")
    return np.concatenate(out)


def check_compatible(pipe: LatentDiffusionPipeline, classifier: SmallCNN, data: dict[str, Any]) -> None:
    """Raise ValueError when the classifier or the data do not fit the model's classes and image size."""
    c = classifier.config
    k = len(pipe.class_names)
    if c.num_classes != k:
        raise ValueError(f"the classifier has {c.num_classes} classes, the model {pipe.name!r} has {k}")
    if (c.in_channels, c.image_size) != (pipe.image_channels, pipe.image_size):
        raise ValueError(
            f"the classifier takes {c.in_channels}x{c.image_size}x{c.image_size} images, "
            f"the model makes {pipe.image_channels}x{pipe.image_size}x{pipe.image_size}"
        )
    shape = data["test_images"].shape[1:3]
    if tuple(shape) != (pipe.image_size, pipe.image_size):
        raise ValueError(
            f"the data's images are {shape[1]}x{shape[0]}, the model makes {pipe.image_size}x{pipe.image_size}"
        )
    if data["class_names"] is not None and list(data["class_names"]) != pipe.class_names:
        log.warning("class names differ: data %s, model %s", data["class_names"], pipe.class_names)


# ---------------------------------------------------------------------------------------------------- evaluate
@torch.inference_mode()
def evaluate(
    pipe: LatentDiffusionPipeline,
    classifier: SmallCNN,
    data: dict[str, Any],
    cfg: EvalConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Reconstruction, floor, ceiling and sample metrics of one model (see the module docstring); a flat dict."""
    cfg = cfg or EvalConfig()
    check_compatible(pipe, classifier, data)
    k = len(pipe.class_names)
    say = progress or (lambda msg: None)
    t_start = time.perf_counter()
    seconds: dict[str, float] = {}

    def stats(images: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        feats, logits = embed(classifier, images)
        return feature_stats(feats), logits.argmax(1)

    t = time.perf_counter()
    test_x, test_y = data["test_images"], data["test_labels"]
    test_stats, test_pred = stats(test_x)

    def fd_to_test(stats_: tuple[np.ndarray, np.ndarray]) -> float:
        return frechet_distance(*stats_, *test_stats)

    n_train = len(data["train_images"])
    if 0 < cfg.train_images < n_train:
        pick = np.sort(np.random.default_rng(cfg.seed).choice(n_train, cfg.train_images, replace=False))
        train_stats, _ = stats(data["train_images"][pick])
        n_train = cfg.train_images
    else:
        train_stats, _ = stats(data["train_images"])
    subset = stratified_subset(data["train_labels"], cfg.per_class, k, cfg.seed)
    sub_x = data["train_images"][subset]
    floor_stats, _ = stats(sub_x)
    seconds["real_features"] = time.perf_counter() - t
    say(f"features of {len(test_x)} test and {n_train} + {len(sub_x)} train images")

    t = time.perf_counter()
    n_recon = len(test_x) if cfg.recon_images <= 0 else min(cfg.recon_images, len(test_x))
    recon = reconstruct(pipe, test_x[:n_recon], cfg.batch_size)  # [n, H, W, C] in [0, 1]
    reference = to_model_input(test_x[:n_recon]).permute(0, 2, 3, 1).numpy() * 0.5 + 0.5  # [n, H, W, C] in [0, 1]
    per_image = psnr(recon, reference)
    set_mse = float(((recon.astype(np.float64) - reference) ** 2).mean())
    recon_stats, recon_pred = stats(recon)
    ceiling_stats, _ = stats(reconstruct(pipe, sub_x, cfg.batch_size))
    seconds["reconstruction"] = time.perf_counter() - t
    say(f"VAE reconstructions of {n_recon} test and {len(sub_x)} train images")

    t = time.perf_counter()
    gen_labels = np.repeat(np.arange(k), cfg.per_class)  # [k * per_class]
    samples = generate(pipe, gen_labels, cfg, say)
    seconds["generation"] = time.perf_counter() - t
    sample_stats, sample_pred = stats(samples)
    hits = sample_pred == gen_labels
    seconds["total"] = time.perf_counter() - t_start

    return {
        "model": pipe.name,
        "class_names": pipe.class_names,
        "num_samples": len(samples),
        **asdict(cfg),
        "guidance_scale": pipe.default_guidance_scale if cfg.guidance_scale is None else cfg.guidance_scale,
        "sampler": pipe.default_sampler if cfg.sampler is None else cfg.sampler,
        "guidance_interval": list(pipe.guidance_interval),
        "num_test": len(test_x),
        "num_train": n_train,
        "num_train_subset": len(sub_x),
        "num_recon": n_recon,
        "classifier_test_accuracy": float((test_pred == test_y).mean()),
        "recon_psnr_db": float(per_image.mean()),
        "recon_psnr_set_db": float(10.0 * np.log10(1.0 / max(set_mse, 1e-10))),
        "recon_accuracy": float((recon_pred == test_y[:n_recon]).mean()),
        "fd_recon_test": fd_to_test(recon_stats),
        "fd_floor": fd_to_test(floor_stats),
        "fd_ceiling": fd_to_test(ceiling_stats),
        "fd_samples": fd_to_test(sample_stats),
        "fd_train": fd_to_test(train_stats),
        "samples_accuracy": float(hits.mean()),
        "samples_accuracy_per_class": [float(hits[gen_labels == c].mean()) for c in range(k)],
        "seconds": seconds,
    }


def format_table(r: dict[str, Any]) -> str:
    """The results of ``evaluate`` as a plain-text table."""
    n, m, sub = r["num_samples"], r["num_test"], r["num_train_subset"]
    rows = [
        ("classifier accuracy on the test split", f"{100 * r['classifier_test_accuracy']:.2f} %", m),
        ("VAE recon PSNR, mean of per-image PSNR", f"{r['recon_psnr_db']:.2f} dB", r["num_recon"]),
        ("VAE recon PSNR, from the set's mean MSE", f"{r['recon_psnr_set_db']:.2f} dB", r["num_recon"]),
        ("classifier accuracy on VAE recon of test", f"{100 * r['recon_accuracy']:.2f} %", r["num_recon"]),
        ("FD  VAE recon of test vs test", f"{r['fd_recon_test']:.3f}", r["num_recon"]),
        ("FD  train subset vs test (floor)", f"{r['fd_floor']:.3f}", sub),
        ("FD  VAE recon of train subset vs test (ceiling)", f"{r['fd_ceiling']:.3f}", sub),
        ("FD  samples vs test", f"{r['fd_samples']:.3f}", n),
        ("classifier accuracy on samples (asked class)", f"{100 * r['samples_accuracy']:.2f} %", n),
        ("FD  train vs test (reference, more images)", f"{r['fd_train']:.3f}", r["num_train"]),
    ]
    s = r["seconds"]
    lines = [
        f"model {r['model']}: {n} samples ({r['per_class']} per class), {r['sampler']}, "
        f"{r['num_inference_steps']} steps, guidance {r['guidance_scale']:g}"
        f"{' at t in [{}, {})'.format(*r['guidance_interval']) if 'guidance_interval' in r else ''}, seed {r['seed']}; "
        f"every FD is against the {m} test images",
        f"{'quantity':<50}{'value':>12}{'images':>8}",
        *(f"{name:<50}{value:>12}{count:>8}" for name, value, count in rows),
        "accuracy per class: "
        + ", ".join(f"{c} {100 * a:.0f}%" for c, a in zip(r["class_names"], r["samples_accuracy_per_class"])),
        f"time {s['total']:.1f} s: generation {s['generation']:.1f} s, VAE reconstruction {s['reconstruction']:.1f} s, "
        f"real-image features {s['real_features']:.1f} s",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- command line
def default_classifier_folder(model_folder: str | Path, model_name: str) -> Path:
    """checkpoints/<model>/ -> checkpoints/classifiers/<model name> (or the model folder's own name)."""
    root = Path(model_folder).parent / "classifiers"
    for name in (model_name, Path(model_folder).name):
        if (root / name).is_dir():
            return root / name
    raise CheckpointError(
        f"no classifier for model {model_name!r}: looked in {root / model_name}; train one with "
        f"`python -m ldm_core train-classifier --data <npz> --out {root / model_name}` or pass --classifier"
    )


def run_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    pipe = LatentDiffusionPipeline.from_pretrained(args.model, device=args.device)
    if args.guidance_interval is not None:
        pipe.set_guidance_interval(*args.guidance_interval)
    folder = Path(args.classifier) if args.classifier else default_classifier_folder(args.model, pipe.name)
    classifier, _ = load_classifier(folder, device=args.device)
    data = load_data(args.data, pipe.image_size)
    cfg = EvalConfig(args.per_class, args.steps, args.guidance, args.sampler, args.seed, args.batch_size,
                     args.recon_images, args.train_images)  # fmt: skip
    results = evaluate(pipe, classifier, data, cfg, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    results.update(model_folder=str(args.model), data=str(args.data), classifier=str(folder))
    print(f"data {args.data}, classifier {folder}")
    print(format_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")
    return results


def run_train_classifier(args: argparse.Namespace) -> dict[str, Any]:
    data = load_data(args.data, args.image_size)
    x, y = data["train_images"], data["train_labels"]
    names = data["class_names"] or [str(c) for c in range(int(y.max()) + 1)]
    channels = 1 if x.ndim == 3 else x.shape[-1]
    cfg = ClassifierConfig(channels, x.shape[1], len(names), tuple(args.widths), args.feature_dim)
    train_cfg = ClassifierTrainConfig(args.epochs, args.batch_size, args.lr, max_shift=args.max_shift, seed=args.seed)
    print(f"training on {len(x)} train images of {args.data}: {cfg}, {train_cfg}")
    result = train_classifier(
        x, y, cfg, train_cfg, lambda e, loss, acc: print(f"epoch {e}: loss {loss:.4f}, train accuracy {acc:.4f}")
    )
    metrics = {
        "test_accuracy": accuracy(result.model, data["test_images"], data["test_labels"]),
        "train_accuracy": accuracy(result.model, x, y),
        "epoch_losses": [round(v, 5) for v in result.losses],
        "train_seconds": round(result.seconds, 1),
        "num_train": len(x),
        "num_test": len(data["test_images"]),
    }
    data_info = {"file": Path(args.data).name, "sha256": sha256_file(args.data)}
    folder = save_classifier(args.out, result.model, names, train_cfg, metrics, data=data_info,
                             command=" ".join(["python -m ldm_core", *sys.argv[1:]]))  # fmt: skip
    write_classifier_card(folder, metrics, data_info, cfg, train_cfg)
    print(f"test accuracy {100 * metrics['test_accuracy']:.2f} %, train accuracy {100 * metrics['train_accuracy']:.2f} %, "
          f"{result.seconds:.0f} s; saved {folder}")  # fmt: skip
    return metrics


def write_classifier_card(
    folder: Path, metrics: dict[str, Any], data_info: dict[str, str], cfg: ClassifierConfig,
    train_cfg: ClassifierTrainConfig,
) -> None:  # fmt: skip
    """A README.md beside the weights: what the classifier is for, how it was trained, what it scores."""
    command = " ".join(["python -m ldm_core", *sys.argv[1:]])
    text = f"""# Evaluation classifier: {folder.name}

The judge of `python -m ldm_core evaluate` (ldm_core/evaluate.py): a small CNN (ldm_core/classifier.py,
{sum(p.numel() for p in SmallCNN(cfg).parameters()):,} parameters) whose {cfg.feature_dim}-d feature layer gives the
features of the Fréchet distances and whose head gives the accuracy on generated samples.

Trained on the train split only ({metrics["num_train"]:,} images of `{data_info["file"]}`, sha256
`{data_info["sha256"][:16]}...`), seed {train_cfg.seed}, {train_cfg.epochs} epochs, random shifts of up to
{train_cfg.max_shift} px, one CPU thread, {metrics["train_seconds"]:.0f} s:

    OMP_NUM_THREADS=1 {command}

| split | accuracy |
|---|---|
| test ({metrics["num_test"]:,} images) | {100 * metrics["test_accuracy"]:.2f} % |
| train ({metrics["num_train"]:,} images) | {100 * metrics["train_accuracy"]:.2f} % |

Files: `classifier.safetensors` (weights) and `config.json` (architecture, training settings, metrics, sha256).
Load with `ldm_core.classifier.load_classifier(folder)`.
"""
    (folder / "README.md").write_text(text)


def register(subparsers: Any) -> None:
    """Add the ``evaluate`` and ``train-classifier`` commands to an argparse subparsers object."""
    ev = subparsers.add_parser(
        "evaluate",
        help="measure a model: VAE PSNR, Fréchet distances (floor, ceiling, samples) and sample accuracy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ev.add_argument("--model", required=True, help="model folder, e.g. checkpoints/mnist")
    ev.add_argument("--data", required=True, help="npz with train/test images and labels")
    ev.add_argument("--classifier", help="classifier folder (default: checkpoints/classifiers/<model name>)")
    ev.add_argument("--per-class", type=int, default=100, help="generated images per class (default 100)")
    ev.add_argument("--steps", type=int, default=50, help="sampler steps (default 50)")
    ev.add_argument("--guidance", type=float, default=None, help="guidance scale (default: the model's)")
    ev.add_argument(
        "--guidance-interval",
        type=lambda v: tuple(int(x) for x in v.split(",")),
        default=None,
        metavar="LO,HI",
        help="guide only at timesteps LO <= t < HI (default: the model's)",
    )
    ev.add_argument("--sampler", default=None, help="sampler name (default: the model's, ddim unless its config says)")
    ev.add_argument("--seed", type=int, default=0, help="sample i uses seed + i; also picks the train subset")
    ev.add_argument("--batch-size", type=int, default=200, help="images per batch (at most 256)")
    ev.add_argument("--recon-images", type=int, default=2000, help="test images to reconstruct (0 = all)")
    ev.add_argument("--train-images", type=int, default=10_000, help="train images for the reference row (0 = all)")
    ev.add_argument("--device", default="cpu", help="torch device (default cpu)")
    ev.add_argument("--json", help="also write the numbers to this JSON file")
    ev.set_defaults(func=run_evaluate)

    tc = subparsers.add_parser("train-classifier", help="train the small CNN that evaluate uses as its judge")
    tc.add_argument("--data", required=True, help="npz with train/test images and labels (trains on train only)")
    tc.add_argument("--out", required=True, help="output folder, e.g. checkpoints/classifiers/mnist")
    tc.add_argument("--image-size", type=int, default=None, help="pick train_images_<size> from a multi-size npz")
    d = ClassifierTrainConfig()
    tc.add_argument("--epochs", type=int, default=d.epochs, help=f"passes over the train split (default {d.epochs})")
    tc.add_argument("--batch-size", type=int, default=d.batch_size, help=f"default {d.batch_size}")
    tc.add_argument("--lr", type=float, default=d.lr, help=f"peak learning rate (default {d.lr:g})")
    tc.add_argument("--max-shift", type=int, default=d.max_shift, help="random translation in pixels (default 2)")
    tc.add_argument("--seed", type=int, default=d.seed, help="seed for init, shuffling and augmentation")
    c = ClassifierConfig()
    tc.add_argument("--widths", type=int, nargs="+", default=list(c.widths), help="conv channels per level")
    tc.add_argument("--feature-dim", type=int, default=c.feature_dim, help="width of the feature layer")
    tc.set_defaults(func=run_train_classifier)


if __name__ == "__main__":  # until ldm_core/__main__.py registers these commands: python -m ldm_core.evaluate ...
    parser = argparse.ArgumentParser(prog="python -m ldm_core.evaluate")
    register(parser.add_subparsers(dest="command", required=True))
    parsed = parser.parse_args()
    parsed.func(parsed)
