"""5. The chapter's sampler, run: its update rule driven by the shipped denoiser (and by the network its code
trains), next to DDPM and DDIM on the same seed; and the project's own judge (classifier accuracy, FD) on each."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import gradio as gr

from ldm_core import make_timesteps, teaching
from ldm_core.classifier import load_classifier
from ldm_core.reference import REFERENCE_DIR, load_reference

from ..common import as_int, resolve_seed, sampler_settings, user_errors
from ..i18n import say, t
from ..registry import ModelRegistry
from .cache import cached
from .pictures import image, picture
from .sources import learn_class

SAMPLERS = (teaching.CHAPTER_OWN_NET, teaching.CHAPTER, "ddpm", "ddim")
# each sampler's name in demo/i18n.py (the measured tables add the real images' row)
SHOWN = {teaching.CHAPTER_OWN_NET: "ch.own", teaching.CHAPTER: "ch.chapter", "ddpm": "ch.ddpm", "ddim": "ch.ddim",
         "real": "ch.real"}  # fmt: skip
QUALITY_FILE = "sampler_quality.json"  # written by benchmarks/bench_chapter_sampler.py into <model>/reference/


def chapter_section(registry: ModelRegistry, model: str, class_name: str, seed: Any, steps: Any,
                    guidance: Any) -> tuple[Any, ...]:  # fmt: skip
    """-> (the image of each of SAMPLERS, the note with the coefficients of the first step and stored numbers)."""
    pipe = registry.get(model)
    label = learn_class(registry, pipe, class_name)
    settings = sampler_settings(pipe, steps, guidance, "ddim")
    seed = resolve_seed(seed)
    n, g = settings["num_inference_steps"], settings["guidance_scale"]
    with user_errors():
        images = cached((registry.folders[model], "chapter", label, seed, n, g),
                        lambda: teaching.compare_samplers(pipe, label, seed, n, g, SAMPLERS))  # fmt: skip
    ts = make_timesteps(pipe.num_train_timesteps, n).tolist()
    a_t = float(pipe.schedule.alpha_bar(ts[0]))
    beta = 1 - a_t / float(pipe.schedule.alpha_bar(ts[1] if n > 1 else -1))
    a_last = float(pipe.schedule.alpha_bar(ts[-1]))
    note = say(
        "ch.note", ch_eq=r"$z \leftarrow (z - \beta_t\,\hat z)/\sqrt{1-\beta_t}$",
        ddpm_eq=r"$z \leftarrow \big(z - \tfrac{\beta_t}{\sqrt{1-\bar\alpha_t}}\hat\varepsilon\big)/\sqrt{\alpha_t}"
        r" + \sigma_t \xi$", n=n, beta_eq=r"$1-\bar\alpha_t/\bar\alpha_{t_{prev}}$", t0=ts[0], beta=f"{beta:.4f}",
        ddpm=f"{beta / math.sqrt(1 - a_t):.4f}", factor=f"{1 / math.sqrt(1 - a_t):.2f}", tl=ts[-1],
        factor_eq=r"$1/\sqrt{1-\bar\alpha_t}$", last=f"{1 / math.sqrt(1 - a_last):.1f}", zhat_eq=r"$\hat z = z$",
        own_eq=r"$z \leftarrow \sqrt{1-\beta_t}\,z$", shrink=f"{math.sqrt(a_t):.4f}",
    )  # fmt: skip
    return (*(image(images[s]) for s in SAMPLERS), note + _stored(registry, model))


def _table(rows: dict[str, dict[str, float]]) -> str:
    lines = [say("ch.table"), "|---|---|---|---|"]
    for name, r in rows.items():
        shown = say(SHOWN[name]) if name in SHOWN else name
        lines.append(f"| {shown} | {100 * r['accuracy']:.1f} % | {r['fd']:.1f} | {int(r['n'])} |")
    return "\n".join(lines)


def _stored(registry: ModelRegistry, model: str) -> str:
    path = Path(registry.folders[model]) / REFERENCE_DIR / QUALITY_FILE
    if not path.is_file():
        return ""
    q = json.loads(path.read_text())
    return say("ch.stored", command=q["command"], steps=q["steps"], per_class=q["per_class"]) + _table(q["results"])


def measure(registry: ModelRegistry, model: str, per_class: Any) -> str:
    """-> markdown: accuracy and FD of each sampler, measured now on ``per_class`` images of each class."""
    pipe = registry.get(model)
    folder = Path(registry.folders[model])
    classifier_dir = folder.parent / "classifiers" / folder.name
    reference = cached((registry.folders[model], "reference"), lambda: load_reference(folder))
    if reference is None or not (classifier_dir / "classifier.safetensors").is_file():
        raise gr.Error(say("err.no_judge", model=model))
    n = as_int("images per class", per_class, 1, 10)
    classifier, _ = cached((registry.folders[model], "classifier"), lambda: load_classifier(classifier_dir))
    with user_errors():
        rows = cached(
            (registry.folders[model], "quality", n),
            lambda: teaching.sample_quality(pipe, classifier, reference, SAMPLERS, n),
        )
    return say("ch.measured", n=n) + _table(rows)


def build(registry: ModelRegistry, ctx: Any) -> None:
    with gr.Row():
        steps = gr.Slider(2, 100, value=20, step=1, label=t("learn.steps"), elem_id="learn-ch-steps")
        run_btn = gr.Button(t("ch.run"), variant="primary", elem_id="learn-ch-run")
    with gr.Row():
        outs = [picture(t(SHOWN[s]), f"learn-ch-{s}") for s in SAMPLERS]
    note = gr.Markdown(elem_id="learn-ch-note", latex_delimiters=ctx.latex)
    with gr.Row():
        per_class = gr.Slider(1, 10, value=2, step=1, label=t("ch.per_class"), elem_id="learn-ch-n")
        judge = gr.Button(t("ch.judge"), elem_id="learn-ch-judge")
    judged = gr.Markdown(elem_id="learn-ch-judged")
    ctx.on("chapter", [run_btn.click], chapter_section,
          [ctx.model, ctx.class_name, ctx.seed, steps, ctx.guidance], [*outs, note], api_name="learn_chapter",
          trigger_mode="always_last")  # fmt: skip
    judge.click(ctx.bind(measure), [ctx.model, per_class], judged, api_name="learn_chapter_judge")
