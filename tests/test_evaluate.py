"""Evaluation: Fréchet distance and PSNR against closed forms, the classifier, and evaluate() on a tiny pipeline."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest
import torch

from ldm_core import VAE, LatentDiffusionPipeline, UNet, UNetConfig, VAEConfig, make_schedule
from ldm_core.checkpoint import CheckpointError
from ldm_core.classifier import (
    ClassifierConfig,
    ClassifierTrainConfig,
    SmallCNN,
    accuracy,
    load_classifier,
    random_shift,
    save_classifier,
    train_classifier,
)
from ldm_core.evaluate import (
    EvalConfig,
    default_classifier_folder,
    evaluate,
    format_table,
    register,
    stratified_subset,
)
from ldm_core.metrics import feature_stats, frechet_distance, frechet_distance_features, psnr, trace_sqrt_product

K = 3  # classes of the synthetic task


def synthetic_images(n_per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [3n, 28, 28]: class 0 a bright top half, 1 a bright bottom half, 2 a bright left half; plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(K), n_per_class)
    images = rng.integers(0, 60, size=(len(labels), 28, 28))
    for i, c in enumerate(labels):
        region = [np.s_[:14, :], np.s_[14:, :], np.s_[:, :14]][c]
        images[i][region] += 150
    return images.astype(np.uint8), labels


# -------------------------------------------------------------------------------------------- metrics
def test_frechet_distance_matches_diagonal_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = rng.uniform(0.1, 3.0, size=5), rng.uniform(0.1, 3.0, size=5)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_is_rotation_invariant_and_handles_singular_covariance():
    """FD of rotated Gaussians equals the diagonal closed form, also when a variance is 0 (rank-deficient Σ)."""
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))  # a random rotation
    s1, s2 = np.array([0.0, 1.0, 2.0, 4.0]), np.array([1.0, 1.0, 0.5, 9.0])
    mu1, mu2 = rng.normal(size=4), rng.normal(size=4)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum()
    got = frechet_distance(q @ mu1, q @ np.diag(s1) @ q.T, q @ mu2, q @ np.diag(s2) @ q.T)
    assert got == pytest.approx(expected, rel=1e-7)  # sqrt of a round-off eigenvalue (~1e-16) costs ~1e-8
    # a non-commuting pair: Tr((Σ₁Σ₂)^½) = sum of the square roots of the eigenvalues of Σ₁Σ₂
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    s_a, s_b = a @ a.T, b @ b.T
    expected_trace = np.sqrt(np.linalg.eigvals(s_a @ s_b).real).sum()
    assert trace_sqrt_product(s_a, s_b) == pytest.approx(expected_trace, rel=1e-9)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_of_a_shifted_set_the_shift():
    x = np.random.default_rng(2).normal(size=(500, 16))
    assert frechet_distance_features(x, x) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance_features(x, x[::-1].copy()) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance_features(x, x + 0.5) == pytest.approx(16 * 0.25, rel=1e-9)  # only the means move
    assert frechet_distance_features(x, 2.0 * x) > 1.0


def test_feature_stats_is_the_unbiased_covariance():
    x = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
    mu, sigma = feature_stats(x)
    np.testing.assert_allclose(mu, [2.0, 2.0])
    np.testing.assert_allclose(sigma, [[4.0, 3.0], [3.0, 3.0]])


def test_psnr_known_values():
    ref = np.zeros((2, 4, 4, 1), dtype=np.float32)
    img = ref.copy()
    img[0] += 0.1  # MSE 1e-2 -> 20 dB
    img[1] += 0.01  # MSE 1e-4 -> 40 dB
    np.testing.assert_allclose(psnr(img, ref), [20.0, 40.0], atol=1e-4)
    assert psnr(ref, ref)[0] == pytest.approx(100.0)  # an exact copy is capped, not infinite
    assert psnr(img * 255, ref, data_range=255.0)[0] == pytest.approx(20.0, abs=1e-4)
    with pytest.raises(ValueError, match="same shape"):
        psnr(img[:1], ref)


# -------------------------------------------------------------------------------------------- classifier
def test_random_shift_moves_pixels_by_at_most_max_shift():
    x = torch.full((8, 1, 9, 9), -1.0)
    x[:, :, 4, 4] = 1.0  # one bright pixel in the middle
    out = random_shift(x, 2, torch.Generator().manual_seed(0))
    pos = [divmod(int(o.flatten().argmax()), 9) for o in out]
    assert all(abs(r - 4) <= 2 and abs(c - 4) <= 2 for r, c in pos)
    assert len(set(pos)) > 1  # not all images moved the same way
    assert torch.equal(random_shift(x, 0, torch.Generator()), x)


def test_classifier_learns_an_easy_task_and_reloads(tmp_path):
    x, y = synthetic_images(40)
    cfg = ClassifierConfig(num_classes=K, widths=(8, 16), feature_dim=16)
    result = train_classifier(x, y, cfg, ClassifierTrainConfig(epochs=4, batch_size=32, lr=5e-3, seed=0))
    assert result.losses[-1] < 0.5 * result.losses[0]
    x_test, y_test = synthetic_images(20, seed=1)
    acc = accuracy(result.model, x_test, y_test)
    assert acc >= 0.95
    folder = save_classifier(tmp_path / "clf", result.model, ["top", "bottom", "left"], metrics={"test_accuracy": acc})
    model, config = load_classifier(folder)
    assert config["metrics"]["test_accuracy"] == acc and config["class_names"] == ["top", "bottom", "left"]
    assert accuracy(model, x_test, y_test) == acc
    again = train_classifier(x, y, cfg, ClassifierTrainConfig(epochs=4, batch_size=32, lr=5e-3, seed=0))
    assert again.losses == result.losses  # the seed fixes init, order, augmentation and dropout


def test_training_leaves_the_global_rng_alone():
    x, y = synthetic_images(4)
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    train_classifier(x, y, ClassifierConfig(num_classes=K, widths=(4,), feature_dim=4), ClassifierTrainConfig(epochs=1))
    assert torch.equal(torch.rand(3), before)


def test_train_classifier_rejects_bad_labels():
    x, y = synthetic_images(2)
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.1"):
        train_classifier(x, y, ClassifierConfig(num_classes=2, widths=(4,)), ClassifierTrainConfig(epochs=1))


# -------------------------------------------------------------------------------------------- evaluate
@pytest.fixture(scope="module")
def tiny_setup():
    torch.manual_seed(0)
    names = ["top", "bottom", "left"]
    pipe = LatentDiffusionPipeline(
        VAE(VAEConfig(base_channels=8)), UNet(UNetConfig(base_channels=16, num_classes=K)), make_schedule("linear"),
        1.0, names, name="tiny",
    )  # fmt: skip
    classifier = SmallCNN(ClassifierConfig(num_classes=K, widths=(4, 8), feature_dim=8)).eval()
    x, y = synthetic_images(4)
    data = {"train_images": x, "train_labels": y, "test_images": x, "test_labels": y, "class_names": names}
    return pipe, classifier, data


def test_evaluate_on_a_tiny_pipeline(tiny_setup):
    pipe, classifier, data = tiny_setup
    cfg = EvalConfig(per_class=4, num_inference_steps=2, batch_size=5, seed=3)
    r = evaluate(pipe, classifier, data, cfg)
    for key in ("recon_psnr_db", "recon_psnr_set_db", "recon_accuracy", "fd_recon_test", "fd_floor", "fd_ceiling",
                "fd_samples", "fd_train", "samples_accuracy", "classifier_test_accuracy"):  # fmt: skip
        assert math.isfinite(r[key]), key
    assert r["num_samples"] == 12 and len(r["samples_accuracy_per_class"]) == K
    assert r["guidance_scale"] == pipe.default_guidance_scale
    # train == test here, and the subset (4 per class) is the whole set: the floor is exactly 0
    assert r["fd_floor"] == pytest.approx(0.0, abs=1e-9) and r["fd_train"] == pytest.approx(0.0, abs=1e-9)
    assert r["fd_samples"] > 0 and r["fd_recon_test"] > 0  # an untrained VAE and UNet are far from the data
    assert 0 < r["recon_psnr_db"] < 30
    assert set(r["seconds"]) == {"real_features", "reconstruction", "generation", "total"}
    table = format_table(r)
    assert "FD  samples vs test" in table and f"{r['fd_samples']:.3f}" in table
    json.dumps(r)  # everything is plain JSON


def test_evaluate_samples_do_not_depend_on_the_batch_size(tiny_setup):
    pipe, classifier, data = tiny_setup
    a = evaluate(pipe, classifier, data, EvalConfig(per_class=2, num_inference_steps=2, batch_size=6))
    b = evaluate(pipe, classifier, data, EvalConfig(per_class=2, num_inference_steps=2, batch_size=4, train_images=6))
    assert a["fd_samples"] == pytest.approx(b["fd_samples"], rel=1e-3)
    assert a["samples_accuracy_per_class"] == b["samples_accuracy_per_class"]
    assert (a["num_train"], b["num_train"]) == (12, 6)  # the reference row takes a random half of train
    assert a["fd_train"] == pytest.approx(0.0, abs=1e-9) and b["fd_train"] > 1e-6


def test_evaluate_samples_with_the_models_default_sampler_unless_told(tiny_setup):
    import copy

    pipe, classifier, data = tiny_setup
    pipe = copy.deepcopy(pipe)
    pipe.default_sampler = "dpmpp_2m"
    base = {"per_class": 2, "num_inference_steps": 3, "batch_size": 6}
    own = evaluate(pipe, classifier, data, EvalConfig(**base))
    told = evaluate(pipe, classifier, data, EvalConfig(**base, sampler="dpmpp_2m"))
    ddim = evaluate(pipe, classifier, data, EvalConfig(**base, sampler="ddim"))
    assert (own["sampler"], told["sampler"], ddim["sampler"]) == ("dpmpp_2m", "dpmpp_2m", "ddim")
    assert own["fd_samples"] == told["fd_samples"] and own["fd_samples"] != ddim["fd_samples"]


def test_evaluate_refuses_a_classifier_of_other_classes(tiny_setup):
    pipe, _, data = tiny_setup
    other = SmallCNN(ClassifierConfig(num_classes=10, widths=(4,), feature_dim=4))
    with pytest.raises(ValueError, match="10 classes"):
        evaluate(pipe, other, data, EvalConfig(per_class=1, num_inference_steps=1))


def test_stratified_subset_takes_per_class_of_each_class():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    idx = stratified_subset(labels, 2, 3, seed=0)
    assert np.bincount(labels[idx]).tolist() == [2, 2, 2]
    assert np.array_equal(idx, stratified_subset(labels, 2, 3, seed=0))
    assert np.bincount(labels[stratified_subset(labels, 5, 3, seed=0)]).tolist() == [3, 2, 4]


def test_register_adds_both_commands():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["evaluate", "--model", "m", "--data", "d.npz", "--per-class", "7", "--json", "o.json"])
    assert args.per_class == 7 and args.guidance is None and args.json == "o.json" and callable(args.func)
    args = parser.parse_args(["train-classifier", "--data", "d.npz", "--out", "o", "--widths", "8", "16"])
    assert args.widths == [8, 16] and args.func.__name__ == "run_train_classifier"


def test_default_classifier_folder_sits_beside_the_models(tmp_path):
    (tmp_path / "classifiers" / "fashion-mnist").mkdir(parents=True)
    found = default_classifier_folder(tmp_path / "fashion-mnist", "fashion-mnist")
    assert found == tmp_path / "classifiers" / "fashion-mnist"
    assert default_classifier_folder(tmp_path / "fashion-mnist", "Fashion") == found  # falls back to the folder name
    with pytest.raises(CheckpointError, match="train-classifier"):
        default_classifier_folder(tmp_path / "mnist", "mnist")
