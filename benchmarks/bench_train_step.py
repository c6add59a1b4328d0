"""Training speed: ms per denoiser optimiser step (forward, backward, AdamW), fp32 against bfloat16 autocast.

Times the UNets of the shipped models (read from their config.json) on random latents of their shape, the way
``train diffusion --precision fp32|bf16`` runs them. Prints a table; not part of the test run.

    python benchmarks/bench_train_step.py                    # both shipped models, batch 64, all threads
    python benchmarks/bench_train_step.py --threads 1 --batch-size 128 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ldm_core.schedule import make_schedule
from ldm_core.train_diffusion import diffusion_loss
from ldm_core.unet import UNet, UNetConfig

ROOT = Path(__file__).resolve().parents[1]


def step_ms(unet: UNet, z0: torch.Tensor, labels: torch.Tensor, bf16: bool, repeats: int) -> float:
    """Median wall time of one optimiser step, after two warm-up steps."""
    schedule = make_schedule("linear")
    opt = torch.optim.AdamW(unet.parameters(), 1e-4)
    gen = torch.Generator().manual_seed(0)
    times = []
    for i in range(repeats + 2):
        t0 = time.perf_counter()
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            loss = diffusion_loss(unet, schedule, z0, labels, gen, 0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return 1000 * sorted(times)[len(times) // 2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=[str(ROOT / "checkpoints" / n) for n in ("mnist", "fashion-mnist")])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's choice)")
    p.add_argument("--repeats", type=int, default=8)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}")
    print(f"{'model':16s} {'latent':>8s} {'params':>7s} {'fp32 ms':>8s} {'bf16 ms':>8s} {'speed-up':>8s}")
    for folder in args.models:
        config = json.loads((Path(folder) / "config.json").read_text())
        cfg = UNetConfig(**config["unet"])
        torch.manual_seed(0)
        unet = UNet(cfg)
        size = config["image_size"] // 2 ** (len(config["vae"]["channel_mult"]) - 1)
        z0 = torch.randn(args.batch_size, cfg.in_channels, size, size)
        labels = torch.arange(args.batch_size) % cfg.num_classes
        fp32, bf16 = (step_ms(unet, z0, labels, bf, args.repeats) for bf in (False, True))
        n = sum(p.numel() for p in unet.parameters()) / 1e6
        shape = f"{cfg.in_channels}x{size}x{size}"
        print(f"{config['name']:16s} {shape:>8s} {n:6.2f}M {fp32:8.1f} {bf16:8.1f} {fp32 / bf16:7.2f}x")


if __name__ == "__main__":
    main()
