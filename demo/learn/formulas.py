"""9. The chapter's formulas, each next to the one ldm_core uses, what differs, and the function that implements it."""

from __future__ import annotations

import re
from typing import Any

import gradio as gr

from ..i18n import compose, text

WORD = re.compile(r"@(fm\.[a-z_.]+)")  # "@fm.tex.gan": a word of demo/i18n.py inside the LaTeX or the "where" text

# (the chapter's formula, ldm_core's formula, where in ldm_core); row k's topic and what differs are "fm.<k>.topic"
# and "fm.<k>.differs" in demo/i18n.py
FORMULAS: list[tuple[str, str, str]] = [
    (
        r"x_t = \sqrt{\alpha_t}\, x_{t-1} + \sqrt{1-\alpha_t}\,\epsilon_t",
        r"q(x_t \mid x_0) = N\big(\sqrt{\bar\alpha_t}\, x_0,\ (1-\bar\alpha_t) I\big),\ \ \bar\alpha_t = \prod_{s\le t}\alpha_s",
        "`NoiseSchedule.q_sample` (ldm_core/schedule.py)",
    ),
    (
        r"x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\big(x_t - \sqrt{1-\alpha_t}\,\epsilon_t\big)",
        r"x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{1-\alpha_t}{\sqrt{1-\bar\alpha_t}}\,\hat\epsilon_\theta(x_t,t)\Big)"
        r" + \sigma_t z,\ \ \sigma_t^2 = \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\beta_t",
        "`sample_ddpm` (ldm_core/samplers.py); @fm.w.det `ddim_step`",
    ),
    (
        r"L = -E_{z\sim q(z|x)}[\log p(x|z)] + KL\big(q(z|x)\,\|\,p(z)\big)",
        r"L = \tfrac{1}{N}\|x - D(z)\|_1 + w\,\tfrac{1}{N} KL\big(q(z|x)\,\|\,N(0,I)\big)\ (+\ \text{@fm.tex.gan}),\ w = 10^{-6}",
        "`vae_loss` (ldm_core/vae.py), `vae_step` (ldm_core/train_vae.py)",
    ),
    (
        r"L = \| f_\theta(z_0) - z_0 \|^2 \quad (t \text{@fm.tex.unused})",
        r"L = E_{t,\epsilon}\big\| \hat\epsilon_\theta(\sqrt{\bar\alpha_t} z_0 + \sqrt{1-\bar\alpha_t}\epsilon,\ t, c) - \epsilon \big\|^2"
        r"\ \ (\text{@fm.tex.or} v = \sqrt{\bar\alpha_t}\epsilon - \sqrt{1-\bar\alpha_t} z_0)",
        "`diffusion_loss` (ldm_core/train_diffusion.py)",
    ),
    (
        r"\text{@fm.tex.chapter_train}",
        r"\text{@fm.tex.stages} \times \text{@fm.tex.scaling}",
        "`ldm_core train vae`, @fm.w.then `ldm_core train diffusion --vae ...` (ldm_core/train_vae.py, train_diffusion.py)",
    ),
    (
        r"z \leftarrow \frac{z - \beta_t\,\hat z}{\sqrt{1-\beta_t}}",
        r"z \leftarrow \frac{1}{\sqrt{\alpha_t}}\Big(z - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\hat\epsilon\Big) + \sigma_t \xi",
        "`sample_ddpm` (ldm_core/samplers.py); @fm.w.rule: `teaching.sample_chapter`",
    ),
    (
        r"\text{—}",
        r"\hat\epsilon = \hat\epsilon(z_t, \varnothing) + s\,\big(\hat\epsilon(z_t, c) - \hat\epsilon(z_t, \varnothing)\big)",
        "`guided_output` (ldm_core/samplers.py)",
    ),
]


def formulas_markdown(lang: str = "en") -> str:
    """The table as markdown in ``lang``: the LaTeX is the same in every language, the words come from demo/i18n.py."""
    parts = []
    for k, row in enumerate(FORMULAS):
        chapter, ours, where = (WORD.sub(lambda m: text(m.group(1), lang), s) for s in row)
        parts.append(f"#### {text(f'fm.{k}.topic', lang)}\n\n{text('fm.chapter', lang)}: $${chapter}$$\n\n"
                     f"ldm_core: $${ours}$$\n\n**{text('fm.differs', lang)}** {text(f'fm.{k}.differs', lang)}  \n"
                     f"**{text('fm.where', lang)}** {where}")  # fmt: skip
    return "\n\n---\n\n".join(parts)


def build(registry: Any, ctx: Any) -> None:
    gr.Markdown(compose("learn.formulas", formulas_markdown), elem_id="learn-formulas", latex_delimiters=ctx.latex)
