"""The compiled denoiser (ldm_core.compiled): eager until warmed up and checked, the same numbers after, eager for
good when compiling fails or gives other numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_tiny_pipeline

from ldm_core import compiled


def eager(pipe, x, t, emb):
    """The plain UNet at the thread count the pipeline uses for this batch (threads change float sums)."""
    with compiled.threads_for_batch(len(x)):
        return pipe.unet(x, t, class_emb=emb)


def inputs(pipe, b: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((b, *pipe.latent_shape), generator=g)
    t = torch.randint(0, 1000, (b,), generator=g)
    return x, t, pipe.class_embeddings(torch.randint(0, 3, (b,), generator=g).tolist())


@pytest.mark.slow
def test_compiled_unet_matches_eager_at_every_batch_size_and_sampling_is_unchanged() -> None:
    torch.set_num_threads(1)
    pipe = make_tiny_pipeline()
    before = np.asarray(pipe([0, 1, 2], num_inference_steps=6, seed=3).images)
    c = pipe.compile()
    assert c.ready and c.error is None and c.max_abs_error < 1e-4, c.error
    with torch.inference_mode():
        for b in (1, 2, 3, 7):  # warmed up at 2 and 4: other sizes run the dynamic graph
            x, t, emb = inputs(pipe, b, seed=b)
            torch.testing.assert_close(pipe.model_output(x, t, emb), eager(pipe, x, t, emb), atol=1e-5, rtol=1e-4)
    again = np.asarray(pipe([0, 1, 2], num_inference_steps=6, seed=3).images)
    assert np.abs(again - before).max() <= 1 / 255  # within one 8-bit level, the promise of DESIGN.md


def test_a_failing_compile_leaves_the_pipeline_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = make_tiny_pipeline()
    x, t, emb = inputs(pipe, 2)

    def broken(module, **kw):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(compiled.torch, "compile", broken)
    c = pipe.compile()
    assert not c.ready and "no C++ compiler" in str(c.error)
    with torch.inference_mode():
        torch.testing.assert_close(pipe.model_output(x, t, emb), eager(pipe, x, t, emb), atol=0, rtol=0)


def test_a_compiled_graph_with_other_numbers_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = make_tiny_pipeline()
    monkeypatch.setattr(compiled.torch, "compile", lambda module, **kw: lambda *a, **k: module(*a, **k) + 0.01)
    c = pipe.compile()
    assert not c.ready and "differs from eager by 1.00e-02" in str(c.error)
    x, t, emb = inputs(pipe, 2)
    with torch.inference_mode():
        torch.testing.assert_close(pipe.model_output(x, t, emb), eager(pipe, x, t, emb), atol=0, rtol=0)


def test_calls_stay_eager_while_the_background_compile_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    release = threading.Event()

    def slow(module, **kw):
        release.wait(10)
        return module

    pipe = make_tiny_pipeline()
    monkeypatch.setattr(compiled.torch, "compile", slow)
    c = pipe.compiled_unet = compiled.CompiledUNet(pipe.unet, pipe.latent_shape)
    thread = c.warm_up_in_background()
    x, t, emb = inputs(pipe, 2)
    with torch.inference_mode():
        before = pipe.model_output(x, t, emb)  # served while the compile thread waits
    assert thread.is_alive() and not c.ready
    release.set()
    thread.join(10)
    assert c.ready and c.seconds is not None
    with torch.inference_mode():
        torch.testing.assert_close(pipe.model_output(x, t, emb), before, atol=0, rtol=0)


def test_small_batches_run_on_one_thread_and_the_setting_comes_back() -> None:
    pipe = make_tiny_pipeline()
    seen: list[int] = []
    unet_forward = pipe.unet.forward

    def spy(*a, **k):
        seen.append(torch.get_num_threads())
        return unet_forward(*a, **k)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        pipe.unet.forward = spy
        with torch.inference_mode():
            for b in (1, compiled.SMALL_BATCH, compiled.SMALL_BATCH + 1):
                pipe.model_output(*inputs(pipe, b))
                assert torch.get_num_threads() == 2
        assert seen == [1, 1, 2]
    finally:
        del pipe.unet.forward
        torch.set_num_threads(before)


# ---------------------------------------------------------------------- the TorchScript graph (the app's default)
@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_torchscript_graph_gives_eagers_numbers_at_every_batch_size_and_sampler(prediction_type: str) -> None:
    pipe = make_tiny_pipeline(prediction_type=prediction_type, in_channels=3, image_size=32)  # RGB, a 4x8x8 latent
    runs = {s: np.asarray(pipe([0, 1, 2, None], num_inference_steps=5, sampler=s, seed=3).images)
            for s in ("ddim", "dpmpp_2m", "heun")}  # fmt: skip
    c = pipe.compile(backend="torchscript")
    assert c.ready and c.error is None and c.backend == "torchscript" and c.max_abs_error <= 1e-6, c.error
    assert isinstance(c.compiled, torch.jit.ScriptModule)
    with torch.inference_mode():
        for b in (1, 3, 7, 20):  # traced at 4: any batch size takes the same graph
            x, t, emb = inputs(pipe, b, seed=b)
            torch.testing.assert_close(pipe.model_output(x, t, emb), eager(pipe, x, t, emb), atol=1e-6, rtol=1e-5)
        x, t, emb = inputs(pipe, 2)
        frac = t.float() + 0.37  # Heun and Euler ask at fractional timesteps
        torch.testing.assert_close(pipe.model_output(x, frac, emb), eager(pipe, x, frac, emb), atol=1e-6, rtol=1e-5)
    for s, before in runs.items():
        again = np.asarray(pipe([0, 1, 2, None], num_inference_steps=5, sampler=s, seed=3).images)
        assert np.abs(again - before).max() <= 1 / 255, s  # within one 8-bit level, the promise of DESIGN.md


def test_a_failing_trace_leaves_the_pipeline_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = make_tiny_pipeline()

    def broken(*a, **k):
        raise RuntimeError("tracer cannot record this op")

    monkeypatch.setattr(compiled.torch.jit, "trace", broken)
    c = pipe.compile(backend="torchscript")
    assert not c.ready and "tracer cannot record this op" in str(c.error)
    x, t, emb = inputs(pipe, 2)
    with torch.inference_mode():
        torch.testing.assert_close(pipe.model_output(x, t, emb), eager(pipe, x, t, emb), atol=0, rtol=0)


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match=r"backend must be one of \('torchscript', 'inductor'\), got 'tvm'"):
        make_tiny_pipeline().compile(backend="tvm")
