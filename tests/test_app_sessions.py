"""Gradio sessions made lazily (demo/sessions.py): the same state and deep-link configs as Gradio's, a fraction of
the memory, and the app's sessions bounded."""

from __future__ import annotations

import tracemalloc

from app_fixtures import DIGITS, app, app_model_dirs, server  # noqa: F401
from gradio import blocks, route_utils, state_holder
from gradio_client import Client

from demo import LAUNCH_KWARGS, sessions

GEN = [DIGITS, "1", 2, 3.0, "ddim", 0.0, 7, 1]  # model, class, steps, guidance, sampler, eta, seed, batch size


def test_the_app_makes_lazy_sessions_everywhere_gradio_makes_them(app):  # noqa: F811
    for module in (state_holder, route_utils, blocks):
        assert module.SessionState is sessions.LazySessionState
    sessions.install()  # twice is harmless
    assert state_holder.SessionState is sessions.LazySessionState
    assert issubclass(sessions.LazySessionState, sessions._original)


def test_a_new_session_holds_no_block_config_yet_and_far_less_memory(app):  # noqa: F811
    lazy = sessions.LazySessionState(app)
    assert lazy.config_values == {} and lazy.state_data == {} and not lazy.is_closed
    assert set(vars(lazy)) - {"_page_ids"} == set(vars(sessions._original(app)))  # the same attributes as gradio's

    def kb_per_session(cls) -> float:
        cls(app)
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        kept = [cls(app) for _ in range(10)]
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        assert len(kept) == 10
        return sum(s.size_diff for s in after.compare_to(before, "filename")) / 10 / 1024

    eager, light = kb_per_session(sessions._original), kb_per_session(sessions.LazySessionState)
    assert light < eager / 5, (light, eager)  # measured on this app: 20.7 KB against 594 KB


def test_deep_link_components_match_gradios_after_the_same_changes(app):  # noqa: F811
    eager, lazy = sessions._original(app), sessions.LazySessionState(app)
    assert list(lazy.components) == list(eager.components)  # made on demand, same order and content
    lazy = sessions.LazySessionState(app)
    info = next(b for b in app.blocks.values() if b.elem_id == "gen-info")
    batch = next(b for b in app.blocks.values() if b.elem_id == "gen-batch")
    for state in (eager, lazy):
        state._update_value_in_config(info._id, "**done**")  # an event's output value, as Blocks.postprocess_data
        state[batch._id] = batch.__class__(**{**batch.constructor_args, "maximum": 3, "render": False})  # gr.update,
        state._update_config(batch._id)  # as Blocks.postprocess_data does after it
    assert len(lazy.config_values) == 2  # only what changed, until a deep link asks
    assert list(lazy.components) == list(eager.components)
    by_id = {c["id"]: c for c in lazy.components}
    assert by_id[info._id]["props"]["value"] == "**done**" and by_id[batch._id]["props"]["maximum"] == 3


def test_a_served_session_records_only_what_its_events_changed(app, server):  # noqa: F811
    client = Client(server, verbose=False)
    _preview, grid, _gallery, info = client.predict(*GEN, api_name="/generate")
    assert grid and "Seed: 7" in info
    state = app.state_holder[client.session_hash]
    assert isinstance(state, sessions.LazySessionState)
    event = next(fn for fn in app.fns.values() if fn.api_name == "generate")
    touched = {b._id for b in [*event.inputs, *event.outputs]}
    assert set(state.config_values) == touched and len(touched) < len(app.blocks) / 10  # not every block's
    assert app.state_session_capacity == LAUNCH_KWARGS["state_session_capacity"] == sessions.SESSION_CAPACITY
    client.close()
