"""What live previews cost under a classroom burst: one batched run of N requests, without previews, with previews
decoded by the real VAE decoder, and with the model's preview decoder (previews.py). Prints a table; not a test.

Every request of the burst wants its own previews (about 12 per run, as the app asks), so the previews of all
requests that are due at a step are decoded in one batched call, as ``sampling.run_jobs`` does in the app.

    python benchmarks/bench_previews.py                                  # checkpoints/mnist, 50 requests x 1 image
    python benchmarks/bench_previews.py --model checkpoints/emoji --requests 30 --images 4
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ldm_core import LatentDiffusionPipeline
from ldm_core.sampling import SamplingJob, preview_every, run_jobs
from ldm_core.schedule import make_timesteps


def burst(pipe: LatentDiffusionPipeline, requests: int, images: int, steps: int, guidance: float, previews: bool):
    timesteps = make_timesteps(pipe.num_train_timesteps, steps, "trailing")
    jobs, counted = [], []
    for r in range(requests):
        seeds = [1000 * r + i for i in range(images)]
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        x = torch.stack([torch.randn(pipe.latent_shape, generator=g) for g in gens])
        labels = [r % len(pipe.class_names)] * images
        jobs.append(SamplingJob(x=x, timesteps=timesteps, class_emb=pipe.class_embeddings(labels),
                                guidance=torch.full((images,), guidance), eta=torch.zeros(images), generators=gens,
                                on_preview=counted.append if previews else None,
                                preview_every=preview_every(steps) if previews else 0))  # fmt: skip
    t0 = time.perf_counter()
    run_jobs(pipe, jobs)
    return time.perf_counter() - t0, len(counted)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(Path(__file__).resolve().parents[1] / "checkpoints" / "mnist"))
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--images", type=int, default=1, help="images per request")
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--guidance", type=float, default=None)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    pipe = LatentDiffusionPipeline.from_pretrained(args.model)
    guidance = pipe.default_guidance_scale if args.guidance is None else args.guidance
    fitted = pipe.preview_decoder
    if fitted is None:
        sys.exit(f"{args.model} has no preview decoder: run python -m ldm_core fit-preview --model {args.model} ...")
    rows = []
    for name, decoder, previews in (("no previews", None, False), ("VAE decoder", None, True),
                                    ("preview decoder", fitted, True)):  # fmt: skip
        pipe.preview_decoder = decoder
        burst(pipe, 2, args.images, 2, guidance, previews)  # warm-up
        best = min(burst(pipe, args.requests, args.images, args.steps, guidance, previews) for _ in range(args.repeats))
        rows.append((name, *best))
    pipe.preview_decoder = fitted
    base = rows[0][1]
    n = args.requests * args.images
    print(f"\n{args.model}: {args.requests} requests x {args.images} image(s), {args.steps} steps, guidance {guidance}, "
          f"one batched run of {n} images, torch threads {torch.get_num_threads()}, best of {args.repeats}\n")  # fmt: skip
    print("| previews | wall s | previews sent | cost of the previews (% of the sampling) |")
    print("|---|---|---|---|")
    for name, seconds, count in rows:
        print(f"| {name} | {seconds:.3f} | {count} | {100 * (seconds - base) / base:+.1f} % |")


if __name__ == "__main__":
    main()
