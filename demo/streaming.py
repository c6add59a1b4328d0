"""Run a pipeline call in a worker thread and stream its predicted-x̂_0 previews to a generator handler.

The pipeline reports each step through a callback; a Gradio handler can only show something by ``yield``. So the
call runs in a thread, the callback decodes x̂_0 every ``every`` steps into a queue, and ``stream`` yields from it.
When the handler is closed (the Stop button cancels the event), ``stream``'s ``finally`` sets a flag and the
callback raises ``Stopped`` at the next step, so the thread does not go on sampling for nobody.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ldm_core import LatentDiffusionPipeline, PipelineOutput, StepInfo


class Stopped(Exception):
    """Raised inside the sampler's callback to end a run nobody waits for any more."""


@dataclass
class Preview:
    step: int  # steps done so far, 1..total
    total: int  # steps in the run
    images: np.ndarray  # decoded x̂_0, float [B, H, W, C] in [0, 1]


def preview_every(total: int, max_previews: int = 12) -> int:
    """Decode a preview every k steps so that a run shows at most about ``max_previews`` of them."""
    return max(1, -(-total // max_previews))


def stream(
    pipe: LatentDiffusionPipeline,
    run: Callable[[Callable[[StepInfo], None]], PipelineOutput],
    total: int,
    every: int | None = None,
) -> Iterator[Preview | PipelineOutput]:
    """Yield ``Preview``s while ``run(callback)`` samples, then its ``PipelineOutput``; re-raise what it raised."""
    every = every or preview_every(total)
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def callback(info: StepInfo) -> None:
        if stop.is_set():
            raise Stopped
        done = info.i + 1
        if done % every == 0 and done < total:  # the last step's x̂_0 is the result itself
            events.put(("preview", Preview(done, total, pipe.decode(info.x0))))

    def work() -> None:
        try:
            events.put(("done", run(callback)))
        except BaseException as e:  # handed to the consumer, which re-raises it
            events.put(("error", e))

    threading.Thread(target=work, name="ldm-sampling", daemon=True).start()
    try:
        while True:
            kind, item = events.get()
            if kind == "error":
                raise item
            yield item
            if kind == "done":
                return
    finally:
        stop.set()
