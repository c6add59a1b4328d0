"""A small per-process cache of computed views, keyed by model, settings and seed, so a slider move recomputes
only what it changes (the encoded image, a whole sampling run)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np
from PIL import Image

T = TypeVar("T")
MAX_ITEMS = 64  # sampling runs of 20 steps at 28 px are about 1 MB each: at most about 64 MB

_items: OrderedDict[Hashable, Any] = OrderedDict()
_lock = threading.Lock()


def cached(key: Hashable, compute: Callable[[], T]) -> T:
    """The value stored under ``key``, computed (outside the lock) when missing; least recently used go first."""
    with _lock:
        if key in _items:
            _items.move_to_end(key)
            return _items[key]
    value = compute()
    with _lock:
        _items[key] = value
        while len(_items) > MAX_ITEMS:
            _items.popitem(last=False)
    return value


def image_key(image: Any) -> str:
    """A content hash of an uploaded image, so the same upload hits the cache."""
    if isinstance(image, Image.Image):
        data = image.mode.encode() + repr(image.size).encode() + image.tobytes()
    else:
        arr = np.ascontiguousarray(image)
        data = repr((arr.shape, arr.dtype.str)).encode() + arr.tobytes()
    return hashlib.sha1(data).hexdigest()


def clear() -> None:
    with _lock:
        _items.clear()
