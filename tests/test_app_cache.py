"""Gradio's cache of served files stays bounded: the app deletes old previews, results and uploads while it runs."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
from app_fixtures import DIGITS, app, app_model_dirs  # noqa: F401
from gradio import processing_utils, route_utils
from gradio_client import Client
from PIL import Image

import demo.layout as layout
from demo import served_files

GEN = [DIGITS, "1", 2, 3.0, "ddim", 0.0, 7, 1]  # model, class, steps, guidance, sampler, eta, seed, batch size


def cached_files(blocks) -> set[str]:
    """Every file Gradio has put in its cache for this app and would serve (uploads, previews, results)."""
    return {f for files in blocks.temp_file_sets for f in files}


def test_the_app_deletes_its_cached_files_on_a_schedule(app):  # noqa: F811
    frequency_s, age_s = app.delete_cache
    assert (frequency_s, age_s) == layout.DELETE_CACHE and 0 < frequency_s <= age_s <= 3600


def test_cached_files_older_than_the_age_are_deleted_and_the_app_goes_on(app_model_dirs, monkeypatch):  # noqa: F811
    # every second, files older than 6 s: long enough that a request on a busy machine is over (and its files are
    # still there to be seen) before the cleaner takes them
    monkeypatch.setattr(layout, "DELETE_CACHE", (1, 6))
    blocks = layout.build_demo(app_model_dirs)
    blocks.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", server_port=None)
    try:
        client = Client(blocks.local_url, verbose=False)
        before = cached_files(blocks)  # the example images, which gradio keeps for the app's lifetime
        client.predict(*GEN, api_name="/generate")
        made = cached_files(blocks) - before
        assert made and all(Path(f).is_file() for f in made)  # the preview/grid/gallery PNGs of that request
        deadline = time.monotonic() + 30
        while any(Path(f).exists() for f in made) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert not [f for f in made if Path(f).exists()]
        assert not made & cached_files(blocks)  # forgotten too, so the sets do not grow either
        assert all(Path(f).is_file() for f in before)  # what the page shows for good stays
        _preview, grid, _gallery, _info = client.predict(*GEN, api_name="/generate")
        assert Image.open(grid).size == (28, 28)  # still serving, new files made and fetched
    finally:
        blocks.close()


# ---------------------------------------------------------------------- pictures written whole
def _picture() -> Image.Image:
    rng = np.random.default_rng(0)  # noise: a PNG of ~110 KB, slow enough to write that a reader can meet it
    return Image.fromarray(rng.integers(0, 256, (192, 192, 3), dtype=np.uint8))


def test_the_app_saves_served_pictures_whole(app):  # noqa: F811
    # build_demo installed it: gr.Image and gr.Gallery reach it through gradio's module
    assert processing_utils.save_pil_to_cache is served_files.save_pil_to_cache


def test_a_picture_made_again_is_the_same_file_not_rewritten_and_its_age_restarts(tmp_path):
    image = _picture()
    path = served_files.save_pil_to_cache(image, str(tmp_path), format="png")
    assert Image.open(path).tobytes() == image.tobytes()
    before = os.stat(path)
    time.sleep(0.02)
    again = served_files.save_pil_to_cache(image, str(tmp_path), format="png")
    after = os.stat(again)
    assert again == path and (after.st_ino, after.st_mtime_ns, after.st_size) == (
        before.st_ino, before.st_mtime_ns, before.st_size)  # fmt: skip
    assert after.st_ctime_ns > before.st_ctime_ns  # what gradio's delete_cache measures the age by
    assert path == processing_utils_path(image, tmp_path)  # the path gradio's own function gives


def processing_utils_path(image: Image.Image, folder: Path) -> str:
    """Where gradio's own save_pil_to_cache puts ``image`` (in a folder of its own, to leave the other alone)."""
    own = folder / "gradio-own"
    return served_files._original(image, str(own), format="png").replace(str(own), str(folder))


def test_a_reader_never_gets_half_a_picture_while_others_write_and_clean_it(tmp_path):
    image = _picture()
    path = Path(served_files.save_pil_to_cache(image, str(tmp_path), format="png"))
    size = path.stat().st_size
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            served_files.save_pil_to_cache(image, str(tmp_path), format="png")

    def cleaner() -> None:  # as gradio's delete_cache may, so that every writer writes the file anew
        while not stop.is_set():
            path.unlink(missing_ok=True)
            time.sleep(0.001)

    threads = [threading.Thread(target=f, daemon=True) for f in (writer, writer, cleaner)]
    for th in threads:
        th.start()
    reads, short = 0, []
    try:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                n = len(path.read_bytes())
            except FileNotFoundError:
                continue
            reads += 1
            if n != size:
                short.append(n)
    finally:
        stop.set()
        for th in threads:
            th.join(5)
    assert reads > 20 and not short, f"{len(short)} of {reads} reads were short: {short[:5]}"
    assert not list(tmp_path.glob(".*.part"))  # no half-written file left behind


# ---------------------------------------------------------------------- the cleaner finishes its job
class _Blocks:
    """What gradio's cleaner reads of a Blocks: its blocks (for keep_in_cache), file sets and cache folder."""

    def __init__(self, cache: Path, *sets: set[str], keep: set[str] = frozenset()):
        self.blocks = {1: type("Example", (), {"keep_in_cache": set(keep)})()}
        self.temp_file_sets = list(sets)
        self.GRADIO_CACHE = str(cache)


def test_the_cleaner_forgets_a_deleted_file_in_every_set_and_removes_its_empty_folder(app, tmp_path):  # noqa: F811
    assert route_utils.delete_files_created_by_app is served_files.delete_files_created_by_app  # by build_demo
    cache = tmp_path / "cache"
    shared = Path(served_files.save_pil_to_cache(_picture(), str(cache), format="png"))  # sent to two outputs
    kept = Path(served_files.save_pil_to_cache(Image.new("L", (4, 4)), str(cache), format="png"))  # an example
    busy = Path(served_files.save_pil_to_cache(Image.new("L", (5, 5)), str(cache), format="png"))
    (busy.parent / "upload.png").write_bytes(b"made by another request, not listed yet")
    preview, result = {str(shared), str(kept)}, {str(shared), str(busy)}
    before = _Blocks(cache, set(preview), set(result), keep={str(kept)})
    served_files._original_delete(before, None)  # gradio's own: the second set keeps the deleted file's name
    assert not shared.exists() and before.temp_file_sets[1] == {str(shared)}
    shared = Path(served_files.save_pil_to_cache(_picture(), str(cache), format="png"))
    blocks = _Blocks(cache, preview, result, keep={str(kept)})
    served_files.delete_files_created_by_app(blocks, None)
    assert not shared.exists() and not shared.parent.exists()  # file and its hash folder
    assert preview == {str(kept)} and result == set()  # forgotten in both sets
    assert kept.is_file() and (busy.parent / "upload.png").is_file() and cache.is_dir()
    again = served_files.save_pil_to_cache(_picture(), str(cache), format="png")  # the folder is made anew
    assert Image.open(again).size == (192, 192)
