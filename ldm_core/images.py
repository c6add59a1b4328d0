"""Image conversion at the library's edge: PIL / numpy in, tensors in [-1, 1] inside, numpy or PIL out."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor


def to_float_array(image: object, name: str = "image") -> np.ndarray:
    """A PIL image, uint8 array [H, W] / [H, W, C] or float array in [0, 1] -> float32 [H, W, C] in [0, 1]."""
    if isinstance(image, Image.Image):
        if image.mode not in ("L", "RGB", "RGBA", "LA", "P", "1", "I;16", "I", "F"):
            image = image.convert("RGB")
        if image.mode in ("P", "1", "LA"):
            image = image.convert("RGBA" if image.mode in ("P", "LA") else "L")
        if image.mode in ("I;16", "I", "F"):
            arr = np.asarray(image, dtype=np.float32)
            arr = arr / max(float(arr.max()), 1.0)
            return arr[..., None]
        arr = np.asarray(image)
    elif isinstance(image, np.ndarray):
        arr = image
    elif isinstance(image, torch.Tensor):
        raise TypeError(f"{name} must be a PIL image or a numpy array, got a torch.Tensor (use .numpy())")
    else:
        raise TypeError(f"{name} must be a PIL image or a numpy array [H, W] / [H, W, C], got {type(image).__name__}")
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"{name} must have shape [H, W] or [H, W, C] with C in 1..4, got {tuple(arr.shape)}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} is empty: shape {tuple(arr.shape)}")
    if arr.dtype == np.uint8:
        out = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.bool_:
        out = arr.astype(np.float32)
    elif np.issubdtype(arr.dtype, np.floating):
        out = arr.astype(np.float32)
        if not np.isfinite(out).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        if out.min() < -1e-6 or out.max() > 1.0 + 1e-6:
            raise ValueError(
                f"a float {name} must be in [0, 1], got values in [{out.min():.3g}, {out.max():.3g}] "
                "(pass uint8 for 0..255)"
            )
        out = out.clip(0.0, 1.0)
    else:
        raise TypeError(f"{name} array must be uint8, bool or float in [0, 1], got dtype {arr.dtype}")
    return out


def match_channels(arr: np.ndarray, channels: int) -> np.ndarray:
    """[H, W, C] in [0, 1] -> [H, W, channels]: alpha composited onto black, RGB -> luminance (ITU-R 601) or back."""
    if arr.shape[-1] in (2, 4):  # drop alpha by compositing over black (the models' background)
        arr = arr[..., :-1] * arr[..., -1:]
    if arr.shape[-1] == channels:
        return arr
    if channels == 1:
        return (arr @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
    return np.repeat(arr, channels, axis=-1)


def resize_square(arr: np.ndarray, size: int, name: str = "image", resample: int = Image.LANCZOS) -> np.ndarray:
    """Resize a square [H, W, C] image to size x size; a non-square image is refused (cropping would lose content)."""
    H, W, C = arr.shape
    if (size, size) == (H, W):
        return arr
    if H != W:
        raise ValueError(f"{name} must be square (the model works at {size}x{size}), got {W}x{H}")
    chans = [
        np.asarray(Image.fromarray(arr[..., c], mode="F").resize((size, size), resample), dtype=np.float32)
        for c in range(C)
    ]
    return np.stack(chans, axis=-1).clip(0.0, 1.0)


def to_model_tensor(arr: np.ndarray) -> Tensor:
    """[H, W, C] in [0, 1] -> [1, C, H, W] in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))[None] * 2.0 - 1.0


def to_numpy_images(x: Tensor) -> np.ndarray:
    """[B, C, H, W] in [-1, 1] -> float32 [B, H, W, C] in [0, 1]."""
    return ((x.detach().float().cpu().clamp(-1.0, 1.0) + 1.0) / 2.0).permute(0, 2, 3, 1).numpy()


def to_pil(images: np.ndarray) -> list[Image.Image]:
    """float [B, H, W, C] in [0, 1] -> PIL images (mode L for C = 1, RGB for C = 3)."""
    u8 = (images * 255.0).round().clip(0, 255).astype(np.uint8)
    return [Image.fromarray(im[..., 0] if im.shape[-1] == 1 else im) for im in u8]


def make_grid(images: np.ndarray, ncols: int | None = None, pad: int = 2, pad_value: float = 0.0) -> np.ndarray:
    """float [B, H, W, C] -> one [H', W', C] image with the images in rows of ``ncols``."""
    B, H, W, C = images.shape
    ncols = ncols or int(np.ceil(np.sqrt(B)))
    nrows = int(np.ceil(B / ncols))
    grid = np.full((nrows * (H + pad) + pad, ncols * (W + pad) + pad, C), pad_value, dtype=images.dtype)
    for k in range(B):
        r, c = divmod(k, ncols)
        grid[pad + r * (H + pad) : pad + r * (H + pad) + H, pad + c * (W + pad) : pad + c * (W + pad) + W] = images[k]
    return grid


def blur_mask(mask: Tensor, radius: int) -> Tensor:
    """Gaussian blur of a [B, 1, H, W] mask with a kernel of half-width ``radius`` (0 = no blur).

    The kernel is cut off at ``radius``, so pixels farther than ``radius`` from the mask stay exactly 0.
    """
    if radius <= 0:
        return mask
    sigma = max(radius / 2.0, 0.5)
    k = torch.arange(-radius, radius + 1, dtype=mask.dtype)
    k = torch.exp(-0.5 * (k / sigma) ** 2)
    k = k / k.sum()
    m = F.pad(mask, (radius, radius, radius, radius), mode="replicate")
    m = F.conv2d(m, k.view(1, 1, 1, -1))
    m = F.conv2d(m, k.view(1, 1, -1, 1))
    return torch.maximum(m, torch.zeros(())).clamp(max=1.0)
