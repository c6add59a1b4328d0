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
from ..i18n import current_lang, say, t
from ..registry import ModelRegistry
from .cache import cached
from .pictures import image, picture, strip
from .sources import learn_class

COST_FILE = "step_cost.json"  # written by benchmarks/bench_latent_vs_pixel.py --write into <model>/reference/
BUDGET_FILE = "why_latent.json"  # written by benchmarks/why_latent.py --write, with why_latent.png beside it


def cost_markdown(c: dict[str, Any], where: str) -> str:
    """The table of ``teaching.step_cost``'s result, saying where it was measured."""
    lat, pix = c["latent"], c["pixel"]
    return say(
        "lat.cost", where=where, ls="×".join(map(str, lat["shape"])), ln=lat["numbers"], lf=f"{lat['flops'] / 1e6:.0f}",
        lms=f"{lat['ms']:.1f}", ps="×".join(map(str, pix["shape"])), pn=pix["numbers"], pf=f"{pix['flops'] / 1e6:.0f}",
        pms=f"{pix['ms']:.1f}", nr=f"{pix['numbers'] / lat['numbers']:.1f}", fr=f"{c['flops_ratio']:.1f}",
        mr=f"{c['ms_ratio']:.1f}",
    )  # fmt: skip


def cost_section(registry: ModelRegistry, model: str) -> str:
    """-> markdown: the stored benchmark of this model (instant), or a measurement here if none is stored."""
    path = Path(registry.folders[model]) / REFERENCE_DIR / COST_FILE
    if path.is_file():
        stored = json.loads(path.read_text())
        return cost_markdown(
            stored["result"], say("lat.where_stored", command=stored["command"], machine=stored["machine"])
        )
    return measure_cost(registry, model)


def measure_cost(registry: ModelRegistry, model: str) -> str:
    """-> markdown: FLOPs and CPU ms of one denoiser call, latent vs pixel space, measured now (once per model)."""
    pipe = registry.get(model)
    c = cached((registry.folders[model], "cost"), lambda: teaching.step_cost(pipe))
    return cost_markdown(c, say("lat.where_now"))


def budget_markdown(r: dict[str, Any], model: str) -> str:
    """The table of ``benchmarks/why_latent.py``'s result: the same training budget in the latent and in pixels."""
    lat, pix = r["models"]["latent"], r["models"]["pixel"]
    rows = "".join(
        f"| {say(key)} | {'×'.join(map(str, m['latent_shape']))} | {m['training_minutes']:.1f} | "
        f"{m['vae_steps'] or '—'} | {m['denoiser_steps']:,} | {100 * m['accuracy']:.0f} % | {m['fd_over_floor']:.1f}× |\n"
        for key, m in (("lat.b_latent", lat), ("lat.b_pixel", pix))
    )
    return say("lat.budget_md", minutes=f"{r['budget_minutes']:g}", model=model, vae=f"{r['vae_minutes']:g}",
               last=r["grid_seeds"] - 1, steps=r["sample_steps"], guidance=f"{r['guidance']:g}", rows=rows,
               ratio=f"{lat['denoiser_steps'] / max(pix['denoiser_steps'], 1):.0f}", per_class=r["per_class"],
               where=say("lat.where_stored", command=r["command"], machine=r["machine"]),
               note=r.get(f"note_{current_lang()}", r.get("note", ""))).rstrip()  # fmt: skip


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
    return None, say("lat.no_budget")


def neighbours_section(registry: ModelRegistry, model: str, class_name: str, seed: Any) -> tuple[Any, ...]:
    """-> (a sample of the class, its 5 nearest training images of the stored subset, the note)."""
    pipe = registry.get(model)
    label, seed = learn_class(registry, pipe, class_name), resolve_seed(seed)
    reference = cached((registry.folders[model], "reference"), lambda: load_reference(Path(registry.folders[model])))
    if reference is None:
        return None, None, say("lat.noref", model=model)
    with user_errors():
        sample = cached((registry.folders[model], "nn-sample", label, seed),
                        lambda: np.asarray(pipe([label], num_inference_steps=20, seed=seed).images)[0])  # fmt: skip
    nn = teaching.nearest_training_images(sample, reference["images"])
    names = [pipe.class_names[int(reference["labels"][i])] for i in nn["indices"]]
    dists = ", ".join(f"{d:.3f} ({c})" for d, c in zip(nn["distances"], names, strict=True))
    note = say("lat.nn", seed=seed, n=len(reference["images"]), per_class=reference["per_class"],
               data=reference["data"], dists=dists, median=f"{nn['train_nn_median']:.3f}")  # fmt: skip
    return image(sample), strip(nn["images"]), note


def build(registry: ModelRegistry, ctx: Any) -> None:
    out = gr.Markdown(elem_id="learn-cost")
    btn = gr.Button(t("lat.measure"), elem_id="learn-cost-run")
    ctx.on("latent", [ctx.model.input], cost_section, [ctx.model], out, api_name="learn_cost",
          trigger_mode="always_last")  # fmt: skip
    btn.click(ctx.bind(measure_cost), [ctx.model], out, api_name="learn_cost_measure")
    with gr.Row():
        budget_grid = picture(t("lat.budget"), "learn-budget-grid", height=360)
        budget_note = gr.Markdown(elem_id="learn-budget-note")
    ctx.on("latent", [ctx.model.input], budget_section, [ctx.model], [budget_grid, budget_note],
           api_name="learn_budget", trigger_mode="always_last")  # fmt: skip
    gr.Markdown(t("lat.copy"))
    with gr.Row():
        sample = picture(t("lat.sample"), "learn-nn-sample")
        nearest = picture(t("lat.nearest"), "learn-nn-nearest")
        note = gr.Markdown(elem_id="learn-nn-note")
    ctx.on("latent", [ctx.class_name.input, ctx.seed.submit], neighbours_section,
          [ctx.model, ctx.class_name, ctx.seed], [sample, nearest, note], api_name="learn_neighbours",
          trigger_mode="always_last")  # fmt: skip
