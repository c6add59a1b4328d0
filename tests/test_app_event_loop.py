"""The event loop's share kept small (demo/event_loop.py): Gradio's queue polls less often, and a component's
signature is computed once, the same signature as before."""

from __future__ import annotations

import inspect
import types

import gradio as gr
from app_fixtures import DIGITS, app, app_model_dirs, server  # noqa: F401
from gradio_client import Client

from demo import event_loop


def fresh_signature(f: types.FunctionType) -> inspect.Signature:
    """The signature of ``f`` computed anew: a copy of the function (same code, defaults, annotations and wrapper
    chain), without any ``__signature__`` stored on ``f``."""
    copy = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
    copy.__kwdefaults__, copy.__annotations__ = f.__kwdefaults__, f.__annotations__
    if hasattr(f, "__wrapped__"):
        copy.__wrapped__ = f.__wrapped__
    return inspect.signature(copy)


def test_every_block_class_keeps_its_signature_computed_once(app):  # noqa: F811
    classes = event_loop._block_classes()
    assert {gr.Image, gr.Slider, gr.Gallery, gr.Dropdown, gr.Blocks, gr.Row} <= set(classes)
    inits = {cls.__init__ for cls in classes if inspect.isfunction(cls.__init__)}
    assert len(inits) > 40
    for init in inits:
        stored = init.__signature__
        assert inspect.signature(init) is stored  # returned as it is, not computed again
        assert stored == fresh_signature(init), init.__qualname__  # names, kinds, defaults, annotations
    assert event_loop.cache_signatures() == 0  # idempotent: nothing left to do
    image = inspect.signature(gr.Image.__init__).parameters
    assert image["format"].default == "webp" and image["type"].default == "numpy"


def test_a_component_config_lists_its_constructor_arguments(app):  # noqa: F811
    image = gr.Image(type="pil", format="png", height=260, elem_id="cfg-test", render=False)
    config = image.get_config()
    assert config["format"] == "png" and config["height"] == 260 and config["elem_id"] == "cfg-test"
    assert config["name"] == "image" and "render" not in config


def test_the_queue_polls_at_the_app_intervals_and_still_serves(app, server):  # noqa: F811
    assert app._queue.sleep_when_free == event_loop.EVENT_POLL_S == 0.02
    assert app._queue.progress_update_sleep_when_free == event_loop.PROGRESS_POLL_S == 0.05
    client = Client(server, verbose=False)
    job = client.submit(DIGITS, "1", 2, 3.0, "ddim", 0.0, 7, 1, api_name="/generate")
    _preview, _grid, gallery, _info = job.result(timeout=60)
    assert [g["caption"] for g in gallery] == ["seed 7"]
