"""7. The two training stages, replayed from the record the training command keeps in the model folder
(``ldm_core.replay``): VAE reconstructions of fixed images during stage 1, fixed-seed samples during stage 2, and
both loss curves, with a slider over the recorded training steps of each stage."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np

from ldm_core.replay import load_replay

from ..common import as_int
from ..i18n import say, t
from ..registry import ModelRegistry
from .cache import cached
from .pictures import curve_figure, picture, strip


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
        return say("rp.same")
    return say("rp.short", v1=recorded["stage 1"], v2=recorded["stage 2"], s1=shipped["stage 1"], s2=shipped["stage 2"])


def replay_section(registry: ModelRegistry, model: str) -> tuple[Any, ...]:
    """-> (stage-1 slider, stage-2 slider, loss curves, note); the pictures follow from the sliders."""
    r = _replay(registry, model)
    if r is None:
        return gr.skip(), gr.skip(), None, say("rp.none")
    s1, s2 = r["stage1"], r["stage2"]
    l1, l2 = s1["losses"], s2["losses"]
    curves = {say("rp.curve1"): (l1["step"], l1["loss"])}
    offset = s1["steps"][-1]
    curves[say("rp.curve2")] = (np.asarray(l2["step"]) + offset, l2["loss"])
    fig = curve_figure(say("rp.title"), say("rp.x"), say("rp.y"), curves, mark=offset, logy=True)
    commands = "\n".join(f"    {c}" for c in dict.fromkeys(r.get("commands", [])) if c)
    note = say("rp.note", provenance=_provenance(registry, model, r), n1=len(s1["steps"]), k=s1["num_images"],
               n2=len(s2["steps"]), commands=commands)  # fmt: skip
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
    caption = say("rp.caption", s1=s1["steps"][i], psnr=say("rp.psnr", psnr=f"{psnr:.1f}") if psnr else "",
                  s2=s2["steps"][j], loss=f"{_at(s2['losses'], 'loss', s2['steps'][j]) or float('nan'):.4f}")  # fmt: skip
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
    ctx.on("replay", [ctx.model.input], replay_section, [ctx.model], [k1, k2, plot, note],
          api_name="learn_replay", trigger_mode="always_last")  # fmt: skip
    gr.on([k1.change, k2.change], ctx.bind(replay_frame), [ctx.model, k1, k2], [vae_row, samples, caption],
          api_name="learn_replay_frame", trigger_mode="always_last")  # fmt: skip
