"""9. The chapter's formulas, each next to the one ldm_core uses, what differs, and the function that implements it."""

from __future__ import annotations

from typing import Any

import gradio as gr

# (topic, the chapter's formula, ldm_core's formula, what differs, where in ldm_core)
FORMULAS: list[tuple[str, str, str, str, str]] = [
    (
        "Forward step (chapter 4.1)",
        r"x_t = \sqrt{\alpha_t}\, x_{t-1} + \sqrt{1-\alpha_t}\,\epsilon_t",
        r"q(x_t \mid x_0) = N\big(\sqrt{\bar\alpha_t}\, x_0,\ (1-\bar\alpha_t) I\big),\ \ \bar\alpha_t = \prod_{s\le t}\alpha_s",
        "Same process; the chapter never gives the closed form that training samples in one step (section 2 checks "
        "that both give the same statistics).",
        "`NoiseSchedule.q_sample` (ldm_core/schedule.py)",
    ),
    (
        "Reverse step (chapter 4.2)",
        r"x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\big(x_t - \sqrt{1-\alpha_t}\,\epsilon_t\big)",
        r"x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{1-\alpha_t}{\sqrt{1-\bar\alpha_t}}\,\hat\epsilon_\theta(x_t,t)\Big)"
        r" + \sigma_t z,\ \ \sigma_t^2 = \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\beta_t",
        "The chapter undoes one forward step with that step's own noise, which no model knows; DDPM uses the predicted "
        "total noise ε̂, the coefficient (1 − α_t)/√(1 − ᾱ_t), and adds σ_t z (the posterior q(x_{t−1} | x_t, x_0)).",
        "`sample_ddpm` (ldm_core/samplers.py); deterministic variant `ddim_step`",
    ),
    (
        "VAE loss (chapter 4.3)",
        r"L = -E_{z\sim q(z|x)}[\log p(x|z)] + KL\big(q(z|x)\,\|\,p(z)\big)",
        r"L = \tfrac{1}{N}\|x - D(z)\|_1 + w\,\tfrac{1}{N} KL\big(q(z|x)\,\|\,N(0,I)\big)\ (+\ \text{GAN term}),\ w = 10^{-6}",
        "Same two terms; ldm_core's reconstruction term is L1 (a Laplace decoder), the KL weight is tiny (LDM's KL-f "
        "autoencoder), and a patch discriminator sharpens the decoder late in training.",
        "`vae_loss` (ldm_core/vae.py), `vae_step` (ldm_core/train_vae.py)",
    ),
    (
        "Denoiser objective (chapter 5, code)",
        r"L = \| f_\theta(z_0) - z_0 \|^2 \quad (t \text{ unused, no noise})",
        r"L = E_{t,\epsilon}\big\| \hat\epsilon_\theta(\sqrt{\bar\alpha_t} z_0 + \sqrt{1-\bar\alpha_t}\epsilon,\ t, c) - \epsilon \big\|^2"
        r"\ \ (\text{or } v = \sqrt{\bar\alpha_t}\epsilon - \sqrt{1-\bar\alpha_t} z_0)",
        "The chapter's network regresses its clean input and ignores t: the identity map solves it. DDPM's denoiser "
        "gets a noised latent and the noise level and predicts the noise (section 3).",
        "`diffusion_loss` (ldm_core/train_diffusion.py)",
    ),
    (
        "Training (chapter 5, code vs text 3.1)",
        r"\text{one optimizer, VAE and denoiser in turn, on a moving latent}",
        r"\text{stage 1: VAE alone; stage 2: denoiser on the frozen VAE's latents} \times \text{scaling factor}",
        "The chapter's text describes two stages but its code trains both at once, so the denoiser chases a latent "
        "that keeps changing.",
        "`ldm_core train vae`, then `ldm_core train diffusion --vae ...` (ldm_core/train_vae.py, train_diffusion.py)",
    ),
    (
        "Sampling loop (chapter 5, code)",
        r"z \leftarrow \frac{z - \beta_t\,\hat z}{\sqrt{1-\beta_t}}",
        r"z \leftarrow \frac{1}{\sqrt{\alpha_t}}\Big(z - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\hat\epsilon\Big) + \sigma_t \xi",
        "DDPM's mean without the 1/√(1 − ᾱ_t) factor, with no noise, and (in the chapter) with a network that "
        "predicts its input, not the noise. Section 5 runs it with the shipped denoiser.",
        "`sample_ddpm` (ldm_core/samplers.py); the chapter's rule: `teaching.sample_chapter`",
    ),
    (
        "Guidance (not in the chapter)",
        r"\text{—}",
        r"\hat\epsilon = \hat\epsilon(z_t, \varnothing) + s\,\big(\hat\epsilon(z_t, c) - \hat\epsilon(z_t, \varnothing)\big)",
        "Classifier-free guidance (Ho & Salimans 2022); the class is dropped 10% of training steps so one network "
        "learns both (section 6).",
        "`guided_output` (ldm_core/samplers.py)",
    ),
]


def formulas_markdown() -> str:
    parts = []
    for topic, chapter, ours, differs, where in FORMULAS:
        parts.append(f"#### {topic}\n\nchapter: $${chapter}$$\n\nldm_core: $${ours}$$\n\n"
                     f"**What differs:** {differs}  \n**Implemented by:** {where}")  # fmt: skip
    return "\n\n---\n\n".join(parts)


def build(registry: Any, ctx: Any) -> None:
    gr.Markdown(formulas_markdown(), elem_id="learn-formulas", latex_delimiters=ctx.latex)
