"""Less work on the server's event loop: it is the one thread that serves every student's page, join, progress bar
and picture, and in a class burst it competes with the sampler for the same two cores.

Two costs of Gradio 6.31 that an idle or busy app pays for nothing:

- Polling. Gradio's queue looks for new events every ``Queue.sleep_when_free`` seconds while nothing waits and for
  progress to send every ``progress_update_sleep_when_free`` seconds while events run: 1 ms and 10 ms on Linux
  (50 ms and 100 ms on Windows, Gradio's own values there). Measured on the 2-core machine: app.py idle used 5-6 %
  of a core (25-29 of 500 CPU ticks in 5 s), nearly all of it those wake-ups, and in a burst each wake-up also takes
  the GIL from the sampler. ``tune_queue`` polls for events every ``EVENT_POLL_S`` (a request waits at most that
  long before Gradio hands it to its handler; the batcher then waits its own window of 50 ms for others anyway) and
  for progress every ``PROGRESS_POLL_S`` (each request's bar moves at most every 0.1 s, see streaming.py). Queued
  events still start back to back: Gradio only sleeps when none is waiting.
- Signatures. Gradio builds a component's config (``Block.get_config``) from ``inspect.signature(cls.__init__)``,
  computed anew each time: 30-40 parameters each, for every input of every event of a new session
  (``SessionState._update_value_in_config``: a class of 50 students at Generate makes 400 of them) and for every
  block when the page is built. A profile of a burst of 50 put a quarter of the event loop's busy time there.
  ``cache_signatures`` computes each Block class's ``__init__`` signature once and stores it as the function's
  ``__signature__``, which ``inspect.signature`` returns as it is (documented in ``inspect``): the same signature,
  once.
"""

from __future__ import annotations

import inspect
from typing import Any

from gradio.blocks import Block

EVENT_POLL_S = 0.02
PROGRESS_POLL_S = 0.05


def tune_queue(demo: Any) -> None:
    """Set the polling intervals of ``demo``'s queue (after ``demo.queue()``)."""
    demo._queue.sleep_when_free = EVENT_POLL_S
    demo._queue.progress_update_sleep_when_free = PROGRESS_POLL_S


def _block_classes() -> list[type]:
    seen: list[type] = []
    todo = [Block]
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.append(cls)
            todo.extend(cls.__subclasses__())
    return seen


def cache_signatures() -> int:
    """Store the signature of every Block class's ``__init__`` (those imported so far) on the function; returns how
    many functions got one (idempotent: one that has a ``__signature__`` keeps it)."""
    n = 0
    for cls in _block_classes():
        init = cls.__init__
        if inspect.isfunction(init) and getattr(init, "__signature__", None) is None:
            init.__signature__ = inspect.signature(init)
            n += 1
    return n
