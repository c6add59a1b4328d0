"""Guidance sweep: Fréchet distance and class accuracy of a model's samples under classifier-free guidance (CFG, in an
interval of timesteps) and autoguidance (Karras et al. 2024, "Guiding a diffusion model with a bad version of
itself": ε̂ = ε̂_bad(c) + w (ε̂(c) - ε̂_bad(c)), with a smaller, shorter-trained denoiser of the same latents).

Each setting samples ``--per-class`` images per class with the seeds and batches of ``ldm_core.evaluate`` (image i
has seed i, batches of 200), so a plain CFG row reproduces ``python -m ldm_core evaluate`` exactly; the FD is between
the judge's features of the samples and of the whole test split, and the floor (1,000 stratified train images
against the test split) is printed first. One JSON line per setting. Not part of the test run.

    python benchmarks/sweep_guidance.py --model checkpoints/fashion-mnist --data ../shared/data/fashion_mnist.npz \\
        --settings '[{"cfg": 4.5, "lo": 200, "hi": 450}, {"ag": 1.5}, {"ag": 1.5, "sampler": "dpmpp_2m"}]' \\
        --guide runs/bad24/export

A setting's keys (all optional): ``cfg`` (CFG scale, default 1 = none) applied at ``lo <= t < hi`` (default every
step); ``ag`` (autoguidance scale, default 1 = none) at ``ag_lo <= t < ag_hi``, needs ``--guide``; ``sampler``
(default ddim) and ``steps`` (default 50). Where both act, ε̂ = CFG(ε̂) + (ag - 1) (ε̂(c) - ε̂_guide(c)).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ldm_core.classifier import embed, load_classifier
from ldm_core.evaluate import default_classifier_folder, load_data, stratified_subset
from ldm_core.metrics import feature_stats, frechet_distance
from ldm_core.pipeline import LatentDiffusionPipeline, generators_for
from ldm_core.samplers import get_sampler
from ldm_core.schedule import make_timesteps

BATCH = 200  # ldm_core.evaluate's batch: image i of the sweep is image i of evaluate
KEYS = {"cfg", "lo", "hi", "ag", "ag_lo", "ag_hi", "sampler", "steps"}


def denoiser(pipe: LatentDiffusionPipeline, guide: LatentDiffusionPipeline | None, labels: torch.Tensor,
             s: dict[str, Any]):  # fmt: skip
    """``denoise(x_t, t) -> ε̂`` of one setting for a batch of ``labels``."""
    T = pipe.schedule.num_train_timesteps
    cfg, lo, hi = float(s.get("cfg", 1.0)), int(s.get("lo", 0)), int(s.get("hi", T))
    ag, ag_lo, ag_hi = float(s.get("ag", 1.0)), int(s.get("ag_lo", 0)), int(s.get("ag_hi", T))
    if ag != 1.0 and guide is None:
        raise ValueError("a setting with 'ag' needs --guide")
    emb, null = pipe.class_embeddings(labels.tolist()), pipe.null_embeddings(len(labels))
    guide_emb = guide.class_embeddings(labels.tolist()) if guide is not None else None
    # the guide was trained on latents scaled by its own factor: give it x_t in its scale
    rescale = guide.scaling_factor / pipe.scaling_factor if guide is not None else 1.0

    def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        step = int(t[0])
        cond = pipe.unet(x, t, class_emb=emb)
        out = cond
        if cfg != 1.0 and lo <= step < hi:
            uncond = pipe.unet(x, t, class_emb=null)
            out = uncond + cfg * (cond - uncond)
        if ag != 1.0 and ag_lo <= step < ag_hi:
            assert guide is not None and guide_emb is not None
            out = out + (ag - 1.0) * (cond - guide.unet(x * rescale, t, class_emb=guide_emb))
        return pipe.schedule.eps_from_v(x, t, out) if pipe.prediction_type == "v_prediction" else out

    return denoise


@torch.inference_mode()
def samples(pipe: LatentDiffusionPipeline, guide: LatentDiffusionPipeline | None, labels: np.ndarray,
            s: dict[str, Any]) -> np.ndarray:  # fmt: skip
    """One image per label, image i with seed i -> float32 [N, H, W, C] in [0, 1]."""
    timesteps = make_timesteps(pipe.schedule.num_train_timesteps, int(s.get("steps", 50)))
    sampler = get_sampler(s.get("sampler", "ddim"))
    out = []
    for start in range(0, len(labels), BATCH):
        batch = torch.as_tensor(labels[start : start + BATCH])
        seeds = list(range(start, start + len(batch)))
        z = sampler(denoiser(pipe, guide, batch, s), pipe.initial_noise(seeds), pipe.schedule, timesteps, eta=0.0,
                    generators=generators_for(seeds))  # fmt: skip
        out.append(pipe.decode(z))
    return np.concatenate(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model folder")
    ap.add_argument("--data", required=True, help="the model's .npz (its test split is the reference)")
    ap.add_argument("--settings", required=True, help="JSON list of settings (see the module docstring)")
    ap.add_argument("--guide", default=None, help="model folder of the guiding denoiser, for 'ag' settings")
    ap.add_argument("--classifier", default=None, help="judge folder (default: the model's in checkpoints)")
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    settings = json.loads(args.settings)
    for s in settings:
        if set(s) - KEYS:
            raise SystemExit(f"unknown keys {sorted(set(s) - KEYS)} in {s}; allowed: {sorted(KEYS)}")
    torch.set_num_threads(args.threads)
    pipe = LatentDiffusionPipeline.from_pretrained(args.model)
    guide = LatentDiffusionPipeline.from_pretrained(args.guide) if args.guide else None
    judge, _ = load_classifier(args.classifier or default_classifier_folder(args.model, pipe.name))
    data = load_data(args.data, pipe.image_size)
    k = len(pipe.class_names)
    test = feature_stats(embed(judge, data["test_images"])[0])
    floor_pick = stratified_subset(data["train_labels"], 100, k, 0)
    floor = frechet_distance(*feature_stats(embed(judge, data["train_images"][floor_pick])[0]), *test)
    print(json.dumps({"floor": round(floor, 3), "model": args.model, "guide": args.guide}), flush=True)
    labels = np.repeat(np.arange(k), args.per_class)
    for s in settings:
        t0 = time.perf_counter()
        feats, logits = embed(judge, samples(pipe, guide, labels, s))
        fd = frechet_distance(*feature_stats(feats), *test)
        hit = logits.argmax(1) == labels
        per_class = [round(100 * float(hit[labels == c].mean())) for c in range(k)]
        print(json.dumps({**s, "fd": round(fd, 3), "x_floor": round(fd / floor, 2),
                          "accuracy": round(100 * float(hit.mean()), 1), "per_class": per_class,
                          "s": round(time.perf_counter() - t0)}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
