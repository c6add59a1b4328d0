"""How it works tab: the forward process (noise an image's latent to step t) and the reverse process
(what the sampler sees and predicts along a run)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from .common import (
    MAX_SEED,
    as_int,
    class_label,
    grid_image,
    info_markdown,
    resolve_seed,
    sampler_settings,
    to_images,
    upscale,
    user_errors,
)
from .components import checked_upload
from .example_images import example_paths
from .registry import ModelRegistry
from .widgets import ModelBindings, class_picker

LATENT_RANGE = 3.0  # latent values shown from -3 (black) to +3 (white)
MAX_SHOWN_STEPS = 8

INTRO = """
**Forward process.** The VAE encodes the image into a small latent z₀ (a few channels of a few pixels).
Noise is mixed in: z_t = √ᾱ_t · z₀ + √(1 − ᾱ_t) · ε, with ᾱ_t falling from 1 (clean) to about 0 (pure noise)
as t goes from 0 to T − 1. The signal-to-noise ratio SNR(t) = ᾱ_t / (1 − ᾱ_t) says how much of z₀ is left.
Move the slider and watch the latent channels and their decoding drown in noise.

**Reverse process.** The sampler starts from pure noise z_T and, at every step, the denoiser predicts the noise ε̂;
from it follows a guess of the clean latent x̂₀ = (z_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t. The sampler moves z_t a little
towards that guess and repeats. Early guesses are blurry averages; they sharpen as the noise goes.
"""


def _example_names() -> list[str]:
    return [Path(p).stem for p in example_paths()]


def _source_image(source: str | None, upload: Any) -> Image.Image:
    if upload is not None:
        return upload
    names = _example_names()
    if source in names:
        return Image.open(example_paths()[names.index(source)])
    raise gr.Error(f"pick an example ({names}) or upload an image")


def latent_channels(latents: np.ndarray, factor: int) -> np.ndarray:
    """Latent [c, h, w] -> float [c, h*f, w*f, 1] in [0, 1], one gray tile a channel (-3 black, +3 white)."""
    tiles = (latents[..., None] + LATENT_RANGE) / (2 * LATENT_RANGE)
    return upscale(tiles.clip(0.0, 1.0), factor)


def schedule_plot(alphas_cumprod: np.ndarray, t: int):
    """ᾱ_t and log10 SNR(t) over t, with the current t marked."""
    from matplotlib.figure import Figure  # imported on first use: keeps the app's start fast

    ts = np.arange(len(alphas_cumprod))
    snr = alphas_cumprod / np.maximum(1.0 - alphas_cumprod, 1e-12)
    fig = Figure(figsize=(6.0, 2.6), tight_layout=True)
    ax = fig.add_subplot()
    ax.plot(ts, alphas_cumprod, color="tab:blue", label="ᾱ_t (signal kept)")
    ax.set_xlabel("timestep t")
    ax.set_ylabel("ᾱ_t", color="tab:blue")
    ax.set_ylim(-0.02, 1.02)
    ax2 = ax.twinx()
    ax2.plot(ts, np.log10(np.maximum(snr, 1e-12)), color="tab:orange", label="log10 SNR(t)")
    ax2.set_ylabel("log10 SNR", color="tab:orange")
    ax.axvline(t, color="black", linestyle="--", linewidth=1)
    ax.plot([t], [alphas_cumprod[t]], "o", color="black")
    ax.set_title(f"t = {t}: ᾱ_t = {alphas_cumprod[t]:.3f}, SNR = {snr[t]:.3g}")
    return fig


def forward_process(registry: ModelRegistry, model: str, source: str | None, upload: Any, t: int, seed: int):
    """-> (z_0 decoded, z_t decoded, the latent channels of z_t, the schedule plot with t marked, the formula).

    z_0 is the image's latent at t = 0 (ᾱ_0 = 1 - β_0, so a trace of noise): what the VAE keeps of the image."""
    pipe = registry.get(model)
    image = _source_image(source, upload)
    t = as_int("timestep", t, 0, pipe.num_train_timesteps - 1)
    seed = resolve_seed(seed)
    with user_errors():
        out = pipe.add_noise(image, [0, t], seed=seed)
    latents = out["latents"].numpy()  # [2, c, h, w]: z_0 and z_t
    factor = max(1, -(-pipe.image_size // latents.shape[-1]))
    channels = grid_image(latent_channels(latents[1], factor), ncols=latents.shape[1])
    alpha_bar = pipe.schedule.alphas_cumprod.numpy()
    note = (
        f"z_t = {np.sqrt(alpha_bar[t]):.3f} · z₀ + {np.sqrt(1 - alpha_bar[t]):.3f} · ε   "
        f"(latent {tuple(latents.shape[1:])}, image {pipe.image_size}x{pipe.image_size})"
    )
    images = to_images(out["images"])
    return images[0], images[1], channels, schedule_plot(alpha_bar, t), info_markdown(note)


def reverse_process(
    registry: ModelRegistry, model: str, class_name: str, seed: int, steps: int, sampler: str, guidance: float
):
    """-> (strip of decoded z_t, strip of decoded x̂₀, which steps) at up to 8 evenly spaced steps of one run."""
    pipe = registry.get(model)
    label = class_label(pipe, class_name)
    settings = sampler_settings(pipe, steps, guidance, sampler)
    seed = resolve_seed(seed)
    with user_errors():
        out = pipe([label], seed=seed, return_intermediates=True, **settings)
    steps_run = out.intermediates
    picks = sorted(set(np.linspace(0, len(steps_run) - 1, min(MAX_SHOWN_STEPS, len(steps_run))).round().astype(int)))
    chosen = [steps_run[k] for k in picks]
    noisy = np.concatenate([pipe.decode(s["x_t"]) for s in chosen])  # [K, H, W, C]
    clean = np.concatenate([pipe.decode(s["x0"]) for s in chosen])
    note = "left to right: " + ", ".join(f"step {s['i'] + 1} (t = {s['t']})" for s in chosen)
    n = len(chosen)
    return grid_image(noisy, ncols=n), grid_image(clean, ncols=n), note


def build(registry: ModelRegistry, model: gr.Dropdown, bindings: ModelBindings, tab: gr.Tab | None = None) -> None:
    """The tab's layout; with ``tab``, the forward process is drawn when the tab is opened."""
    pipe = registry.get(registry.default)
    gr.Markdown(INTRO)
    gr.Markdown("### Forward process: noising")
    names = _example_names()
    with gr.Row():
        with gr.Column(scale=2):
            source = gr.Dropdown(names, value=names[0] if names else None, label="Example image",
                                 elem_id="learn-source")  # fmt: skip
            upload = checked_upload(gr.Image(label="…or upload your own", type="pil", sources=["upload"], height=140,
                                  elem_id="learn-upload"))  # fmt: skip
            t = bindings.add(
                gr.Slider(0, pipe.num_train_timesteps - 1, value=250, step=1, label="Timestep t", elem_id="learn-t"),
                lambda p: {"maximum": p.num_train_timesteps - 1},
            )
            seed = gr.Number(0, label="Noise seed", precision=0, minimum=0, maximum=MAX_SEED, elem_id="learn-seed")
        with gr.Column(scale=3):
            with gr.Row():
                clean = gr.Image(label="z₀ decoded", type="pil", format="png",
                                 interactive=False, elem_id="learn-z0", elem_classes="pixelated", height=160)  # fmt: skip
                noisy = gr.Image(label="z_t decoded", type="pil", format="png", interactive=False,
                                 elem_id="learn-zt", elem_classes="pixelated", height=160)  # fmt: skip
                channels = gr.Image(label="z_t: latent channels", type="pil", format="png",
                                    interactive=False, elem_id="learn-channels", elem_classes="pixelated",
                                    height=160)  # fmt: skip
            plot = gr.Plot(label="Noise schedule", elem_id="learn-plot")
            note = gr.Markdown(elem_id="learn-note")
    fwd_inputs = [model, source, upload, t, seed]
    fwd_outputs = [clean, noisy, channels, plot, note]
    fwd = partial(forward_process, registry)
    triggers = [t.release, source.change, upload.change, seed.submit, model.change]
    triggers += [tab.select] if tab is not None else []
    gr.on(triggers, fwd, fwd_inputs, fwd_outputs, api_name="forward_process", trigger_mode="always_last")
    gr.Markdown("### Reverse process: denoising")
    with gr.Row():
        with gr.Column(scale=2):
            class_name = class_picker(bindings, pipe, "learn-class")
            with gr.Row():
                r_seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, elem_id="learn-r-seed")
                r_steps = gr.Slider(2, 100, value=20, step=1, label="Steps", elem_id="learn-r-steps")
            r_sampler = gr.Dropdown(pipe.sampler_names, value="ddim", label="Sampler", elem_id="learn-r-sampler")
            r_guidance = bindings.add(
                gr.Slider(0.0, 20.0, value=pipe.default_guidance_scale, step=0.1, label="Guidance scale",
                          elem_id="learn-r-guidance"),
                lambda p: {"value": p.default_guidance_scale},
            )  # fmt: skip
            r_run = gr.Button("Run the sampler", variant="primary", elem_id="learn-r-run")
        with gr.Column(scale=3):
            xt = gr.Image(label="z_t decoded: what the denoiser is given", type="pil", format="png",
                          interactive=False, elem_id="learn-xt", elem_classes="pixelated", height=150)  # fmt: skip
            x0 = gr.Image(label="x̂₀ decoded: what it predicts the clean image is", type="pil", format="png",
                          interactive=False, elem_id="learn-x0", elem_classes="pixelated", height=150)  # fmt: skip
            steps_note = gr.Markdown(elem_id="learn-r-steps-note")
    r_run.click(partial(reverse_process, registry), [model, class_name, r_seed, r_steps, r_sampler, r_guidance],
                [xt, x0, steps_note], api_name="reverse_process")  # fmt: skip
