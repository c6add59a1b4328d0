"""The Fréchet-distance floor: real train images vs the test split, as the set size grows.

FD estimated from N images is biased upwards (the covariance of a small set is noisy), so a model's FD is only
comparable with the floor at the same N. This prints, per data set, FD(stratified train subset, test) for a few
sizes (mean ± std over seeds) and the classifier's test accuracy; `evaluate` reports the row of its own N.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fd_floor.py --data ../shared/data/mnist.npz \
        --classifier checkpoints/classifiers/mnist
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ldm_core.classifier import embed, load_classifier
from ldm_core.evaluate import load_data, stratified_subset
from ldm_core.metrics import feature_stats, frechet_distance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--classifier", required=True)
    parser.add_argument("--per-class", type=int, nargs="+", default=[10, 50, 100, 500])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()

    t0 = time.perf_counter()
    model, _ = load_classifier(args.classifier)
    data = load_data(args.data)
    k = model.config.num_classes
    test_feats, test_logits = embed(model, data["test_images"])
    test_stats = feature_stats(test_feats)
    train_feats, _ = embed(model, data["train_images"])  # every train image once; subsets index into it
    acc = float((test_logits.argmax(1) == data["test_labels"]).mean())
    print(f"{args.data}: classifier {args.classifier}, test accuracy {100 * acc:.2f} % on {len(test_feats)} images")
    print(f"{'train images':>12}  {'FD vs test (mean ± std over ' + str(args.seeds) + ' seeds)':>40}")
    for per_class in args.per_class:
        fds = []
        for seed in range(args.seeds):
            idx = stratified_subset(data["train_labels"], per_class, k, seed)
            fds.append(frechet_distance(*feature_stats(train_feats[idx]), *test_stats))
        print(f"{len(idx):>12}  {np.mean(fds):>32.3f} ± {np.std(fds):.3f}")
    full = frechet_distance(*feature_stats(train_feats), *test_stats)
    print(f"{len(train_feats):>12}  {full:>32.3f}   (all of train)")
    print(f"time {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
