"""8. Why latent: the measured cost of one denoising step in the latent next to the same UNet design at pixel size."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ldm_core import teaching

from ..registry import ModelRegistry
from .cache import cached


def cost_section(registry: ModelRegistry, model: str) -> str:
    """-> markdown: FLOPs and CPU ms of one denoiser call, latent vs pixel space (measured once per model here)."""
    pipe = registry.get(model)
    c = cached((model, "cost"), lambda: teaching.step_cost(pipe))
    lat, pix = c["latent"], c["pixel"]
    return (
        "One denoiser call (batch 1, no guidance), measured on this machine now with `ldm_core.teaching.step_cost` "
        "(also `python benchmarks/bench_latent_vs_pixel.py`); the pixel-space UNet is the same design "
        "(channels, levels, attention) built for the image instead of the latent:\n\n"
        "| | input | numbers | FLOPs | CPU ms |\n|---|---|---|---|---|\n"
        f"| latent (this model) | {'×'.join(map(str, lat['shape']))} | {lat['numbers']} | {lat['flops'] / 1e6:.0f} M | "
        f"{lat['ms']:.1f} |\n"
        f"| pixel space | {'×'.join(map(str, pix['shape']))} | {pix['numbers']} | {pix['flops'] / 1e6:.0f} M | "
        f"{pix['ms']:.1f} |\n"
        f"| ratio | | {pix['numbers'] / lat['numbers']:.1f}× | **{c['flops_ratio']:.1f}×** | "
        f"**{c['ms_ratio']:.1f}×** |\n\n"
        "Sampling runs this call once per step (twice with guidance) and training once per example, so the "
        'chapter\'s "faster training" claim is this ratio per step; the VAE is paid once per image (encode for '
        "training, decode at the end). Small CPU models are partly bound by per-call overheads, so the ms ratio is "
        "smaller than the FLOPs ratio. A pixel-space model trained with the same budget is not shipped yet."
    )


def build(registry: ModelRegistry, ctx: Any) -> None:
    btn = gr.Button("Measure", elem_id="learn-cost-run")
    out = gr.Markdown(elem_id="learn-cost")
    gr.on([btn.click, *ctx.opens("latent")], ctx.bind(cost_section), [ctx.model], out, api_name="learn_cost",
          trigger_mode="always_last")  # fmt: skip
