"""The training replay: ``train all`` records both stages in the model folder, and ``load_replay`` reads it back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from conftest import write_bars_npz
from PIL import Image

from ldm_core.__main__ import main
from ldm_core.replay import REPLAY_DIR, load_replay


def test_train_all_records_a_replay_that_loads_back(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    images = write_bars_npz(tmp_path / "d.npz")
    args = ["train", "all", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "run"),
            "--vae-steps", "6", "--vae-batch-size", "8", "--vae-base-channels", "8", "--vae-channel-mult", "1,2",
            "--latent-channels", "2", "--no-vae-attention", "--disc-start", "100", "--steps", "4", "--batch-size", "8",
            "--unet-base-channels", "16", "--unet-channel-mult", "1,2", "--unet-attention-levels", "",
            "--unet-res-blocks", "1", "--sample-every", "2", "--log-every", "1", "--export", str(tmp_path / "bars")]  # fmt: skip
    assert main(args) == 0
    folder = tmp_path / "bars" / REPLAY_DIR
    assert sorted(p.name for p in folder.iterdir()) == ["replay.json", "stage1.png", "stage2.png"]
    assert sum(p.stat().st_size for p in folder.iterdir()) < 50_000
    r = load_replay(tmp_path / "bars")
    assert r["stage1"]["steps"] == [2, 4, 6] and r["stage2"]["steps"] == [2, 4]  # the final grid repeats the last
    assert r["stage1"]["frames"].shape == (3, 8, 8, 8, 1) and r["stage2"]["frames"].shape == (2, 2, 8, 8, 1)
    np.testing.assert_allclose(r["stage1"]["originals"][..., 0], images[:8] / 255.0, atol=1 / 255)  # the fixed images
    last = np.asarray(Image.open(tmp_path / "run" / "vae" / "samples" / "step_000006.png").convert("L")) / 255.0
    np.testing.assert_allclose(r["stage1"]["frames"][-1, 0, ..., 0], last[12:20, 2:10], atol=1 / 255)  # recon row
    losses = r["stage2"]["losses"]
    assert losses["step"] == [1, 2, 3, 4] and len(losses["loss"]) == 4 and all(v > 0 for v in losses["loss"])
    assert len(r["stage1"]["losses"]["psnr"]) == 6
    assert r["commands"][1].startswith("python -m ldm_core train all")
    json.loads((folder / "replay.json").read_text())  # plain JSON, no pickle
