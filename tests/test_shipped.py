"""The models in checkpoints/: they load (hashes checked) and make images of the class asked for.

A quick guard on what the app serves, not the evaluation (that is ``python -m ldm_core evaluate``, see the cards):
4 samples per class, 25 DDIM steps at the model's default guidance, judged by the shipped classifier.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ldm_core import LatentDiffusionPipeline
from ldm_core.classifier import accuracy, load_classifier

ROOT = Path(__file__).resolve().parent.parent / "checkpoints"
# name: (latent shape, least accuracy on the 40 samples); the cards report 99.6 % and 97.8 % on 1,000 samples
MODELS = {"mnist": ((4, 7, 7), 0.95), "fashion-mnist": ((4, 7, 7), 0.9)}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_shipped_model_makes_the_asked_class(name: str) -> None:
    torch.set_num_threads(1)
    pipe = LatentDiffusionPipeline.from_pretrained(ROOT / name)
    classifier, _ = load_classifier(ROOT / "classifiers" / name)
    shape, least = MODELS[name]
    assert pipe.latent_shape == shape and len(pipe.class_names) == 10
    labels = np.repeat(np.arange(10), 4)
    out = pipe([int(c) for c in labels], num_inference_steps=25, seed=0)
    assert out.images.shape == (40, 28, 28, 1)
    assert accuracy(classifier, out.images, labels) >= least
    # reproducible: the same seed gives the same first image
    again = pipe([int(labels[0])], num_inference_steps=25, seed=0).images[0]
    np.testing.assert_allclose(again, out.images[0], atol=2e-3)
