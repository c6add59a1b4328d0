"""The command line: ``python -m ldm_core sample | train vae | train diffusion | train all | evaluate ...``.

    python -m ldm_core sample --model checkpoints/mnist --class 3 --n 16 --steps 50 --seed 0 --out grid.png
    python -m ldm_core train vae --data ../shared/data/mnist.npz --out runs/mnist/vae --vae-steps 4000
    python -m ldm_core train diffusion --data ../shared/data/mnist.npz --vae runs/mnist/vae --out runs/mnist/diffusion
    python -m ldm_core train all --data ../shared/data/mnist.npz --out runs/mnist --export checkpoints/mnist
    torchrun --nproc_per_node 2 -m ldm_core train all ...      # DistributedDataParallel, gloo on CPU / NCCL on GPU

argparse only fills in the config dataclasses; the work happens in train_vae.py, train_diffusion.py and pipeline.py.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .samplers import SAMPLERS


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def int_tuple(text: str) -> tuple[int, ...]:
    """'1,2,2' -> (1, 2, 2); '' -> ()."""
    try:
        return tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 1,2,2, got {text!r}") from None


# ---------------------------------------------------------------------------------------------------- sample
def add_sample(sub: Any) -> None:
    p = sub.add_parser("sample", help="generate images with a trained model (PNG grid or .npz)")
    p.add_argument("--model", required=True, help="model folder, e.g. checkpoints/mnist")
    p.add_argument("--class", dest="classes", type=int, nargs="+", default=None,
                   help="class index (or several, cycled); -1 = unconditional; default: every class in turn")  # fmt: skip
    p.add_argument("--n", type=positive_int, default=16, help="number of images (default 16)")
    p.add_argument("--steps", type=positive_int, default=50, help="sampler steps (default 50)")
    p.add_argument("--seed", type=int, default=0, help="image i uses seed + i (default 0)")
    p.add_argument("--sampler", default="ddim", choices=list(SAMPLERS), help="sampler (default ddim)")
    p.add_argument("--guidance", type=float, default=None, help="guidance scale (default: the model's)")
    p.add_argument("--eta", type=float, default=0.0, help="DDIM eta, 0 = deterministic (default 0)")
    p.add_argument("--ncols", type=positive_int, default=None, help="grid columns (default: about sqrt(n))")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--out", required=True, help="output file: .png (a grid) or .npz (images, labels, seeds)")
    p.set_defaults(func=run_sample)


def sample_labels(classes: Sequence[int] | None, n: int, num_classes: int) -> list[int]:
    """The class of each of n images: the given classes cycled, or every class in turn."""
    pool = list(classes) if classes else list(range(num_classes))
    return [pool[i % len(pool)] for i in range(n)]


def run_sample(args: argparse.Namespace) -> Path:
    from . import images as imx
    from .pipeline import MAX_BATCH, LatentDiffusionPipeline

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".npz"):
        raise ValueError(f"--out must end in .png or .npz, got {args.out!r}")
    pipe = LatentDiffusionPipeline.from_pretrained(args.model, device=args.device)
    labels = sample_labels(args.classes, args.n, len(pipe.class_names))
    chunks = []
    for start in range(0, args.n, MAX_BATCH):  # image i keeps seed + i across batches
        result = pipe(class_labels=labels[start : start + MAX_BATCH], num_inference_steps=args.steps,
                      guidance_scale=args.guidance, sampler=args.sampler, eta=args.eta, seed=args.seed + start)  # fmt: skip
        chunks.append(result.images)
    images = np.concatenate(chunks)  # [N, H, W, C] in [0, 1]
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".png":
        imx.to_pil(imx.make_grid(images, ncols=args.ncols)[None])[0].save(out)
    else:
        u8 = (images * 255).round().clip(0, 255).astype(np.uint8)
        np.savez_compressed(out, images=u8[..., 0] if u8.shape[-1] == 1 else u8, labels=np.array(labels, np.int64),
                            seeds=np.arange(args.seed, args.seed + args.n, dtype=np.int64),
                            class_names=np.array(pipe.class_names))  # fmt: skip
    print(f"wrote {len(images)} images to {out}")
    return out


# ---------------------------------------------------------------------------------------------------- train
def add_common_train_args(p: argparse.ArgumentParser) -> None:
    from .train import LoopConfig

    d = LoopConfig()
    g = p.add_argument_group("data and run")
    g.add_argument("--data", required=True,
                   help="an .npz (train_images/train_labels/class_names), an image folder (one subfolder per class) "
                        "or torchvision:mnist / torchvision:fashion-mnist")  # fmt: skip
    g.add_argument("--npz-key", default=None, help="image key of the npz, e.g. train_images_32 (default train_images)")
    g.add_argument("--data-root", default="runs/data", help="download folder for torchvision data (default runs/data)")
    g.add_argument("--flip-classes", default="",
                   help="augment: add left-right mirrors of the images of these classes, separated by ';' "
                        "(only classes whose pictures stay valid mirrored; e.g. not flags or letters)")  # fmt: skip
    g.add_argument("--out", required=True, help="run folder: logs, sample grids, resumable state")
    g.add_argument("--seed", type=int, default=d.seed, help="makes the run repeatable (default 0)")
    g.add_argument("--device", default="auto", help="cpu, cuda or auto (default auto)")
    g.add_argument("--threads", type=int, default=0, help="torch CPU threads (default 0 = torch's choice)")
    g.add_argument("--no-resume", action="store_true", help="start over even if <out>/.../state exists")
    g.add_argument("--log-every", type=positive_int, default=d.log_every, help="steps between log lines")
    g.add_argument("--save-every", type=positive_int, default=d.save_every, help="steps between resumable checkpoints")
    g.add_argument("--sample-every", type=positive_int, default=d.sample_every, help="steps between sample grids")


def add_loop_args(g: Any, prefix: str, steps: int, batch_size: int, lr: float, warmup: int) -> None:
    """The optimisation options of one stage: --{prefix}steps, --{prefix}batch-size, ... (LoopConfig)."""
    g.add_argument(f"--{prefix}steps", type=positive_int, default=steps, help=f"optimiser steps (default {steps})")
    g.add_argument(f"--{prefix}batch-size", type=positive_int, default=batch_size,
                   help=f"images per process and step (default {batch_size})")  # fmt: skip
    g.add_argument(f"--{prefix}lr", type=float, default=lr, help=f"peak learning rate (default {lr:g})")
    g.add_argument(
        f"--{prefix}warmup", type=int, default=warmup, help=f"learning-rate warm-up steps (default {warmup})"
    )
    g.add_argument(
        f"--{prefix}max-minutes", type=float, default=0.0, help="stop and save after this long (0 = no limit)"
    )


def add_vae_args(p: argparse.ArgumentParser) -> None:
    from .train_vae import VAETrainConfig
    from .vae import VAEConfig

    v, t = VAEConfig(), VAETrainConfig()
    g = p.add_argument_group("VAE (stage 1)")
    add_loop_args(g, "vae-", steps=5000, batch_size=64, lr=2e-4, warmup=200)
    g.add_argument("--vae-base-channels", type=positive_int, default=v.base_channels, help="width of the first level")
    g.add_argument("--vae-channel-mult", type=int_tuple, default=v.channel_mult,
                   help="width multiplier per level, e.g. 1,2,2 (28 -> 7 latent) or 1,2 (28 -> 14)")  # fmt: skip
    g.add_argument("--vae-res-blocks", type=positive_int, default=v.num_res_blocks, help="residual blocks per level")
    g.add_argument("--latent-channels", type=positive_int, default=v.latent_channels, help="latent channels c")
    g.add_argument("--no-vae-attention", action="store_true", help="no self-attention at the lowest resolution")
    g.add_argument("--kl-weight", type=float, default=t.kl_weight, help="weight of KL / pixels")
    g.add_argument("--disc-start", type=int, default=t.disc_start, help="step at which the GAN loss starts")
    g.add_argument("--disc-warmup", type=int, default=t.disc_warmup,
                   help="steps the discriminator trains before its loss reaches the decoder")  # fmt: skip
    g.add_argument("--disc-weight", type=float, default=t.disc_weight, help="factor on the adaptive GAN weight")
    g.add_argument("--disc-max-weight", type=float, default=t.disc_max_weight, help="cap on the adaptive GAN weight")
    g.add_argument("--disc-channels", type=positive_int, default=t.disc.base_channels, help="discriminator width")


def add_diffusion_args(p: argparse.ArgumentParser) -> None:
    from .train_diffusion import PRECISIONS, DiffusionTrainConfig
    from .unet import PREDICTION_TYPES, UNetConfig

    u, t = UNetConfig(), DiffusionTrainConfig()
    g = p.add_argument_group("denoiser (stage 2)")
    add_loop_args(g, "", steps=10000, batch_size=128, lr=3e-4, warmup=300)
    g.add_argument("--unet-base-channels", type=positive_int, default=u.base_channels, help="width of the first level")
    g.add_argument("--unet-channel-mult", type=int_tuple, default=u.channel_mult, help="width multiplier per level")
    g.add_argument("--unet-attention-levels", type=int_tuple, default=u.attention_levels,
                   help="levels with self-attention, e.g. 1,2 ('' = none)")  # fmt: skip
    g.add_argument("--unet-res-blocks", type=positive_int, default=u.num_res_blocks, help="residual blocks per level")
    g.add_argument("--unet-heads", type=positive_int, default=u.num_heads, help="attention heads")
    g.add_argument("--unet-patch-size", type=positive_int, default=u.patch_size,
                   help="p > 1: the UNet sees p x p latent patches as channels (cheaper on large latents)")  # fmt: skip
    g.add_argument("--prediction-type", default="v_prediction", choices=PREDICTION_TYPES, help="ε or v")
    g.add_argument("--schedule", default=t.schedule, help="β schedule: linear, scaled_linear or cosine")
    g.add_argument("--cond-drop", type=float, default=t.cond_drop, help="probability of the null class")
    g.add_argument("--snr-gamma", type=float, default=t.snr_gamma, help="Min-SNR-γ loss weighting, e.g. 5 (0 = off)")
    g.add_argument("--ema-decay", type=float, default=t.ema_decay, help="EMA decay of the shipped weights")
    g.add_argument("--precision", default=t.precision, choices=PRECISIONS,
                   help="bf16: bfloat16 autocast for the UNet (1.3-1.5x faster steps on CPUs with AVX512-BF16; weights stay fp32)")  # fmt: skip
    g.add_argument("--guidance", type=float, default=t.guidance_scale, help="default guidance of the model")
    g.add_argument("--name", default=None, help="model name in config.json (default: the export folder's name)")
    g.add_argument("--display-name", default=None, help="human-readable model name (config.json display_name)")
    g.add_argument("--export", default=None, help="also save the final model folder here, e.g. checkpoints/mnist")


def loop_config(args: argparse.Namespace, stage: str) -> Any:
    from .train import LoopConfig

    prefix = "vae_" if stage == "vae" else ""
    return LoopConfig(
        steps=getattr(args, f"{prefix}steps"), batch_size=getattr(args, f"{prefix}batch_size"),
        lr=getattr(args, f"{prefix}lr"), warmup_steps=getattr(args, f"{prefix}warmup"),
        max_minutes=getattr(args, f"{prefix}max_minutes"), log_every=args.log_every, sample_every=args.sample_every,
        save_every=args.save_every, seed=args.seed, resume=not args.no_resume,
    )  # fmt: skip


def run_train_vae(args: argparse.Namespace, data: Any, info: Any, out: Path) -> Path:
    from .discriminator import DiscriminatorConfig
    from .train_vae import VAETrainConfig, train_vae
    from .vae import VAEConfig

    vae_cfg = VAEConfig(in_channels=data.channels, latent_channels=args.latent_channels,
                        base_channels=args.vae_base_channels, channel_mult=args.vae_channel_mult,
                        num_res_blocks=args.vae_res_blocks, mid_attention=not args.no_vae_attention)  # fmt: skip
    cfg = VAETrainConfig(kl_weight=args.kl_weight, disc_start=args.disc_start, disc_warmup=args.disc_warmup,
                         disc_weight=args.disc_weight, disc_max_weight=args.disc_max_weight,
                         disc=DiscriminatorConfig(data.channels, args.disc_channels))  # fmt: skip
    return train_vae(data, vae_cfg, loop_config(args, "vae"), cfg, out, info, command=args.command_line)


def run_train_diffusion(args: argparse.Namespace, data: Any, info: Any, out: Path, vae_folder: Path | None) -> Path:
    from .checkpoint import load_model_folder
    from .pipeline import LatentDiffusionPipeline
    from .replay import REPLAY_DIR
    from .train_diffusion import DiffusionTrainConfig, load_vae, pixel_vae, train_diffusion
    from .unet import UNetConfig

    vae, _ = pixel_vae(data) if vae_folder is None else load_vae(vae_folder)
    init = None
    # a warm start (train diffusion only, not train all): the architecture and EMA weights of a trained denoiser
    if getattr(args, "init_unet", None):
        init_config, init_weights = load_model_folder(args.init_unet)
        unet_cfg = UNetConfig(**init_config["unet"])
        init = (init_weights["unet"], str(args.init_unet))
    else:
        unet_cfg = UNetConfig(in_channels=vae.config.latent_channels, base_channels=args.unet_base_channels,
                              channel_mult=args.unet_channel_mult, num_res_blocks=args.unet_res_blocks,
                              attention_levels=args.unet_attention_levels, num_heads=args.unet_heads,
                              num_classes=len(data.class_names), prediction_type=args.prediction_type,
                              patch_size=args.unet_patch_size)  # fmt: skip
    cfg = DiffusionTrainConfig(schedule=args.schedule, cond_drop=args.cond_drop, ema_decay=args.ema_decay,
                               guidance_scale=args.guidance, snr_gamma=args.snr_gamma,
                               precision=args.precision)  # fmt: skip
    name = args.name or (Path(args.export).name if args.export else Path(args.out).name)
    extra = {"display_name": args.display_name or name}
    model = train_diffusion(
        data,
        vae_folder,
        unet_cfg,
        loop_config(args, "diffusion"),
        cfg,
        out,
        info,
        name,
        extra,
        command=args.command_line,
        init_unet=init,
    )
    if args.export and info.is_main:
        LatentDiffusionPipeline.from_pretrained(model).save_pretrained(args.export)
        if (model / REPLAY_DIR).is_dir():  # the training replay (ldm_core.replay) goes with the model
            shutil.copytree(model / REPLAY_DIR, Path(args.export) / REPLAY_DIR, dirs_exist_ok=True)
        print(f"saved the model to {args.export}")
    return model


def add_decoder_args(p: argparse.ArgumentParser) -> None:
    from .train_decoder import DecoderTrainConfig

    d = DecoderTrainConfig()
    g = p.add_argument_group("decoder fine-tuning (stage 1b)")
    add_loop_args(g, "", steps=1000, batch_size=32, lr=2e-4, warmup=50)
    g.add_argument("--noise-max", type=float, default=d.noise_max,
                   help=f"latent noise σ ~ U(0, max), in units of the scaled latent (default {d.noise_max:g})")  # fmt: skip
    g.add_argument("--model", default=None,
                   help="a full model folder whose VAE has this encoder: with --export, save it with the new decoder")  # fmt: skip
    g.add_argument("--export", default=None, help="where to save --model with the fine-tuned decoder")


def run_train_decoder(args: argparse.Namespace, data: Any, info: Any, out: Path) -> Path:
    from .train_decoder import DecoderTrainConfig, finetune_decoder, swap_vae

    if (args.model is None) != (args.export is None):
        raise ValueError("--model and --export go together (the model to save with the new decoder, and where)")
    cfg = DecoderTrainConfig(noise_max=args.noise_max)
    folder = finetune_decoder(data, Path(args.vae), loop_config(args, "decoder"), cfg, out, info,
                              command=args.command_line)  # fmt: skip
    if args.export and info.is_main:
        swap_vae(args.model, folder, args.export)
        print(f"saved {args.model} with the fine-tuned decoder to {args.export}")
    return folder


def run_train(args: argparse.Namespace) -> Path:
    import torch

    from . import distributed as ddp
    from .data import load_dataset

    if args.threads:
        torch.set_num_threads(args.threads)
    info = ddp.setup(args.device)
    try:
        data = load_dataset(args.data, "train", args.npz_key, args.data_root)
        if args.flip_classes:
            data = data.with_flips([c.strip() for c in args.flip_classes.split(";") if c.strip()])
        out = Path(args.out)
        if args.stage == "vae":
            return run_train_vae(args, data, info, out)
        if args.stage == "diffusion":
            return run_train_diffusion(args, data, info, out, None if args.pixel_space else Path(args.vae))
        if args.stage == "decoder":
            return run_train_decoder(args, data, info, out)
        vae_folder = run_train_vae(args, data, info, out / "vae")
        return run_train_diffusion(args, data, info, out / "diffusion", vae_folder)
    finally:
        ddp.cleanup(info)


def add_train(sub: Any) -> None:
    p = sub.add_parser("train", help="train a VAE, a denoiser on its latents, or both")
    stages = p.add_subparsers(dest="stage", required=True)
    vae = stages.add_parser("vae", help="stage 1: the autoencoder")
    add_common_train_args(vae)
    add_vae_args(vae)
    diff = stages.add_parser("diffusion", help="stage 2: the denoiser on the latents of a trained VAE")
    add_common_train_args(diff)
    source = diff.add_mutually_exclusive_group(required=True)
    source.add_argument("--vae", help="folder of a trained VAE (train vae --out) or of a full model")
    source.add_argument(
        "--pixel-space",
        action="store_true",
        help="no VAE: the denoiser works on the images themselves (to compare with a latent model)",
    )
    diff.add_argument("--init-unet", default=None, metavar="MODEL",
                      help="warm start from this model folder's denoiser (its architecture and EMA weights; the "
                           "--unet-* options are then ignored); a new optimiser and learning-rate schedule")  # fmt: skip
    add_diffusion_args(diff)
    dec = stages.add_parser("decoder", help="stage 1b: fine-tune a VAE's decoder on noisy latents (encoder frozen)")
    add_common_train_args(dec)
    dec.add_argument("--vae", required=True, help="folder of the trained VAE (train vae --out) or of a full model")
    add_decoder_args(dec)
    both = stages.add_parser("all", help="both stages: <out>/vae, then <out>/diffusion")
    add_common_train_args(both)
    add_vae_args(both)
    add_diffusion_args(both)
    p.set_defaults(func=run_train)


# ---------------------------------------------------------------------------------------------------- report
def add_report(sub: Any) -> None:
    p = sub.add_parser("report", help="loss curves and a sample grid of a trained model, for its model card")
    p.add_argument(
        "--run",
        required=True,
        help="run folder of `train all` (holds vae/ and diffusion/ logs) or of `train diffusion` (its log.jsonl)",
    )
    p.add_argument("--model", required=True, help="model folder; loss.png and samples.png are written into it")
    p.add_argument("--per-class", type=positive_int, default=8, help="samples per class (default 8)")
    p.add_argument(
        "--steps", type=positive_int, default=50, help="sampler steps (default 50; the model's default sampler)"
    )
    p.add_argument("--guidance", type=float, default=None, help="guidance scale (default: the model's)")
    p.add_argument("--seed", type=int, default=0, help="sample i of each row uses seed + i")
    p.add_argument("--data", default=None, help="the training data: adds nearest.png and train/test losses")
    p.add_argument("--npz-key", default=None, help="image key of the npz, e.g. train_images_32")
    p.add_argument("--images", type=positive_int, default=2000, help="images per split for the losses")
    p.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> None:
    from .pipeline import LatentDiffusionPipeline
    from .report import plot_losses, sample_grid

    pipe = LatentDiffusionPipeline.from_pretrained(args.model)
    title = str(pipe.extra_config.get("display_name", pipe.name))
    loss = plot_losses(args.run, Path(args.model) / "loss.png", title)
    grid = sample_grid(pipe, Path(args.model) / "samples.png", args.per_class, args.steps, args.guidance, args.seed)
    print(f"wrote {loss} and {grid}")
    if args.data:
        import json

        from .data import load_dataset
        from .report import generalisation, nearest_training_images

        train = load_dataset(args.data, "train", args.npz_key)
        test = load_dataset(args.data, "test", args.npz_key).subset(args.images)
        near = nearest_training_images(pipe, train.images, Path(args.model) / "nearest.png", seed=args.seed)
        part = train.subset(args.images)
        numbers = generalisation(pipe, part.images, test.images, (part.labels, test.labels), seed=args.seed)
        print(f"wrote {near}\n{json.dumps(numbers, indent=2)}")


# ---------------------------------------------------------------------------------------------------- fit-preview
def add_fit_preview(sub: Any) -> None:
    p = sub.add_parser("fit-preview", help="fit a model's cheap preview decoder (a linear map distilled from its VAE "
                                           "decoder) and add it to the model folder")  # fmt: skip
    p.add_argument(
        "--model", required=True, help="model folder, e.g. checkpoints/mnist (preview.safetensors goes here)"
    )
    p.add_argument("--data", required=True, help="the model's training data (the train split is encoded)")
    p.add_argument("--npz-key", default=None, help="image key of the npz, e.g. train_images_32")
    p.add_argument("--images", type=positive_int, default=4000, help="training images to fit on (default 4000)")
    p.add_argument("--ridge", type=float, default=1e-3, help="ridge penalty relative to the latent energy")
    p.set_defaults(func=run_fit_preview)


def run_fit_preview(args: argparse.Namespace) -> Path:
    import torch

    from .checkpoint import add_weights
    from .data import load_dataset
    from .pipeline import LatentDiffusionPipeline
    from .previews import PREVIEW_FILE, config_dict, fit_linear_preview

    pipe = LatentDiffusionPipeline.from_pretrained(args.model)
    data = load_dataset(args.data, "train", args.npz_key).subset(args.images)
    if (data.channels, data.image_size) != (pipe.image_channels, pipe.image_size):
        raise ValueError(f"the data has {data.channels}x{data.image_size}px images, the model makes "
                         f"{pipe.image_channels}x{pipe.image_size}px")  # fmt: skip
    z = torch.cat([pipe.encode(data.images[i : i + 500]) for i in range(0, len(data), 500)])  # [N, c, h, w]
    with torch.inference_mode():
        preview = fit_linear_preview(z, lambda zz: pipe.vae.decode(zz / pipe.scaling_factor), ridge=args.ridge)
    half = {k: v.half() for k, v in preview.state_dict().items()}  # float16 halves the file; loads into float32
    path = add_weights(args.model, PREVIEW_FILE, half, config_dict(preview.config))
    print(f"wrote {path}: PSNR {preview.config.psnr_vs_decoder:.2f} dB against the VAE decoder on held-out latents")
    return path


# ---------------------------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ldm_core", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)
    add_sample(sub)
    add_train(sub)
    add_report(sub)
    add_fit_preview(sub)
    from . import evaluate  # adds `evaluate` and `train-classifier`

    evaluate.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.command_line = "python -m ldm_core " + shlex.join(argv)  # recorded in the models a run saves
    try:
        args.func(args)
    except (ValueError, TypeError) as e:  # bad arguments, as the pipeline and the loaders report them
        parser.exit(2, f"{parser.prog} {args.command}: error: {e}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
