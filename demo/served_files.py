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

It also wraps Gradio's cleaner (``route_utils.delete_files_created_by_app``, run every ``delete_cache`` period) to
finish its job: Gradio deletes an old file but forgets it only in the first component's set that lists it (the same
picture sent to two outputs stays listed in the other for good), and it leaves the file's hash folder behind, empty
(measured in a 22-minute soak: 7,712 folders for 6,083 files, each a 4 kB block of disk, about 0.5 GB a day on a
busy Space). ``delete_files_created_by_app`` runs Gradio's, then drops every listed file that no longer exists from
every set and removes the folders it emptied; a picture being saved into such a folder that moment makes it again.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

from gradio import processing_utils, route_utils
from gradio.utils import get_upload_folder
from PIL import Image

_original = processing_utils.save_pil_to_cache  # gradio's own, for comparison in the tests
_original_delete = route_utils.delete_files_created_by_app


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
    for attempt in range(3):
        try:
            part.write_bytes(data)
            break
        except FileNotFoundError:  # the cleaner removed the (empty) folder between mkdir and here
            if attempt == 2:
                raise
            folder.mkdir(exist_ok=True, parents=True)
    os.replace(part, path)  # atomic on POSIX and Windows: readers get the old file or the new one, whole
    return str(path)


def delete_files_created_by_app(blocks: Any, age: int | None) -> None:
    """Gradio's cleaner, then: files gone from disk leave every component's set, and their emptied hash folders (in
    Gradio's cache folder only) go too."""
    listed = {f for files in blocks.temp_file_sets for f in files}
    _original_delete(blocks, age)
    gone = {f for f in listed if not os.path.lexists(f)}
    for files in blocks.temp_file_sets:
        files -= gone
    cache = os.path.realpath(getattr(blocks, "GRADIO_CACHE", None) or get_upload_folder())
    for folder in {os.path.dirname(f) for f in gone}:
        if os.path.dirname(os.path.realpath(folder)) == cache:  # <cache>/<hash>/<name>: never the cache itself
            with contextlib.suppress(OSError):  # not empty (a new file in it): it stays
                os.rmdir(folder)


def install() -> None:
    """Make Gradio save served pictures with ``save_pil_to_cache`` and clean with ``delete_files_created_by_app``
    (idempotent)."""
    processing_utils.save_pil_to_cache = save_pil_to_cache
    route_utils.delete_files_created_by_app = delete_files_created_by_app
