"""2. The forward process: the formula with the current numbers, the model's schedule next to linear and cosine at
the same t, and the chapter's one-step formula iterated t times next to the closed form."""

from __future__ import annotations

import math
from typing import Any

import gradio as gr

from ldm_core import teaching

from ..common import as_int, resolve_seed, user_errors
from ..i18n import TABLES, current_lang, say
from ..i18n import t as tr
from ..registry import ModelRegistry
from .cache import cached
from .pictures import curve_figure, factor_for, heatmap, image, noise_axis, noise_slider, picture, scale_note
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
    eq = (
        f"$$z_t = \\sqrt{{\\bar\\alpha_t}}\\, z_0 + \\sqrt{{1-\\bar\\alpha_t}}\\, \\varepsilon"
        f"\\quad\\Longrightarrow\\quad z_{{{t}}} = {math.sqrt(a):.4f}\\, z_0 + {math.sqrt(1 - a):.4f}\\, \\varepsilon$$"
    )
    schedule = _schedule(f["model_schedule"])
    formula = say("fwd.formula", eq=eq, t=t, T1=T - 1, schedule=schedule, abar=r"$\bar\alpha_t$", a=f"{a:.4f}",
                  snr_eq=r"$\bar\alpha_t/(1-\bar\alpha_t)$", snr=f"{m['snr']:.3g}", shape=tuple(f["z0"].shape),
                  mean=f"{m['zt'].mean():+.3f}", var=f"{m['zt'].var():.3f}", scale=scale_note())  # fmt: skip
    ts = range(T)
    lin, cos = _schedule("linear"), _schedule("cosine")
    plot = curve_figure(say("fwd.plot_title", t=t, schedule=schedule, a=f"{a:.3f}", lin=f"{f['linear']['alpha_bar']:.3f}",
                            cos=f"{f['cosine']['alpha_bar']:.3f}"), noise_axis(), say("fwd.plot_y"),
                        {lin: (ts, curves["linear_alpha_bar"]), cos: (ts, curves["cosine_alpha_bar"])},
                        mark=t)  # fmt: skip
    compare = say("fwd.compare", t=t, la=f"{f['linear']['alpha_bar']:.4f}", ls=f"{f['linear']['snr']:.3g}",
                  ca=f"{f['cosine']['alpha_bar']:.4f}", cs=f"{f['cosine']['snr']:.3g}")  # fmt: skip
    i, c = it["iterated"], it["closed"]
    stats = say(
        "fwd.stats", step_eq=r"$x_t = \sqrt{\alpha_t}\,x_{t-1} + \sqrt{1-\alpha_t}\,\varepsilon_t$", n=t + 1,
        closed_eq=r"$q(x_t|x_0) = N(\sqrt{\bar\alpha_t}\,x_0,\ (1-\bar\alpha_t) I)$", draws=it["num_draws"],
        noise_eq=r"$x_t - \sqrt{\bar\alpha_t}x_0$", im=f"{i['mean']:+.4f}", isd=f"{i['std']:.4f}",
        ic=f"{i['signal_corr']:.3f}", cm=f"{c['mean']:+.4f}", csd=f"{c['std']:.4f}", cc=f"{c['signal_corr']:.3f}",
        tsd=f"{it['std_closed_form']:.4f}",
    )  # fmt: skip
    fac = factor_for(pipe.image_size, f["z0"].shape[-1])
    return (image(f["z0_image"]), image(m["image"]), heatmap(m["zt"], factor=fac), plot, formula,
            image(f["linear"]["image"]), image(f["cosine"]["image"]), image(it["iterated_image"]),
            image(it["closed_image"]), compare, stats)  # fmt: skip


def _schedule(name: str) -> str:
    """A schedule's name ("linear", "cosine") in the request's language."""
    return say(f"sched.{name}") if f"sched.{name}" in TABLES[current_lang()] else name


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
