"""Chapter 5b: negative transfer. 10 labels per MNIST class: a small CNN pretrained on
Fashion-MNIST, frozen or fine-tuned, against the same CNN from scratch, at the same optimiser
steps and input. Only starts that fit their training digits enter the verdict; a start that did
not is named as a capacity gap. Helpers shared with chapter 5's shifts: :mod:`.domain_shift`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

from tqdm.auto import tqdm

from ..backbones import create_backbone
from ..data import held_out_per_class, load_dataset, sample_per_class
from ..methods import SCRATCH_CONFIG
from ..stats import FITTED, Verdict, fitted
from ..train import evaluate, fit, seed_everything
from . import Results, register
from .domain_shift import _acc, _pct, _small_cnn, verdict


# ---------------------------------------------------------------------------------------------
# Negative transfer
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NegativeTransferConfig:
    """Settings of one run; ``PROFILES_NEGATIVE`` holds the quick and full variants.

    Every arm is the same small CNN at the same 28-px input and preprocessing, trained on the
    same MNIST images for the same optimiser steps (``epochs`` x batches of ``batch_size``).
    Each arm's rate is chosen on validation digits (the first seed's; then used on every seed):
    scratch and fine-tuning from ``lrs``, the frozen arm (only a new head trains) from ``head_lrs``.
    """

    labels_per_class: int = 10  # MNIST labels per class: the small-data regime
    test_per_class: int = 50
    source_per_class: int = 100  # Fashion-MNIST images per class for the source network
    source_epochs: int = 4  # source pretraining at rate 3e-3 (one source network per seed)
    epochs: int = 15  # on MNIST, every arm (SCRATCH_CONFIG's length: the scratch CNN fits)
    batch_size: int = 16
    lrs: tuple[float, ...] = (1e-3, 3e-3, 1e-2)  # scratch's and fine-tuning's candidate rates
    # (SCRATCH_CONFIG's 3e-3 and its neighbours) ...
    head_lrs: tuple[float, ...] = (0.03, 0.1, 0.3)  # ... and the frozen arm's new head's (a
    # linear head on frozen features needs a high rate to fit in so few steps)
    val_per_class: int = 10  # ... each arm's rate chosen on these validation digits of the first
    # seed (MNIST training digits that are not its training digits), then used on every seed
    seeds: tuple[int, ...] = (0, 1, 2)


PROFILES_NEGATIVE = {
    "quick": NegativeTransferConfig(),
    "full": NegativeTransferConfig(test_per_class=500, source_per_class=1000, seeds=tuple(range(5))),
}
NEGATIVE_ARMS = {"small-cnn-scratch": "scratch, random init",
                 "fashion-frozen": "frozen Fashion-MNIST body, new head",
                 "fashion-finetuned": "Fashion-MNIST network, fine-tuned"}


@register("negative-transfer", "Ch. 5: a Fashion-MNIST start vs scratch on MNIST (10/class, same steps)", PROFILES_NEGATIVE)
def run_negative(cfg: NegativeTransferConfig, res: Results, progress: bool) -> Results:
    """Records: method (:data:`NEGATIVE_ARMS`), seed, test_accuracy, train_accuracy, steps,
    input_size, lr, trainable_params, gap_vs_scratch (accuracy minus the same seed's scratch);
    and ``lr_val`` ({rate: validation accuracy}, the first seed's choice of the arm's rate)."""
    pool = load_dataset("mnist", "train")
    test = sample_per_class(load_dataset("mnist", "test"), cfg.test_per_class, 0)
    recipe = replace(SCRATCH_CONFIG, epochs=cfg.epochs, batch_size=cfg.batch_size)
    chosen: dict[str, tuple[float, dict[str, float]]] = {}  # arm -> (rate, validation accuracies)
    for seed in tqdm(cfg.seeds, desc="negative-transfer seeds", disable=not progress):
        fashion = sample_per_class(load_dataset("fashion-mnist", "train"), cfg.source_per_class, seed)
        source = _small_cnn(fashion, cfg.source_epochs, seed)
        train = sample_per_class(pool, cfg.labels_per_class, seed)
        accs = {}
        for name, (make, lrs) in _arms(source, cfg).items():
            if name not in chosen:  # the first seed: every candidate rate, judged on validation
                val = held_out_per_class(pool, cfg.labels_per_class, cfg.val_per_class, seed)
                tried = {lr: _trained(make, train, replace(recipe, lr=lr, seed=seed))
                         for lr in lrs}
                val_acc = {lr: evaluate(t[0], val)["accuracy"] for lr, t in tried.items()}
                best = max(lrs, key=lambda lr: val_acc[lr])  # ties: the first listed
                chosen[name] = (best, {f"{lr:g}": round(a, 4) for lr, a in val_acc.items()})
                net, hist = tried[best]
            else:
                net, hist = _trained(make, train, replace(recipe, lr=chosen[name][0], seed=seed))
            train_cfg = replace(recipe, lr=chosen[name][0])
            scored = _acc(net, test, "fixed")
            accs[name] = scored["test_accuracy"]
            res.records.append({**scored,
                "dataset": "mnist", "method": name,
                "source": None if name == "small-cnn-scratch" else "fashion-mnist",
                "labels_per_class": cfg.labels_per_class, "seed": seed,
                "train_accuracy": round(evaluate(net, train)["accuracy"], 4),
                "steps": len(hist.epochs) * -(-len(train) // train_cfg.batch_size),  # ceil
                "input_size": int(net.preprocess.size), "lr": train_cfg.lr,
                "lr_val": chosen[name][1], "trainable_params": net.trainable_params()})
        for r in res.records[-len(accs):]:
            r["gap_vs_scratch"] = round(r["test_accuracy"] - accs["small-cnn-scratch"], 4)
    return res


def _arms(source, cfg: NegativeTransferConfig) -> dict[str, tuple]:
    """Each arm: a function that makes its untrained network, and its candidate rates. Scratch
    and the fine-tuned start train every layer; the frozen start trains only a new head."""
    def scratch():
        return create_backbone("small-cnn", 10, input_size=28)

    def start(trainable: int):
        def make():
            net = copy.deepcopy(source)
            net.reset_head(10)
            return net.freeze(trainable)
        return make

    return {"small-cnn-scratch": (scratch, cfg.lrs),
            "fashion-frozen": (start(0), cfg.head_lrs),
            "fashion-finetuned": (start(source.num_stages), cfg.lrs)}


def _trained(make, train, train_cfg):
    """A fresh network from ``make`` trained on ``train`` (seeded by ``train_cfg.seed``)."""
    seed_everything(train_cfg.seed)
    net = make()
    seed_everything(train_cfg.seed)
    return net, fit(net, train, train_cfg)


_NEG_LABEL = {"fashion-frozen": "the frozen Fashion-MNIST network",
              "fashion-finetuned": "the fine-tuned Fashion-MNIST network"}
_SCRATCH = "small-cnn-scratch"


def _negative_verdicts(records: list[dict]) -> dict[str, Verdict]:
    """Each pretrained start minus scratch, by the judge (per-digit outcomes where recorded)."""
    arms = [m for m in dict.fromkeys(r["method"] for r in records) if m != _SCRATCH]
    return {m: verdict(records, {"method": m}, {"method": _SCRATCH}) for m in arms}


def worst_fit(records: list[dict], method: str) -> float | None:
    """An arm's lowest training accuracy over its seeds (None: not recorded)."""
    fits = [r["train_accuracy"] for r in records if r["method"] == method and "train_accuracy" in r]
    return min(fits) if fits else None


def arms_that_fit(records: list[dict]) -> list[str]:
    """The pretrained starts whose every seed fit its training digits (``stats.fitted``; an arm
    without recorded training accuracy counts as fitted). Only these enter the verdict: an arm
    that could not fit its own training set loses to scratch for lack of capacity, which says
    nothing about whether its source helps or hurts."""
    return [m for m in _negative_verdicts(records)
            if worst_fit(records, m) is None or fitted(worst_fit(records, m))]


def negative_verdict(records: list[dict]) -> str:
    """One sentence: is there negative transfer in these records? It opens with "Negative
    transfer here" only when the judge says a pretrained start *that fit its training digits*
    is below scratch (*does not hold here* for start - scratch: its 95 % interval lies below 0);
    otherwise with "No". A start that did not fit is named as a capacity gap, outside the verdict."""
    every = _negative_verdicts(records)
    fit = arms_that_fit(records)
    verdicts = {m: v for m, v in every.items() if m in fit}
    steps = sorted({r["steps"] for r in records if "steps" in r})
    sizes = sorted({r["input_size"] for r in records if "input_size" in r})
    like = (f" at the same {steps[0]} optimiser steps and {sizes[0]}-px input"
            if len(steps) == 1 and len(sizes) == 1 else "")
    said = {m: v.text(_NEG_LABEL.get(m, m), "scratch", "test digits") for m, v in verdicts.items()}
    gap = "".join(
        f" ({_NEG_LABEL.get(m, m)} did not fit its training digits: {100 * worst_fit(records, m):.0f} "
        f"% in its worst seed, fitted means at least {100 * FITTED:.0f} %; its gap to scratch is a "
        f"capacity gap, left out of this verdict)" for m in every if m not in fit)
    lost = [m for m, v in verdicts.items() if v.gap < 0]
    clear = [m for m in lost if _below(verdicts[m])]
    if not verdicts:
        return f"No verdict on negative transfer here{like}: no pretrained start fit{gap}."
    if clear:
        return (f"Negative transfer here{like}: " + "; ".join(said[m] for m in clear) + gap + ".")
    if lost:
        return (f"No clear negative transfer here{like}: " + "; ".join(said[m] for m in lost)
                + gap + ".")
    return (f"No negative transfer here{like}: every pretrained start that fit matched or beat "
            "scratch (" + "; ".join(said.values()) + ")" + gap + ".")


def _below(v: Verdict) -> bool:
    """The judge puts the gap below 0 (*does not hold here* for start - scratch)."""
    return v.decided and v.sign < 0


def negative_findings(records: list[dict]) -> list[str]:
    """The verdict, each arm against scratch, and whether each arm fit its training data."""
    out = [negative_verdict(records)]

    def arm(m: str) -> str:
        rates = sorted({r["lr"] for r in records if r["method"] == m and "lr" in r})
        chosen = next((r.get("lr_val") for r in records if r["method"] == m and r.get("lr_val")),
                      None)
        how = (" chosen on validation digits from " + ", ".join(chosen)
               if chosen and len(chosen) > 1 else "")
        return NEGATIVE_ARMS.get(m, m) + (f" (rate {rates[0]:g}{how})" if len(rates) == 1 else "")

    for m, v in _negative_verdicts(records).items():
        out.append(f"  {arm(m)} {_pct(records, method=m)} vs {arm(_SCRATCH)} "
                   f"{_pct(records, method=_SCRATCH)}: "
                   f"{v.text(_NEG_LABEL.get(m, m), 'scratch', 'test digits')}.")
    fits = [r["train_accuracy"] for r in records
            if r["method"] == _SCRATCH and "train_accuracy" in r]
    if fits:
        out.append(f"The scratch baseline {'fits' if fitted(min(fits)) else 'does NOT fit'} its "
                   f"training set (train accuracy {100 * min(fits):.0f} % in its worst seed; fitted "
                   f"means at least {100 * FITTED:.0f} %). Training accuracy of each start: "
                   + ", ".join(f"{NEGATIVE_ARMS.get(m, m)} {_pct(records, 'train_accuracy', method=m)}"
                               for m in dict.fromkeys(r["method"] for r in records) if m != _SCRATCH)
                   + ".")
    return out
