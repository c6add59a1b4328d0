"""Image-quality math: PSNR and the Fréchet distance between two sets of features (as in FID, Heusel et al. 2017).

Plain numpy in float64; no scipy. The Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂) is

    FD = ||μ₁ - μ₂||² + Tr(Σ₁ + Σ₂ - 2 (Σ₁ Σ₂)^{1/2})

Σ₁ Σ₂ is not symmetric, but it is similar to the symmetric PSD matrix M = Σ₁^{1/2} Σ₂ Σ₁^{1/2}
(Σ₁ Σ₂ = Σ₁^{1/2} M Σ₁^{-1/2}), so Tr((Σ₁ Σ₂)^{1/2}) = Tr(M^{1/2}) = Σ_i sqrt(λ_i(M)): two symmetric
eigen-decompositions, no complex numbers, and no failure when Σ₁ is singular.
"""

from __future__ import annotations

import numpy as np


def psnr(images: np.ndarray, references: np.ndarray, data_range: float = 1.0, max_db: float = 100.0) -> np.ndarray:
    """Peak signal-to-noise ratio per image, in dB: 10 log10(data_range² / MSE).

    images, references: [N, ...] with values in [0, data_range]. Returns [N] float64; an exact copy (MSE 0)
    gets ``max_db`` instead of infinity, so averages stay finite.
    """
    if images.shape != references.shape:
        raise ValueError(f"images and references must have the same shape, got {images.shape} and {references.shape}")
    diff = images.astype(np.float64) - references.astype(np.float64)
    mse = (diff**2).reshape(len(diff), -1).mean(axis=1)  # [N]
    floor = data_range**2 / 10 ** (max_db / 10)
    return 10.0 * np.log10(data_range**2 / np.maximum(mse, floor))


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features [N, D] -> (μ [D], Σ [D, D]) in float64; Σ is the unbiased sample covariance (N - 1)."""
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"features must be [N, D] with N >= 2, got shape {features.shape}")
    f = features.astype(np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigen-decomposition (negative round-off -> 0)."""
    sym = (matrix + matrix.T) / 2.0
    eigenvalues, vectors = np.linalg.eigh(sym)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr((Σ₁ Σ₂)^{1/2}) = Tr((Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}) for symmetric PSD Σ₁, Σ₂."""
    root1 = sqrtm_psd(sigma1)
    m = root1 @ sigma2 @ root1  # symmetric PSD, similar to Σ₁ Σ₂
    eigenvalues = np.linalg.eigvalsh((m + m.T) / 2.0)
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """FD = ||μ₁ - μ₂||² + Tr(Σ₁) + Tr(Σ₂) - 2 Tr((Σ₁ Σ₂)^{1/2}), in float64; clipped at 0 against round-off."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise ValueError(
            f"need μ [D] and Σ [D, D] of the same D, got μ {mu1.shape}, {mu2.shape} and Σ {sigma1.shape}, {sigma2.shape}"
        )
    diff = mu1 - mu2
    fd = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    return max(float(fd), 0.0)


def frechet_distance_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to two feature sets [N1, D] and [N2, D]."""
    return frechet_distance(*feature_stats(features1), *feature_stats(features2))
