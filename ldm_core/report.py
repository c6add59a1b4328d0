"""Pictures for a model card: the loss curves of a training run and a class-by-seed sample grid.

    python -m ldm_core report --run runs/mnist --model checkpoints/mnist
writes ``loss.png`` and ``samples.png`` into the model folder (small PNGs: tens of KB); with ``--data`` also
``nearest.png`` (samples beside their nearest training images) and the train/test losses of ``generalisation``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

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

    A middle panel shows ``<run>/decoder`` (the decoder fine-tuned on noisy latents, ``train decoder``) if it exists.
    ``run`` may also be a denoiser's own run folder (``train diffusion --vae <model> --out <run>``: its log is
    ``<run>/log.jsonl``); without ``<run>/vae`` the VAE panel is left out.
    """
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = Path(run)
    files = {stage: run / stage / "log.jsonl" for stage in ("vae", "decoder", "diffusion")}
    if not files["diffusion"].exists():
        files["diffusion"] = run / "log.jsonl"
    logs = {stage: [e for e in read_log(path) if ("l1" if stage == "vae" else "loss") in e]
            for stage, path in files.items() if stage == "diffusion" or path.exists()}  # fmt: skip
    fig, axes = plt.subplots(1, len(logs), figsize=(4 * len(logs), 2.8), dpi=80, squeeze=False)
    axes = axes[0]
    panels = dict(zip(logs, axes))
    if "vae" in panels:
        vae, a = logs["vae"], panels["vae"]
        steps = np.array([e["step"] for e in vae])
        a.plot(steps, smooth(np.array([e["l1"] for e in vae]), 5), color="tab:blue")
        a.set(xlabel="step", ylabel="L1 (pixels in [-1, 1])", yscale="log", title="VAE")
        psnr_axis = a.twinx()
        psnr_axis.plot(steps, smooth(np.array([e["psnr"] for e in vae]), 5), color="tab:orange")
        psnr_axis.set_ylabel("PSNR (dB)", color="tab:orange")
    if "decoder" in panels:
        dec, a = logs["decoder"], panels["decoder"]
        a.plot([e["step"] for e in dec], smooth(np.array([e["loss"] for e in dec]), 5), color="tab:purple")
        a.set(xlabel="step", ylabel="L1 on noisy latents", yscale="log", title="decoder fine-tuning")
    diff, b = logs["diffusion"], panels["diffusion"]
    b.plot([e["step"] for e in diff], smooth(np.array([e["loss"] for e in diff]), 5), color="tab:green")
    b.set(xlabel="step", ylabel="MSE", title="denoiser", yscale="log")
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
    """One row per class, ``per_class`` seeds per row (seed + i), the model's default sampler and guidance."""
    labels = [c for c in range(len(pipe.class_names)) for _ in range(per_class)]
    images = pipe(labels, num_inference_steps=steps, guidance_scale=guidance_scale, seed=seed).images
    return save_grid(images, Path(out), ncols=per_class)


@torch.inference_mode()
def generalisation(pipe: LatentDiffusionPipeline, train: Tensor, test: Tensor, labels: tuple[Tensor, Tensor],
                   seed: int = 0, draws: int = 4) -> dict[str, dict[str, float]]:  # fmt: skip
    """How much the model overfits: the VAE's reconstruction (L1, PSNR) and the denoiser's loss on train and on test.

    train, test: images [N, C, H, W] in [-1, 1] (use as many of each); labels: their classes. The denoising loss is
    the training objective (MSE on ε or v, conditional, no dropout) averaged over ``draws`` draws of (t, ε) per image,
    the same draws for both splits, so the two numbers differ only by the images.
    """
    out = {}
    for split, x, y in (("train", train, labels[0]), ("test", test, labels[1])):
        recon = torch.cat([pipe.vae.decode(pipe.vae.encode(x[i : i + 250].to(pipe.device)).mode()).clamp(-1, 1).cpu()
                           for i in range(0, len(x), 250)])  # fmt: skip
        mse = (recon - x).pow(2).flatten(1).mean(1)  # [N]
        z0 = torch.cat([pipe.encode(x[i : i + 250]) for i in range(0, len(x), 250)]).cpu()  # [N, c, h, w]
        g = torch.Generator().manual_seed(seed)
        losses = []
        for _ in range(draws):
            t = torch.randint(0, pipe.num_train_timesteps, (len(z0),), generator=g)
            eps = torch.randn(z0.shape, generator=g)
            z_t = pipe.schedule.q_sample(z0, t, eps)
            target = eps if pipe.prediction_type == "epsilon" else pipe.schedule.get_velocity(z0, t, eps)
            pred = torch.cat([pipe.model_output(z_t[i : i + 250], t[i : i + 250], pipe.class_embeddings(
                y[i : i + 250].tolist())) for i in range(0, len(z0), 250)])  # fmt: skip
            losses.append(float((pred - target).pow(2).mean()))
        out[split] = {"images": len(x), "l1": float((recon - x).abs().mean()),
                      "psnr": float((10 * torch.log10(4.0 / mse.clamp_min(1e-12))).mean()),
                      "denoising_loss": float(np.mean(losses))}  # fmt: skip
    return out


def nearest_training_images(pipe: LatentDiffusionPipeline, train: Tensor, out: str | Path, neighbours: int = 5,
                            steps: int = 50, seed: int = 0) -> Path:  # fmt: skip
    """One sample per class (first column), then its ``neighbours`` nearest training images by pixel distance."""
    samples = pipe(list(range(len(pipe.class_names))), num_inference_steps=steps, seed=seed).images  # [K, H, W, C]
    pool = ((train.permute(0, 2, 3, 1) + 1) / 2).numpy()  # [N, H, W, C] in [0, 1]
    flat = pool.reshape(len(pool), -1)
    rows = []
    for s in samples:
        d = ((flat - s.reshape(1, -1)) ** 2).sum(1)
        rows += [s, *pool[np.argsort(d)[:neighbours]]]
    return save_grid(np.stack(rows), Path(out), ncols=neighbours + 1)
