"""The micro-batcher and the shared sampling routine: merged requests give each the images it gets alone."""

from __future__ import annotations

import contextlib
import copy
import itertools
import platform
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from ldm_core import Batcher, LatentDiffusionPipeline, Preview, ServerBusy
from ldm_core.batching import _Request
from ldm_core.sampling import SamplingJob, SamplingRun, run_jobs

STEPS = 6


class Stopped(Exception):
    pass


def batched_pipe(pipe: LatentDiffusionPipeline, batcher: Batcher) -> tuple[LatentDiffusionPipeline, list[int]]:
    """A shallow copy of ``pipe`` whose jobs go through ``batcher``; returns it and the row count of every UNet call."""
    p = copy.copy(pipe)
    rows: list[int] = []
    unet_output = pipe.model_output

    def counted(x: torch.Tensor, t: torch.Tensor, class_emb: torch.Tensor) -> torch.Tensor:
        rows.append(len(x))
        return unet_output(x, t, class_emb)

    p.model_output = counted  # type: ignore[method-assign]
    p.batcher = batcher.runner(p)
    return p, rows


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call in its own thread at once (as a class pressing Generate); results or exceptions, in order."""
    results: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def work(k: int) -> None:
        start.wait()
        try:
            results[k] = calls[k]()
        except Exception as e:
            results[k] = e

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(calls))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    return results


REQUESTS: list[dict[str, Any]] = [
    {"class_labels": [0, 1], "seed": 3, "guidance_scale": 2.0},
    {"class_labels": [2], "seed": 100, "guidance_scale": 1.0},
    {"class_labels": [None, 1, 2], "seed": 7, "guidance_scale": 5.0, "eta": 0.5},
    {"class_labels": [1], "seed": 11, "guidance_scale": 0.0, "eta": 1.0},
]


@pytest.mark.parametrize("sampler", ["ddim", "ddpm", "dpmpp_2m"])
def test_merged_requests_get_the_images_they_get_alone(tiny_pipe: LatentDiffusionPipeline, sampler: str) -> None:
    batcher = Batcher(window_s=0.2)
    pipe, rows = batched_pipe(tiny_pipe, batcher)
    alone = [tiny_pipe(num_inference_steps=STEPS, sampler=sampler, **r) for r in REQUESTS]
    merged = run_together([lambda r=r: pipe(num_inference_steps=STEPS, sampler=sampler, **r) for r in REQUESTS])
    assert [(b.requests, b.images) for b in batcher.history] == [(4, 7)]  # one batched run of all 7 images
    assert max(rows) == 13  # 7 images in one UNet call, each with its unconditional twin but the one at guidance 1
    for a, m in zip(alone, merged, strict=True):
        assert m.seeds == a.seeds and m.class_labels == a.class_labels
        torch.testing.assert_close(m.latents, a.latents, atol=1e-3, rtol=1e-3)
        assert np.abs(m.images - a.images).max() < 1 / 255  # DESIGN.md: within one 8-bit level


def test_other_settings_form_their_own_group(tiny_pipe: LatentDiffusionPipeline) -> None:
    batcher = Batcher(window_s=0.2)
    pipe, _ = batched_pipe(tiny_pipe, batcher)
    calls = [
        lambda: pipe([0], num_inference_steps=STEPS, seed=1),
        lambda: pipe([1], num_inference_steps=STEPS + 1, seed=2),  # other timesteps
        lambda: pipe([2], num_inference_steps=STEPS, seed=3, sampler="euler"),  # other sampler
        lambda: pipe([1], num_inference_steps=STEPS, seed=4),
    ]
    outs = run_together(calls)
    assert sorted((b.requests, b.images) for b in batcher.history) == [(1, 1), (1, 1), (2, 2)]
    torch.testing.assert_close(
        outs[3].latents, tiny_pipe([1], num_inference_steps=STEPS, seed=4).latents, atol=1e-3, rtol=1e-3
    )


def test_other_settings_join_the_same_run_as_sampler_loops_of_their_own(tiny_pipe: LatentDiffusionPipeline) -> None:
    batcher = Batcher(window_s=0.2, join_running=True)
    pipe, rows = batched_pipe(tiny_pipe, batcher)
    requests = [
        {"class_labels": [0], "num_inference_steps": STEPS, "seed": 1},
        {"class_labels": [1], "num_inference_steps": STEPS + 1, "seed": 2},  # other timesteps
        {"class_labels": [2], "num_inference_steps": STEPS, "seed": 3, "sampler": "euler"},  # other sampler
        {"class_labels": [1], "num_inference_steps": STEPS, "seed": 4},
    ]
    outs = run_together([lambda r=r: pipe(guidance_scale=2.0, **r) for r in requests])
    assert [(b.requests, b.images) for b in batcher.history] == [(4, 4)]  # one run, three sampler loops in it
    assert rows == [8] * STEPS + [2]  # one UNet call a step for all (x2: guidance); the 7-step loop ends alone
    for r, out in zip(requests, outs, strict=True):
        alone = tiny_pipe(guidance_scale=2.0, **r)
        torch.testing.assert_close(out.latents, alone.latents, atol=1e-3, rtol=1e-3)
        assert np.abs(out.images - alone.images).max() < 1 / 255


def test_max_rows_splits_a_burst(tiny_pipe: LatentDiffusionPipeline) -> None:
    batcher = Batcher(window_s=0.2, max_rows=4)
    pipe, rows = batched_pipe(tiny_pipe, batcher)
    outs = run_together([lambda s=s: pipe([0, 1], num_inference_steps=3, seed=s) for s in range(5)])
    assert sum(b.images for b in batcher.history) == 10
    assert max(b.images for b in batcher.history) <= 4 and max(rows) <= 8
    for s, out in enumerate(outs):
        torch.testing.assert_close(
            out.latents, tiny_pipe([0, 1], num_inference_steps=3, seed=s).latents, atol=1e-3, rtol=1e-3
        )


def test_a_stopped_request_leaves_the_batch_alone(tiny_pipe: LatentDiffusionPipeline) -> None:
    batcher = Batcher(window_s=0.2)
    pipe, rows = batched_pipe(tiny_pipe, batcher)

    def stop_at_step_2(info: Any) -> None:
        if info.i == 2:
            raise Stopped("pressed Stop")

    outs = run_together([
        lambda: pipe([0, 1, 2], num_inference_steps=STEPS, seed=0, guidance_scale=2.0, callback=stop_at_step_2),
        lambda: pipe([1], num_inference_steps=STEPS, seed=9, guidance_scale=2.0),
    ])  # fmt: skip
    assert isinstance(outs[0], Stopped)
    # steps 0-2 ran 4 images (x2 for guidance); once the 3 stopped rows left, the UNet saw only the other request
    assert rows == [8, 8, 8] + [2] * (STEPS - 3)
    alone = tiny_pipe([1], num_inference_steps=STEPS, seed=9, guidance_scale=2.0)
    torch.testing.assert_close(outs[1].latents, alone.latents, atol=1e-3, rtol=1e-3)


def test_when_every_request_stops_the_run_ends(tiny_pipe: LatentDiffusionPipeline) -> None:
    batcher = Batcher(window_s=0.0)
    pipe, rows = batched_pipe(tiny_pipe, batcher)

    def stop(info: Any) -> None:
        raise Stopped("gone")

    with pytest.raises(Stopped):
        pipe([0], num_inference_steps=STEPS, seed=0, callback=stop)
    assert len(rows) == 1  # the sampler did not go on for nobody


def test_each_request_gets_its_own_previews(tiny_pipe: LatentDiffusionPipeline) -> None:
    batcher = Batcher(window_s=0.2)
    pipe, _ = batched_pipe(tiny_pipe, batcher)
    got: dict[int, list[Preview]] = {0: [], 1: []}
    inter: dict[int, list] = {}

    def call(k: int, labels: list[int]) -> Any:
        out = pipe(labels, num_inference_steps=24, seed=10 * k, on_preview=got[k].append, return_intermediates=True)
        inter[k] = out.intermediates
        return out

    run_together([lambda: call(0, [0, 1]), lambda: call(1, [2])])
    assert [b.requests for b in batcher.history] == [2]
    for k, n in ((0, 2), (1, 1)):
        assert [p.step for p in got[k]] == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]  # every 2 steps, not the last
        assert all(p.total == 24 and p.images.shape == (n, 28, 28, 1) for p in got[k])
        expected = tiny_pipe.preview_images(inter[k][3]["x0"])  # after step 4: this request's own x̂_0
        np.testing.assert_allclose(got[k][1].images, expected, atol=1e-5)


def test_inpaint_img2img_and_interpolate_through_the_batcher(tiny_pipe: LatentDiffusionPipeline) -> None:
    batcher = Batcher(window_s=0.2)
    pipe, _ = batched_pipe(tiny_pipe, batcher)
    rng = np.random.default_rng(0)
    img = (rng.random((28, 28)) * 255).astype(np.uint8)
    mask = np.zeros((28, 28), np.uint8)
    mask[8:20, 8:20] = 1
    calls = {
        "inpaint": lambda p: p.inpaint(img, mask, [1], num_inference_steps=STEPS, seed=2),
        "repaint": lambda p: p.inpaint(
            img, mask, [1], num_inference_steps=4, seed=2, method="repaint", jump_length=2, jump_n_sample=2
        ),
        "img2img": lambda p: p.img2img(img, 0.5, [2], num_inference_steps=STEPS, seed=5, eta=0.3),
        "interpolate": lambda p: p.interpolate(0, 1, [0.0, 0.3, 1.0], [0], num_inference_steps=STEPS),
    }
    merged = dict(zip(calls, run_together([lambda f=f: f(pipe) for f in calls.values()]), strict=True))
    for name, f in calls.items():
        alone = f(tiny_pipe)
        torch.testing.assert_close(merged[name].latents, alone.latents, atol=1e-3, rtol=1e-3)
        assert np.abs(merged[name].images - alone.images).max() < 1 / 255, name


def test_busy_when_too_many_images_wait(tiny_pipe: LatentDiffusionPipeline) -> None:
    batcher = Batcher(window_s=0.5, max_queued_rows=4)
    pipe, _ = batched_pipe(tiny_pipe, batcher)
    outs = run_together([lambda s=s: pipe([0, 1, 2], num_inference_steps=2, seed=s) for s in range(3)])
    busy = [o for o in outs if isinstance(o, ServerBusy)]
    assert len(busy) == 2 and sum(not isinstance(o, Exception) for o in outs) == 1
    assert "The server is busy: 3 images are waiting (at most 4). Please try again in about" in str(busy[0])
    assert busy[0].retry_after_s > 0


def two_image_job(pipe: LatentDiffusionPipeline, steps: int, sampler: str, seed: int, scale: float,
                  latent: tuple[int, ...] = (4, 7, 7)) -> SamplingJob:  # fmt: skip
    """A sampling job of two images (classes 0 and 1) as the pipeline would make it."""
    gens = pipe.make_generators(seed, 2)
    return SamplingJob(x=torch.cat([torch.randn((1, *latent), generator=g) for g in gens]),
                       timesteps=pipe.check_args(steps, scale, sampler).timesteps(),
                       class_emb=pipe.class_embeddings([0, 1]), guidance=torch.full((2,), scale),
                       eta=torch.zeros(2), generators=gens, sampler=sampler)  # fmt: skip


def test_a_run_counts_the_image_steps_it_has_left(tiny_pipe: LatentDiffusionPipeline) -> None:
    run = SamplingRun(tiny_pipe)
    run.add([two_image_job(tiny_pipe, 4, "ddim", 0, 1.0), two_image_job(tiny_pipe, 6, "dpmpp_2m", 1, 2.0)])
    assert run.work_left() == 2 * 4 + 2 * 6
    run.step()
    assert run.work_left() == 2 * 3 + 2 * 5
    for _ in range(3):
        run.step()
    assert run.work_left() == 2 * 2  # the 4-step loop has ended and left the run
    while run:
        run.step()
    assert run.work_left() == 0


def test_one_run_answers_loops_of_other_samplers_and_step_counts_with_one_unet_call_a_step(
    tiny_pipe: LatentDiffusionPipeline,
) -> None:
    job = partial(two_image_job, tiny_pipe)
    specs = [(6, "ddim", 0, 3.0), (4, "dpmpp_2m", 1, 1.0), (3, "heun", 2, 2.0), (6, "ddim", 3, 5.0)]
    alone = [run_jobs(tiny_pipe, [job(*spec)])[0] for spec in specs]
    calls: list[int] = []
    inner = tiny_pipe.model_output
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tiny_pipe, "model_output", lambda x, t, e: calls.append(len(set(t.tolist()))) or inner(x, t, e))
        merged = run_jobs(tiny_pipe, [job(*spec) for spec in specs])
    # heun's 3 steps make 5 denoiser calls; the longest loops (ddim, 6 steps) set the number of batched calls
    assert len(calls) == 6 and max(calls) >= 3  # one call a step, several timesteps in it
    for a, m in zip(alone, merged, strict=True):
        torch.testing.assert_close(m, a, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="a sampling run needs one latent shape"):
        run_jobs(tiny_pipe, [job(3, "ddim", 0, 1.0), job(3, "ddim", 0, 1.0, latent=(4, 8, 8))])
    with pytest.raises(ValueError, match="needs 2 generators, got 1"):
        SamplingJob(x=torch.zeros(2, 4, 7, 7), timesteps=torch.arange(3), class_emb=torch.zeros(2, 8),
                    guidance=torch.ones(2), eta=torch.zeros(2), generators=tiny_pipe.make_generators(0, 1))  # fmt: skip


def test_the_worker_runs_torch_with_its_own_thread_count(tiny_pipe: LatentDiffusionPipeline) -> None:
    # OpenMP settings are per thread: the worker sets its own, whatever the caller's thread has
    seen: list[int] = []
    caller = torch.get_num_threads()
    for wanted in (1, 2):
        p, _rows = batched_pipe(tiny_pipe, Batcher(window_s=0, num_threads=wanted))
        inner = p.model_output

        def spy(x: torch.Tensor, t: torch.Tensor, class_emb: torch.Tensor, inner=inner) -> torch.Tensor:
            seen.append(torch.get_num_threads())
            return inner(x, t, class_emb)

        p.model_output = spy  # type: ignore[method-assign]
        p([0], num_inference_steps=2, seed=0, guidance_scale=1.0)
        assert set(seen) == {wanted} and torch.get_num_threads() == caller  # the caller's thread is left as it was
        seen.clear()
    with pytest.raises(ValueError, match="num_threads >= 1"):
        Batcher(num_threads=0)


def test_the_worker_hands_free_memory_back_only_when_its_queue_is_empty(
    tiny_pipe: LatentDiffusionPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ldm_core import batching

    assert batching.release_free_memory() is (batching._malloc_trim is not None)
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert batching._malloc_trim is not None  # the servers this runs on: the trim is real, not skipped
    calls: list[int] = []
    batcher = Batcher(window_s=0.2, max_rows=2)  # five requests of 2 images: five runs back to back
    monkeypatch.setattr(batching, "release_free_memory", lambda: calls.append(len(batcher._pending)) or True)
    pipe, _rows = batched_pipe(tiny_pipe, batcher)
    run_together([lambda s=s: pipe([0, 1], num_inference_steps=2, seed=s) for s in range(5)])
    assert len(batcher.history) == 5
    assert calls == [0] and batcher.trims == 1  # once, after the last run, with nothing waiting
    quiet = Batcher(window_s=0, trim_when_idle=False)
    pipe, _rows = batched_pipe(tiny_pipe, quiet)
    pipe([0], num_inference_steps=2, seed=0)
    assert quiet.trims == 0 and calls == [0]


def burst_behind_a_blocker(tiny_pipe: LatentDiffusionPipeline, batcher: Batcher) -> tuple[list[int], list[Any]]:
    """9 requests of 4 images (2 steps, guidance 1) queued while a run of 1 image (3 steps) waits at its first
    UNet call; -> the rows of every UNet call and the 9 outputs."""
    pipe, rows = batched_pipe(tiny_pipe, batcher)
    gate, inner = threading.Event(), pipe.model_output

    def gated(x: torch.Tensor, t: torch.Tensor, class_emb: torch.Tensor) -> torch.Tensor:
        gate.wait(60)  # the first run waits here until the whole burst is queued behind it
        return inner(x, t, class_emb)

    pipe.model_output = gated  # type: ignore[method-assign]
    blocker = threading.Thread(target=lambda: pipe([0], num_inference_steps=3, seed=99, guidance_scale=1.0))
    blocker.start()  # another kind of job (other timesteps)
    deadline = time.monotonic() + 30
    while batcher._running_rows != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    outs: list[Any] = [None] * 9

    def call(s: int) -> None:
        outs[s] = pipe([0, 1, 2, 0], num_inference_steps=2, seed=s, guidance_scale=1.0)

    threads = [threading.Thread(target=call, args=(s,)) for s in range(9)]
    for th in threads:
        th.start()
    while len(batcher._pending) < 9 and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.set()
    for th in [blocker, *threads]:
        th.join(60)
    for s in (0, 8):
        torch.testing.assert_close(outs[s].latents, tiny_pipe([0, 1, 2, 0], num_inference_steps=2, seed=s,
                                   guidance_scale=1.0).latents, atol=1e-3, rtol=1e-3)  # fmt: skip
    return rows, outs


def test_a_burst_is_cut_into_equal_runs_not_full_ones_and_a_remainder(tiny_pipe: LatentDiffusionPipeline) -> None:
    batcher = Batcher(window_s=0.0, max_rows=16)
    burst_behind_a_blocker(tiny_pipe, batcher)
    assert [b.images for b in batcher.history] == [1, 12, 12, 12]  # 36 images: not 16 + 16 + 4


def test_waiting_requests_join_a_run_under_way_up_to_its_row_limit(tiny_pipe: LatentDiffusionPipeline) -> None:
    batcher = Batcher(window_s=0.0, max_rows=16, join_running=True)
    rows, _ = burst_behind_a_blocker(tiny_pipe, batcher)
    # the blocker's first step ran alone; then 3 requests (12 images) joined its run at its second step, the
    # next 4 once those were done, ... never more than 16 images in a call
    assert rows[:3] == [1, 13, 13] and max(rows) == 16 and sum(rows) == 3 + 36 * 2
    assert sum(b.images for b in batcher.history) == 37 and not batcher._pending


def test_requests_that_keep_arriving_wait_for_each_other_up_to_the_longest_window(
    tiny_pipe: LatentDiffusionPipeline,
) -> None:
    # one request every 0.1 s: a fixed 0.3 s window would start with the first three; the worker waits while more
    # keep coming (a class's requests reach the server over a second or so)
    batcher = Batcher(window_s=0.3, max_window_s=3.0)
    pipe, _rows = batched_pipe(tiny_pipe, batcher)
    results: list[Any] = []
    threads = []
    for s in range(6):
        threads.append(threading.Thread(target=lambda s=s: results.append(pipe([1], num_inference_steps=2, seed=s))))
        threads[-1].start()
        time.sleep(0.1)
    for th in threads:
        th.join(60)
    assert len(results) == 6 and [b.requests for b in batcher.history] == [6]
    late = Batcher(window_s=0.05, max_window_s=0.05)  # the longest window bounds the wait
    pipe, _rows = batched_pipe(tiny_pipe, late)
    threads = [threading.Thread(target=lambda s=s: pipe([1], num_inference_steps=2, seed=s)) for s in range(2)]
    threads[0].start()
    time.sleep(0.5)
    threads[1].start()
    for th in threads:
        th.join(60)
    assert [b.requests for b in late.history] == [1, 1]
    with pytest.raises(ValueError, match="0 <= window_s <= max_window_s"):
        Batcher(window_s=0.5, max_window_s=0.1)


def test_in_a_run_of_many_requests_each_previews_less_often_taking_turns(tiny_pipe: LatentDiffusionPipeline) -> None:
    from ldm_core.sampling import PREVIEWING_JOBS

    n = 2 * PREVIEWING_JOBS + 4  # 20 requests: each previews every third preview step
    batcher = Batcher(window_s=0.3, max_window_s=3.0)
    pipe, _ = batched_pipe(tiny_pipe, batcher)
    got: dict[int, list[Preview]] = {k: [] for k in range(n)}
    run_together([lambda k=k: pipe([k % 3], num_inference_steps=24, seed=k, on_preview=got[k].append)
                  for k in range(n)])  # fmt: skip
    assert [b.requests for b in batcher.history] == [n]
    slots = list(range(2, 24, 2))  # every 2 steps when alone (11 previews)
    per_step = {s: sum(s in [p.step for p in got[k]] for k in range(n)) for s in slots}
    for k in range(n):
        steps = [p.step for p in got[k]]
        assert steps and set(steps) <= set(slots) and len(steps) in (3, 4), (k, steps)
        assert all(b - a == 6 for a, b in itertools.pairwise(steps))  # every third slot
    assert max(per_step.values()) <= 7 and sum(per_step.values()) == sum(len(v) for v in got.values())


def test_with_two_workers_a_burst_is_cut_into_an_even_number_of_runs() -> None:
    batcher = Batcher(max_rows=16, num_workers=2)
    model = object()
    batcher._pending = [_Request(model, SimpleNamespace(num_images=4, group_key="k")) for _ in range(12)]  # type: ignore[arg-type]
    taken = []
    for finished_before in (False, False, True, False):  # both workers take a run, one ends, takes the next, ...
        if finished_before:
            batcher._active_runs -= 1
        taken.append(sum(r.job.num_images for r in batcher._take_group()))
    # 48 images, at most 16 a run: three runs of 16 would leave one worker idle through the third; four of 12 do not
    assert taken == [12, 12, 12, 12] and not batcher._pending


def test_a_worker_that_frees_up_takes_its_fair_part_of_what_waits_and_of_what_other_runs_have_left() -> None:
    batcher = Batcher(max_rows=64, num_workers=2)
    model = object()

    def waiting() -> _Request:  # 4 images of 10 steps
        return _Request(model, SimpleNamespace(num_images=4, group_key="k", timesteps=torch.arange(10)))  # type: ignore[arg-type]

    batcher._pending, batcher._active_runs = [waiting() for _ in range(10)], 1
    batcher._runs = [SimpleNamespace(work_left=lambda: 200)]  # type: ignore[list-item]  # 20 images' steps to go
    # (40 waiting + 20 left) / 2 workers = 30 images each: this worker takes 32 (whole requests), the other worker
    # the last 8 when its run ends, and both end about together
    assert sum(r.job.num_images for r in batcher._take_group()) == 32 and len(batcher._pending) == 2
    batcher._pending, batcher._active_runs = [waiting() for _ in range(10)], 1
    batcher._runs = [SimpleNamespace(work_left=lambda: 900)]  # type: ignore[list-item]  # far behind: take all
    assert sum(r.job.num_images for r in batcher._take_group()) == 40 and not batcher._pending
    batcher._pending, batcher._active_runs = [waiting() for _ in range(20)], 1
    assert sum(r.job.num_images for r in batcher._take_group()) == 64  # never past max_rows
    batcher._pending, batcher._active_runs, batcher._runs = [waiting() for _ in range(10)], 1, []
    assert sum(r.job.num_images for r in batcher._take_group()) == 40  # nothing under way to share with


def test_two_workers_split_what_waits_into_runs_side_by_side(tiny_pipe: LatentDiffusionPipeline) -> None:
    batcher = Batcher(window_s=0.2, num_workers=2, num_threads=1)
    pipe, _ = batched_pipe(tiny_pipe, batcher)
    overlap = {"now": 0, "most": 0}
    lock = threading.Lock()
    inner = pipe.model_output
    threads_seen: set[int] = set()
    meet, met = threading.Barrier(2, timeout=10), set()

    def watched(x: torch.Tensor, t: torch.Tensor, class_emb: torch.Tensor) -> torch.Tensor:
        with lock:
            overlap["now"] += 1
            overlap["most"] = max(overlap["most"], overlap["now"])
            threads_seen.add(torch.get_num_threads())
            first = threading.get_ident() not in met
            met.add(threading.get_ident())
        try:
            if first:  # each worker's first call waits for the other's: side by side, they meet at once
                with contextlib.suppress(threading.BrokenBarrierError):
                    meet.wait()
            return inner(x, t, class_emb)
        finally:
            with lock:
                overlap["now"] -= 1

    pipe.model_output = watched  # type: ignore[method-assign]
    alone = [tiny_pipe(num_inference_steps=STEPS, **r) for r in REQUESTS]
    merged = run_together([lambda r=r: pipe(num_inference_steps=STEPS, **r) for r in REQUESTS])
    # 4 requests (7 images) with both workers idle: two runs of whole requests (which go where depends on the order
    # in which they arrived)
    runs = [(b.requests, b.images) for b in batcher.history]
    assert len(runs) == 2 and sum(r for r, _ in runs) == 4 and sum(i for _, i in runs) == 7
    assert overlap["most"] == 2  # the two runs sampled at the same time
    assert threads_seen == {1}  # each worker on its own one torch thread
    for a, m in zip(alone, merged, strict=True):
        assert m.seeds == a.seeds
        assert np.abs(m.images - a.images).max() < 1 / 255  # DESIGN.md: within one 8-bit level
    with pytest.raises(ValueError, match="num_workers"):
        Batcher(num_workers=0)


def arrive_during(pipe: LatentDiffusionPipeline, rows: list[int], batcher: Batcher, calls: int,
                  arrive: Callable[[], Any]) -> threading.Thread:  # fmt: skip
    """Start ``arrive`` in a thread once ``pipe`` (from ``batched_pipe``) has made ``calls`` UNet calls, and hold the
    next call until it waits in ``batcher``; -> that thread."""
    inner, thread = pipe.model_output, threading.Thread(target=arrive)

    def arriving(x: torch.Tensor, t: torch.Tensor, class_emb: torch.Tensor) -> torch.Tensor:
        if len(rows) == calls:
            thread.start()
            deadline = time.monotonic() + 30
            while not batcher._pending and time.monotonic() < deadline:
                time.sleep(0.005)
        return inner(x, t, class_emb)

    pipe.model_output = arriving  # type: ignore[method-assign]
    return thread


def test_a_request_that_arrives_mid_run_joins_it_and_gets_the_images_it_gets_alone(
    tiny_pipe: LatentDiffusionPipeline,
) -> None:
    batcher = Batcher(window_s=0.0, join_running=True)
    (pipe, rows), late = batched_pipe(tiny_pipe, batcher), {}
    arriving = arrive_during(pipe, rows, batcher, 2, lambda: late.update(out=pipe(  # the first request's third step
        [2, 0, 1], num_inference_steps=4, seed=5, guidance_scale=2.0, sampler="dpmpp_2m")))  # fmt: skip
    first = pipe([1], num_inference_steps=STEPS, seed=3, guidance_scale=2.0)
    arriving.join(60)
    # one run: 1 image (x2, guidance) for three steps, the 3 late images beside it from its fourth, on to their own
    # fourth and last step after the first request has ended
    assert rows == [2, 2, 2, 8, 8, 8, 6] and [(b.requests, b.images) for b in batcher.history] == [(2, 4)]
    for out, alone in ((first, tiny_pipe([1], num_inference_steps=STEPS, seed=3, guidance_scale=2.0)),
                       (late["out"], tiny_pipe([2, 0, 1], num_inference_steps=4, seed=5, guidance_scale=2.0,
                                               sampler="dpmpp_2m"))):  # fmt: skip
        torch.testing.assert_close(out.latents, alone.latents, atol=1e-3, rtol=1e-3)
        assert np.abs(out.images - alone.images).max() < 1 / 255


def test_what_joins_a_run_the_oldest_of_its_kind_the_lighter_run_first_and_none_past_another_kind() -> None:
    batcher = Batcher(max_rows=16, num_workers=2, join_running=True)
    model, other = object(), object()

    def waiting(m: object, n: int, shape: tuple = (4, 7, 7)) -> _Request:
        return _Request(m, SimpleNamespace(num_images=n, batch_key=shape))  # type: ignore[arg-type]

    run_a, run_b = SimpleNamespace(rows=4, shape=(4, 7, 7)), SimpleNamespace(rows=8, shape=(4, 7, 7))
    batcher._runs = [run_a, run_b]  # type: ignore[list-item]
    batcher._active_runs = 2
    batcher._pending = [waiting(model, 4) for _ in range(5)]
    # run a (4 images) takes requests until it holds more than run b (8): 4 -> 8 -> 12
    assert [r.job.num_images for r in batcher._admit(run_a, model)] == [4, 4]  # type: ignore[arg-type]
    run_a.rows = 12
    assert len(batcher._admit(run_b, model)) == 2 and len(batcher._pending) == 1  # type: ignore[arg-type]
    run_b.rows = 16
    assert batcher._admit(run_b, model) == []  # type: ignore[arg-type]  # full
    batcher._active_runs = 1  # a worker is idle: it takes what waits, side by side
    assert batcher._admit(run_a, model) == []  # type: ignore[arg-type]
    batcher._active_runs = 2
    batcher._pending.insert(0, waiting(other, 1))  # the oldest waiting request is another model's: drain, then it
    assert batcher._admit(run_a, model) == [] and len(batcher._pending) == 2  # type: ignore[arg-type]
    batcher._pending = [waiting(model, 1, (4, 8, 8))]  # another latent shape cannot share the calls
    assert batcher._admit(run_a, model) == []  # type: ignore[arg-type]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="OS thread names through prctl: Linux")
def test_the_workers_carry_their_name_in_the_os_so_their_cpu_can_be_told_apart(
    tiny_pipe: LatentDiffusionPipeline,
) -> None:
    from pathlib import Path

    from ldm_core.batching import SAMPLER_THREAD

    pipe, _rows = batched_pipe(tiny_pipe, Batcher(window_s=0))
    inner, names = pipe.model_output, []

    def spy(x: torch.Tensor, t: torch.Tensor, class_emb: torch.Tensor) -> torch.Tensor:
        names.append(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip())
        return inner(x, t, class_emb)

    pipe.model_output = spy  # type: ignore[method-assign]
    pipe([0], num_inference_steps=2, seed=0, guidance_scale=1.0)
    own = Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip()
    assert names == [SAMPLER_THREAD] * 2 and own != SAMPLER_THREAD  # the caller's thread keeps its name


def test_a_request_that_cannot_start_fails_alone_and_the_run_it_joins_goes_on(
    tiny_pipe: LatentDiffusionPipeline,
) -> None:
    batcher = Batcher(window_s=0.0, join_running=True)
    pipe, rows = batched_pipe(tiny_pipe, batcher)
    late: dict[str, Any] = {}  # what the late request got
    bad = SamplingJob(x=torch.zeros(1, 4, 7, 7), timesteps=torch.arange(3).flip(0),
                      class_emb=tiny_pipe.class_embeddings([0]), guidance=torch.ones(1), eta=torch.zeros(1),
                      generators=tiny_pipe.make_generators(0, 1), sampler="no-such-sampler")  # fmt: skip

    def submit_bad() -> None:
        try:
            batcher.submit(pipe, bad)
        except ValueError as e:
            late["error"] = e

    arriving = arrive_during(pipe, rows, batcher, 1, submit_bad)
    out = pipe([1], num_inference_steps=STEPS, seed=3, guidance_scale=2.0)
    arriving.join(60)
    assert "sampler must be one of" in str(late["error"]) and len(rows) == STEPS
    alone = tiny_pipe([1], num_inference_steps=STEPS, seed=3, guidance_scale=2.0)
    torch.testing.assert_close(out.latents, alone.latents, atol=1e-3, rtol=1e-3)
