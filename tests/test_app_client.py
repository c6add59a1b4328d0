"""Every named endpoint through gradio_client against the launched app, as a user's script would call it."""

from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from app_fixtures import CLOTHES, DIGITS, app, app_model_dirs, digit_image, half_mask_layer, server  # noqa: F401
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from demo.common import PARAMETERS_KEY, model_view, parse_parameters, to_images
from demo.registry import unet_backend

ROOT = Path(__file__).resolve().parent.parent
GEN = dict(model=DIGITS, class_name="1", steps=8, guidance=3.0, sampler="dpmpp_2m", eta=0.0, seed=123, batch_size=4)


@pytest.fixture(scope="module")
def client(server):  # noqa: F811
    return Client(server, verbose=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uploads")
    digit_image(56).save(folder / "ring.png")
    half_mask_layer(56).save(folder / "mask.png")
    Image.new("RGBA", (56, 56)).save(folder / "empty.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    return folder


def sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def opened(path: str) -> tuple[Image.Image, dict[str, str]]:
    im = Image.open(path)
    im.load()
    return im, parse_parameters(im.info[PARAMETERS_KEY])


def editor(bg: Path | None, *layers: Path) -> dict:
    return {"background": handle_file(str(bg)) if bg else None, "layers": [handle_file(str(p)) for p in layers],
            "composite": None}  # fmt: skip


def test_named_endpoints(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/generate", "/interpolate", "/edit", "/inpaint", "/variation"} <= names


def test_generate_returns_real_pngs_with_settings_and_is_reproducible(client):
    _preview, grid, gallery, _info = client.predict(*GEN.values(), api_name="/generate")
    assert len(gallery) == 4 and [g["caption"] for g in gallery] == ["seed 123", "seed 124", "seed 125", "seed 126"]
    im, meta = opened(gallery[2]["image"])
    assert im.size == (28, 28) and im.format == "PNG"
    assert np.asarray(im, dtype=np.float32).std() > 2  # not blank
    assert meta == {"Class": "1", "Steps": "8", "Sampler": "dpmpp_2m", "CFG scale": "3.0", "Eta": "0.0",
                    "Seed": "125", "Size": "28x28", "Model": DIGITS}  # fmt: skip
    grid_im, grid_meta = opened(grid)
    assert grid_im.size == (62, 62) and grid_meta["Batch size"] == "4"
    again = client.predict(*GEN.values(), api_name="/generate")
    assert sha(again[1]) == sha(grid) and sha(again[2][2]["image"]) == sha(gallery[2]["image"])
    other = client.predict(*{**GEN, "seed": 124, "batch_size": 1}.values(), api_name="/generate")
    alone, in_batch = (np.asarray(Image.open(x), dtype=np.int16) for x in (other[2][0]["image"], gallery[1]["image"]))
    assert np.abs(alone - in_batch).max() <= 1  # image i of a batch = seed + i alone (DESIGN: within one 8-bit level)


def test_interpolate_and_variation(client):
    image, strip, _info = client.predict(DIGITS, "0", "2", 1, 2, "slerp", 6, 0.25, 5, 3.0, "ddim", 0.5,
                                        api_name="/interpolate")  # fmt: skip
    im, meta = opened(image)
    assert meta["Eta"] == "0.5"
    assert im.size == (28, 28) and meta["Weight"] == "0.25" and meta["Class B"] == "2"
    assert Image.open(strip).size == (6 * 30 + 2, 32)
    var, _ = client.predict(DIGITS, "0", 5, 6, 0.3, 5, 3.0, "ddim", 0.0, api_name="/variation")
    assert opened(var)[1]["Variation seed strength"] == "0.3"


def test_edit_and_inpaint_with_uploaded_files(client, files, app):  # noqa: F811
    seen, result, _info = client.predict(DIGITS, editor(files / "ring.png"), "2", 0.6, "SDEdit (fresh noise)", 10,
                                        3.0, "ddim", 0.0, 9, api_name="/edit")  # fmt: skip
    im, meta = opened(result)
    assert Image.open(seen).size == im.size == (28, 28) and meta["Steps run"] == "6"
    result, mask_view, _info = client.predict(DIGITS, editor(files / "ring.png", files / "mask.png"), "1",
                                             "RePaint resampling", 1, 2, 2, 6, 3.0, "ddim", 0.0, 9,
                                             api_name="/inpaint")  # fmt: skip
    im, meta = opened(result)
    assert im.size == (28, 28) and meta["Inpaint method"] == "repaint" and meta["Jump count"] == "2"
    ring = to_images(model_view(app.registry.get(DIGITS), Image.open(files / "ring.png"))[None])[0]  # at 28x28
    np.testing.assert_array_equal(np.asarray(im)[:, :10], np.asarray(ring)[:, :10])  # far from the mask: unchanged
    assert Image.open(mask_view).mode == "RGB"


@pytest.mark.parametrize(
    ("api_name", "args", "message"),
    [
        ("/generate", {**GEN, "class_name": "9"}, "class must be one of"),
        ("/generate", {**GEN, "steps": 0}, "less than minimum value 1"),
        ("/generate", {**GEN, "steps": 2.5}, "steps must be a whole number in 1..1000"),
        # strings where numbers belong (JSON has no NaN: a crafted request sends "nan"), checked before any handler
        ("/generate", {**GEN, "steps": "abc"}, "Steps must be a number from 1 to 1000, got 'abc'"),
        ("/generate", {**GEN, "guidance": "nan"}, "must be a number from 0 to 20, got 'nan'"),
        ("/generate", {**GEN, "batch_size": ""}, "Batch size must be a number from 1 to 16, got ''"),
        ("/edit", "corrupt", "could not be read as an image"),
        ("/edit", "missing", "no image: upload one"),
        ("/edit", "too-big", "image must be 1..1024 pixels a side, got 1200x1200"),
        ("/inpaint", "empty-mask", "the mask is empty"),
        ("/inpaint", "full-mask", "the mask covers the whole image"),
    ],
)
def test_bad_input_is_an_app_error_and_the_server_goes_on(client, files, api_name, args, message):
    if api_name == "/generate":
        call = list(args.values())
    elif args in ("corrupt", "missing", "too-big"):
        Image.new("L", (1200, 1200)).save(files / "too-big.png")
        image = None if args == "missing" else editor(files / f"{args}.png")
        call = [DIGITS, image, "2", 0.6, "SDEdit (fresh noise)", 10, 3.0, "ddim", 0.0, 9]
    else:
        layer = files / ("empty.png" if args == "empty-mask" else "full.png")
        if args == "full-mask":
            Image.new("RGBA", (56, 56), (255, 0, 0, 255)).save(layer)
        call = [DIGITS, editor(files / "ring.png", layer), "1", "Latent blending", 1, 2, 2, 6, 3.0, "ddim", 0.0, 9]
    with pytest.raises(AppError, match=message.replace(".", r"\.")):
        client.predict(*call, api_name=api_name)
    good = client.predict(*{**GEN, "batch_size": 1, "steps": 2}.values(), api_name="/generate")
    assert Image.open(good[1]).size == (28, 28)


def test_queue_and_upload_limits(app, client, files):  # noqa: F811
    assert app._queue.max_size == 512 and app._queue.default_concurrency_limit == 128
    assert app.registry.batcher.max_rows == 100 and app.registry.batcher.max_queued_rows == 1024
    big = files / "big.png"  # 6.8 MB of noise: over the 5 MB the app accepts
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (1500, 1500, 3), dtype=np.uint8)).save(big)
    assert big.stat().st_size > 5 * 1024 * 1024
    with pytest.raises(ValueError, match="exceeds the maximum file size of 5242880 bytes"):
        client.predict(model=DIGITS, image=editor(big), api_name="/edit")
    good = client.predict(*{**GEN, "batch_size": 1, "steps": 2}.values(), api_name="/generate")
    assert Image.open(good[1]).size == (28, 28)


def test_the_examples_in_the_readme_run(server, tmp_path, monkeypatch, capsys):  # noqa: F811
    text = (ROOT / "README.md").read_text()
    code = text.split("### Calling the app from Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    local = 'Client("http://127.0.0.1:7860/")'
    assert local in code and '"demo/examples/' in code
    code = code.replace(local, f"Client({server!r}, verbose=False)").replace(
        '"demo/examples/', f'"{ROOT}/demo/examples/'
    )
    monkeypatch.chdir(tmp_path)  # the example writes mask.png
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "Seed: 42, Size: 28x28, Batch size: 4, Model: MNIST digits" in out
    assert "Inpaint method: repaint, Mask blur: 2, Jump length: 5, Jump count: 3" in out
    assert (
        "class must be one of ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'unconditional'], got 'eleven'" in out
    )


def test_app_py_serves_the_checkpoint_folder_or_a_message(monkeypatch, app_model_dirs, tmp_path):  # noqa: F811
    import gradio as gr

    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("LDM_NUM_THREADS", str(torch.get_num_threads()))  # app.py sets it process-wide
    monkeypatch.setenv("LDM_CHECKPOINTS", str(Path(app_model_dirs[0]).parent))
    sys.modules.pop("app", None)
    app_module = importlib.import_module("app")
    assert isinstance(app_module.demo, gr.Blocks)
    assert app_module.demo.registry.names == [CLOTHES, DIGITS, "MNIST digits"]
    monkeypatch.setenv("LDM_CHECKPOINTS", str(tmp_path / "empty"))
    sys.modules.pop("app", None)
    assert len(importlib.import_module("app").demo.registry) == 0
    sys.modules.pop("app", None)


def test_app_py_runs_its_denoisers_as_torchscript_graphs_by_default(monkeypatch, app_model_dirs):  # noqa: F811
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("LDM_NUM_THREADS", str(torch.get_num_threads()))
    monkeypatch.setenv("LDM_CHECKPOINTS", str(Path(app_model_dirs[0]).parent))
    monkeypatch.delenv("LDM_COMPILE")  # the default, as a user starts it
    sys.modules.pop("app", None)
    try:
        demo = importlib.import_module("app").demo
        assert demo._queue.ANALYTICS_MAX_EVENTS == 1000  # its monitoring records are bounded too
        registry = demo.registry
        registry.compile_thread.join(60)
        pipe = registry.get(DIGITS)
        graphs = [p.compiled_unet for p in registry.pipelines.values()]
        assert all(g.ready and g.backend == "torchscript" and g.max_abs_error <= 1e-6 for g in graphs)
        with torch.inference_mode():  # a call goes through the graph and gives the eager module's numbers
            x, t = torch.randn(5, *pipe.latent_shape), torch.tensor([999, 700, 400, 100, 0])
            emb = pipe.class_embeddings([0, 1, 2, -1, 1])  # -1: the null class
            torch.testing.assert_close(pipe.model_output(x, t, emb), pipe.unet(x, t, class_emb=emb), atol=1e-6,
                                       rtol=1e-5)  # fmt: skip
        for value, backend in (("0", None), ("eager", None), ("1", "inductor"), ("TorchScript", "torchscript")):
            monkeypatch.setenv("LDM_COMPILE", value)
            assert unet_backend() == backend
        monkeypatch.setenv("LDM_COMPILE", "yes")
        with pytest.raises(ValueError, match=r"LDM_COMPILE must be one of \['0', '1', 'eager', 'inductor', 'torch"):
            unet_backend()
    finally:
        sys.modules.pop("app", None)
