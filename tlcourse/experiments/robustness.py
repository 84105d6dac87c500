"""Chapter 5b: robustness to corruptions, a controlled shift.

MNIST-C-style corruptions at severities 1-5 on the MNIST test set; a small CNN from scratch vs
a linear probe / fine-tune / LP-FT from a Fashion-MNIST-pretrained small CNN; AdaBN from a
separate pool of corrupted images. Robustness is each model's drop from its *own* clean
accuracy. Helpers shared with chapter 5's shifts: :mod:`.domain_shift`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tqdm.auto import tqdm

from ..adaptation import reestimate_bn
from ..corruptions import corrupt_data, drop_from_clean, list_corruptions
from ..data import few_shot_split, load_dataset, sample_per_class
from ..train import TrainConfig, seed_everything
from . import Results, register
from .domain_shift import (
    ADAPT_METHODS,
    _acc,
    _adabn,
    _by_seed,
    _pct,
    _said,
    _seeds,
    _small_cnn,
    adapt,
)


# ---------------------------------------------------------------------------------------------
# Controlled shift: corruptions
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CorruptionsConfig:
    """Settings of one run; ``PROFILES_CORRUPTIONS`` holds the quick and full variants."""

    train_per_class: int = 100  # clean MNIST training images per class
    source_per_class: int = 100  # Fashion-MNIST images per class for the pretrained source
    test_per_class: int = 30  # MNIST test images per class, corrupted 6 ways x 5 severities
    pool_per_class: int = 30  # other MNIST test images per class, corrupted alike (other noise
    # draws): AdaBN's unlabelled target pool, never scored
    epochs: int = 4  # scratch and source training (rate 3e-3)
    head_epochs: int = 10
    ft_epochs: int = 4  # fine-tuning all layers at 1e-3
    corruptions: tuple[str, ...] = tuple(list_corruptions())
    seeds: tuple[int, ...] = (0, 1)  # two seeds: every drop gets a spread


PROFILES_CORRUPTIONS = {
    "quick": CorruptionsConfig(),
    "full": CorruptionsConfig(train_per_class=1000, source_per_class=1000, test_per_class=500,
                              pool_per_class=100, epochs=10, head_epochs=30, ft_epochs=10,
                              seeds=(0, 1, 2)),
}


@register("corruptions", "Ch. 5: robustness to corruptions (drop from own clean accuracy); AdaBN", PROFILES_CORRUPTIONS)
def run_corruptions(cfg: CorruptionsConfig, res: Results, progress: bool) -> Results:
    """Records: method, corruption ("clean" at severity 0), severity, seed, test_accuracy, chance
    and ``drop_from_clean`` (the same model's clean accuracy minus this one). Method ``adabn`` is
    the scratch model with BN statistics of a separate, equally corrupted unlabelled pool
    (``bn_stats="target-pool"``, not transductive); its clean record uses the clean pool."""
    both = sample_per_class(load_dataset("mnist", "test"), cfg.test_per_class + cfg.pool_per_class, 0)
    test, pool = few_shot_split(both, cfg.test_per_class, 0, min_test=1)  # scored / AdaBN pool
    conditions = [(c, s) for c in cfg.corruptions for s in range(1, 6)]
    shifted = {("clean", 0): test, **{(c, s): corrupt_data(test, c, s, seed=0) for c, s in conditions}}
    pools = {("clean", 0): pool, **{(c, s): corrupt_data(pool, c, s, seed=1) for c, s in conditions}}
    res.artifacts["examples"] = {k: v.subset([0]) for k, v in shifted.items() if k[1] > 0}
    head_cfg = TrainConfig(epochs=cfg.head_epochs, batch_size=32, lr=3e-3, progress=False)
    ft_cfg = TrainConfig(epochs=cfg.ft_epochs, batch_size=32, lr=1e-3, progress=False)
    records = []
    for seed in cfg.seeds:
        train = sample_per_class(load_dataset("mnist", "train"), cfg.train_per_class, seed)
        fashion = sample_per_class(load_dataset("fashion-mnist", "train"), cfg.source_per_class, seed)
        source = _small_cnn(fashion, cfg.epochs, seed)
        models = {"scratch": _small_cnn(train, cfg.epochs, seed)}
        for m in ADAPT_METHODS:
            seed_everything(seed)
            models[m] = adapt(source, train, m, replace(head_cfg, seed=seed),
                              replace(ft_cfg, seed=seed), new_head=True)
        for name, net in tqdm(models.items(), desc=f"corruptions seed {seed}", disable=not progress):
            for (c, s), data in shifted.items():
                rec = {"corruption": c, "severity": s, "seed": seed, "chance": 1 / len(test.classes)}
                records.append({"method": name, **rec, **_acc(net, data, "fixed")})
                if name == "scratch":  # AdaBN from the pool: only BN statistics change
                    adapted = reestimate_bn(net, pools[c, s])
                    records.append({**_adabn("target-pool"), **rec, **_acc(adapted, data, "fixed")})
    res.records = drop_from_clean(records)
    return res


def corruption_findings(records: list[dict]) -> list[str]:
    """Sentences on robustness: each model's drop from its own clean accuracy, compared with
    scratch's (smaller drop wins), then AdaBN against the scratch model it adapts. Each model's
    drop is averaged over the conditions per seed before the judge pairs the seeds."""
    records = drop_from_clean(records) if "drop_from_clean" not in records[0] else records
    shifted = [r for r in records if r["severity"] > 0]
    n_cond = len({(r["corruption"], r["severity"]) for r in shifted})
    trained = [m for m in dict.fromkeys(r["method"] for r in records) if m != "adabn"]
    chance = {r["chance"] for r in records if "chance" in r}
    floor = (f" (chance is {100 * chance.pop():.0f} %: a model that starts nearer chance has less "
             f"to lose)" if len(chance) == 1 else "")
    out = [(f"Mean over {n_cond} corruption x severity conditions ({_seeds(records)}), each "
            f"model against its own clean accuracy{floor}:")]
    for m in trained:
        out.append(f"  {m}: clean {_pct(records, method=m, severity=0)}, corrupted "
                   f"{_pct(shifted, method=m)}: a drop of "
                   f"{_pct(shifted, 'drop_from_clean', 'points', method=m)}.")
    out.append("Robustness (a smaller drop from its own clean accuracy wins), against scratch:")
    scratch = {"method": "scratch"}
    for m in trained[1:]:
        out.append(f"  {_said(shifted, scratch, {'method': m}, m, 'scratch', 'drop_from_clean', False)}.")
    pool = {"method": "adabn", "bn_stats": "target-pool"}
    if _by_seed(shifted, **pool):
        out.append("AdaBN on the scratch model, statistics from a separate pool of equally corrupted "
                   "unlabelled images (not transductive): corrupted accuracy "
                   f"{_pct(shifted, **pool)}; "
                   f"{_said(shifted, pool, scratch, 'AdaBN', 'scratch', items=False)}.")
    return out
