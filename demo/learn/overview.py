"""0. The overview: the whole pipeline as one diagram whose boxes open their sections below."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..i18n import t

# the section each box of the diagram opens; box k is labelled "ov.box.<k>" in demo/i18n.py (image x, VAE encoder E,
# latent z₀, + noise, denoiser, sampler loop, guidance, VAE decoder D, image)
BOXES = ["vae", "vae", "vae", "forward", "denoiser", "reverse", "guidance", "vae", "reverse"]


def build(registry: Any, ctx: Any) -> None:
    with gr.Row(equal_height=True):
        for k, section in enumerate(BOXES):
            if k:
                gr.Markdown("→", elem_classes="learn-arrow", min_height=0)
            button = gr.Button(t(f"ov.box.{k}"), size="sm", elem_id=f"learn-box-{k}", min_width=60)
            ctx.openers.setdefault(section, []).append(button)
    gr.Markdown(t("ov.text"), latex_delimiters=ctx.latex)
