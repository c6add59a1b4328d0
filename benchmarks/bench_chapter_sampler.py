"""The chapter's sampler against DDPM and DDIM, judged as ``ldm_core evaluate`` judges samples: the shipped
classifier's accuracy on the asked class and the Fréchet distance of its features to the test split.

    OMP_NUM_THREADS=1 python benchmarks/bench_chapter_sampler.py --model checkpoints/mnist [--per-class 20] [--write]

Needs the model's ``reference/`` (``python -m ldm_core.reference``) and ``checkpoints/classifiers/<model>``.
``--write`` keeps the table in ``<model>/reference/sampler_quality.json``, which the Learn tab shows (section 5).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ldm_core import LatentDiffusionPipeline, teaching
from ldm_core.classifier import load_classifier
from ldm_core.reference import REFERENCE_DIR, load_reference

SAMPLERS = (teaching.CHAPTER_OWN_NET, teaching.CHAPTER, "ddpm", "ddim")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--per-class", type=int, default=20)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--write", action="store_true", help="save the table in <model>/reference/sampler_quality.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    folder = Path(args.model)
    pipe = LatentDiffusionPipeline.from_pretrained(folder)
    classifier, _ = load_classifier(folder.parent / "classifiers" / folder.name)
    reference = load_reference(folder)
    start = time.perf_counter()
    rows = teaching.sample_quality(pipe, classifier, reference, SAMPLERS, args.per_class, args.steps)
    print(f"{'sampler':<18} {'accuracy':>9} {'FD':>8} {'n':>5}")
    for name, r in rows.items():
        print(f"{name:<18} {100 * r['accuracy']:>8.1f}% {r['fd']:>8.2f} {r['n']:>5}")
    print(f"{time.perf_counter() - start:.0f} s")
    if args.write:
        out = folder / REFERENCE_DIR / "sampler_quality.json"
        command = "python " + " ".join(shlex.quote(a) for a in sys.argv if a != "--write")
        out.write_text(json.dumps({"command": command, "steps": args.steps, "per_class": args.per_class,
                                   "results": rows}, indent=1))  # fmt: skip
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
