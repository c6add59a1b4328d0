"""Every word the app shows, in English (``EN``) and Simplified Chinese (``ZH``), and the ``gr.I18n`` built from them.

Components take ``t("key")`` as label or value; the browser's language picks the text (English otherwise). The
Chinese uses the chapter's own terms (../shared/seed: 潜在扩散模型, 变分自编码器, 扩散过程, 逆扩散过程, 潜在空间), so a
student can hold the chapter next to the app. Values that handlers compare or the API takes (class names, sampler
names, method names) stay English: pickers show ``(t(display key), English value)`` pairs.

Texts assembled from pieces (the formula table, whose LaTeX is the same in both languages) are added to both
dicts by ``compose`` when the layout is built, so ``EN`` and ``ZH`` always hold the same keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import gradio as gr
from gradio.i18n import I18nData

LANGS = ("en", "zh")

EN: dict[str, str] = {
    # ------------------------------------------------------------------ the page
    "app.intro": "# LDM Explorer\nA latent diffusion model, step by step: **VAE** (image ↔ small latent) → "
    "**noise schedule** → **denoiser** (a class-conditional UNet) → **sampler**.",
    "app.model": "Model",
    "tab.generate": "Generate",
    "tab.interpolate": "Interpolate",
    "tab.edit": "Edit",
    "tab.inpaint": "Inpaint",
    "tab.learn": "Learn",
    # ------------------------------------------------------------------ the lesson (teacher mode, demo/lesson.py)
    "lesson.title": "Lesson: a path through the chapter for a class (teacher mode)",
    "lesson.intro": "Twelve steps in the chapter's order. Each says what to show; **Show me** opens the right tab or "
    "Learn section with its settings filled in. Then ask the class the step's question.",
    "lesson.show": "Show me",
    "lesson.opens": "Show me opens",
    "lesson.with": "with",
    "lesson.back": "◀ Back",
    "lesson.next": "Next ▶",
    "lesson.question": "Question for the class:",
    "lesson.missing": "This step needs a model that is not here. Press **Next ▶** for the next step.",
    "lesson.vae.title": "The VAE: an image becomes a small latent",
    "lesson.vae.text": "The encoder turns a 28×28 image (784 numbers) into a small latent z₀; the decoder turns it back. "
    "Compare the input with the reconstruction and look at the latent's channels.",
    "lesson.vae.question": "Move **new value** under “Move one latent cell”: which part of the digit changes, and how "
    "much of the picture does one latent number control?",
    "lesson.forward.title": "The forward process: adding noise",
    "lesson.forward.text": "Training makes noisy latents in one go, "
    "z_t = √ᾱ_t z₀ + √(1−ᾱ_t) ε. The slider is the noise level t.",
    "lesson.forward.question": "Move the noise level t: from which t can you no longer tell which digit it was?",
    "lesson.denoiser.title": "The denoiser and its loss",
    "lesson.denoiser.text": "The UNet sees the noisy latent z_t and t, and predicts the noise ε. Its loss is "
    "‖ε̂ − ε‖². Below, the chapter's code asks for its own input instead.",
    "lesson.denoiser.question": "Move t: at which noise levels is the denoiser's error largest, and why?",
    "lesson.reverse.title": "Sampling, step by step",
    "lesson.reverse.text": "Sampling runs the reverse process: start from noise, remove a little predicted noise at "
    "each step. Press **Run both samplers**, then scrub the step slider or press ▶ play; A and B are two samplers "
    "on the same seed.",
    "lesson.reverse.question": "Go to step 1 and press “Jump to x̂₀ now”: why does one jump give a blurred image?",
    "lesson.chapter.title": "The chapter's sampler against DDPM",
    "lesson.chapter.text": "Press **Run the four samplers**: the chapter's loop, run with the shipped denoiser and with the network its code trains, "
    "next to DDPM and DDIM on the same seed.",
    "lesson.chapter.question": "Which of the four images is a clear digit, and what is missing from the chapter's "
    "update rule?",
    "lesson.guidance.title": "Classifier-free guidance",
    "lesson.guidance.text": "Press **Run**: one seed at guidance 0, 1, 2, 4, 8, and for one step the unconditional and conditional "
    "noise predictions and their difference.",
    "lesson.guidance.question": "Move “look inside denoising step”: is the difference ε̂(c) − ε̂(∅) large or small, "
    "and what does the scale s do to it?",
    "lesson.replay.title": "The two training stages",
    "lesson.replay.text": "Stage 1 trains the VAE alone; stage 2 trains the denoiser on the frozen VAE's latents. "
    "The sliders replay both.",
    "lesson.replay.question": "Move the stage 2 slider: at which recorded step do the samples first look like digits?",
    "lesson.latent.title": "Why latent: what it saves",
    "lesson.latent.text": "One denoiser step in the latent against the same UNet at pixel size, and a sample beside "
    "its nearest training images.",
    "lesson.latent.question": "How many times cheaper is one latent step, and does the sample copy a training image?",
    "lesson.generate.title": "Generate",
    "lesson.generate.text": "The whole model at work: class 3, seed 42, 25 DDIM steps. Press **Generate** and watch "
    "the preview of x̂₀.",
    "lesson.generate.question": "Set the guidance scale to 0, then to 8, and generate again: what changes?",
    "lesson.interpolate.title": "Interpolate",
    "lesson.interpolate.text": "From the noise of seed 0 (class 1) to the noise of seed 1 (class 7). Press "
    "**Interpolate**.",
    "lesson.interpolate.question": "Move the position slider: where does the 1 turn into a 7, and is the change "
    "smooth? Try lerp instead of slerp.",
    "lesson.edit.title": "Edit (img2img)",
    "lesson.edit.text": "A drawn 3, noised to strength 0.6 and denoised towards class 8. Press **Edit**.",
    "lesson.edit.question": "Move the strength: from which strength does the 3 become an 8?",
    "lesson.inpaint.title": "Inpaint",
    "lesson.inpaint.text": "A drawn 7 with its right half masked; the model repaints that half as class 1. "
    "Press **Inpaint**.",
    "lesson.inpaint.question": "Move the mask blur, or switch to RePaint: does the new half fit the old one better?",
    # ------------------------------------------------------------------ shared widgets
    "w.class": "Class",
    "w.unconditional": "unconditional",
    "w.steps": "Steps",
    "w.guidance": "Guidance scale (1 = off)",
    "w.sampler": "Sampler",
    "w.eta": "Eta (0 = deterministic DDIM)",
    "w.seed": "Seed",
    "w.seed_info": "-1 = random",
    "w.examples": "Examples",
    "w.settings": "Settings",
    # ------------------------------------------------------------------ Generate
    "gen.intro": "Pick a class and press **Generate**. The sampler starts from pure noise in the latent space and "
    "denoises it step by step; the preview shows the model's current guess of the clean image (the predicted x̂₀, "
    'decoded by the VAE). "unconditional" samples without a class (the null class the model was trained with).',
    "gen.batch": "Batch size",
    "gen.run": "Generate",
    "gen.stop": "Stop",
    "gen.preview": "Live preview: predicted x̂₀",
    "gen.result": "Result",
    "gen.gallery": "Images (each PNG carries its settings)",
    # ------------------------------------------------------------------ Interpolate
    "interp.intro": "Two seeds give two noise latents x_T. Walking between them (**slerp** keeps the walk on the "
    "sphere where Gaussian noise lives; **lerp** cuts through the middle, where noise is too quiet) and denoising "
    "each point shows how smoothly the model maps noise to images. A second class mixes the class embeddings too.",
    "interp.class_a": "Class A",
    "interp.class_b": "Class B",
    "interp.same_class": "same as class A",
    "interp.seed_a": "Seed A",
    "interp.seed_b": "Seed B",
    "interp.path": "Path",
    "interp.frames": "Frames",
    "interp.run": "Interpolate",
    "interp.position": "Position between A (0) and B (1)",
    "interp.image": "Image at this position",
    "interp.strip": "Frames from A to B",
    "var.title": "Variations (Automatic1111's variation seed)",
    "var.intro": "Keep the seed, pull its noise towards a second **variation seed** by a **strength** in [0, 1]: "
    "small strengths give small changes of the same image.",
    "var.seed": "Variation seed",
    "var.strength": "Variation strength",
    "var.run": "Make variation",
    "var.image": "Variation",
    # ------------------------------------------------------------------ Edit
    "edit.intro": "Upload or draw an image (white on black suits the digit and clothing models, colour on white the "
    "emoji model; recolour a picture by painting over it), or pick an example. **Strength** says how far into the "
    "noise the image goes before the model denoises it towards the target class: low keeps the picture, 1.0 starts "
    "from pure noise. **SDEdit** adds fresh noise; **DDIM inversion** runs the sampler backwards to find the noise "
    "that makes this image, which keeps more of its layout.",
    "edit.image": "Image (upload, or draw: white on black for digits and clothes, colours for emoji)",
    "edit.class": "Target class",
    "edit.strength": "Strength",
    "edit.method": "Method",
    "edit.method.sdedit": "SDEdit (fresh noise)",
    "edit.method.inversion": "DDIM inversion, then regenerate",
    "edit.run": "Edit",
    "edit.input": "Input as the model sees it",
    "edit.result": "Edited",
    # ------------------------------------------------------------------ Inpaint
    "inpaint.intro": "Upload an image (or pick an example), then **paint over the part to repaint**: the brush layer "
    "is the mask. The model works on the small latent, so the mask is taken to latent resolution: a latent cell is "
    "repainted if any pixel in it is painted (shown on the right). **Latent blending** puts the known part back, "
    "noised to the current level, after every step; **RePaint** also jumps back up in noise and resamples, so the "
    "new part fits the old better (slower: jump count × more steps).",
    "inpaint.image": "Image; paint the mask over it",
    "inpaint.class": "Class to paint",
    "inpaint.method": "Method",
    "inpaint.method.blend": "Latent blending",
    "inpaint.method.repaint": "RePaint resampling",
    "inpaint.blur": "Mask blur (pixels)",
    "inpaint.jump": "RePaint jump length",
    "inpaint.jump_n": "RePaint jump count",
    "inpaint.run": "Inpaint",
    "inpaint.result": "Inpainted",
    "inpaint.mask": "Mask at latent resolution (red cells are repainted)",
    # ------------------------------------------------------------------ Learn: the frame
    "learn.intro": "## Learn: latent diffusion, stage by stage\nEvery picture and number below is computed now by "
    "the selected model. Follow the sections in order, or click a box of the pipeline.",
    "learn.source": "Image to teach on (sections 1–3)",
    "learn.upload": "…or upload your own",
    "learn.seed": "Noise seed",
    "learn.class": "Class (sections 3–6)",
    "learn.guidance": "Guidance (sections 4–5)",
    "learn.overview": "### 0 · The whole pipeline",
    "learn.sec.vae": "1 · The VAE: image ↔ small latent",
    "learn.sec.forward": "2 · Forward process: adding noise",
    "learn.sec.denoiser": "3 · The denoiser and what it is trained on",
    "learn.sec.reverse": "4 · Reverse process: sampling, step by step",
    "learn.sec.chapter": "5 · The chapter's sampler, run",
    "learn.sec.guidance": "6 · Classifier-free guidance",
    "learn.sec.replay": "7 · The two training stages",
    "learn.sec.latent": "8 · Why latent: what it saves",
    "learn.sec.formulas": "9 · The chapter's formulas next to ldm_core's",
    "learn.source.digit-0": "digit-0",
    "learn.source.digit-1": "digit-1",
    "learn.source.digit-3": "digit-3",
    "learn.source.digit-7": "digit-7",
    "learn.source.tshirt": "tshirt",
    "learn.source.trousers": "trousers",
    "learn.source.bag": "bag",
    "learn.source.sneaker": "sneaker",
    "learn.steps": "steps",
    "learn.run": "Run",
    # overview
    "ov.box.0": "image x",
    "ov.box.1": "VAE encoder E",
    "ov.box.2": "latent z₀",
    "ov.box.3": "+ noise (schedule)",
    "ov.box.4": "denoiser ε̂(z_t, t, c)",
    "ov.box.5": "sampler loop ×N",
    "ov.box.6": "guidance",
    "ov.box.7": "VAE decoder D",
    "ov.box.8": "image",
    "ov.text": "**Training** (two stages): the VAE learns to squeeze an image into a small latent z₀ and back; then, "
    "with the VAE frozen, the denoiser learns to find the noise ε in "
    "$z_t = \\sqrt{\\bar\\alpha_t} z_0 + \\sqrt{1-\\bar\\alpha_t}\\varepsilon$ at any **noise level t** (0 = clean, "
    "T−1 = pure noise). **Generating**: start from pure noise at t = T−1, let the sampler remove the predicted noise "
    "a little at a time down to t = 0, decode with the VAE. Every time axis in this tab is a noise level; denoising "
    "steps count the other way (step 1 is at the highest noise). Click a box to open its section.",
    # 1 VAE
    "vae.input": "input x",
    "vae.recon": "reconstruction D(E(x))",
    "vae.error": "error |x − D(E(x))|",
    "vae.latent": "latent channels z₀ (blue −3 … red +3)",
    "vae.move": "**Move one latent cell** and see which part of the image it controls:",
    "vae.channel": "channel",
    "vae.row": "row",
    "vae.col": "column",
    "vae.value": "new value",
    "vae.moved": "decoded with the cell moved",
    "vae.change": "what changed",
    # 2 forward
    "fwd.t": "noise level t (0 = clean … T−1 = pure noise)",
    "fwd.z0": "z₀ decoded (t = 0)",
    "fwd.zt": "z_t decoded",
    "fwd.channels": "z_t: latent channels",
    "fwd.plot": "Noise schedules",
    "fwd.linear": "linear schedule, same t",
    "fwd.cosine": "cosine schedule, same t",
    "fwd.iterated": "chapter: one step, iterated",
    "fwd.closed": "closed form q(x_t | x_0)",
    # 3 denoiser
    "den.zt": "z_t decoded (the UNet's input)",
    "den.eps": "true noise ε",
    "den.epshat": "predicted noise ε̂",
    "den.diff": "ε̂ − ε",
    "den.x0": "ẑ₀ decoded",
    "den.plot": "loss over noise levels",
    "den.chapter_in": "chapter's code: input (clean z₀)",
    "den.chapter_target": "chapter's code: target (the same z₀)",
    # 4 reverse
    "rev.sampler_a": "sampler A",
    "rev.sampler_b": "sampler B",
    "rev.run": "Run both samplers",
    "rev.step": "denoising step (its noise level t is printed below)",
    "rev.prev": "◀ step",
    "rev.next": "step ▶",
    "rev.play": "▶ play",
    "rev.a.xt": "A: x_t decoded",
    "rev.a.eps": "A: predicted noise ε̂",
    "rev.a.x0": "A: predicted x̂₀ decoded",
    "rev.b.xt": "B: x_t decoded",
    "rev.b.eps": "B: predicted noise ε̂",
    "rev.b.x0": "B: predicted x̂₀ decoded",
    "rev.jump": "Jump to x̂₀ now (sampler A)",
    "rev.jumped": "one jump from this step",
    "rev.final": "the full run's image",
    # 5 the chapter's sampler
    "ch.run": "Run the four samplers",
    "ch.own": "chapter's rule + chapter's network (ẑ = z)",
    "ch.chapter": "chapter's rule + shipped denoiser",
    "ch.ddpm": "DDPM",
    "ch.ddim": "DDIM",
    "ch.per_class": "images per class to judge",
    "ch.judge": "Judge them now (classifier + FD, about 10 s per image per class)",
    # 6 guidance
    "gd.step": "look inside denoising step",
    "gd.row": "guidance 0, 1, 2, 4, 8 (same seed)",
    "gd.uncond": "ε̂(∅) unconditional",
    "gd.cond": "ε̂(c) conditional",
    "gd.diff": "ε̂(c) − ε̂(∅)",
    "gd.x0": "x̂₀ from ∅, c, guided",
    # 7 replay
    "rp.plot": "loss curves",
    "rp.k1": "stage 1: recorded VAE step",
    "rp.k2": "stage 2: recorded denoiser step",
    "rp.vae": "stage 1: fixed images (top) and their reconstructions",
    "rp.samples": "stage 2: fixed-seed samples, one per class",
    # 8 why latent
    "lat.measure": "Measure here now (a few seconds)",
    "lat.copy": "**Does the model copy its training images?** A sample of the lesson's class and seed, and the "
    "nearest training images:",
    "lat.sample": "a sample",
    "lat.budget": "latent model | pixel-space model (same training minutes)",
    "lat.nearest": "its 5 nearest training images",
    # 9 formulas (the table is composed from these and the LaTeX in demo/learn/formulas.py)
    "fm.chapter": "chapter",
    "fm.differs": "What differs:",
    "fm.where": "Implemented by:",
    "fm.0.topic": "Forward step (chapter 4.1)",
    "fm.0.differs": "Same process; the chapter never gives the closed form that training samples in one step "
    "(section 2 checks that both give the same statistics).",
    "fm.1.topic": "Reverse step (chapter 4.2)",
    "fm.1.differs": "The chapter undoes one forward step with that step's own noise, which no model knows; DDPM uses "
    "the predicted total noise ε̂, the coefficient (1 − α_t)/√(1 − ᾱ_t), and adds σ_t z (the posterior "
    "q(x_{t−1} | x_t, x_0)).",
    "fm.2.topic": "VAE loss (chapter 4.3)",
    "fm.2.differs": "Same two terms; ldm_core's reconstruction term is L1 (a Laplace decoder), the KL weight is tiny "
    "(LDM's KL-f autoencoder), and a patch discriminator sharpens the decoder late in training.",
    "fm.3.topic": "Denoiser objective (chapter 5, code)",
    "fm.3.differs": "The chapter's network regresses its clean input and ignores t: the identity map solves it. "
    "DDPM's denoiser gets a noised latent and the noise level and predicts the noise (section 3).",
    "fm.4.topic": "Training (chapter 5, code vs text 3.1)",
    "fm.4.differs": "The chapter's text describes two stages but its code trains both at once, so the denoiser "
    "chases a latent that keeps changing.",
    "fm.5.topic": "Sampling loop (chapter 5, code)",
    "fm.5.differs": "DDPM's mean without the 1/√(1 − ᾱ_t) factor, with no noise, and (in the chapter) with a network "
    "that predicts its input, not the noise. Section 5 runs it with the shipped denoiser.",
    "fm.6.topic": "Guidance (not in the chapter)",
    "fm.6.differs": "Classifier-free guidance (Ho & Salimans 2022); the class is dropped 10% of training steps so one "
    "network learns both (section 6).",
}

ZH: dict[str, str] = {
    "app.intro": "# LDM Explorer（潜在扩散模型探索器）\n潜在扩散模型，一步一步看：**变分自编码器 VAE**（图像 ↔ 小的潜在表示）"
    "→ **噪声调度** → **去噪网络**（按类别条件化的 UNet）→ **采样器**。",
    "app.model": "模型",
    "tab.generate": "生成",
    "tab.interpolate": "插值",
    "tab.edit": "编辑",
    "tab.inpaint": "局部重绘",
    "tab.learn": "学习",
    "lesson.title": "课程：带全班走一遍本章（教师模式）",
    "lesson.intro": "按本章顺序的十二步。每一步说明要展示什么；**演示** 会打开对应的标签页或学习小节，并填好设置。"
    "然后向全班提出这一步的问题。",
    "lesson.show": "演示",
    "lesson.opens": "演示 打开",
    "lesson.with": "设置",
    "lesson.back": "◀ 上一步",
    "lesson.next": "下一步 ▶",
    "lesson.question": "给全班的问题：",
    "lesson.missing": "这一步需要的模型不在这里。按 **下一步 ▶** 进入下一步。",
    "lesson.vae.title": "变分自编码器：图像变成小的潜在表示",
    "lesson.vae.text": "编码器把一张 28×28 的图像（784 个数）变成小的潜在表示 z₀；解码器再把它变回图像。"
    "比较输入和重构，看看潜在表示的各个通道。",
    "lesson.vae.question": "在“移动一个潜在单元”下拖动 **新的值**：数字的哪一部分变了？一个潜在数值控制图像的多大一块？",
    "lesson.forward.title": "扩散过程：逐步加噪",
    "lesson.forward.text": "训练时一步得到带噪的潜在表示：z_t = √ᾱ_t z₀ + √(1−ᾱ_t) ε。滑块就是噪声水平 t。",
    "lesson.forward.question": "拖动噪声水平 t：从哪个 t 开始，已经认不出原来是哪个数字？",
    "lesson.denoiser.title": "去噪网络及其损失",
    "lesson.denoiser.text": "UNet 看到带噪的潜在表示 z_t 和 t，预测噪声 ε，损失是 ‖ε̂ − ε‖²。下方是本章代码的做法：它要求网络输出自己的输入。",
    "lesson.denoiser.question": "拖动 t：在哪些噪声水平下去噪网络的误差最大？为什么？",
    "lesson.reverse.title": "一步一步采样",
    "lesson.reverse.text": "采样就是逆扩散过程：从噪声出发，每一步去掉一点预测的噪声。按 **运行两个采样器**，然后拖动步数滑块或按 ▶ 播放；"
    "A 和 B 是同一个随机种子上的两个采样器。",
    "lesson.reverse.question": "回到第 1 步，按“现在直接跳到 x̂₀”：为什么一次跳到底得到的是模糊的图像？",
    "lesson.chapter.title": "本章的采样器与 DDPM 对比",
    "lesson.chapter.text": "按 **运行四个采样器**：本章的采样循环，分别用随附的去噪网络和本章代码训练出的网络运行，旁边是同一个随机种子的 DDPM 和 DDIM。",
    "lesson.chapter.question": "四张图中哪一张是清楚的数字？本章的更新公式缺了什么？",
    "lesson.guidance.title": "无分类器引导",
    "lesson.guidance.text": "按 **运行**：同一个随机种子在引导强度 0、1、2、4、8 下的结果；以及某一步中无条件和有条件的噪声预测及其差。",
    "lesson.guidance.question": "拖动“查看第几个去噪步的内部”：差 ε̂(c) − ε̂(∅) 是大还是小？引导强度 s 对它做了什么？",
    "lesson.replay.title": "两个训练阶段",
    "lesson.replay.text": "阶段 1 单独训练变分自编码器；阶段 2 在冻结的 VAE 的潜在表示上训练去噪网络。滑块回放这两个阶段。",
    "lesson.replay.question": "拖动阶段 2 的滑块：从记录下的哪一步开始，样本开始像数字？",
    "lesson.latent.title": "为什么在潜在空间：省下了什么",
    "lesson.latent.text": "在潜在空间中的一步去噪，与同样设计、在像素尺寸上的 UNet 对比；以及一个样本和离它最近的训练图像。",
    "lesson.latent.question": "潜在空间中的一步便宜多少倍？样本是在照抄训练图像吗？",
    "lesson.generate.title": "生成",
    "lesson.generate.text": "整个模型在工作：类别 3，随机种子 42，25 步 DDIM。按 **生成**，观察 x̂₀ 的预览。",
    "lesson.generate.question": "把引导强度设为 0，再设为 8，重新生成：有什么变化？",
    "lesson.interpolate.title": "插值",
    "lesson.interpolate.text": "从随机种子 0（类别 1）的噪声走到随机种子 1（类别 7）的噪声。按 **插值**。",
    "lesson.interpolate.question": "拖动位置滑块：1 在哪里变成了 7？变化平滑吗？把 slerp 换成 lerp 试试。",
    "lesson.edit.title": "编辑（图生图）",
    "lesson.edit.text": "一个手写的 3，以强度 0.6 加噪，再朝类别 8 去噪。按 **编辑**。",
    "lesson.edit.question": "拖动强度：从多大的强度开始，3 变成了 8？",
    "lesson.inpaint.title": "局部重绘",
    "lesson.inpaint.text": "一个手写的 7，右半边被掩码盖住；模型把这半边按类别 1 重绘。按 **局部重绘**。",
    "lesson.inpaint.question": "调整掩码模糊，或换成 RePaint：新的一半与旧的一半衔接得更好吗？",
    "w.class": "类别",
    "w.unconditional": "无条件",
    "w.steps": "步数",
    "w.guidance": "引导强度（1 = 不引导）",
    "w.sampler": "采样器",
    "w.eta": "Eta（0 = 确定性的 DDIM）",
    "w.seed": "随机种子",
    "w.seed_info": "-1 = 随机",
    "w.examples": "示例",
    "w.settings": "设置",
    "gen.intro": "选一个类别，按 **生成**。采样器从潜在空间中的纯噪声出发，一步一步去噪（逆扩散过程）；预览显示模型此刻对"
    "干净图像的猜测（预测的 x̂₀，由 VAE 的解码器解码）。“无条件”表示不给类别地采样（模型训练时用过的空类别）。",
    "gen.batch": "批大小",
    "gen.run": "生成",
    "gen.stop": "停止",
    "gen.preview": "实时预览：预测的 x̂₀",
    "gen.result": "结果",
    "gen.gallery": "图像（每个 PNG 都带着它的设置）",
    "interp.intro": "两个随机种子给出两个噪声潜在表示 x_T。在它们之间行走（**slerp** 沿着高斯噪声所在的球面走；**lerp** "
    "从中间穿过，那里的噪声太“安静”），并对每个点去噪，就能看出模型把噪声映射成图像有多平滑。选第二个类别时，"
    "类别嵌入也会混合。",
    "interp.class_a": "类别 A",
    "interp.class_b": "类别 B",
    "interp.same_class": "与类别 A 相同",
    "interp.seed_a": "随机种子 A",
    "interp.seed_b": "随机种子 B",
    "interp.path": "路径",
    "interp.frames": "帧数",
    "interp.run": "插值",
    "interp.position": "在 A（0）与 B（1）之间的位置",
    "interp.image": "这个位置的图像",
    "interp.strip": "从 A 到 B 的各帧",
    "var.title": "变体（Automatic1111 的变体种子）",
    "var.intro": "保持随机种子不变，按 [0, 1] 中的 **强度** 把它的噪声拉向第二个 **变体种子**：强度小，同一张图像只变一点。",
    "var.seed": "变体种子",
    "var.strength": "变体强度",
    "var.run": "生成变体",
    "var.image": "变体",
    "edit.intro": "上传或画一张图像（数字和服装模型适合黑底白字，表情符号模型适合白底彩色；在图上涂色可以给它重新上色），"
    "或选一个示例。**强度** 表示图像在被模型朝目标类别去噪之前，要加噪到多深：低强度保留原图，1.0 从纯噪声开始。"
    "**SDEdit** 加入新的噪声；**DDIM 反演** 把采样器倒着运行，找出生成这张图像的噪声，能保留更多布局。",
    "edit.image": "图像（上传，或绘制：数字和服装用黑底白色，表情符号用彩色）",
    "edit.class": "目标类别",
    "edit.strength": "强度",
    "edit.method": "方法",
    "edit.method.sdedit": "SDEdit（新的噪声）",
    "edit.method.inversion": "DDIM 反演，再重新生成",
    "edit.run": "编辑",
    "edit.input": "模型看到的输入",
    "edit.result": "编辑结果",
    "inpaint.intro": "上传一张图像（或选一个示例），然后 **在要重绘的部分上涂抹**：画笔图层就是掩码。模型在小的潜在表示上"
    "工作，所以掩码会缩到潜在分辨率：一个潜在单元里只要有一个像素被涂到，整个单元就会被重绘（右侧显示）。"
    "**潜在混合** 在每一步之后把已知部分按当前噪声水平加噪后放回；**RePaint** 还会跳回更高的噪声重新采样，"
    "让新的部分与旧的更协调（更慢：步数 × 跳跃次数）。",
    "inpaint.image": "图像；在上面涂出掩码",
    "inpaint.class": "要画的类别",
    "inpaint.method": "方法",
    "inpaint.method.blend": "潜在混合",
    "inpaint.method.repaint": "RePaint 重采样",
    "inpaint.blur": "掩码模糊（像素）",
    "inpaint.jump": "RePaint 跳跃长度",
    "inpaint.jump_n": "RePaint 跳跃次数",
    "inpaint.run": "局部重绘",
    "inpaint.result": "重绘结果",
    "inpaint.mask": "潜在分辨率下的掩码（红色单元被重绘）",
    "learn.intro": "## 学习：潜在扩散模型，一个阶段一个阶段地看\n下面每张图、每个数字都是所选模型此刻算出来的。"
    "按顺序看各节，或点击流程图中的方框。",
    "learn.source": "用来讲解的图像（第 1–3 节）",
    "learn.upload": "……或上传你自己的",
    "learn.seed": "噪声随机种子",
    "learn.class": "类别（第 3–6 节）",
    "learn.guidance": "引导强度（第 4–5 节）",
    "learn.overview": "### 0 · 整个流程",
    "learn.sec.vae": "1 · 变分自编码器（VAE）：图像 ↔ 小的潜在表示",
    "learn.sec.forward": "2 · 扩散过程：逐步加噪",
    "learn.sec.denoiser": "3 · 去噪网络，以及它学的是什么",
    "learn.sec.reverse": "4 · 逆扩散过程：一步一步采样",
    "learn.sec.chapter": "5 · 运行本章的采样器",
    "learn.sec.guidance": "6 · 无分类器引导",
    "learn.sec.replay": "7 · 两个训练阶段",
    "learn.sec.latent": "8 · 为什么在潜在空间：省下了什么",
    "learn.sec.formulas": "9 · 本章的公式与 ldm_core 的公式对照",
    "learn.source.digit-0": "手写数字 0",
    "learn.source.digit-1": "手写数字 1",
    "learn.source.digit-3": "手写数字 3",
    "learn.source.digit-7": "手写数字 7",
    "learn.source.tshirt": "手绘 T 恤",
    "learn.source.trousers": "手绘裤子",
    "learn.source.bag": "手绘包",
    "learn.source.sneaker": "手绘运动鞋",
    "learn.steps": "步数",
    "learn.run": "运行",
    "ov.box.0": "图像 x",
    "ov.box.1": "VAE 编码器 E",
    "ov.box.2": "潜在表示 z₀",
    "ov.box.3": "+ 噪声（调度）",
    "ov.box.4": "去噪网络 ε̂(z_t, t, c)",
    "ov.box.5": "采样循环 ×N",
    "ov.box.6": "引导",
    "ov.box.7": "VAE 解码器 D",
    "ov.box.8": "图像",
    "ov.text": "**训练**（两个阶段）：先训练变分自编码器，学会把图像压缩成小的潜在表示 z₀ 再还原；然后冻结 VAE，训练去噪网络"
    "在任意 **噪声水平 t**（0 = 干净，T−1 = 纯噪声）下找出 "
    "$z_t = \\sqrt{\\bar\\alpha_t} z_0 + \\sqrt{1-\\bar\\alpha_t}\\varepsilon$ 中的噪声 ε。**生成**：从 t = T−1 的纯噪声"
    "出发，让采样器每次去掉一点预测的噪声，直到 t = 0（逆扩散过程），再用 VAE 解码。本页所有时间轴都是噪声水平；"
    "去噪步数则反过来数（第 1 步在噪声最高处）。点击方框打开对应的一节。",
    "vae.input": "输入 x",
    "vae.recon": "重构 D(E(x))",
    "vae.error": "误差 |x − D(E(x))|",
    "vae.latent": "潜在通道 z₀（蓝 −3 … 红 +3）",
    "vae.move": "**移动一个潜在单元**，看它控制图像的哪一部分：",
    "vae.channel": "通道",
    "vae.row": "行",
    "vae.col": "列",
    "vae.value": "新的值",
    "vae.moved": "移动该单元后解码的图像",
    "vae.change": "变化了什么",
    "fwd.t": "噪声水平 t（0 = 干净 … T−1 = 纯噪声）",
    "fwd.z0": "z₀ 解码（t = 0）",
    "fwd.zt": "z_t 解码",
    "fwd.channels": "z_t：潜在通道",
    "fwd.plot": "噪声调度",
    "fwd.linear": "线性调度，同一个 t",
    "fwd.cosine": "余弦调度，同一个 t",
    "fwd.iterated": "本章：单步公式迭代",
    "fwd.closed": "闭式解 q(x_t | x_0)",
    "den.zt": "z_t 解码（UNet 的输入）",
    "den.eps": "真实噪声 ε",
    "den.epshat": "预测的噪声 ε̂",
    "den.diff": "ε̂ − ε",
    "den.x0": "ẑ₀ 解码",
    "den.plot": "各噪声水平下的损失",
    "den.chapter_in": "本章代码：输入（干净的 z₀）",
    "den.chapter_target": "本章代码：目标（同一个 z₀）",
    "rev.sampler_a": "采样器 A",
    "rev.sampler_b": "采样器 B",
    "rev.run": "运行两个采样器",
    "rev.step": "去噪步（它的噪声水平 t 写在下面）",
    "rev.prev": "◀ 上一步",
    "rev.next": "下一步 ▶",
    "rev.play": "▶ 播放",
    "rev.a.xt": "A：x_t 解码",
    "rev.a.eps": "A：预测的噪声 ε̂",
    "rev.a.x0": "A：预测的 x̂₀ 解码",
    "rev.b.xt": "B：x_t 解码",
    "rev.b.eps": "B：预测的噪声 ε̂",
    "rev.b.x0": "B：预测的 x̂₀ 解码",
    "rev.jump": "现在直接跳到 x̂₀（采样器 A）",
    "rev.jumped": "从这一步一次跳到底",
    "rev.final": "完整运行得到的图像",
    "ch.run": "运行四个采样器",
    "ch.own": "本章的规则 + 本章的网络（ẑ = z）",
    "ch.chapter": "本章的规则 + 随附的去噪网络",
    "ch.ddpm": "DDPM",
    "ch.ddim": "DDIM",
    "ch.per_class": "每个类别评判的图像数",
    "ch.judge": "现在评判（分类器 + FD，每类每张约 10 秒）",
    "gd.step": "查看第几个去噪步的内部",
    "gd.row": "引导强度 0、1、2、4、8（同一个随机种子）",
    "gd.uncond": "ε̂(∅) 无条件",
    "gd.cond": "ε̂(c) 有条件",
    "gd.diff": "ε̂(c) − ε̂(∅)",
    "gd.x0": "由 ∅、c、引导得到的 x̂₀",
    "rp.plot": "损失曲线",
    "rp.k1": "阶段 1：记录下的 VAE 训练步",
    "rp.k2": "阶段 2：记录下的去噪网络训练步",
    "rp.vae": "阶段 1：固定的图像（上）及其重构",
    "rp.samples": "阶段 2：固定随机种子的样本，每类一个",
    "lat.measure": "现在在这里测量（几秒钟）",
    "lat.copy": "**模型会照抄训练图像吗？** 按课程的类别和随机种子生成一个样本，以及离它最近的训练图像：",
    "lat.sample": "一个样本",
    "lat.budget": "潜在空间模型 | 像素空间模型（训练时间相同）",
    "lat.nearest": "离它最近的 5 张训练图像",
    "fm.chapter": "本章",
    "fm.differs": "不同之处：",
    "fm.where": "实现位置：",
    "fm.0.topic": "扩散过程的单步（本章 4.1）",
    "fm.0.differs": "是同一个过程；但本章没有给出训练时一步采样所用的闭式解（第 2 节验证两者的统计量相同）。",
    "fm.1.topic": "逆扩散过程的单步（本章 4.2）",
    "fm.1.differs": "本章用那一步自己的噪声来撤销一步加噪，而这个噪声没有任何模型知道；DDPM 用预测的总噪声 ε̂、系数 "
    "(1 − α_t)/√(1 − ᾱ_t)，并加上 σ_t z（后验 q(x_{t−1} | x_t, x_0)）。",
    "fm.2.topic": "VAE 的损失函数（本章 4.3）",
    "fm.2.differs": "同样的两项；ldm_core 的重构项是 L1（拉普拉斯解码器），KL 权重很小（LDM 的 KL-f 自编码器），"
    "训练后期还有一个图块判别器让解码器更清晰。",
    "fm.3.topic": "去噪网络的目标（本章第 5 节代码）",
    "fm.3.differs": "本章的网络回归它自己的干净输入、忽略 t：恒等映射就能解决。DDPM 的去噪网络拿到加噪的潜在表示和噪声水平，"
    "预测的是噪声（第 3 节）。",
    "fm.4.topic": "训练（本章第 5 节代码 vs 3.1 节正文）",
    "fm.4.differs": "本章正文描述了两个阶段，但代码同时训练两者，于是去噪网络追逐的是一个不断变化的潜在表示。",
    "fm.5.topic": "采样循环（本章第 5 节代码）",
    "fm.5.differs": "相当于去掉 1/√(1 − ᾱ_t) 因子、不加噪声的 DDPM 均值，而且（本章中）网络预测的是它的输入而不是噪声。"
    "第 5 节用随附的去噪网络运行它。",
    "fm.6.topic": "引导（本章没有）",
    "fm.6.differs": "无分类器引导（Ho & Salimans 2022）；训练时 10% 的步骤丢掉类别，于是同一个网络两者都学会（第 6 节）。",
}

# Text that handlers make (str.format templates, filled in the request's language by ``say``): error messages,
# the notes and plot labels of the Learn sections, the model note, progress texts, captions.
EN |= {
    # the names of checked values, as error messages say them ("name.<English name>")
    **{
        f"name.{n}": n
        for n in (
            "steps",
            "guidance",
            "sampler",
            "eta",
            "seed",
            "batch size",
            "strength",
            "method",
            "mask blur",
            "jump length",
            "jump count",
            "frames",
            "position",
            "seed A",
            "seed B",
            "variation strength",
            "class",
            "step",
            "timestep",
            "channel",
            "row",
            "column",
            "value",
            "images per class",
            "stage 1 point",
            "stage 2 point",
            "image",
            "layer",
            "model",
        )
    },
    "err.int": "{name} must be a whole number in {lo}..{hi}, got {value}",
    "err.float": "{name} must be a number in [{lo}, {hi}], got {value}",
    "err.choice": "{name} must be one of {allowed}, got {value}",
    "err.number": "{name} must be a number{bounds}, got {value}",
    "err.bounds": " from {lo} to {hi}",
    "err.image_type": "{name} must be an image (PNG, JPEG, WEBP), got {kind}",
    "err.image_size": "{name} must be 1..{max} pixels a side, got {w}x{h}",
    "err.editor_value": "image must be an ImageEditor value with background/layers/composite, got {kind}",
    "err.no_image": "no image: upload one, draw one or pick an example",
    "err.layer_size": "every layer must have the image's size {w}x{h}, got {lw}x{lh}",
    "err.no_background": "no image: upload an image (or pick an example), then paint over the part to repaint",
    "err.mask_size": "the mask layer must have the image's size {w}x{h}, got {lw}x{lh}",
    "err.mask_empty": "the mask is empty: paint over the part of the image to repaint (the brush layer is the mask)",
    "err.mask_full": "the mask covers the whole image: leave some of it unpainted (to make a new image use Generate)",
    "err.upload_unreadable": "the uploaded file could not be read as an image ({kind}): upload {allowed}",
    "err.upload_not_file": "expected an uploaded image ({allowed}), got {value}",
    "err.allowed_images": "a PNG, JPEG, WEBP, BMP or GIF image",
    "err.pick_image": "pick an image ({allowed}) or upload one",
    "err.no_judge": "{model} has no reference set or classifier: run python -m ldm_core.reference (see its help)",
    "err.pipeline": "{message}",
    # the page
    "app.model_note": "**{name}**: {size}x{size} {colour} images ({n_img} numbers) <-> a {c}x{h}x{w} latent "
    "({n_lat} numbers), {k} classes.",
    "app.interval": " Guidance acts only at noise levels t = {lo}-{hi} of 0-{T}; elsewhere each step is plainly "
    "conditional (guidance 1), which keeps the samples more varied.",
    "app.rgb": "RGB",
    "app.gray": "grayscale",
    "app.no_model": "# {title}\n\n**No model to show yet.** A model is a folder under `checkpoints/` with "
    "`config.json`, `vae.safetensors` and `unet.safetensors` (made by `python -m ldm_core train ...`).\n\n"
    "Looked at {n} folder(s):\n\n{why}\n\nAdd a model folder and restart the app.",
    "app.no_model_none": "- no folder under `checkpoints/` holds a model yet",
    "prog.sampling": "sampling",
    "prog.editing": "editing",
    "prog.inpainting": "inpainting",
    "gen.caption": "seed {seed}",
    "edit.steps_run": "**{n} of {steps} steps will run** (int(steps × strength)); noise starts at step {start}",
    "edit.steps_run_unknown": "steps that will run: ?",
    # Learn
    "scale": "colour scale: blue = −{lim}, white = 0, red = +{lim} (values beyond are clipped)",
    "sched.linear": "linear",
    "sched.cosine": "cosine",
    "sched.scaled_linear": "scaled linear",
    "vae.text": "**PSNR {psnr} dB** (reconstruction vs input; 30 dB and up look the same to the eye). Mean absolute "
    "error {mae} of the pixel range; error map from 0 (black) to {elim} (yellow).\n\n**Compression:** {H}×{W}×{C} = "
    "**{npix} pixel values → {c}×{h}×{w} = {nlat} latent numbers** ({ratio}× fewer). The denoiser works on these "
    "{nlat} numbers only.\n\n**Latent channels** (z₀ = encoder mean × scaling factor {sf}): values from {lo} to "
    "{hi}; {scale}.\n\n**The chapter's loss for this image**, {loss_eq}:\n- reconstruction term (ldm_core: L1 per "
    "pixel, the negative log-likelihood of a Laplace decoder up to constants): **{l1}**\n- KL term {kl_eq} summed "
    "over the {nlat} latent numbers: **{kl} nats**\n- ldm_core trains on L1 + {klw} × KL / {npix} = **{total}** "
    "(`ldm_core.vae.vae_loss`): a tiny KL weight, as LDM's KL-f autoencoders, so the latent stays detailed.",
    "vae.nudge": "cell (channel {ch}, row {r}, column {k}): {old} → {new}; largest pixel change {big}, pixels changed "
    "by more than 0.05: {n} of {total}",
    "fwd.formula": "{eq}\n\nnoise level t = {t} of 0…{T1} ({schedule} schedule): {abar} = {a} of z₀'s variance is "
    "left, SNR = {snr_eq} = {snr}. Latent {shape}; z_t has mean {mean}, variance {var} (pure noise: 0 and 1). {scale}.",
    "fwd.plot_title": "ᾱ_t at t = {t}: model ({schedule}) {a}, linear {lin}, cosine {cos}",
    "fwd.plot_y": "ᾱ_t (signal kept)",
    "fwd.compare": "same z₀, same ε, same t = {t}: **linear** ᾱ_t = {la} (SNR {ls}) vs **cosine** ᾱ_t = {ca} "
    "(SNR {cs}): the cosine schedule destroys the signal more slowly in the middle and keeps some until late.",
    "fwd.stats": "The chapter gives only the one step {step_eq}. Applied {n} times (fresh ε each step) it gives the "
    "same distribution as the closed form {closed_eq} that training samples in one go (`NoiseSchedule.q_sample`). "
    "Over {draws} draws, the noise part {noise_eq}:\n\n| | mean | std | correlation with z₀ |\n|---|---|---|---|\n"
    "| iterated {n} steps | {im} | {isd} | {ic} |\n| closed form | {cm} | {csd} | {cc} |\n| theory | 0 | {tsd} | |",
    "den.text": "Training step at noise level **t = {t}**: draw ε ~ N(0, I), make {zt_eq}, ask the UNet. This model "
    "predicts **{target}**; converted to noise, {loss_eq} = **{eps_loss}** (mean over {n} numbers), and its own "
    "training loss (MSE on {tname}) = **{target_loss}** (`ldm_core.train_diffusion.diffusion_loss`). The predicted "
    "clean latent {x0_eq} is off by MSE {x0err}. {scale}.",
    "den.curve_title": "the denoiser's error over noise levels (same z₀ and ε), t = {t} marked",
    "den.curve_loss": "training loss",
    "den.chapter": "**The chapter's code** (`DiffusionModel.forward`) computes `loss = F.mse_loss(self.model(x), x)`: "
    "it is given the clean latent (no noise is ever added, t is unused) and asked for that same latent. Its best "
    "answer is the identity map, loss **{loss}**, and it learns nothing about noise: left, its input; right, its "
    "target (the same picture). Ours gets z_t and must find ε.",
    "rev.note": "denoising step **{i} of {n}**: the denoiser sees noise level **t = {t}** (ᾱ_t = {ab}); both "
    "samplers visit the same noise levels. {scale} for ε̂.",
    "rev.jump_note": "From step {i} (t = {t}) one jump to x̂₀ lands at pixel MSE **{mse}** from the image the full "
    "run of {n} steps makes (from step 1: {first}). At high noise the best one-shot guess is a blurred average of "
    "every image that could be under the noise; each step removes a little noise and asks again, which is why "
    "sampling takes many steps.",
    "ch.note": "The chapter's loop: {ch_eq}, no noise added. DDPM's: {ddpm_eq}. Same seed, same class, {n} steps (β_t "
    "of the respaced chain, {beta_eq}).\n\nAt the first step (t = {t0}) β_t = {beta}: the chapter removes **{beta} "
    "ε̂**, DDPM **{ddpm} ε̂** (×{factor}); at the last step (t = {tl}) DDPM's factor {factor_eq} is {last}, so the "
    "chapter removes too little noise late, where the fine strokes are decided.\n\n**With the network the chapter's "
    "code trains** (it learns {zhat_eq}, see section 3) every step is {own_eq}: the noise only shrinks (to {shrink} "
    "of itself), and the decoder shows what it makes of a near-zero latent.",
    "ch.table": "| sampler | classifier accuracy | FD to the test split | images |",
    "ch.real": "real images",
    "ch.stored": "\n\n**Measured** (`{command}`, {steps} steps, {per_class} per class, the shipped classifier as "
    "`ldm_core evaluate` uses it):\n\n",
    "ch.measured": "Measured now, {n} per class, 20 steps, seeds 0…: FD shrinks with more images, so compare rows with "
    "each other, the real-images row is the floor at this size.\n\n",
    "gd.note": "Left to right: guidance s = {scales}, all from the same noise (seed {seed}), {n} DDIM steps. {eq}: "
    "s = 0 is the unconditional model, 1 the plain conditional one, above 1 pushes further towards the class.\n\n"
    "At denoising step {i} of {n} (noise level t = {t}) of the run at the model's default s = {s}: the difference "
    "ε̂(c) − ε̂(∅) has RMS **{rms}** (ε̂ itself about 1): guidance is a small correction, multiplied by s. {scale}; "
    "the difference is drawn 4× stronger (±0.75).",
    "rp.none": "This model folder has no training replay (`replay/`): `python -m ldm_core train all ...` writes one "
    "(with `--sample-every` setting how often it records).",
    "rp.same": "Recorded by the training run that made this model's weights.",
    "rp.short": "**A short run of this model's recipe, recorded for this view:** {v1} VAE and {v2} denoiser steps, "
    "where the shipped weights had {s1} and {s2}. It shows how training proceeds, not the shipped model's own "
    "history.",
    "rp.curve1": "stage 1 (VAE) loss",
    "rp.curve2": "stage 2 (denoiser) loss, steps after stage 1",
    "rp.title": "training losses (stage 2 starts where stage 1 ended)",
    "rp.x": "training step (both stages)",
    "rp.y": "loss",
    "rp.note": "{provenance}\n\nStage 1 trains the VAE alone ({n1} recorded points: reconstructions of {k} fixed "
    "training images); stage 2 trains the denoiser on the frozen VAE's latents ({n2} points: one DDIM sample per "
    "class, fixed seeds). The chapter's code instead trains both at once with one optimizer. Commands:\n\n{commands}",
    "rp.caption": "stage 1, VAE step **{s1}**{psnr}; stage 2, denoiser step **{s2}** (loss about {loss})",
    "rp.psnr": " (PSNR about {psnr} dB)",
    "lat.cost": "One denoiser call (batch 1, no guidance), {where}; the pixel-space UNet is the same design (channels, "
    "levels, attention) built for the image instead of the latent:\n\n| | input | numbers | FLOPs | CPU ms |\n"
    "|---|---|---|---|---|\n| latent (this model) | {ls} | {ln} | {lf} M | {lms} |\n| pixel space | {ps} | {pn} | "
    "{pf} M | {pms} |\n| ratio | | {nr}× | **{fr}×** | **{mr}×** |\n\nSampling runs this call once per step (twice "
    'with guidance) and training once per example, so the chapter\'s "faster training" claim is this ratio per '
    "step; the VAE is paid once per image (encode for training, decode at the end). Small CPU models are partly "
    "bound by per-call overheads, so the ms ratio is smaller than the FLOPs ratio. Below: what that means for "
    "training, measured.",
    "lat.budget_md": "**The same training budget, {minutes} minutes, spent in the latent and in pixels** ({model}; "
    "both trained at the same time, one CPU thread each, by `python -m ldm_core train`; the latent model spends "
    "{vae} of its minutes on its VAE). Left of the gap: the latent model's samples, right: the pixel-space model's; "
    "one column per class, seeds 0-{last}, DDIM {steps} steps, guidance {guidance}.\n\n| model | denoised | "
    "training min | VAE steps | denoiser steps | classifier reads the class | FD / floor |\n"
    "|---|---|---|---|---|---|---|\n{rows}\nIn the same minutes the latent denoiser took **{ratio}× more steps**, "
    "because each of its steps is cheaper (the table above). FD: Fréchet distance of the classifier's features to "
    "the test set, over that of real training images ({per_class} per class; 1× is as good as real data); "
    "{where}. {note}",
    "lat.b_latent": "latent",
    "lat.b_pixel": "pixel space",
    "lat.no_budget": "No served model ships a latent-vs-pixel training comparison (`python benchmarks/why_latent.py`).",
    "lat.where_stored": "measured by `{command}` ({machine})",
    "lat.where_now": "measured now on this server with `ldm_core.teaching.step_cost`",
    "lat.noref": "{model} ships no reference set of training images (`python -m ldm_core.reference`).",
    "lat.nn": "RMS pixel distance of the sample (20 DDIM steps, seed {seed}) to its 5 nearest of {n} training images "
    "({per_class} per class, a fixed subset of {data} stored with the model): {dists}. For scale, a training image's "
    "nearest other training image in the subset is at {median} (median). A copy would be at about 0; the full "
    "training set (not shipped) may hold closer images.",
    # words inside the formula table's LaTeX (\text{...}) and its "implemented by" column
    "fm.tex.gan": "GAN term",
    "fm.tex.unused": " unused, no noise",
    "fm.tex.or": "or ",
    "fm.tex.chapter_train": "one optimizer, VAE and denoiser in turn, on a moving latent",
    "fm.tex.stages": "stage 1: VAE alone; stage 2: denoiser on the frozen VAE's latents",
    "fm.tex.scaling": "scaling factor",
    "fm.w.det": "deterministic variant",
    "fm.w.then": "then",
    "fm.w.rule": "the chapter's rule",
}
ZH |= {
    "name.steps": "步数", "name.guidance": "引导强度", "name.sampler": "采样器", "name.eta": "参数 eta",
    "name.seed": "随机种子", "name.batch size": "批大小", "name.strength": "强度", "name.method": "方法",
    "name.mask blur": "掩码模糊", "name.jump length": "跳跃长度", "name.jump count": "跳跃次数", "name.frames": "帧数",
    "name.position": "位置", "name.seed A": "随机种子 A", "name.seed B": "随机种子 B",
    "name.variation strength": "变体强度", "name.class": "类别", "name.step": "去噪步", "name.timestep": "噪声水平 t",
    "name.channel": "通道", "name.row": "行", "name.column": "列", "name.value": "值",
    "name.images per class": "每类图像数", "name.stage 1 point": "阶段 1 的记录点", "name.stage 2 point": "阶段 2 的记录点",
    "name.image": "图像", "name.layer": "图层", "name.model": "模型",
    "err.int": "{name} 必须是 {lo}..{hi} 之间的整数，收到的是 {value}",
    "err.float": "{name} 必须是 [{lo}, {hi}] 之间的数，收到的是 {value}",
    "err.choice": "{name} 必须是 {allowed} 之一，收到的是 {value}",
    "err.number": "{name} 必须是一个数{bounds}，收到的是 {value}",
    "err.bounds": "（从 {lo} 到 {hi}）",
    "err.image_type": "{name} 必须是一张图像（PNG、JPEG、WEBP），收到的是 {kind}",
    "err.image_size": "{name} 每边必须是 1..{max} 像素，收到的是 {w}x{h}",
    "err.editor_value": "图像必须是带 background/layers/composite 的 ImageEditor 值，收到的是 {kind}",
    "err.no_image": "没有图像：请上传一张、画一张或选一个示例",
    "err.layer_size": "每个图层都必须与图像一样大（{w}x{h}），收到的是 {lw}x{lh}",
    "err.no_background": "没有图像：请上传一张图像（或选一个示例），然后在要重绘的部分上涂抹",
    "err.mask_size": "掩码图层必须与图像一样大（{w}x{h}），收到的是 {lw}x{lh}",
    "err.mask_empty": "掩码是空的：请在图像上要重绘的部分涂抹（画笔图层就是掩码）",
    "err.mask_full": "掩码盖住了整张图像：请留一部分不涂（要生成新图像请用“生成”）",
    "err.upload_unreadable": "上传的文件无法作为图像读取（{kind}）：请上传{allowed}",
    "err.upload_not_file": "需要一张上传的图像（{allowed}），收到的是 {value}",
    "err.allowed_images": "一张 PNG、JPEG、WEBP、BMP 或 GIF 图像",
    "err.pick_image": "请选一张图像（{allowed}）或上传一张",
    "err.no_judge": "{model} 没有参考集或分类器：请运行 python -m ldm_core.reference（见其帮助）",
    "err.pipeline": "参数不被接受：{message}",
    "app.model_note": "**{name}**：{size}x{size} 的{colour}图像（{n_img} 个数）<-> {c}x{h}x{w} 的潜在表示"
    "（{n_lat} 个数），{k} 个类别。",
    "app.interval": "引导只在噪声水平 t = {lo}-{hi}（共 0-{T}）起作用；其余每一步只按类别条件去噪（引导强度 1），"
    "这样样本更多样。",
    "app.rgb": "彩色（RGB）",
    "app.gray": "灰度",
    "app.no_model": "# {title}\n\n**还没有可以展示的模型。** 一个模型就是 `checkpoints/` 下的一个文件夹，里面有 "
    "`config.json`、`vae.safetensors` 和 `unet.safetensors`（由 `python -m ldm_core train ...` 生成）。\n\n"
    "查看了 {n} 个文件夹：\n\n{why}\n\n添加一个模型文件夹，然后重启应用。",
    "app.no_model_none": "- `checkpoints/` 下还没有任何文件夹包含模型",
    "prog.sampling": "采样中",
    "prog.editing": "编辑中",
    "prog.inpainting": "局部重绘中",
    "gen.caption": "随机种子 {seed}",
    "edit.steps_run": "**{steps} 步中将运行 {n} 步**（int(步数 × 强度)）；从第 {start} 步的噪声开始",
    "edit.steps_run_unknown": "将运行的步数：?",
    "scale": "颜色刻度：蓝 = −{lim}，白 = 0，红 = +{lim}（超出的值被截断）",
    "sched.linear": "线性",
    "sched.cosine": "余弦",
    "sched.scaled_linear": "缩放线性",
    "vae.text": "**PSNR {psnr} dB**（重构与输入相比；30 dB 以上肉眼看不出差别）。平均绝对误差为像素范围的 {mae}；"
    "误差图从 0（黑）到 {elim}（黄）。\n\n**压缩：** {H}×{W}×{C} = **{npix} 个像素值 → {c}×{h}×{w} = {nlat} 个潜在"
    "数值**（少 {ratio} 倍）。去噪网络只处理这 {nlat} 个数。\n\n**潜在通道**（z₀ = 编码器均值 × 缩放因子 {sf}）：取值"
    "从 {lo} 到 {hi}；{scale}。\n\n**本章的损失函数用在这张图像上**，{loss_eq}：\n- 重构项（ldm_core：逐像素 L1，即"
    "拉普拉斯解码器的负对数似然，差一个常数）：**{l1}**\n- KL 项 {kl_eq}，对 {nlat} 个潜在数值求和：**{kl} 奈特**\n"
    "- ldm_core 训练时用 L1 + {klw} × KL / {npix} = **{total}**（`ldm_core.vae.vae_loss`）：KL 权重很小（与 LDM 的 "
    "KL-f 自编码器一样），所以潜在表示保留了细节。",
    "vae.nudge": "单元（通道 {ch}，行 {r}，列 {k}）：{old} → {new}；像素最大变化 {big}，变化超过 0.05 的像素：{n} / {total}",
    "fwd.formula": "{eq}\n\n噪声水平 t = {t}（范围 0…{T1}，{schedule}调度）：z₀ 的方差还剩 {abar} = {a}，信噪比 "
    "SNR = {snr_eq} = {snr}。潜在表示的形状为 {shape}；z_t 的均值 {mean}，方差 {var}（纯噪声：0 和 1）。{scale}。",
    "fwd.plot_title": "t = {t} 时的 ᾱ_t：本模型（{schedule}）{a}，线性 {lin}，余弦 {cos}",
    "fwd.plot_y": "ᾱ_t（保留的信号）",
    "fwd.compare": "同一个 z₀、同一个 ε、同一个 t = {t}：**线性** ᾱ_t = {la}（SNR {ls}），**余弦** ᾱ_t = {ca}"
    "（SNR {cs}）：余弦调度在中段破坏信号更慢，并把一部分信号保留到很晚。",
    "fwd.stats": "本章只给出单步公式 {step_eq}。把它应用 {n} 次（每步新的 ε），得到的分布与训练时一步采样所用的闭式解 "
    "{closed_eq} 相同（`NoiseSchedule.q_sample`）。在 {draws} 次抽样中，噪声部分 {noise_eq}：\n\n"
    "| | 均值 | 标准差 | 与 z₀ 的相关系数 |\n|---|---|---|---|\n| 迭代 {n} 步 | {im} | {isd} | {ic} |\n"
    "| 闭式解 | {cm} | {csd} | {cc} |\n| 理论值 | 0 | {tsd} | |",
    "den.text": "噪声水平 **t = {t}** 的一个训练步：抽取 ε ~ N(0, I)，构造 {zt_eq}，交给 UNet。这个模型预测的是 "
    "**{target}**；换算成噪声后，{loss_eq} = **{eps_loss}**（对 {n} 个数取平均），它自己的训练损失（对 {tname} 的 "
    "MSE）= **{target_loss}**（`ldm_core.train_diffusion.diffusion_loss`）。预测的干净潜在表示 {x0_eq} 的误差为 "
    "MSE {x0err}。{scale}。",
    "den.curve_title": "去噪网络在各噪声水平下的误差（同一个 z₀ 和 ε），标出 t = {t}",
    "den.curve_loss": "训练损失",
    "den.chapter": "**本章的代码**（`DiffusionModel.forward`）计算 `loss = F.mse_loss(self.model(x), x)`：给它的是"
    "干净的潜在表示（从不加噪声，t 没有用到），要它输出同一个潜在表示。最好的答案就是恒等映射，损失 **{loss}**，"
    "它对噪声什么也学不到：左边是它的输入，右边是它的目标（同一张图）。我们的网络拿到 z_t，必须找出 ε。",
    "rev.note": "去噪步 **{i} / {n}**：去噪网络看到的噪声水平是 **t = {t}**（ᾱ_t = {ab}）；两个采样器经过相同的"
    "噪声水平。ε̂ 的{scale}。",
    "rev.jump_note": "从第 {i} 步（t = {t}）一次跳到 x̂₀，与完整运行 {n} 步得到的图像相比，像素 MSE 为 **{mse}**"
    "（从第 1 步跳：{first}）。在高噪声下，一次猜测的最好结果是噪声下所有可能图像的模糊平均；每一步只去掉一点噪声"
    "再重新预测，所以采样需要很多步。",
    "ch.note": "本章的循环：{ch_eq}，不加噪声。DDPM 的：{ddpm_eq}。同一个随机种子、同一个类别、{n} 步（β_t 取自重新"
    "间隔后的链，{beta_eq}）。\n\n在第一步（t = {t0}）β_t = {beta}：本章去掉 **{beta} ε̂**，DDPM 去掉 **{ddpm} ε̂**"
    "（×{factor}）；在最后一步（t = {tl}），DDPM 的因子 {factor_eq} 为 {last}，所以本章在后期去掉的噪声太少，而细"
    "笔画正是在后期决定的。\n\n**用本章代码训练出的网络**（它学到的是 {zhat_eq}，见第 3 节）每一步都是 {own_eq}："
    "噪声只是缩小（缩到自身的 {shrink}），解码器显示它把一个接近零的潜在表示变成了什么。",
    "ch.table": "| 采样器 | 分类器准确率 | 到测试集的 FD | 图像数 |",
    "ch.real": "真实图像",
    "ch.stored": "\n\n**实测**（`{command}`，{steps} 步，每类 {per_class} 张，用随附的分类器，与 `ldm_core evaluate` "
    "相同）：\n\n",
    "ch.measured": "刚刚测得，每类 {n} 张，20 步，随机种子 0…：图像越多 FD 越小，所以请在行与行之间比较；真实图像那一行"
    "是这个样本量下的下限。\n\n",
    "gd.note": "从左到右：引导强度 s = {scales}，都来自同一个噪声（随机种子 {seed}），{n} 步 DDIM。{eq}：s = 0 是"
    "无条件模型，1 是普通的有条件模型，大于 1 则更用力地推向该类别。\n\n在以模型默认 s = {s} 运行的第 {i} / {n} 个"
    "去噪步（噪声水平 t = {t}）：差 ε̂(c) − ε̂(∅) 的均方根为 **{rms}**（ε̂ 本身约为 1）：引导只是一个小的修正，再乘"
    "以 s。{scale}；差值放大 4 倍显示（±0.75）。",
    "rp.none": "这个模型文件夹没有训练回放（`replay/`）：`python -m ldm_core train all ...` 会写一份（`--sample-every` "
    "设定记录的频率）。",
    "rp.same": "由训练出这个模型权重的那次运行记录。",
    "rp.short": "**按这个模型的配方做的一次短训练，专为这个视图记录：** {v1} 步 VAE 和 {v2} 步去噪网络，而随附的权重"
    "训练了 {s1} 步和 {s2} 步。它展示训练如何进行，而不是随附模型自己的历史。",
    "rp.curve1": "阶段 1（VAE）的损失",
    "rp.curve2": "阶段 2（去噪网络）的损失，接在阶段 1 之后",
    "rp.title": "训练损失（阶段 2 从阶段 1 结束处开始）",
    "rp.x": "训练步（两个阶段）",
    "rp.y": "损失",
    "rp.note": "{provenance}\n\n阶段 1 单独训练 VAE（{n1} 个记录点：{k} 张固定训练图像的重构）；阶段 2 在冻结的 VAE 的"
    "潜在表示上训练去噪网络（{n2} 个点：每类一个 DDIM 样本，固定随机种子）。本章的代码则用一个优化器同时训练两者。"
    "命令：\n\n{commands}",
    "rp.caption": "阶段 1，VAE 第 **{s1}** 步{psnr}；阶段 2，去噪网络第 **{s2}** 步（损失约 {loss}）",
    "rp.psnr": "（PSNR 约 {psnr} dB）",
    "lat.cost": "一次去噪网络调用（批大小 1，不引导），{where}；像素空间的 UNet 是同样的设计（通道、层级、注意力），"
    "只是为图像而不是潜在表示搭建：\n\n| | 输入 | 数值个数 | FLOPs | CPU 毫秒 |\n|---|---|---|---|---|\n"
    "| 潜在空间（本模型） | {ls} | {ln} | {lf} M | {lms} |\n| 像素空间 | {ps} | {pn} | {pf} M | {pms} |\n"
    "| 比值 | | {nr}× | **{fr}×** | **{mr}×** |\n\n采样时每一步调用一次（有引导时两次），训练时每个样本调用一次，"
    "所以本章“训练更快”的说法就是每一步的这个比值；VAE 每张图像只付一次代价（训练时编码，最后解码）。小的 CPU 模型"
    "部分受每次调用的固定开销限制，所以毫秒比值小于 FLOPs 比值。下面是这对训练意味着什么，实测。",
    "lat.budget_md": "**同样的训练预算（{minutes} 分钟），花在潜在空间和像素空间**（{model}；两个模型同时训练，各用一个 "
    "CPU 线程，由 `python -m ldm_core train` 训练；潜在空间模型用其中 {vae} 分钟训练它的 VAE）。间隔左边是潜在空间"
    "模型的样本，右边是像素空间模型的；每列一个类别，随机种子 0-{last}，DDIM {steps} 步，引导强度 {guidance}。\n\n"
    "| 模型 | 去噪的对象 | 训练分钟 | VAE 步数 | 去噪网络步数 | 分类器认出类别 | FD / 下限 |\n"
    "|---|---|---|---|---|---|---|\n{rows}\n同样的时间里，潜在空间的去噪网络多走了 **{ratio} 倍的步数**，因为它每一步"
    "都更便宜（见上表）。FD：分类器特征到测试集的 Fréchet 距离，除以真实训练图像的距离（每类 {per_class} 张；1× "
    "就和真实数据一样好）；{where}。{note}",
    "lat.b_latent": "潜在空间",
    "lat.b_pixel": "像素空间",
    "lat.no_budget": "没有哪个已加载的模型随附潜在空间与像素空间的训练对比（`python benchmarks/why_latent.py`）。",
    "lat.where_stored": "由 `{command}` 测得（{machine}）",
    "lat.where_now": "刚刚在这台服务器上用 `ldm_core.teaching.step_cost` 测得",
    "lat.noref": "{model} 没有随附训练图像的参考集（`python -m ldm_core.reference`）。",
    "lat.nn": "样本（20 步 DDIM，随机种子 {seed}）到 {n} 张训练图像中最近的 5 张的像素均方根距离（每类 {per_class} 张，"
    "是随模型保存的 {data} 的一个固定子集）：{dists}。作为参照，子集中一张训练图像到另一张训练图像的最近距离为 "
    "{median}（中位数）。照抄的图像距离约为 0；完整的训练集（未随附）里可能有更近的图像。",
    "fm.tex.gan": "GAN 项",
    "fm.tex.unused": " 未使用，没有噪声",
    "fm.tex.or": "或 ",
    "fm.tex.chapter_train": "一个优化器，轮流训练 VAE 和去噪网络，潜在表示不断变化",
    "fm.tex.stages": "阶段 1：单独训练 VAE；阶段 2：在冻结的 VAE 的潜在表示上训练去噪网络",
    "fm.tex.scaling": "缩放因子",
    "fm.w.det": "确定性版本",
    "fm.w.then": "然后",
    "fm.w.rule": "本章的规则",
}  # fmt: skip

# Class names of the shipped models (English = the API's value) and their Chinese; keys "class.<English name>".
CLASS_ZH = {
    **{str(d): f"数字 {d}" for d in range(10)},
    # Fashion-MNIST
    "T-shirt/top": "T 恤/上衣", "Trouser": "裤子", "Pullover": "套头衫", "Dress": "连衣裙", "Coat": "外套",
    "Sandal": "凉鞋", "Shirt": "衬衫", "Sneaker": "运动鞋", "Bag": "包", "Ankle boot": "短靴",
    # the emoji (colour) model's Unicode categories
    "Activities": "活动", "Animals & Nature": "动物与自然", "Flags": "旗帜", "Food & Drink": "食物与饮料",
    "Objects": "物品", "People & Body": "人物与身体", "Smileys & Emotion": "笑脸与情感", "Symbols": "符号",
    "Travel & Places": "旅行与地点",
}  # fmt: skip
for _name, _zh in CLASS_ZH.items():
    EN[f"class.{_name}"], ZH[f"class.{_name}"] = _name, _zh
    # the Learn tab's image picker shows its value "generated: <class>" (demo/learn/sources.py) in both languages
    EN[f"learn.source.generated: {_name}"], ZH[f"learn.source.generated: {_name}"] = (
        f"generated: {_name}",
        f"生成的：{_zh}",
    )

I18N = gr.I18n(en=EN, zh=ZH)  # holds these very dicts: what compose() adds reaches the page too
TABLES = {"en": EN, "zh": ZH}


def t(key: str) -> I18nData:
    """The translation key for a component's label or value (a missing key fails here, not on the page)."""
    if key not in EN or key not in ZH:
        raise KeyError(f"no translation for {key!r} in demo/i18n.py")
    return I18N(key)


def text(key: str, lang: str = "en") -> str:
    """The string of ``key`` in ``lang`` (for server-side text: error messages, tests)."""
    return TABLES[lang][key]


def compose(key: str, build: Callable[[str], str]) -> I18nData:
    """A text assembled from pieces per language (``build(lang)``, using ``text(..., lang)``), added to both tables."""
    for lang, table in TABLES.items():
        table[key] = build(lang)
    return I18N(key)


def english(value: Any) -> str:
    """A label or value as English text: an ``I18nData`` becomes its English string, anything else ``str()``."""
    return EN.get(value.key, value.key) if isinstance(value, I18nData) else str(value)


def display(prefix: str, value: str) -> I18nData | str:
    """How a picker shows ``value``: its translation under ``prefix + value`` if there is one, else the value."""
    return t(prefix + value) if prefix + value in EN else value


def choice_pairs(prefix: str, values: list[str]) -> list[tuple[I18nData | str, str]]:
    """``(shown, value)`` choices: the text translated, the value (what handlers and the API get) English."""
    return [(display(prefix, v), v) for v in values]


# ---------------------------------------------------------------------- text that handlers make
_LANG: ContextVar[str | None] = ContextVar("ldm_explorer_lang", default=None)


def lang_of(request: Any) -> str:
    """The language of a ``gr.Request`` (or an Accept-Language header string): the first of LANGS the browser
    prefers ("zh-CN,zh;q=0.9,en;q=0.8" -> "zh"), English when it names none or there is no request."""
    if isinstance(request, list):  # a batched event's requests
        request = request[0] if request else None
    header = request if isinstance(request, str) else None
    if header is None and request is not None:
        headers = getattr(request, "headers", None) or {}
        header = headers.get("accept-language") or headers.get("Accept-Language")
    ranked = []
    for i, part in enumerate((header or "").split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((-weight, i, tag.strip().lower().split("-")[0]))
    return next((tag for _, _, tag in sorted(ranked) if tag in LANGS), "en")


def current_lang() -> str:
    """The language of the request being handled: set by ``language`` (the app sets it for each request, see
    demo.components.check_inputs), else read from Gradio's request context; English outside a request."""
    lang = _LANG.get()
    if lang is not None:
        return lang
    from gradio.context import LocalContext

    return lang_of(LocalContext.request.get(None))


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Make ``say`` speak ``lang`` in this block (a request, a test)."""
    if lang not in LANGS:
        raise ValueError(f"language must be one of {LANGS}, got {lang!r}")
    token = _LANG.set(lang)
    try:
        yield
    finally:
        _LANG.reset(token)


def say(key: str, lang: str | None = None, **fields: Any) -> str:
    """The template ``key`` in ``lang`` (default: the request's language) filled with ``fields``."""
    return TABLES[lang or current_lang()][key].format(**fields)


def name_of(name: str, lang: str | None = None) -> str:
    """How an error message names a checked value ("steps" -> "步数")."""
    return TABLES[lang or current_lang()].get(f"name.{name}", name)
