"""3. The denoiser and its training objective at a chosen t, next to what the chapter's code would learn."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ldm_core import teaching

from ..common import as_int, resolve_seed, user_errors
from ..i18n import say
from ..i18n import t as tr
from ..registry import ModelRegistry
from .cache import cached
from .pictures import curve_figure, factor_for, heatmap, image, noise_axis, noise_slider, picture, scale_note
from .sources import learn_class, source_image


def denoiser_section(registry: ModelRegistry, model: str, source: str | None, upload: Any, t: Any, seed: Any,
                     class_name: str) -> tuple[Any, ...]:  # fmt: skip
    """-> (z_t decoded, ε, ε̂, ε̂ − ε, x̂₀ decoded, loss over noise levels, numbers, chapter's input, chapter's
    target, chapter note)."""
    pipe = registry.get(model)
    t = as_int("timestep", t, 0, pipe.num_train_timesteps - 1)
    seed, label = resolve_seed(seed), learn_class(registry, pipe, class_name)
    img, key = source_image(registry, model, source, upload)
    with user_errors():
        d = cached(
            (registry.folders[model], "denoiser", key, t, seed, label),
            lambda: teaching.denoiser_view(pipe, img, t, seed, label),
        )
    fac = factor_for(pipe.image_size, d["eps"].shape[-1])
    target = "ε" if d["prediction_type"] == "epsilon" else "v = √ᾱ_t ε − √(1−ᾱ_t) z₀"
    text = say(
        "den.text", t=t, zt_eq=r"$z_t = \sqrt{\bar\alpha_t} z_0 + \sqrt{1-\bar\alpha_t}\varepsilon$", target=target,
        loss_eq=r"$\|\hat\varepsilon - \varepsilon\|^2$", eps_loss=f"{d['eps_loss']:.4f}", n=d["eps"].size,
        tname=target.split(" ")[0], target_loss=f"{d['target_loss']:.4f}",
        x0_eq=r"$\hat z_0 = (z_t - \sqrt{1-\bar\alpha_t}\hat\varepsilon)/\sqrt{\bar\alpha_t}$",
        x0err=f"{d['x0_error']:.4f}", scale=scale_note(),
    )  # fmt: skip
    curve = curve_figure(say("den.curve_title", t=t), noise_axis(), "MSE",
                         {"‖ε̂ − ε‖²": (d["curve_t"], d["curve_eps_loss"]),
                          say("den.curve_loss"): (d["curve_t"], d["curve_target_loss"])}, mark=t, logy=True)  # fmt: skip
    chapter = say("den.chapter", loss=f"{d['chapter_identity_loss']:.1f}")
    return (image(d["zt_image"]), heatmap(d["eps"], factor=fac), heatmap(d["eps_hat"], factor=fac),
            heatmap(d["diff"], factor=fac), image(d["x0_hat_image"]), curve, text,
            heatmap(d["chapter_input"], factor=fac), heatmap(d["chapter_target"], factor=fac), chapter)  # fmt: skip


def build(registry: ModelRegistry, ctx: Any) -> None:
    pipe = registry.get(registry.default)
    t = noise_slider(ctx.bindings, pipe.num_train_timesteps, 300, "learn-den-t")
    with gr.Row():
        zt = picture(tr("den.zt"), "learn-den-zt")
        eps = picture(tr("den.eps"), "learn-den-eps")
        eps_hat = picture(tr("den.epshat"), "learn-den-epshat")
        diff = picture(tr("den.diff"), "learn-den-diff")
        x0 = picture(tr("den.x0"), "learn-den-x0")
    text = gr.Markdown(elem_id="learn-den-text", latex_delimiters=ctx.latex)
    curve = gr.Plot(label=tr("den.plot"), elem_id="learn-den-plot")
    with gr.Row():
        ch_in = picture(tr("den.chapter_in"), "learn-den-chapter-in")
        ch_target = picture(tr("den.chapter_target"), "learn-den-chapter-target")
        ch_note = gr.Markdown(elem_id="learn-den-chapter")
    ctx.on("denoiser", [t.release, ctx.seed.submit, ctx.class_name.input, *ctx.source_triggers],
           denoiser_section,
          [ctx.model, ctx.source, ctx.upload, t, ctx.seed, ctx.class_name],
          [zt, eps, eps_hat, diff, x0, curve, text, ch_in, ch_target, ch_note], api_name="learn_denoiser",
          trigger_mode="always_last")  # fmt: skip
