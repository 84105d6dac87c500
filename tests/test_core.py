"""Unit tests of the library core on tiny synthetic data."""

import dataclasses

import pytest
import torch

from tlcourse.augment import get_augment, list_augments
from tlcourse.data import ImageData, few_shot_split, sample_per_class, train_val_split
from tlcourse.experiments import summarize
from tlcourse.features import train_head
from tlcourse.train import TrainConfig, evaluate, fit, seed_everything


def _blobs(n_per_class=20, n_cls=3, dim=8, seed=0) -> ImageData:
    """Linearly separable Gaussian blobs as a 'features' dataset."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(n_cls, dim, generator=g) * 8
    y = torch.arange(n_cls).repeat_interleave(n_per_class)
    x = centers[y] + torch.randn(len(y), dim, generator=g)
    return ImageData(x, y, [f"c{i}" for i in range(n_cls)], "blobs")


def _tiny_images(n=12, n_cls=3) -> ImageData:
    y = torch.arange(n_cls).repeat(n // n_cls)
    x = torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8)
    return ImageData(x, y, [str(i) for i in range(n_cls)], "tiny")


def test_few_shot_split_is_stratified_seeded_and_nested():
    data = _blobs(n_per_class=20)
    train, test = few_shot_split(data, 5, seed=3)
    assert train.counts() == [5, 5, 5] and test.counts() == [15, 15, 15]
    again, _ = few_shot_split(data, 5, seed=3)
    assert torch.equal(train.x, again.x)
    other, _ = few_shot_split(data, 5, seed=4)
    assert not torch.equal(train.x, other.x)
    small, _ = few_shot_split(data, 2, seed=3)  # nested: the 2 are among the 5
    assert all(any(torch.equal(a, b) for b in train.x) for a in small.x)
    with pytest.raises(ValueError, match="has 20 images"):
        few_shot_split(data, 20, seed=0)


def test_sample_and_val_split_are_stratified():
    data = _blobs(n_per_class=10)
    assert sample_per_class(data, 4, seed=0).counts() == [4, 4, 4]
    tr, val = train_val_split(data, 0.2, seed=0)
    assert val.counts() == [2, 2, 2] and tr.counts() == [8, 8, 8]


def test_fit_learns_separable_data_and_records_history():
    data = _blobs()
    train, test = few_shot_split(data, 10, seed=0)
    head, hist = train_head(train, TrainConfig(epochs=30, lr=1e-2, progress=False))
    assert evaluate(head, test)["accuracy"] > 0.9
    assert len(hist.epochs) == 30 and hist.seconds > 0
    assert hist.series("train_loss")[-1] < hist.series("train_loss")[0]
    assert hist.config["lr"] == 1e-2


def test_fit_is_reproducible_on_cpu():
    data = _blobs()
    outs = []
    for _ in range(2):
        seed_everything(1)
        model = torch.nn.Linear(8, 3)
        fit(model, data, TrainConfig(epochs=3, progress=False, seed=1))
        outs.append(model.weight.detach().clone())
    assert torch.equal(outs[0], outs[1])


def test_early_stopping_restores_best_epoch_and_needs_val():
    data = _blobs()
    train, val = train_val_split(data, 0.3, seed=0)
    model = torch.nn.Linear(8, 3)
    cfg = TrainConfig(epochs=50, lr=1e-1, patience=3, progress=False)
    hist = fit(model, train, cfg, val=val)
    assert hist.best_epoch is not None
    assert evaluate(model, val)["accuracy"] == max(hist.series("val_acc"))
    with pytest.raises(ValueError, match="needs validation"):
        fit(torch.nn.Linear(8, 3), train, cfg)


def test_class_weights_and_balanced_sampling_run():
    data = _blobs()
    for cfg in (TrainConfig(epochs=2, class_weights=True, progress=False),
                TrainConfig(epochs=2, balanced_sampling=True, progress=False)):
        fit(torch.nn.Linear(8, 3), data, cfg)


def test_config_is_a_dataclass_with_variants():
    cfg = dataclasses.replace(TrainConfig(), lr=1e-5)
    assert cfg.lr == 1e-5 and TrainConfig().lr == 1e-3
    assert dataclasses.asdict(cfg)["lr"] == 1e-5


@pytest.mark.parametrize("name", list_augments())
def test_augmentations_keep_shape_and_range_and_are_seeded(name):
    x = _tiny_images().x
    aug = get_augment(name)
    a = aug(x, torch.Generator().manual_seed(0))
    b = aug(x, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b)
    if a.dtype != torch.uint8:
        assert 0 <= a.min() and a.max() <= 1


def test_unknown_augmentation_lists_choices():
    with pytest.raises(ValueError, match="choose from"):
        get_augment("sparkle")


def test_summarize_means_over_seeds():
    recs = [{"dataset": "d", "method": "m", "labels_per_class": 1, "test_accuracy": a} for a in (0.2, 0.4)]
    (row,) = summarize(recs)
    assert row["test_accuracy_mean"] == pytest.approx(0.3) and row["n"] == 2


def test_mixed_precision_is_a_no_op_off_cuda():
    """AMP and the GradScaler are used on CUDA only; on a CPU amp=True must change nothing."""
    from tlcourse.train import _autocast, get_device

    assert get_device().type != "cuda" or pytest.skip("CUDA machine: covered by the GPU path")
    data = _blobs()
    results = []
    for amp in (True, False):
        seed_everything(0)
        head, _ = train_head(data, TrainConfig(epochs=3, amp=amp, progress=False))
        results.append(head.weight.detach().clone())
    assert torch.equal(*results)
    assert type(_autocast(torch.device("cpu"), True)).__name__ == "nullcontext"
