"""Pictures for a model card: the loss curves of a training run and a class-by-seed sample grid.

    python -m ldm_core report --run runs/mnist --model checkpoints/mnist
writes ``loss.png`` and ``samples.png`` into the model folder (small PNGs: tens of KB).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .pipeline import LatentDiffusionPipeline
from .train import read_log, save_grid


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average over ``window`` points (shorter at the start)."""
    c = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def plot_losses(run: str | Path, out: str | Path, title: str = "") -> Path:
    """The VAE's L1 (and PSNR) and the denoiser's loss, against steps, from ``<run>/{vae,diffusion}``.

    A third panel shows ``<run>/decoder`` (the decoder fine-tuned on noisy latents, ``train decoder``) if it exists.
    """
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = Path(run)
    vae = [e for e in read_log(run / "vae" / "log.jsonl") if "l1" in e]
    diff = [e for e in read_log(run / "diffusion" / "log.jsonl") if "loss" in e]
    decoder_log = run / "decoder" / "log.jsonl"
    dec = [e for e in read_log(decoder_log) if "loss" in e] if decoder_log.exists() else []
    fig, axes = plt.subplots(1, 3 if dec else 2, figsize=(12 if dec else 8, 2.8), dpi=80)
    a, b = axes[0], axes[-1]
    steps = np.array([e["step"] for e in vae])
    a.plot(steps, smooth(np.array([e["l1"] for e in vae]), 5), color="tab:blue")
    a.set(xlabel="step", ylabel="L1 (pixels in [-1, 1])", yscale="log", title="VAE")
    psnr_axis = a.twinx()
    psnr_axis.plot(steps, smooth(np.array([e["psnr"] for e in vae]), 5), color="tab:orange")
    psnr_axis.set_ylabel("PSNR (dB)", color="tab:orange")
    b.plot([e["step"] for e in diff], smooth(np.array([e["loss"] for e in diff]), 5), color="tab:green")
    b.set(xlabel="step", ylabel="MSE", title="denoiser", yscale="log")
    if dec:
        axes[1].plot([e["step"] for e in dec], smooth(np.array([e["loss"] for e in dec]), 5), color="tab:purple")
        axes[1].set(xlabel="step", ylabel="L1 on noisy latents", yscale="log", title="decoder fine-tuning")
    for axis in axes:  # log axes labelled at 1, 2, 5 x 10^k only
        axis.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        axis.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return Path(out)


def sample_grid(pipe: LatentDiffusionPipeline, out: str | Path, per_class: int = 8, steps: int = 50,
                guidance_scale: float | None = None, seed: int = 0) -> Path:  # fmt: skip
    """One row per class, ``per_class`` seeds per row (seed + i), DDIM."""
    labels = [c for c in range(len(pipe.class_names)) for _ in range(per_class)]
    images = pipe(labels, num_inference_steps=steps, guidance_scale=guidance_scale, seed=seed).images
    return save_grid(images, Path(out), ncols=per_class)
