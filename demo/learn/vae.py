"""1. The VAE: input, reconstruction, error map and PSNR, the latent channels, the compression, the chapter's two
loss terms for this image, and a slider that moves one latent cell."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ldm_core import teaching

from ..common import as_float, as_int, user_errors
from ..i18n import say, t
from ..registry import ModelRegistry
from .cache import cached
from .pictures import LATENT_LIM, factor_for, heatmap, image, picture, scale_note
from .sources import source_image

ERROR_LIM = 0.5  # error map from 0 (black) to 0.5 (yellow) of the [0, 1] pixel range


def encoded(registry: ModelRegistry, model: str, source: str | None, upload: Any) -> dict[str, Any]:
    """teaching.vae_view of the chosen image, cached per model and image."""
    img, key = source_image(registry, model, source, upload)
    pipe = registry.get(model)
    with user_errors():
        return cached((registry.folders[model], "vae", key), lambda: teaching.vae_view(pipe, img))


def vae_section(registry: ModelRegistry, model: str, source: str | None, upload: Any) -> tuple[Any, ...]:
    """-> (input, reconstruction, error map, latent channels, numbers as markdown)."""
    v = encoded(registry, model, source, upload)
    pipe = registry.get(model)
    c, h, w = pipe.latent_shape
    H, W, C = v["input"].shape
    f = factor_for(pipe.image_size, h)
    lo, hi = float(v["latent"].min()), float(v["latent"].max())
    text = say(
        "vae.text", psnr=f"{v['psnr_db']:.1f}", mae=f"{v['error'].mean():.4f}", elim=f"{ERROR_LIM:g}", H=H, W=W, C=C,
        npix=v["num_pixels"], c=c, h=h, w=w, nlat=v["num_latent"], ratio=f"{v['num_pixels'] / v['num_latent']:.1f}",
        sf=f"{pipe.scaling_factor:.3f}", lo=f"{lo:.2f}", hi=f"{hi:.2f}", scale=scale_note(),
        loss_eq=r"$L = -E_{z\sim q(z|x)}[\log p(x|z)] + KL(q(z|x)\,\|\,p(z))$", l1=f"{v['l1']:.4f}",
        kl_eq=r"$KL(q(z|x)\|N(0,I))$", kl=f"{v['kl']:.1f}", klw=f"{v['kl_weight']:g}", total=f"{v['loss']:.5f}",
    )  # fmt: skip
    return image(v["input"]), image(v["recon"]), heatmap(v["error"], ERROR_LIM, 1, "magma"), \
        heatmap(v["latent"], LATENT_LIM, f), text  # fmt: skip


def nudge(registry: ModelRegistry, model: str, source: str | None, upload: Any, channel: Any, row: Any, col: Any,
          value: Any) -> tuple[Any, ...]:  # fmt: skip
    """-> (decoded image with one latent cell set to ``value``, what changed, the note)."""
    pipe = registry.get(model)
    c, h, w = pipe.latent_shape
    ch, r, k = as_int("channel", channel, 0, c - 1), as_int("row", row, 0, h - 1), as_int("column", col, 0, w - 1)
    val = as_float("value", value, -6.0, 6.0)
    v = encoded(registry, model, source, upload)
    with user_errors():
        n = teaching.nudge_cell(pipe, v["latent"], ch, r, k, val)
    text = say("vae.nudge", ch=ch, r=r, k=k, old=f"{float(v['latent'][ch, r, k]):.2f}", new=f"{val:.2f}",
               big=f"{float(n['change'].max()):.3f}", n=int((n["change"] > 0.05).sum()), total=n["change"].size)  # fmt: skip
    return image(n["image"]), heatmap(n["change"], ERROR_LIM, 1, "magma"), text


def build(registry: ModelRegistry, ctx: Any) -> None:
    pipe = registry.get(registry.default)
    c, h, w = pipe.latent_shape
    with gr.Row():
        inp = picture(t("vae.input"), "learn-vae-input")
        rec = picture(t("vae.recon"), "learn-vae-recon")
        err = picture(t("vae.error"), "learn-vae-error")
        lat = picture(t("vae.latent"), "learn-vae-latent")
    numbers = gr.Markdown(elem_id="learn-vae-numbers", latex_delimiters=ctx.latex)
    gr.Markdown(t("vae.move"))
    with gr.Row():
        channel = ctx.bindings.add(gr.Slider(0, c - 1, value=0, step=1, label=t("vae.channel"), elem_id="learn-vae-ch"),
                                   lambda p: {"maximum": p.latent_shape[0] - 1})  # fmt: skip
        row = ctx.bindings.add(gr.Slider(0, h - 1, value=h // 2, step=1, label=t("vae.row"), elem_id="learn-vae-row"),
                               lambda p: {"maximum": p.latent_shape[1] - 1})  # fmt: skip
        col = ctx.bindings.add(gr.Slider(0, w - 1, value=w // 2, step=1, label=t("vae.col"), elem_id="learn-vae-col"),
                               lambda p: {"maximum": p.latent_shape[2] - 1})  # fmt: skip
        value = gr.Slider(-6.0, 6.0, value=3.0, step=0.1, label=t("vae.value"), elem_id="learn-vae-value")
    with gr.Row():
        moved = picture(t("vae.moved"), "learn-vae-moved")
        change = picture(t("vae.change"), "learn-vae-change")
        note = gr.Markdown(elem_id="learn-vae-note")
    src = [ctx.model, ctx.source, ctx.upload]
    ctx.on("vae", ctx.source_triggers, vae_section, src,
          [inp, rec, err, lat, numbers], api_name="learn_vae", trigger_mode="always_last")  # fmt: skip
    ctx.on("vae", [*ctx.source_triggers, channel.release, row.release, col.release, value.release], nudge, [*src, channel, row, col, value], [moved, change, note],
          api_name="learn_vae_nudge", trigger_mode="always_last")  # fmt: skip
