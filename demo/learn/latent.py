"""8. Why latent: the measured cost of one denoising step in the latent next to the same UNet design at pixel size;
and a sample next to its nearest training images (from the small fixed subset in ``<model>/reference/``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from ldm_core import teaching
from ldm_core.reference import REFERENCE_DIR, load_reference

from ..common import resolve_seed, user_errors
from ..i18n import t
from ..registry import ModelRegistry
from .cache import cached
from .pictures import image, picture, strip
from .sources import learn_class

COST_FILE = "step_cost.json"  # written by benchmarks/bench_latent_vs_pixel.py --write into <model>/reference/
BUDGET_FILE = "why_latent.json"  # written by benchmarks/why_latent.py --write, with why_latent.png beside it


def cost_markdown(c: dict[str, Any], where: str) -> str:
    """The table of ``teaching.step_cost``'s result, saying where it was measured."""
    lat, pix = c["latent"], c["pixel"]
    return (
        f"One denoiser call (batch 1, no guidance), {where}; the pixel-space UNet is the same design (channels, "
        "levels, attention) built for the image instead of the latent:\n\n"
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
        "smaller than the FLOPs ratio. Below: what that means for training, measured."
    )


def cost_section(registry: ModelRegistry, model: str) -> str:
    """-> markdown: the stored benchmark of this model (instant), or a measurement here if none is stored."""
    path = Path(registry.folders[model]) / REFERENCE_DIR / COST_FILE
    if path.is_file():
        stored = json.loads(path.read_text())
        return cost_markdown(stored["result"], f"measured by `{stored['command']}` ({stored['machine']})")
    return measure_cost(registry, model)


def measure_cost(registry: ModelRegistry, model: str) -> str:
    """-> markdown: FLOPs and CPU ms of one denoiser call, latent vs pixel space, measured now (once per model)."""
    pipe = registry.get(model)
    c = cached((registry.folders[model], "cost"), lambda: teaching.step_cost(pipe))
    return cost_markdown(c, "measured now on this server with `ldm_core.teaching.step_cost`")


def budget_markdown(r: dict[str, Any], model: str) -> str:
    """The table of ``benchmarks/why_latent.py``'s result: the same training budget in the latent and in pixels."""
    lat, pix = r["models"]["latent"], r["models"]["pixel"]
    rows = "".join(
        f"| {name} | {'×'.join(map(str, m['latent_shape']))} | {m['training_minutes']:.1f} | {m['vae_steps'] or '—'} | "
        f"{m['denoiser_steps']:,} | {100 * m['accuracy']:.0f} % | {m['fd_over_floor']:.1f}× |\n"
        for name, m in (("latent", lat), ("pixel space", pix))
    )
    return (
        f"**The same training budget, {r['budget_minutes']:g} minutes, spent in the latent and in pixels** ({model}; "
        f"both trained at the same time, one CPU thread each, by `python -m ldm_core train`; the latent model "
        f"spends {r['vae_minutes']:g} of its minutes on its VAE). Left of the gap: the latent model's samples, right: "
        f"the pixel-space model's; one column per class, seeds 0-{r['grid_seeds'] - 1}, DDIM {r['sample_steps']} "
        f"steps, guidance {r['guidance']:g}.\n\n"
        "| model | denoised | training min | VAE steps | denoiser steps | classifier reads the class | FD / floor |\n"
        f"|---|---|---|---|---|---|---|\n{rows}\n"
        f"In the same minutes the latent denoiser took **{lat['denoiser_steps'] / max(pix['denoiser_steps'], 1):.0f}× "
        f"more steps**, because each of its steps is cheaper (the table above). FD: Fréchet distance of the "
        f"classifier's features to the test set, over that of real training images ({r['per_class']} per class; "
        f"1× is as good as real data). Measured by `{r['command']}` ({r['machine']}). {r.get('note', '')}"
    ).rstrip()


def budget_section(registry: ModelRegistry, model: str) -> tuple[Any, str]:
    """-> (the two models' sample grids, the table): this model's stored comparison, or another served model's."""
    names = [model, *(n for n in registry.folders if n != model)]
    for name in names:
        folder = Path(registry.folders[name]) / REFERENCE_DIR
        if (folder / BUDGET_FILE).is_file() and (folder / "why_latent.png").is_file():
            r = json.loads((folder / BUDGET_FILE).read_text())
            with Image.open(folder / "why_latent.png") as im:
                grid = im.convert("RGB")
            return grid, budget_markdown(r, name)
    return None, "No served model ships a latent-vs-pixel training comparison (`python benchmarks/why_latent.py`)."


def neighbours_section(registry: ModelRegistry, model: str, class_name: str, seed: Any) -> tuple[Any, ...]:
    """-> (a sample of the class, its 5 nearest training images of the stored subset, the note)."""
    pipe = registry.get(model)
    label, seed = learn_class(registry, pipe, class_name), resolve_seed(seed)
    reference = cached((registry.folders[model], "reference"), lambda: load_reference(Path(registry.folders[model])))
    if reference is None:
        return None, None, f"{model} ships no reference set of training images (`python -m ldm_core.reference`)."
    with user_errors():
        sample = cached((registry.folders[model], "nn-sample", label, seed),
                        lambda: np.asarray(pipe([label], num_inference_steps=20, seed=seed).images)[0])  # fmt: skip
    nn = teaching.nearest_training_images(sample, reference["images"])
    names = [pipe.class_names[int(reference["labels"][i])] for i in nn["indices"]]
    dists = ", ".join(f"{d:.3f} ({c})" for d, c in zip(nn["distances"], names, strict=True))
    note = (f"RMS pixel distance of the sample (20 DDIM steps, seed {seed}) to its 5 nearest of "
            f"{len(reference['images'])} training images ({reference['per_class']} per class, a fixed subset of "
            f"{reference['data']} stored with the model): {dists}. For scale, a training image's nearest other "
            f"training image in the subset is at {nn['train_nn_median']:.3f} (median). A copy would be at about 0; "
            "the full training set (not shipped) may hold closer images.")  # fmt: skip
    return image(sample), strip(nn["images"]), note


def build(registry: ModelRegistry, ctx: Any) -> None:
    out = gr.Markdown(elem_id="learn-cost")
    btn = gr.Button(t("lat.measure"), elem_id="learn-cost-run")
    gr.on([*ctx.opens("latent"), ctx.model.change], ctx.bind(cost_section), [ctx.model], out, api_name="learn_cost",
          trigger_mode="always_last")  # fmt: skip
    btn.click(ctx.bind(measure_cost), [ctx.model], out, api_name="learn_cost_measure")
    with gr.Row():
        budget_grid = picture(t("lat.budget"), "learn-budget-grid", height=360)
        budget_note = gr.Markdown(elem_id="learn-budget-note")
    gr.on([*ctx.opens("latent"), ctx.model.change], ctx.bind(budget_section), [ctx.model], [budget_grid, budget_note],
          api_name="learn_budget", trigger_mode="always_last")  # fmt: skip
    gr.Markdown(t("lat.copy"))
    with gr.Row():
        sample = picture(t("lat.sample"), "learn-nn-sample")
        nearest = picture(t("lat.nearest"), "learn-nn-nearest")
        note = gr.Markdown(elem_id="learn-nn-note")
    gr.on([*ctx.opens("latent"), ctx.class_name.change, ctx.seed.submit], ctx.bind(neighbours_section),
          [ctx.model, ctx.class_name, ctx.seed], [sample, nearest, note], api_name="learn_neighbours",
          trigger_mode="always_last")  # fmt: skip
