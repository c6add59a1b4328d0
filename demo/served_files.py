"""Pictures that Gradio serves are written whole: a class that gets the same image at once never reads half a file.

Gradio 6.31 saves every PIL image it sends (previews, results, gallery items) to its cache folder under the hash
of its bytes (``gradio.processing_utils.save_pil_to_cache``), with ``Path.write_bytes``: it truncates the file and
writes it again each time. When two requests make the same image (a class pressing Generate at the defaults gets
the same seed, so the same PNGs), one request's rewrite can meet another's download, and that download ends short:
uvicorn logs "Too little data for declared Content-Length" and the page shows a broken image. Measured in a 20-minute
soak of 3 students (benchmarks/soak.py): 4 of 3,584 requests.

``install`` replaces that one function (Gradio calls it through its module, for gr.Image and gr.Gallery alike) with
``save_pil_to_cache``: the same path and bytes, but a file already there is left as it is (its name is the hash of
these bytes) and only touched, so that Gradio's age-based cleaning (``delete_cache``, by ctime) keeps it as long as
a fresh one; a new file is written next to it and renamed into place, which readers see whole or not at all.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gradio import processing_utils
from PIL import Image

_original = processing_utils.save_pil_to_cache  # gradio's own, for comparison in the tests


def save_pil_to_cache(img: Image.Image, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    """``processing_utils.save_pil_to_cache`` (same arguments, same path), written atomically."""
    data = processing_utils.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / f"{name}.{format}").resolve()
    try:
        st = path.stat()
        if st.st_size == len(data):  # the same hash: these bytes, written whole by an earlier request
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same times, new ctime: the cleaner's age restarts
            return str(path)
    except FileNotFoundError:
        pass
    part = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    part.write_bytes(data)
    os.replace(part, path)  # atomic on POSIX and Windows: readers get the old file or the new one, whole
    return str(path)


def install() -> None:
    """Make Gradio save served pictures with ``save_pil_to_cache`` (idempotent)."""
    processing_utils.save_pil_to_cache = save_pil_to_cache
