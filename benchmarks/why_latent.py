"""Why latent, measured: a latent model and a pixel-space model trained with the same wall-clock budget, side by side.

Both are trained by the project's own command at the same time, one process and one torch thread each (so they
share the machine alike): the latent model as ``train vae`` (L1 + KL, no discriminator) then ``train diffusion`` on
its latents, the pixel-space model as ``train diffusion --pixel-space`` with the same UNet design, batch and learning
rate for the whole budget. Then both are measured like the shipped models (``ldm_core.evaluate``: the classifier's
accuracy on the samples and the Fréchet distance of its features to the test split) and a grid of their samples is
drawn. Prints a table; ``--write`` keeps the result in ``<model>/reference/why_latent.json`` and ``why_latent.png``
for the Learn tab (section 8).

    python benchmarks/why_latent.py --data ../shared/data/mnist.npz --minutes 20 --vae-minutes 6 \\
        --write checkpoints/mnist
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ldm_core import LatentDiffusionPipeline
from ldm_core import images as imx
from ldm_core.classifier import load_classifier
from ldm_core.evaluate import EvalConfig, embed, feature_stats, frechet_distance, generate, load_data, stratified_subset
from ldm_core.reference import REFERENCE_DIR

ROOT = Path(__file__).resolve().parents[1]
UNET = ["--unet-base-channels", "40", "--unet-channel-mult", "1,2,2", "--unet-attention-levels", "1,2"]
COMMON = ["--threads", "1", "--seed", "0", "--log-every", "25", "--save-every", "200"]
GRID_SEEDS = 4  # samples per class in the grid
SAMPLE_STEPS = 25  # DDIM steps of the samples measured (a pixel-space UNet call costs ~10x a latent one here)


def commands(data: str, out: Path, minutes: float, vae_minutes: float, guidance: float) -> dict[str, list[list[str]]]:
    """The training commands of both models (each a list of argv lists, run one after the other)."""
    py = [sys.executable, "-m", "ldm_core", "train"]
    diffusion = ["--batch-size", "64", "--lr", "1e-3", "--warmup", "100", "--guidance", str(guidance), *UNET]
    latent_vae = [*py, "vae", "--data", data, "--out", str(out / "latent" / "vae"), *COMMON,
                  "--vae-base-channels", "16", "--vae-channel-mult", "1,4,4", "--latent-channels", "4",
                  "--vae-steps", "100000", "--vae-batch-size", "32", "--vae-lr", "1e-3", "--disc-start", "1000000",
                  "--vae-max-minutes", str(vae_minutes), "--sample-every", "100000"]  # fmt: skip
    latent_unet = [*py, "diffusion", "--data", data, "--vae", str(out / "latent" / "vae"), "--out",
                   str(out / "latent" / "diffusion"), *COMMON, *diffusion, "--steps", "100000",
                   "--max-minutes", str(minutes - vae_minutes), "--sample-every", "100000"]  # fmt: skip
    pixel = [*py, "diffusion", "--data", data, "--pixel-space", "--out", str(out / "pixel" / "diffusion"), *COMMON,
             *diffusion, "--steps", "100000", "--max-minutes", str(minutes), "--sample-every", "100000"]  # fmt: skip
    return {"latent": [latent_vae, latent_unet], "pixel": [pixel]}


def train_both(cmds: dict[str, list[list[str]]], out: Path) -> dict[str, float]:
    """Run the two models' command chains at once (one process each); -> wall seconds per model."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    started, procs, logs = {}, {}, {}
    for name, chain in cmds.items():
        (out / name).mkdir(parents=True, exist_ok=True)
        logs[name] = open(out / name / "train.log", "w")  # noqa: SIM115 (closed below)
        script = " && ".join(shlex.join(c) for c in chain)
        started[name] = time.perf_counter()
        procs[name] = subprocess.Popen(["bash", "-c", script], stdout=logs[name], stderr=subprocess.STDOUT, env=env)
    wall = {}
    for name, proc in procs.items():
        if proc.wait() != 0:
            raise SystemExit(f"training {name} failed; see {out / name / 'train.log'}")
        wall[name] = time.perf_counter() - started[name]
        logs[name].close()
    return wall


def measure(folder: Path, data: dict, classifier, per_class: int, floor_stats, test_stats) -> dict:
    pipe = LatentDiffusionPipeline.from_pretrained(folder)
    k = len(pipe.class_names)
    labels = np.repeat(np.arange(k), per_class)
    t0 = time.perf_counter()
    samples = generate(pipe, labels, EvalConfig(per_class=per_class, num_inference_steps=SAMPLE_STEPS, batch_size=200))
    seconds = time.perf_counter() - t0
    feats, logits = embed(classifier, samples)
    fd = frechet_distance(*feature_stats(feats), *test_stats)
    grid = np.stack([samples[labels == c][:GRID_SEEDS] for c in range(k)], 1).reshape(-1, *samples.shape[1:])
    runs = [pipe.extra_config.get("vae_training", {}), pipe.extra_config["training"]]  # stage 1 (if any), stage 2
    return {
        "accuracy": float((logits.argmax(1) == labels).mean()),
        "fd": fd,
        "fd_over_floor": fd / floor_stats,
        "denoiser_steps": int(runs[1]["steps"]),
        "vae_steps": int(runs[0].get("steps", 0)),
        "training_minutes": sum(r.get("wall_time_s", 0.0) for r in runs) / 60,  # the loops' time, as max-minutes
        "unet_parameters": sum(p.numel() for p in pipe.unet.parameters()),
        "latent_shape": list(pipe.latent_shape),
        "sampling_seconds": seconds,
        "grid": grid,  # [GRID_SEEDS * k, H, W, C], row r = seed r, column = class
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="../shared/data/mnist.npz")
    p.add_argument("--classifier", default=str(ROOT / "checkpoints" / "classifiers" / "mnist"))
    p.add_argument("--minutes", type=float, default=20.0, help="wall-clock budget of each model's training")
    p.add_argument("--vae-minutes", type=float, default=6.0, help="the latent model's share for its VAE")
    p.add_argument("--guidance", type=float, default=1.5)
    p.add_argument("--per-class", type=int, default=10, help="samples per class for the metrics")
    p.add_argument("--out", default=str(ROOT / "runs" / "why_latent"))
    p.add_argument("--note", default="", help="what else ran on the machine meanwhile (kept with the result)")
    p.add_argument("--note-zh", default="", help="the same note in Chinese, for the app's Chinese page")
    p.add_argument("--write", default=None, metavar="MODEL", help="model folder whose reference/ keeps the result")
    args = p.parse_args()
    out = Path(args.out)
    cmds = commands(args.data, out, args.minutes, args.vae_minutes, args.guidance)
    wall = train_both(cmds, out)

    torch.set_num_threads(os.cpu_count() or 1)
    data = load_data(args.data)
    classifier, _ = load_classifier(args.classifier)
    test_feats, _ = embed(classifier, data["test_images"])
    test_stats = feature_stats(test_feats)
    subset = stratified_subset(data["train_labels"], args.per_class, 10, 0)
    floor = frechet_distance(*feature_stats(embed(classifier, data["train_images"][subset])[0]), *test_stats)
    rows = {}
    for name in ("latent", "pixel"):
        rows[name] = measure(out / name / "diffusion" / "model", data, classifier, args.per_class, floor, test_stats)
        rows[name]["wall_minutes"] = wall[name] / 60
    print(f"budget {args.minutes:g} min each, run at the same time, one thread each; {args.per_class} samples per "
          f"class, DDIM {SAMPLE_STEPS} steps, guidance {args.guidance:g}; FD floor (train vs test) {floor:.3f}")  # fmt: skip
    print(f"{'model':8s} {'latent':>8s} {'train min':>9s} {'wall min':>8s} {'VAE steps':>9s} {'UNet steps':>10s} "
          f"{'accuracy':>8s} {'FD':>8s} {'/floor':>7s}")  # fmt: skip
    for name, r in rows.items():
        shape = "x".join(map(str, r["latent_shape"]))
        print(f"{name:8s} {shape:>8s} {r['training_minutes']:9.1f} {r['wall_minutes']:8.1f} {r['vae_steps']:9d} "
              f"{r['denoiser_steps']:10d} {100 * r['accuracy']:7.1f}% {r['fd']:8.2f} {r['fd_over_floor']:6.1f}x")  # fmt: skip
    if args.write:
        folder = Path(args.write) / REFERENCE_DIR
        folder.mkdir(parents=True, exist_ok=True)
        grids = [imx.make_grid(rows[n].pop("grid"), ncols=10) for n in ("latent", "pixel")]
        gap = np.ones((grids[0].shape[0], 4, grids[0].shape[2]), grids[0].dtype)  # a white gap between the two
        imx.to_pil(np.concatenate([grids[0], gap, grids[1]], 1)[None])[0].save(folder / "why_latent.png", optimize=True)
        machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"
        record = {"command": "python benchmarks/why_latent.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
                  "machine": machine, "budget_minutes": args.minutes, "vae_minutes": args.vae_minutes,
                  "guidance": args.guidance, "sample_steps": SAMPLE_STEPS, "per_class": args.per_class, "fd_floor": floor, "grid_seeds": GRID_SEEDS,
                  "note": args.note, "note_zh": args.note_zh, "training_commands": {n: ["python " + shlex.join(c[1:]) for c in chain] for n, chain in cmds.items()},
                  "models": rows}  # fmt: skip
        (folder / "why_latent.json").write_text(json.dumps(record, indent=1))
        print(f"wrote {folder / 'why_latent.json'} and why_latent.png")


if __name__ == "__main__":
    main()
