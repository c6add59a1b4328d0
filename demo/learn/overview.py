"""0. The overview: the whole pipeline as one diagram whose boxes open their sections below."""

from __future__ import annotations

from typing import Any

import gradio as gr

# (label on the diagram, the section it opens)
BOXES = [("image x", "vae"), ("VAE encoder E", "vae"), ("latent z₀", "vae"), ("+ noise (schedule)", "forward"),
         ("denoiser ε̂(z_t, t, c)", "denoiser"), ("sampler loop ×N", "reverse"), ("guidance", "guidance"),
         ("VAE decoder D", "vae"), ("image", "reverse")]  # fmt: skip

TEXT = """
**Training** (two stages): the VAE learns to squeeze an image into a small latent z₀ and back; then, with the VAE
frozen, the denoiser learns to find the noise ε in $z_t = \\sqrt{\\bar\\alpha_t} z_0 + \\sqrt{1-\\bar\\alpha_t}\\varepsilon$
at any **noise level t** (0 = clean, T−1 = pure noise). **Generating**: start from pure noise at t = T−1, let the
sampler remove the predicted noise a little at a time down to t = 0, decode with the VAE. Every time axis in this tab
is a noise level; denoising steps count the other way (step 1 is at the highest noise). Click a box to open its section.
"""


def build(registry: Any, ctx: Any) -> None:
    with gr.Row(equal_height=True):
        for k, (label, section) in enumerate(BOXES):
            if k:
                gr.Markdown("→", elem_classes="learn-arrow", min_height=0)
            button = gr.Button(label, size="sm", elem_id=f"learn-box-{k}", min_width=60)
            ctx.openers.setdefault(section, []).append(button)
    gr.Markdown(TEXT, latex_delimiters=ctx.latex)
