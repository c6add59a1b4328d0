"""4. The reverse process: one run per sampler cached step by step; a slider (with play and step buttons) scrubs
x_t, the predicted noise and the predicted x̂₀ at every step; two samplers side by side on the same seed; and
"jump to x̂₀ now", which shows why one step is not enough."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import gradio as gr
import numpy as np

from ldm_core import teaching

from ..common import as_int, resolve_seed, sampler_settings, user_errors
from ..i18n import say, t
from ..registry import ModelRegistry
from .cache import cached
from .pictures import factor_for, heatmap, image, picture, scale_note
from .sources import learn_class

PLAY_DELAY_S = 0.25  # between frames when playing


def film(registry: ModelRegistry, model: str, class_name: str, seed: Any, steps: Any, sampler: str,
         guidance: Any) -> dict[str, Any]:  # fmt: skip
    """teaching.reverse_film, cached per model, class, seed and sampler settings."""
    pipe = registry.get(model)
    label = learn_class(registry, pipe, class_name)
    settings = sampler_settings(pipe, steps, guidance, sampler)
    seed = resolve_seed(seed)
    key = (registry.folders[model], "film", label, seed, *settings.values())
    with user_errors():
        return cached(key, lambda: teaching.reverse_film(pipe, label, seed, settings["num_inference_steps"],
                                                         settings["sampler"], settings["guidance_scale"]))  # fmt: skip


def show_step(registry: ModelRegistry, model: str, class_name: str, seed: Any, steps: Any, sampler_a: str,
              sampler_b: str, guidance: Any, step: Any) -> tuple[Any, ...]:  # fmt: skip
    """-> (x_t, ε̂, x̂₀ of sampler A, the same of sampler B, the note) at denoising step ``step`` (1..N)."""
    films = [film(registry, model, class_name, seed, steps, s, guidance) for s in (sampler_a, sampler_b)]
    n = len(films[0]["timesteps"])
    i = as_int("step", step, 1, n) - 1
    fac = factor_for(registry.get(model).image_size, films[0]["eps"].shape[-1])
    out: list[Any] = []
    for f in films:
        out += [image(f["xt_images"][i]), heatmap(f["eps"][i], factor=fac), image(f["x0_images"][i])]
    t = int(films[0]["timesteps"][i])
    note = say("rev.note", i=i + 1, n=n, t=t, ab=f"{float(films[0]['alpha_bar'][i]):.4f}", scale=scale_note())
    return (*out, note)


def run(registry: ModelRegistry, model: str, class_name: str, seed: Any, steps: Any, sampler_a: str,
        sampler_b: str, guidance: Any) -> tuple[Any, ...]:  # fmt: skip
    """Compute both films; -> (the step slider set to the last step, the views of that step, both final images)."""
    shown = show_step(registry, model, class_name, seed, steps, sampler_a, sampler_b, guidance, steps)
    return (gr.Slider(minimum=1, maximum=int(steps), value=int(steps)), *shown)


def play(registry: ModelRegistry, model: str, class_name: str, seed: Any, steps: Any, sampler_a: str,
         sampler_b: str, guidance: Any, step: Any) -> Iterator[tuple[Any, ...]]:  # fmt: skip
    """Yield every step from ``step`` (from 1 when at the end) to the last."""
    n = as_int("steps", steps, 1, 1000)
    start = as_int("step", step, 1, n)
    start = 1 if start >= n else start
    for i in range(start, n + 1):
        yield (i, *show_step(registry, model, class_name, seed, steps, sampler_a, sampler_b, guidance, i))
        time.sleep(PLAY_DELAY_S)


def jump(registry: ModelRegistry, model: str, class_name: str, seed: Any, steps: Any, sampler_a: str,
         guidance: Any, step: Any) -> tuple[Any, ...]:  # fmt: skip
    """-> (x̂₀ predicted at this step, the run's final image, the note): jumping straight to x̂₀ from step i."""
    f = film(registry, model, class_name, seed, steps, sampler_a, guidance)
    n = len(f["timesteps"])
    i = as_int("step", step, 1, n) - 1
    jumped, final = f["x0_images"][i], f["image"]
    mse = float(np.mean((jumped - final) ** 2))
    first = float(np.mean((f["x0_images"][0] - final) ** 2))
    note = say("rev.jump_note", i=i + 1, t=int(f["timesteps"][i]), mse=f"{mse:.4f}", n=n, first=f"{first:.4f}")
    return image(jumped), image(final), note


def build(registry: ModelRegistry, ctx: Any) -> None:
    pipe = registry.get(registry.default)
    with gr.Row():
        steps = gr.Slider(2, 100, value=20, step=1, label=t("learn.steps"), elem_id="learn-rev-steps")
        sampler_a = gr.Dropdown(pipe.sampler_names, value="ddim", label=t("rev.sampler_a"), elem_id="learn-rev-a")
        sampler_b = gr.Dropdown(pipe.sampler_names, value="ddpm", label=t("rev.sampler_b"), elem_id="learn-rev-b")
        run_btn = gr.Button(t("rev.run"), variant="primary", elem_id="learn-rev-run")
    with gr.Row():
        step = gr.Slider(1, 20, value=20, step=1, label=t("rev.step"),
                         elem_id="learn-rev-step", scale=4)  # fmt: skip
        prev_btn = gr.Button(t("rev.prev"), elem_id="learn-rev-prev", scale=0, min_width=80)
        next_btn = gr.Button(t("rev.next"), elem_id="learn-rev-next", scale=0, min_width=80)
        play_btn = gr.Button(t("rev.play"), elem_id="learn-rev-play", scale=0, min_width=80)
    note = gr.Markdown(elem_id="learn-rev-note")
    views = []
    for tag in ("a", "b"):
        with gr.Row():
            views += [picture(t(f"rev.{tag}.{v}"), f"learn-rev-{tag}-{v}") for v in ("xt", "eps", "x0")]
    with gr.Row():
        jump_btn = gr.Button(t("rev.jump"), elem_id="learn-rev-jump", scale=0)
        jumped = picture(t("rev.jumped"), "learn-rev-jumped")
        final = picture(t("rev.final"), "learn-rev-final")
        jump_note = gr.Markdown(elem_id="learn-rev-jump-note")
    settings = [ctx.model, ctx.class_name, ctx.seed, steps, sampler_a, sampler_b, ctx.guidance]
    ctx.on("reverse", [run_btn.click], run, settings, [step, *views, note],
          api_name="learn_reverse", trigger_mode="always_last")  # fmt: skip
    step.change(ctx.bind(show_step), [*settings, step], [*views, note], api_name="learn_reverse_step",
                trigger_mode="always_last")  # fmt: skip
    prev_btn.click(lambda s: max(1, int(s) - 1), step, step, api_visibility="private", queue=False)
    next_btn.click(lambda s, n: min(int(n), int(s) + 1), [step, steps], step, api_visibility="private", queue=False)
    play_btn.click(ctx.bind(play), [*settings, step], [step, *views, note], api_name="learn_reverse_play")
    jump_btn.click(ctx.bind(jump), [ctx.model, ctx.class_name, ctx.seed, steps, sampler_a, ctx.guidance, step],
                   [jumped, final, jump_note], api_name="learn_reverse_jump")  # fmt: skip
