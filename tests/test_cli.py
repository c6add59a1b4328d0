"""The command line: sample writes the pipeline's images (PNG grid, npz), bad arguments fail clearly, train all works."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_bars_npz
from PIL import Image

from ldm_core import LatentDiffusionPipeline
from ldm_core.__main__ import build_parser, main, sample_labels


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """main(args) -> (exit code, stderr)."""
    try:
        code = main(args)
    except SystemExit as e:
        code = int(e.code or 0)
    return code, capsys.readouterr().err


def test_sample_png_is_the_pipelines_grid(tiny_model_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "grid.png"
    args = ["sample", "--model", tiny_model_dir, "--class", "1", "--n", "5", "--steps", "3", "--seed", "7"]
    assert run([*args, "--out", str(out)], capsys)[0] == 0
    grid = np.asarray(Image.open(out))
    assert grid.shape == (2 * 30 + 2, 3 * 30 + 2)  # 5 images of 28x28 in rows of 3, 2-pixel padding
    pipe = LatentDiffusionPipeline.from_pretrained(tiny_model_dir)
    expected = pipe([1] * 5, num_inference_steps=3, seed=7).images  # [5, 28, 28, 1]
    u8 = (expected[..., 0] * 255).round().astype(np.uint8)
    np.testing.assert_array_equal(grid[2:30, 2:30], u8[0])  # first image, top left
    np.testing.assert_array_equal(grid[32:60, 32:60], u8[4])  # fifth image, second row
    assert grid[32:60, 62:90].max() == 0  # the empty sixth cell


def test_sample_npz_has_images_labels_seeds(tiny_model_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "x.npz"
    args = ["sample", "--model", tiny_model_dir, "--class", "2", "0", "-1", "--n", "4", "--steps", "2"]
    assert run([*args, "--sampler", "euler", "--guidance", "1.5", "--seed", "3", "--out", str(out)], capsys)[0] == 0
    with np.load(out, allow_pickle=False) as d:
        assert d["labels"].tolist() == [2, 0, -1, 2] and d["seeds"].tolist() == [3, 4, 5, 6]
        assert d["images"].shape == (4, 28, 28) and d["images"].dtype == np.uint8
        assert d["class_names"].tolist() == ["class 0", "class 1", "class 2"]
        images = d["images"]
    pipe = LatentDiffusionPipeline.from_pretrained(tiny_model_dir)
    expected = pipe([2, 0, -1, 2], 2, guidance_scale=1.5, sampler="euler", seed=3).images[..., 0]
    assert np.abs(images.astype(float) - expected * 255).max() <= 0.5 + 1e-6


def test_sample_labels_cycle() -> None:
    assert sample_labels(None, 5, 3) == [0, 1, 2, 0, 1]
    assert sample_labels([7], 2, 10) == [7, 7]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--class", "9"], "class label must be in 0..2"),
        (["--guidance", "-1"], "guidance_scale must be in"),
        (["--eta", "2"], "eta must be in"),
        (["--steps", "0"], "must be >= 1"),
        (["--sampler", "magic"], "invalid choice: 'magic'"),
        (["--out", "x.jpg"], "--out must end in .png or .npz"),
    ],
)
def test_sample_bad_arguments(
    tiny_model_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture, extra: list[str], message: str
) -> None:
    args = ["sample", "--model", tiny_model_dir, "--n", "1", "--steps", "2", "--out", str(tmp_path / "a.png")]
    code, err = run([*args, *extra], capsys)
    assert code == 2 and message in err, err


def test_missing_model_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, err = run(["sample", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "a.png")], capsys)
    assert code == 2 and "does not exist" in err


def test_evaluate_is_registered() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"sample", "train", "evaluate", "train-classifier"} <= set(commands)


def test_train_all_exports_a_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    torch.set_num_threads(1)
    write_bars_npz(tmp_path / "d.npz")
    args = ["train", "all", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "run"),
            "--vae-steps", "4", "--vae-batch-size", "8", "--vae-base-channels", "8", "--vae-channel-mult", "1,2",
            "--latent-channels", "2", "--no-vae-attention", "--disc-start", "2", "--disc-warmup", "1",
            "--steps", "4", "--batch-size", "8", "--unet-base-channels", "16", "--unet-channel-mult", "1,2",
            "--unet-attention-levels", "", "--unet-res-blocks", "1", "--guidance", "2.5",
            "--unet-patch-size", "2", "--snr-gamma", "5", "--precision", "bf16",
            "--display-name", "Bars", "--export", str(tmp_path / "bars"), "--seed", "3"]  # fmt: skip
    assert run(args, capsys)[0] == 0
    config = json.loads((tmp_path / "bars" / "config.json").read_text())
    assert config["name"] == "bars" and config["display_name"] == "Bars" and config["default_guidance_scale"] == 2.5
    assert config["vae"]["latent_channels"] == 2 and config["unet"]["attention_levels"] == []
    assert config["unet"]["patch_size"] == 2 and config["training"]["diffusion_training"]["snr_gamma"] == 5
    assert config["training"]["diffusion_training"]["precision"] == "bf16"
    assert config["training"]["steps"] == 4 and config["training"]["command"].startswith("python -m ldm_core train all")
    assert config["vae_training"]["steps"] == 4 and config["image_size"] == 8
    assert config["vae_training"]["vae_training"]["disc_warmup"] == 1
    assert 0.05 < config["scaling_factor"] < 50
    pipe = LatentDiffusionPipeline.from_pretrained(tmp_path / "bars")
    assert pipe([0, 1], num_inference_steps=2).images.shape == (2, 8, 8, 1)
    log = [json.loads(line) for line in (tmp_path / "run" / "diffusion" / "log.jsonl").read_text().splitlines()]
    assert log[0]["scaling_factor"] == config["scaling_factor"]
    # the model card's pictures: loss curves and a class x seed grid
    args = [
        "report",
        "--run",
        str(tmp_path / "run"),
        "--model",
        str(tmp_path / "bars"),
        "--per-class",
        "3",
        "--steps",
        "2",
    ]
    assert run(args, capsys)[0] == 0
    assert Image.open(tmp_path / "bars" / "samples.png").size == (3 * 10 + 2, 2 * 10 + 2)
    assert Image.open(tmp_path / "bars" / "loss.png").size == (640, 224)

    # stage 1b: the decoder fine-tuned on noisy latents, put into the finished model
    data = [
        "--data",
        str(tmp_path / "d.npz"),
        "--vae",
        str(tmp_path / "run" / "vae"),
        "--out",
        str(tmp_path / "run" / "decoder"),
    ]
    args = ["train", "decoder", *data, "--steps", "3", "--batch-size", "8", "--noise-max", "0.3"]
    code, err = run([*args, "--model", str(tmp_path / "bars")], capsys)
    assert code == 2 and "--model and --export go together" in err
    assert run([*args, "--model", str(tmp_path / "bars"), "--export", str(tmp_path / "bars2")], capsys)[0] == 0
    new = LatentDiffusionPipeline.from_pretrained(tmp_path / "bars2")
    assert new.extra_config["decoder_training"]["decoder_training"]["noise_max"] == 0.3
    assert torch.equal(new.unet.conv_in.weight, pipe.unet.conv_in.weight)
    assert torch.equal(new.vae.encoder.conv_in.weight, pipe.vae.encoder.conv_in.weight)
    assert not torch.equal(new.vae.decoder.conv_out.weight, pipe.vae.decoder.conv_out.weight)
    assert (
        run(["report", "--run", str(tmp_path / "run"), "--model", str(tmp_path / "bars2"), "--steps", "2"], capsys)[0]
        == 0
    )
    assert Image.open(tmp_path / "bars2" / "loss.png").size == (960, 224)  # a third panel: the decoder
    # a denoiser's own run folder (trained on a finished model's VAE): its loss alone
    assert run(["report", "--run", str(tmp_path / "run" / "diffusion"), "--model", str(tmp_path / "bars2"), "--steps",
                "2"], capsys)[0] == 0  # fmt: skip
    assert Image.open(tmp_path / "bars2" / "loss.png").size == (320, 224)


def test_report_with_data_measures_train_and_test_and_finds_neighbours(tmp_path, tiny_model_dir, capsys) -> None:
    import json
    import shutil

    import numpy as np
    from PIL import Image

    from ldm_core.__main__ import main

    rng = np.random.default_rng(0)
    data = tmp_path / "d.npz"
    train = (rng.random((40, 28, 28)) * 255).astype(np.uint8)
    np.savez(data, train_images=train, train_labels=np.arange(40) % 3, test_images=train[:8] // 2,
             test_labels=np.arange(8) % 3, class_names=np.array(["a", "b", "c"]))  # fmt: skip
    model = tmp_path / "m"
    shutil.copytree(tiny_model_dir, model)
    run = tmp_path / "run"
    for stage in ("vae", "diffusion"):
        (run / stage).mkdir(parents=True)
        key = "l1" if stage == "vae" else "loss"
        (run / stage / "log.jsonl").write_text("".join(json.dumps({"step": s, key: 1 / (s + 1), "psnr": 20.0}) + "\n"
                                                       for s in range(3)))  # fmt: skip
    assert main(["report", "--run", str(run), "--model", str(model), "--per-class", "1", "--steps", "2",
                 "--data", str(data), "--images", "16"]) in (0, None)  # fmt: skip
    text = capsys.readouterr().out
    numbers = json.loads(text[text.index("{") :])
    assert numbers["train"]["images"] == 16 and numbers["test"]["images"] == 8
    for split in ("train", "test"):
        assert 0 < numbers[split]["l1"] < 2 and numbers[split]["denoising_loss"] > 0
    near = Image.open(model / "nearest.png")
    assert near.size == (6 * 30 + 2, 3 * 30 + 2)  # 3 classes: a sample and its 5 nearest training images per row


def test_train_diffusion_pixel_space_then_a_warm_start_from_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The CLI: --pixel-space needs no --vae (and refuses both); --init-unet takes the given model's UNet."""
    torch.set_num_threads(1)
    write_bars_npz(tmp_path / "d.npz")
    common = ["--data", str(tmp_path / "d.npz"), "--steps", "3", "--batch-size", "8", "--unet-base-channels", "16",
              "--unet-channel-mult", "1,2", "--unet-attention-levels", "", "--unet-res-blocks", "1"]  # fmt: skip
    args = ["train", "diffusion", "--pixel-space", "--out", str(tmp_path / "px"), "--export", str(tmp_path / "pm"),
            *common]  # fmt: skip
    assert run(args, capsys)[0] == 0
    pixel = LatentDiffusionPipeline.from_pretrained(tmp_path / "pm")
    assert pixel.vae.config.identity and pixel.latent_shape == (1, 8, 8) and pixel.scaling_factor == 1.0
    with pytest.raises(SystemExit):  # argparse: not both
        main(["train", "diffusion", "--pixel-space", "--vae", str(tmp_path / "pm"), "--out", str(tmp_path / "x"),
              *common])  # fmt: skip
    args = ["train", "diffusion", "--pixel-space", "--init-unet", str(tmp_path / "pm"), "--out", str(tmp_path / "w"),
            "--export", str(tmp_path / "wm"), *common[:-8], "--unet-base-channels", "32"]  # fmt: skip
    assert run(args, capsys)[0] == 0
    warm = LatentDiffusionPipeline.from_pretrained(tmp_path / "wm")
    assert warm.unet.config == pixel.unet.config  # the architecture came from --init-unet, not --unet-base-channels
    assert warm.extra_config["init_unet"] == str(tmp_path / "pm")
