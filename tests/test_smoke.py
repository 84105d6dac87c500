"""Every experiment's *full* profile executes: ``tlcourse run NAME --smoke`` runs all its arms
at full-profile settings (224-px inputs, every label count) for one optimiser step on tiny data.

The numbers mean nothing; the exit code, the record count and the settings recorded do.
"""

import json
import subprocess
import sys

import pytest

from tlcourse.experiments import list_experiments

EXPERIMENTS = sorted(list_experiments())


def test_smoke_mode_takes_one_step_and_counts_the_rest():
    import torch

    from tlcourse.backbones import create_backbone
    from tlcourse.data import ImageData, few_shot_split
    from tlcourse.smoke import BATCH, smoke_mode
    from tlcourse.train import TrainConfig, evaluate, fit

    data = ImageData(torch.randn(40, 4), torch.arange(40) % 2, ["a", "b"], "toy")
    with smoke_mode() as work:
        hist = fit(torch.nn.Linear(4, 2), data, TrainConfig(epochs=30, batch_size=8,
                                                            progress=False))
        with pytest.raises(ValueError, match="at most 15 labels"):  # real splits, not clamped
            few_shot_split(data, 19, seed=0)
        images = ImageData(torch.randint(0, 256, (10, 1, 28, 28), dtype=torch.uint8),
                           torch.arange(10) % 2, ["a", "b"], "img")
        ev = evaluate(create_backbone("small-cnn", 2, input_size=56), images)
    assert len(hist.epochs) == 1 and hist.epochs[0]["train_acc"] * BATCH in range(BATCH + 1)
    assert work.head_steps == 30 * 5 and work.train_steps == 0  # 30 epochs of 5 batches
    assert len(ev["preds"]) == 10 and work.infer_images == 10 * (56 / 224) ** 2
    assert len(fit(torch.nn.Linear(4, 2), data, TrainConfig(epochs=3, progress=False)).epochs) == 3


def test_smoke_flag_through_a_real_process(tmp_path):
    """The console entry point end to end, once (the per-experiment runs below stay in-process:
    a fresh interpreter per experiment would cost a minute of imports)."""
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "tlcourse.cli", "run", "negative-transfer",
                           "--smoke", "--seed", "0", "--no-progress", "--out", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "SMOKE RUN" in proc.stdout and json.loads(out.read_text())["smoke"]


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_full_profile_smoke_run(name, tmp_path, capsys):
    from tlcourse.cli import main

    out = tmp_path / "r.json"
    code = main(["run", name, "--smoke", "--seed", "0", "--no-progress", "--out", str(out)])
    assert code == 0
    assert "SMOKE RUN" in capsys.readouterr().out
    res = json.loads(out.read_text())
    assert res["profile"] == "full" and res["smoke"] and res["records"]
    assert res["work"]["gpu_seconds_estimate"] > 0 and res["work"]["infer_images"] > 0
    sizes = {r["input_size"] for r in res["records"] if "input_size" in r}
    full_size = res["config"].get("image_size") or res["config"].get("input_size")
    if full_size and sizes:  # the full profile's size, not the quick one's
        assert full_size in sizes
