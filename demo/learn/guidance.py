"""6. Classifier-free guidance: one seed at several scales, and for one step the unconditional and conditional
predictions and their difference."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ldm_core import teaching

from ..common import as_int, resolve_seed, user_errors
from ..i18n import say, t
from ..registry import ModelRegistry
from .cache import cached
from .pictures import factor_for, heatmap, picture, scale_note, strip
from .reverse import film
from .sources import learn_class


def guidance_section(registry: ModelRegistry, model: str, class_name: str, seed: Any, steps: Any,
                     step: Any) -> tuple[Any, ...]:  # fmt: skip
    """-> (the images at guidance 0, 1, 2, 4, 8; ε̂(∅); ε̂(c); ε̂(c) − ε̂(∅); x̂₀ of ∅, c, guided; the note).

    The row is cached per model, class, seed and steps; the step's x_t comes from the cached DDIM film at the
    model's default guidance, so moving the step slider runs two denoiser calls only."""
    pipe = registry.get(model)
    label = learn_class(registry, pipe, class_name)
    seed = resolve_seed(seed)
    n = as_int("steps", steps, 2, 100)
    i = as_int("step", step, 1, n) - 1
    with user_errors():
        row = cached(
            (registry.folders[model], "guidance", label, seed, n), lambda: teaching.guidance_row(pipe, label, seed, n)
        )
        f = film(registry, model, class_name, seed, n, "ddim", pipe.default_guidance_scale)
        t = int(f["timesteps"][i])
        g = cached((registry.folders[model], "guidance-split", label, seed, n, i),
                   lambda: teaching.guidance_split(pipe, f["xt"][i], t, label))  # fmt: skip
    fac = factor_for(pipe.image_size, g["eps_cond"].shape[-1])
    scales = ", ".join(f"{s:g}" for s in teaching.GUIDANCE_SCALES)
    eq = r"$\hat\varepsilon = \hat\varepsilon(\varnothing) + s\,(\hat\varepsilon(c) - \hat\varepsilon(\varnothing))$"
    note = say("gd.note", scales=scales, seed=seed, n=n, eq=eq, i=i + 1, t=t, s=f"{g['scale']:g}",
               rms=f"{g['diff_rms']:.4f}", scale=scale_note())  # fmt: skip
    return (strip(row), heatmap(g["eps_uncond"], factor=fac), heatmap(g["eps_cond"], factor=fac),
            heatmap(g["eps_diff"], lim=0.75, factor=fac), strip(g["x0_images"]), note)  # fmt: skip


def build(registry: ModelRegistry, ctx: Any) -> None:
    with gr.Row():
        steps = gr.Slider(2, 100, value=20, step=1, label=t("learn.steps"), elem_id="learn-gd-steps")
        step = gr.Slider(1, 100, value=10, step=1, label=t("gd.step"), elem_id="learn-gd-step")
        run_btn = gr.Button(t("learn.run"), variant="primary", elem_id="learn-gd-run")
    row = picture(t("gd.row"), "learn-gd-row", height=170)
    with gr.Row():
        unc = picture(t("gd.uncond"), "learn-gd-uncond")
        cond = picture(t("gd.cond"), "learn-gd-cond")
        diff = picture(t("gd.diff"), "learn-gd-diff")
        x0s = picture(t("gd.x0"), "learn-gd-x0")
    note = gr.Markdown(elem_id="learn-gd-note", latex_delimiters=ctx.latex)
    ctx.on("guidance", [run_btn.click, step.release], guidance_section,
          [ctx.model, ctx.class_name, ctx.seed, steps, step], [row, unc, cond, diff, x0s, note],
          api_name="learn_guidance", trigger_mode="always_last")  # fmt: skip
