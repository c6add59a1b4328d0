"""Every word the app shows, in English (``EN``) and Simplified Chinese (``ZH``), and the ``gr.I18n`` built from them.

Components take ``t("key")`` as label or value; the browser's language picks the text (English otherwise). The
Chinese uses the chapter's own terms (../shared/seed: 潜在扩散模型, 变分自编码器, 扩散过程, 逆扩散过程, 潜在空间), so a
student can hold the chapter next to the app. Values that handlers compare or the API takes (class names, sampler
names, method names) stay English: pickers show ``(t(display key), English value)`` pairs.

Texts assembled from pieces (the formula table, whose LaTeX is the same in both languages) are added to both
dicts by ``compose`` when the layout is built, so ``EN`` and ``ZH`` always hold the same keys.
"""

from __future__ import annotations

from collections.abc import Callable
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
