"""Sampling speed: ms per sampler step, per sampler, for 1 image and for 16 images with guidance.

Also times diffusers' scheduler loop driving the same UNet and the same guidance, so the overhead of our sampler
functions can be compared with a reference implementation. Prints a table; not part of the test run.

    python benchmarks/bench_sampling.py                       # the shipped MNIST model, or a default-size one
    python benchmarks/bench_sampling.py --model checkpoints/fashion-mnist --steps 20 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ldm_core import SAMPLERS, VAE, LatentDiffusionPipeline, UNet, UNetConfig, VAEConfig, make_schedule
from ldm_core.samplers import guided_denoiser


def load(model: str | None) -> LatentDiffusionPipeline:
    default = Path(__file__).resolve().parents[1] / "checkpoints" / "mnist"
    path = Path(model) if model else default
    if path.is_dir():
        return LatentDiffusionPipeline.from_pretrained(path)
    torch.manual_seed(0)  # a random model of the default size
    unet = UNet(UNetConfig(base_channels=48))
    return LatentDiffusionPipeline(VAE(VAEConfig()), unet, make_schedule("linear"), 1.0, [str(i) for i in range(10)])


def time_it(fn, repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def diffusers_loop(pipe: LatentDiffusionPipeline, n: int, steps: int, guidance: float):
    """The same UNet and guidance driven by diffusers' DDIMScheduler, as a diffusers pipeline would."""
    from diffusers import DDIMScheduler

    sched = DDIMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=False,
                          set_alpha_to_one=True, timestep_spacing="trailing")  # fmt: skip
    cond = pipe.class_embeddings([i % len(pipe.class_names) for i in range(n)])
    null = pipe.null_embeddings(n)

    def model(x, t, emb):
        return pipe.unet(x, t, class_emb=emb)

    denoise = guided_denoiser(model, pipe.schedule, cond, null, guidance)

    @torch.inference_mode()
    def run():
        sched.set_timesteps(steps)
        x = pipe.initial_noise(list(range(n)))
        for t in sched.timesteps:
            x = sched.step(denoise(x, t.expand(n)), t, x).prev_sample
        return x

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model folder (default: checkpoints/mnist if present)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--guidance", type=float, default=3.0)
    args = ap.parse_args()
    pipe = load(args.model)
    params = sum(p.numel() for p in pipe.unet.parameters()) / 1e6
    print(f"model: {pipe.name}  UNet {params:.2f}M params  latent {pipe.latent_shape}  torch threads "
          f"{torch.get_num_threads()}  steps {args.steps}  (best of {args.repeats}, decode excluded)")  # fmt: skip
    print(f"{'sampler':<10} {'batch':>5} {'guidance':>8} {'ms/step':>9} {'ms/image/step':>14}")
    for sampler in SAMPLERS:
        for n, g in [(1, 1.0), (1, args.guidance), (16, args.guidance)]:
            labels = [i % len(pipe.class_names) for i in range(n)]
            sec = time_it(
                lambda: pipe(labels, args.steps, g, sampler, 0.0, 0, "latent"),  # noqa: B023
                args.repeats,
            )
            evals = 2 * args.steps - 1 if sampler == "heun" else args.steps
            ms = 1000 * sec / evals
            print(f"{sampler:<10} {n:>5} {g:>8.1f} {ms:>9.2f} {ms / n:>14.2f}")
    print()
    print("our DDIM loop vs diffusers' DDIMScheduler loop, same UNet and guidance:")
    print(f"{'batch':>5} {'ours ms/step':>13} {'diffusers ms/step':>18} {'ratio':>7}")
    for n in (1, 16):
        labels = [i % len(pipe.class_names) for i in range(n)]
        ours = time_it(lambda: pipe(labels, args.steps, args.guidance, "ddim", 0.0, 0, "latent"), args.repeats)  # noqa: B023
        ref = time_it(diffusers_loop(pipe, n, args.steps, args.guidance), args.repeats)
        print(f"{n:>5} {1000 * ours / args.steps:>13.2f} {1000 * ref / args.steps:>18.2f} {ours / ref:>7.2f}")
    lo, hi = pipe.guidance_interval
    if (lo, hi) != (0, pipe.num_train_timesteps):
        print(f"\nthe model's guidance interval [{lo}, {hi}) against guidance at every step (DDIM, "
              f"{args.steps} steps, guidance {args.guidance:g}, whole runs):")  # fmt: skip
        print(f"{'batch':>5} {'interval s':>11} {'every step s':>13} {'ratio':>7}")
        for n in (1, 16):
            labels = [i % len(pipe.class_names) for i in range(n)]
            times = []
            for interval in ((lo, hi), (0, pipe.num_train_timesteps)):
                pipe.set_guidance_interval(*interval)
                times.append(time_it(lambda: pipe(labels, args.steps, args.guidance, "ddim", 0.0, 0, "latent"),  # noqa: B023
                                     args.repeats))  # fmt: skip
            pipe.set_guidance_interval(lo, hi)
            print(f"{n:>5} {times[0]:>11.3f} {times[1]:>13.3f} {times[1] / times[0]:>7.2f}")
    print(f"\n(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})")


if __name__ == "__main__":
    main()
