"""7. The two training stages: what the shipped model folder records of its training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from ..registry import ModelRegistry


def replay_section(registry: ModelRegistry, model: str) -> tuple[Any, ...]:
    """-> (loss curves picture or None, samples picture or None, the note on how the model was trained)."""
    pipe = registry.get(model)
    folder = Path(registry.folders[model])
    loss, samples = (folder / "loss.png", folder / "samples.png")
    cfg = pipe.extra_config
    lines = []
    for stage, key in (("Stage 1, the VAE", "vae_training"), ("Stage 2, the denoiser on the frozen VAE's latents",
                                                               "training")):  # fmt: skip
        run = cfg.get(key) or {}
        if run:
            lines.append(f"- **{stage}**: {run.get('steps', '?')} steps in {run.get('wall_time_s', 0) / 60:.0f} min"
                         f"; command: `{run.get('command', '?')}`")  # fmt: skip
    note = (
        "The chapter's code trains the VAE and the denoiser at once with one optimizer; this model was trained in "
        "the two stages its text (3.1) describes:\n\n"
        + ("\n".join(lines) or "- (no training record in config.json)")
        + "\n\nShown: the loss curves and the final samples the training command wrote. **A step-by-step replay "
        "(reconstructions during stage 1, fixed-seed samples during stage 2) is not recorded in the shipped "
        "folders yet.**"
    )
    shown = [str(p) if p.is_file() else None for p in (loss, samples)]
    return (*shown, note)


def build(registry: ModelRegistry, ctx: Any) -> None:
    with gr.Row():
        loss = gr.Image(label="loss curves (from training)", interactive=False, elem_id="learn-replay-loss")
        samples = gr.Image(label="samples at the end of training", interactive=False, elem_id="learn-replay-samples")
    note = gr.Markdown(elem_id="learn-replay-note")
    gr.on([*ctx.opens("replay"), ctx.model.change], ctx.bind(replay_section), [ctx.model], [loss, samples, note],
          api_name="learn_replay", trigger_mode="always_last")  # fmt: skip
