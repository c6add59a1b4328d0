"""Gradio's cache of served files stays bounded: the app deletes old previews, results and uploads while it runs."""

from __future__ import annotations

import time
from pathlib import Path

from app_fixtures import DIGITS, app, app_model_dirs  # noqa: F401
from gradio_client import Client
from PIL import Image

import demo.layout as layout

GEN = [DIGITS, "1", 2, 3.0, "ddim", 0.0, 7, 1]  # model, class, steps, guidance, sampler, eta, seed, batch size


def served_files(blocks) -> set[str]:
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
        before = served_files(blocks)  # the example images, which gradio keeps for the app's lifetime
        client.predict(*GEN, api_name="/generate")
        made = served_files(blocks) - before
        assert made and all(Path(f).is_file() for f in made)  # the preview/grid/gallery PNGs of that request
        deadline = time.monotonic() + 30
        while any(Path(f).exists() for f in made) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert not [f for f in made if Path(f).exists()]
        assert not made & served_files(blocks)  # forgotten too, so the sets do not grow either
        assert all(Path(f).is_file() for f in before)  # what the page shows for good stays
        _preview, grid, _gallery, _info = client.predict(*GEN, api_name="/generate")
        assert Image.open(grid).size == (28, 28)  # still serving, new files made and fetched
    finally:
        blocks.close()
