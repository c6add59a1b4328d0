"""Gradio sessions that cost what they hold: a class opening the page at once does not stall the server.

Gradio 6.31 makes a ``SessionState`` for every new session (each page load, each gradio_client) on the server's
event loop, and that ``SessionState.__init__`` builds the config of every block of the page up front
(``config_values``, kept only for the deep links of ``gr.DeepLinkButton``): ``config_for_block`` on each of this
app's 343 blocks, half of it in ``inspect.signature``. Measured on the app with its three models (2-core machine,
a training on the other core): 43-60 ms and 0.59-0.69 MB per session, against 0.4 ms and 21 kB for
``LazySessionState``. A burst of 50 students pays it on the event loop before their requests reach the batcher (about
1 s on an idle machine), and the sessions stay (up to ``state_session_capacity``, 10,000 by default: 6.9 GB).

``install`` has Gradio create a ``LazySessionState`` instead: the same state, except that a block's config entry is
made when the session first changes that block (Gradio's own ``_update_value_in_config`` already makes a missing
entry) and the rest only when a deep link asks for ``components``, which then lists the same configs as before.
``SESSION_CAPACITY`` bounds the sessions kept (``launch(state_session_capacity=...)``, see layout.LAUNCH_KWARGS).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gradio import blocks, mcp, route_utils, state_holder

_original = state_holder.SessionState  # gradio's own, for comparison in the tests

# The most sessions whose state the server keeps (the oldest unused go first): 20 classes of 50, each holding only
# the values its own events set (a few kB; measured in tests/test_app_sessions.py).
SESSION_CAPACITY = 1000


class _PageWithoutBlocks:
    """What ``SessionState.__init__`` reads of the Blocks, with no block to build a config for."""

    def __init__(self, page: Any):
        self.default_config = page.default_config
        self.blocks: dict[int, Any] = {}


class LazySessionState(_original):
    """``gradio.state_holder.SessionState`` whose per-block configs are made on first use, not up front."""

    def __init__(self, page: Any):
        super().__init__(_PageWithoutBlocks(page))  # everything but the eager config_values (left empty)
        self._page_ids = page.blocks.keys()

    @property
    def components(self) -> Iterator[dict]:
        """The configs a deep link saves: every block of the page (made now where not made yet), in page order,
        then the blocks this session added."""
        made, config_for = self.config_values, self.blocks_config.config_for_block
        page = {k: made[k] if k in made else config_for(k, [], v)
                for k, v in self.blocks_config.blocks.items() if k in self._page_ids}  # fmt: skip
        self.config_values = page | {k: v for k, v in made.items() if k not in page}
        return super().components


def install() -> None:
    """Make Gradio create ``LazySessionState`` sessions (idempotent); everywhere it names SessionState."""
    for module in (state_holder, route_utils, blocks, mcp):
        if getattr(module, "SessionState", None) is _original:
            module.SessionState = LazySessionState
