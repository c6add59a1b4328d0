"""5. The chapter's sampler, run: its update rule driven by the shipped denoiser, next to DDPM and DDIM."""

from __future__ import annotations

import math
from typing import Any

import gradio as gr

from ldm_core import make_timesteps, teaching

from ..common import class_label, resolve_seed, sampler_settings, user_errors
from ..registry import ModelRegistry
from .cache import cached
from .pictures import image, picture

SAMPLERS = (teaching.CHAPTER, "ddpm", "ddim")


def chapter_section(registry: ModelRegistry, model: str, class_name: str, seed: Any, steps: Any,
                    guidance: Any) -> tuple[Any, ...]:  # fmt: skip
    """-> (the chapter's sampler's image, DDPM's, DDIM's, the note with the coefficients of the first step)."""
    pipe = registry.get(model)
    label = class_label(pipe, class_name)
    settings = sampler_settings(pipe, steps, guidance, "ddim")
    seed = resolve_seed(seed)
    n, g = settings["num_inference_steps"], settings["guidance_scale"]
    with user_errors():
        images = cached((model, "chapter", label, seed, n, g),
                        lambda: teaching.compare_samplers(pipe, label, seed, n, g, SAMPLERS))  # fmt: skip
    ts = make_timesteps(pipe.num_train_timesteps, n).tolist()
    a_t = float(pipe.schedule.alpha_bar(ts[0]))
    a_prev = float(pipe.schedule.alpha_bar(ts[1] if n > 1 else -1))
    beta = 1 - a_t / a_prev
    note = (
        "The chapter's loop: $z \\leftarrow (z - \\beta_t\\,\\hat z)/\\sqrt{1-\\beta_t}$, no noise added. "
        "DDPM's: $z \\leftarrow \\big(z - \\tfrac{\\beta_t}{\\sqrt{1-\\bar\\alpha_t}}\\hat\\varepsilon\\big)/"
        "\\sqrt{\\alpha_t} + \\sigma_t \\xi$. Both driven here by the same shipped denoiser's $\\hat\\varepsilon$, "
        f"same seed, {n} steps (β_t of the respaced chain, $1-\\bar\\alpha_t/\\bar\\alpha_{{t_{{prev}}}}$).\n\n"
        f"At the first step (t = {ts[0]}): β_t = {beta:.4f}; the chapter removes **{beta:.4f} ε̂**, DDPM "
        f"**{beta / math.sqrt(1 - a_t):.4f} ε̂**, ×{1 / math.sqrt(1 - a_t):.2f}; the factor "
        "$1/\\sqrt{1-\\bar\\alpha_t}$ grows to "
        f"{1 / math.sqrt(1 - float(pipe.schedule.alpha_bar(ts[-1]))):.1f} at the last step (t = {ts[-1]}). "
        "Compare the pictures: the class survives, but the strokes differ from DDPM's on the same seed."
    )
    return (*(image(images[s]) for s in SAMPLERS), note)


def build(registry: ModelRegistry, ctx: Any) -> None:
    with gr.Row():
        steps = gr.Slider(2, 100, value=20, step=1, label="steps", elem_id="learn-ch-steps")
        run_btn = gr.Button("Run the three samplers", variant="primary", elem_id="learn-ch-run")
    with gr.Row():
        outs = [picture("the chapter's sampler", "learn-ch-chapter"), picture("DDPM", "learn-ch-ddpm"),
                picture("DDIM", "learn-ch-ddim")]  # fmt: skip
    note = gr.Markdown(elem_id="learn-ch-note", latex_delimiters=ctx.latex)
    gr.on([run_btn.click, *ctx.opens("chapter")], ctx.bind(chapter_section),
          [ctx.model, ctx.class_name, ctx.seed, steps, ctx.guidance], [*outs, note], api_name="learn_chapter",
          trigger_mode="always_last")  # fmt: skip
