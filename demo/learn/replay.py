"""7. The two training stages, replayed from the record the training command keeps in the model folder
(``ldm_core.replay``): VAE reconstructions of fixed images during stage 1, fixed-seed samples during stage 2, and
both loss curves, with a slider over the recorded training steps of each stage."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np

from ldm_core.replay import load_replay

from ..common import as_int
from ..i18n import t
from ..registry import ModelRegistry
from .cache import cached
from .pictures import curve_figure, picture, strip

NO_REPLAY = ("This model folder has no training replay (`replay/`): `python -m ldm_core train all ...` writes one "
             "(with `--sample-every` setting how often it records).")  # fmt: skip


def _replay(registry: ModelRegistry, model: str) -> dict[str, Any] | None:
    return cached((registry.folders[model], "replay"), lambda: load_replay(registry.folders[model]))


def _provenance(registry: ModelRegistry, model: str, r: dict[str, Any]) -> str:
    """Whether the replay comes from the run that made the shipped weights, said plainly."""
    cfg = registry.get(model).extra_config
    shipped = {
        "stage 1": (cfg.get("vae_training") or {}).get("steps"),
        "stage 2": (cfg.get("training") or {}).get("steps"),
    }
    recorded = {"stage 1": r["stage1"]["steps"][-1], "stage 2": r["stage2"]["steps"][-1]}
    if all(shipped[s] == recorded[s] for s in shipped):
        return "Recorded by the training run that made this model's weights."
    return (f"**A short run of this model's recipe, recorded for this view:** {recorded['stage 1']} VAE and "
            f"{recorded['stage 2']} denoiser steps, where the shipped weights had {shipped['stage 1']} and "
            f"{shipped['stage 2']}. It shows how training proceeds, not the shipped model's own history.")  # fmt: skip


def replay_section(registry: ModelRegistry, model: str) -> tuple[Any, ...]:
    """-> (stage-1 slider, stage-2 slider, loss curves, note); the pictures follow from the sliders."""
    r = _replay(registry, model)
    if r is None:
        return gr.skip(), gr.skip(), None, NO_REPLAY
    s1, s2 = r["stage1"], r["stage2"]
    l1, l2 = s1["losses"], s2["losses"]
    curves = {"stage 1 (VAE) loss": (l1["step"], l1["loss"])}
    offset = s1["steps"][-1]
    curves["stage 2 (denoiser) loss, steps after stage 1"] = (np.asarray(l2["step"]) + offset, l2["loss"])
    fig = curve_figure("training losses (stage 2 starts where stage 1 ended)", "training step (both stages)", "loss",
                       curves, mark=offset, logy=True)  # fmt: skip
    commands = "\n".join(f"    {c}" for c in dict.fromkeys(r.get("commands", [])) if c)
    note = (f"{_provenance(registry, model, r)}\n\nStage 1 trains the VAE alone ({len(s1['steps'])} recorded "
            f"points: reconstructions of {s1['num_images']} fixed training images); stage 2 trains the denoiser on "
            f"the frozen VAE's latents ({len(s2['steps'])} points: one DDIM sample per class, fixed seeds). The "
            f"chapter's code instead trains both at once with one optimizer. Commands:\n\n{commands}")  # fmt: skip
    return (_slider(len(s1["steps"])), _slider(len(s2["steps"])), fig, note)


def _slider(n: int) -> Any:
    """The slider over n recorded points at its last one (a slider needs two points to slide)."""
    return gr.Slider(minimum=1, maximum=n, value=n) if n > 1 else gr.skip()


def replay_frame(registry: ModelRegistry, model: str, k1: Any, k2: Any) -> tuple[Any, ...]:
    """-> (fixed images over their reconstructions at stage-1 point k1, samples at stage-2 point k2, caption)."""
    r = _replay(registry, model)
    if r is None:
        return None, None, ""
    s1, s2 = r["stage1"], r["stage2"]
    i = as_int("stage 1 point", k1, 1, len(s1["steps"])) - 1
    j = as_int("stage 2 point", k2, 1, len(s2["steps"])) - 1
    top = strip(np.concatenate([s1["originals"], s1["frames"][i]]), ncols=len(s1["originals"]))
    psnr = _at(s1["losses"], "psnr", s1["steps"][i])
    caption = (f"stage 1, VAE step **{s1['steps'][i]}**" + (f" (PSNR about {psnr:.1f} dB)" if psnr else "")
               + f"; stage 2, denoiser step **{s2['steps'][j]}** (loss about "
               f"{_at(s2['losses'], 'loss', s2['steps'][j]) or float('nan'):.4f})")  # fmt: skip
    return top, strip(s2["frames"][j]), caption


def _at(losses: dict[str, list[float]], key: str, step: int) -> float | None:
    """The logged value of ``key`` nearest to ``step``."""
    if not losses.get(key):
        return None
    k = int(np.argmin(np.abs(np.asarray(losses["step"][: len(losses[key])]) - step)))
    return float(losses[key][k])


def build(registry: ModelRegistry, ctx: Any) -> None:
    note = gr.Markdown(elem_id="learn-replay-note")
    plot = gr.Plot(label=t("rp.plot"), elem_id="learn-replay-plot")
    with gr.Row():
        k1 = gr.Slider(1, 2, value=1, step=1, label=t("rp.k1"), elem_id="learn-replay-k1")
        k2 = gr.Slider(1, 2, value=1, step=1, label=t("rp.k2"), elem_id="learn-replay-k2")
    with gr.Row():
        vae_row = picture(t("rp.vae"), "learn-replay-vae")
        samples = picture(t("rp.samples"), "learn-replay-samples")
    caption = gr.Markdown(elem_id="learn-replay-caption")
    ctx.on("replay", [ctx.model.change], replay_section, [ctx.model], [k1, k2, plot, note],
          api_name="learn_replay", trigger_mode="always_last")  # fmt: skip
    gr.on([k1.change, k2.change], ctx.bind(replay_frame), [ctx.model, k1, k2], [vae_row, samples, caption],
          api_name="learn_replay_frame", trigger_mode="always_last")  # fmt: skip
