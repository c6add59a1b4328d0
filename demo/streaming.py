"""Run a pipeline call in a worker thread and stream its progress and previews back to the handler's thread.

The pipeline reports each step through ``callback`` and cheap decoded previews through ``on_preview``; with the
app's batcher these are called from the batcher's thread, where Gradio's progress bar cannot be reached. So both
only put events into a queue, and ``stream`` yields them in the handler's own thread. When the handler is closed
(the Stop button cancels the event, or the client went away), ``stream``'s ``finally`` sets a flag and the callback
raises ``Stopped`` at the next step: the batcher then drops only this request's rows.

Steps reach the handler (and so Gradio's progress bar) at most every ``PROGRESS_INTERVAL_S``, the first at once (the
bar ends when the result comes): Gradio sends a progress message for each update it sees (it looks every 10 ms), so a class of 50 at 25 steps
made 1,250 messages a burst, each one JSON on the server's event loop; ten updates a second is a smooth bar.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ldm_core import PipelineOutput, Preview, StepInfo

PROGRESS_INTERVAL_S = 0.1


class Stopped(Exception):
    """Raised inside the sampler's callback to end a run nobody waits for any more."""


@dataclass
class Step:
    done: int  # steps done so far


Run = Callable[..., PipelineOutput]  # run(callback=..., on_preview=...) -> PipelineOutput


def stream(run: Run, previews: bool = True) -> Iterator[Step | Preview | PipelineOutput]:
    """Yield ``Step``s (and ``Preview``s if asked) while ``run`` samples, then its ``PipelineOutput``; re-raise what
    it raised."""
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()
    last = [float("-inf")]  # when the last step went out

    def callback(info: StepInfo) -> None:
        if stop.is_set():
            raise Stopped
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL_S:
            last[0] = now
            events.put(("step", Step(info.i + 1)))

    def work() -> None:
        try:
            on_preview = (lambda p: events.put(("preview", p))) if previews else None
            events.put(("done", run(callback=callback, on_preview=on_preview)))
        except BaseException as e:  # handed to the consumer, which re-raises it
            events.put(("error", e))

    threading.Thread(target=work, name="ldm-request", daemon=True).start()
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


def run_with_progress(run: Run, total: int, progress: gr.Progress, desc: str) -> PipelineOutput:
    """Run to the end, moving Gradio's progress bar from the handler's thread; previews are not shown."""
    progress((0, total), desc=desc)
    for item in stream(run, previews=False):
        if isinstance(item, Step):
            progress((min(item.done, total), total), desc=desc)
        elif isinstance(item, PipelineOutput):
            return item
    raise RuntimeError("the sampling run ended without a result")
