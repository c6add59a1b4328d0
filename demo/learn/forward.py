"""2. The forward process: the formula with the current numbers, the model's schedule next to linear and cosine at
the same t, and the chapter's one-step formula iterated t times next to the closed form."""

from __future__ import annotations

import math
from typing import Any

import gradio as gr

from ldm_core import teaching

from ..common import as_int, resolve_seed, user_errors
from ..i18n import t as tr
from ..registry import ModelRegistry
from .cache import cached
from .pictures import NOISE_AXIS, curve_figure, factor_for, heatmap, image, noise_slider, picture, scale_note
from .sources import source_image


def forward_section(registry: ModelRegistry, model: str, source: str | None, upload: Any, t: Any,
                    seed: Any) -> tuple[Any, ...]:  # fmt: skip
    """-> (z₀ decoded, z_t decoded, z_t channels, schedule plot, formula, linear z_t, cosine z_t, iterated x_t,
    closed-form x_t, statistics)."""
    pipe = registry.get(model)
    T = pipe.num_train_timesteps
    t = as_int("timestep", t, 0, T - 1)
    seed = resolve_seed(seed)
    img, key = source_image(registry, model, source, upload)
    with user_errors():
        f = cached(
            (registry.folders[model], "forward", key, t, seed), lambda: teaching.forward_view(pipe, img, t, seed)
        )
        it = cached((registry.folders[model], "iterated", key, t, seed),
                    lambda: teaching.iterated_vs_closed(pipe, f["z0"], t, seed))  # fmt: skip
    curves = cached((registry.folders[model], "curves"), lambda: teaching.schedule_curves(pipe))
    m = f["model"]
    a = m["alpha_bar"]
    formula = (
        f"$$z_t = \\sqrt{{\\bar\\alpha_t}}\\, z_0 + \\sqrt{{1-\\bar\\alpha_t}}\\, \\varepsilon"
        f"\\quad\\Longrightarrow\\quad z_{{{t}}} = {math.sqrt(a):.4f}\\, z_0 + {math.sqrt(1 - a):.4f}\\, \\varepsilon$$\n\n"
        f"noise level t = {t} of 0…{T - 1} ({f['model_schedule']} schedule): $\\bar\\alpha_t$ = {a:.4f} of z₀'s "
        f"variance is left, SNR = $\\bar\\alpha_t/(1-\\bar\\alpha_t)$ = {m['snr']:.3g}. Latent "
        f"{tuple(f['z0'].shape)}; z_t has mean {m['zt'].mean():+.3f}, variance {m['zt'].var():.3f} "
        f"(pure noise: 0 and 1). {scale_note()}."
    )
    ts = range(T)
    plot = curve_figure(f"ᾱ_t at t = {t}: model ({f['model_schedule']}) {a:.3f}, linear "
                        f"{f['linear']['alpha_bar']:.3f}, cosine {f['cosine']['alpha_bar']:.3f}", NOISE_AXIS,
                        "ᾱ_t (signal kept)",
                        {"linear": (ts, curves["linear_alpha_bar"]), "cosine": (ts, curves["cosine_alpha_bar"])},
                        mark=t)  # fmt: skip
    compare = (f"same z₀, same ε, same t = {t}: **linear** ᾱ_t = {f['linear']['alpha_bar']:.4f} "
               f"(SNR {f['linear']['snr']:.3g}) vs **cosine** ᾱ_t = {f['cosine']['alpha_bar']:.4f} "
               f"(SNR {f['cosine']['snr']:.3g}): the cosine schedule destroys the signal more slowly in the middle "
               f"and keeps some until late.")  # fmt: skip
    i, c = it["iterated"], it["closed"]
    stats = (
        f"The chapter gives only the one step $x_t = \\sqrt{{\\alpha_t}}\\,x_{{t-1}} + \\sqrt{{1-\\alpha_t}}\\,"
        f"\\varepsilon_t$. Applied {t + 1} times (fresh ε each step) it gives the same distribution as the closed form "
        f"$q(x_t|x_0) = N(\\sqrt{{\\bar\\alpha_t}}\\,x_0,\\ (1-\\bar\\alpha_t) I)$ that training samples in one go "
        f"(`NoiseSchedule.q_sample`). Over {it['num_draws']} draws, the noise part $x_t - \\sqrt{{\\bar\\alpha_t}}x_0$:\n\n"
        f"| | mean | std | correlation with z₀ |\n|---|---|---|---|\n"
        f"| iterated {t + 1} steps | {i['mean']:+.4f} | {i['std']:.4f} | {i['signal_corr']:.3f} |\n"
        f"| closed form | {c['mean']:+.4f} | {c['std']:.4f} | {c['signal_corr']:.3f} |\n"
        f"| theory | 0 | {it['std_closed_form']:.4f} | |"
    )
    fac = factor_for(pipe.image_size, f["z0"].shape[-1])
    return (image(f["z0_image"]), image(m["image"]), heatmap(m["zt"], factor=fac), plot, formula,
            image(f["linear"]["image"]), image(f["cosine"]["image"]), image(it["iterated_image"]),
            image(it["closed_image"]), compare, stats)  # fmt: skip


def build(registry: ModelRegistry, ctx: Any) -> None:
    pipe = registry.get(registry.default)
    t = noise_slider(ctx.bindings, pipe.num_train_timesteps, 250, "learn-t")
    formula = gr.Markdown(elem_id="learn-fwd-formula", latex_delimiters=ctx.latex)
    with gr.Row():
        z0 = picture(tr("fwd.z0"), "learn-z0")
        zt = picture(tr("fwd.zt"), "learn-zt")
        channels = picture(tr("fwd.channels"), "learn-channels")
    plot = gr.Plot(label=tr("fwd.plot"), elem_id="learn-plot")
    with gr.Row():
        lin = picture(tr("fwd.linear"), "learn-fwd-linear")
        cos = picture(tr("fwd.cosine"), "learn-fwd-cosine")
        compare = gr.Markdown(elem_id="learn-fwd-compare")
    with gr.Row():
        iterated = picture(tr("fwd.iterated"), "learn-fwd-iterated")
        closed = picture(tr("fwd.closed"), "learn-fwd-closed")
        stats = gr.Markdown(elem_id="learn-fwd-stats", latex_delimiters=ctx.latex)
    ctx.on("forward", [t.release, ctx.seed.submit, *ctx.source_triggers],
          forward_section, [ctx.model, ctx.source, ctx.upload, t, ctx.seed],
          [z0, zt, channels, plot, formula, lin, cos, iterated, closed, compare, stats], api_name="learn_forward",
          trigger_mode="always_last")  # fmt: skip
