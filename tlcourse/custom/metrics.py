"""How good is a trained image classifier? The numbers Azure Custom Vision shows, and a few more.

A multiclass model gives probabilities ``probs`` ``[N, C]`` (rows sum to 1). The definitions:

* **Prediction at a probability threshold t** (Custom Vision's default is 50 %): an image's
  top class if its probability is ``>= t``, else **"unknown"**.
* **Precision of class c** at t: the share of the images predicted c that truly are c.
* **Recall of class c** at t: the share of the truly-c images predicted c. An image left
  "unknown" is a miss: it lowers recall, never precision.
* **F1 of class c**: ``2 TP / (2 TP + FP + FN)``, the harmonic mean (0 if c is never predicted).
* **Average precision (AP) of class c**: the area under c's one-vs-rest precision-recall curve
  over *all* thresholds (``sklearn.metrics.average_precision_score`` on ``probs[:, c]``). It
  does not depend on t: it scores how well the model *ranks* c's images above the others, as
  Custom Vision's AP does. **mAP** is its mean over the classes.
* **Macro precision / recall / F1**: the plain mean over classes (each counts the same), as
  Custom Vision's overall precision and recall.
* **Accuracy** (top-1, no threshold: every image gets its top class) and **balanced accuracy**
  (the mean over classes of the top-1 recall; immune to a large class). The **unknown share** is
  the fraction of images left "unknown" at t. The **confusion matrix** counts true class (rows)
  against the prediction at t (columns), with a last "unknown" column.

**How much a figure can tell** (:mod:`.certainty`): every per-class precision and recall carries
its count ("3 of 3") and a Wilson 95 % interval (3 of 3 is 44 % to 100 %); ``format()`` warns
below :data:`FEW_IMAGES` evaluation images of a class and says what one image is worth.

**None of these** (:mod:`.negative`): a class named ``negative`` or ``_negative`` is Custom
Vision's Negative tag: top class it means "unknown"; its images are reported apart
(``Report.negative``), outside the rows, confusion and means; given a class, a false positive.

Undefined values are ``None``, never NaN and never a silent 0, and each comes with a note:
precision is ``None`` for a class never predicted at t (nothing to be right or wrong about);
recall and AP are ``None`` for a class with no image in the evaluated set. Means over classes
skip the ``None``; their note says so. ``to_dict()`` is JSON-safe (``None`` -> ``null``).

A threshold is a choice, made on held-out (validation) predictions: :func:`choose_threshold`
picks it there, and the test set only reports the result. Choosing it on the test set would
make the test score an optimistic estimate.

Example:
    >>> import numpy as np
    >>> probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]])
    >>> r = report(probs, [0, 0, 1], ["cat", "dog"])
    >>> r.per_class[0].recall, r.per_class[1].precision
    (0.5, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve

from ..stats_binomial import wilson
from .certainty import FEW_IMAGES, few_images_warning, share_text  # noqa: F401 - public here
from .negative import NEGATIVE_NAMES, negative_index  # noqa: F401 - public here

UNKNOWN = "unknown"
DEFAULT_THRESHOLD = 0.5  # Custom Vision's default probability threshold
#: The thresholds :func:`threshold_sweep` and :func:`choose_threshold` try by default.
GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 0.05, 0.10, ..., 0.95


@dataclass
class ClassMetrics:
    """One class's numbers at a probability threshold (``None`` = undefined, see ``note``)."""

    name: str
    support: int  # test images truly of this class
    predicted: int  # images predicted as this class at the threshold
    true_positives: int  # images of this class predicted as it
    precision: float | None  # None: never predicted at the threshold
    recall: float | None  # None: no image of this class in the set
    f1: float | None  # None: neither present nor predicted
    ap: float | None  # threshold-free average precision; None: no image of this class
    note: str = ""  # why a value is None, in words

    @property
    def precision_interval(self) -> tuple[float, float] | None:
        """Wilson 95 % interval of the precision (``true_positives`` of ``predicted``)."""
        return wilson(self.true_positives, self.predicted) if self.predicted else None

    @property
    def recall_interval(self) -> tuple[float, float] | None:
        """Wilson 95 % interval of the recall (``true_positives`` of ``support``)."""
        return wilson(self.true_positives, self.support) if self.support else None


@dataclass
class Report:
    """A classifier's performance on one labelled set, at one probability threshold (or at a
    threshold per image, as cross-validation scores each fold at its own: ``threshold`` is then
    ``None`` and ``image_thresholds`` holds them).

    ``format()`` prints it as a table like Custom Vision's performance tab; ``to_dict()`` gives
    JSON-safe numbers. ``probs`` and ``y`` are kept (out of ``to_dict``) so plots can redraw it.
    """

    threshold: float | None  # None: a threshold per image (see image_thresholds)
    per_class: list[ClassMetrics]
    mean_ap: float | None  # mean AP over the classes with an AP
    accuracy: float  # top-1, no threshold
    balanced_accuracy: float  # mean top-1 recall over the classes present
    unknown_share: float  # fraction of images whose top probability is below the threshold
    confusion: list[list[int]]  # [C, C + 1]: true class x (predicted class ..., unknown)
    classes: list[str]
    notes: list[str] = field(default_factory=list)
    probs: np.ndarray | None = field(default=None, repr=False, compare=False)
    y: np.ndarray | None = field(default=None, repr=False, compare=False)
    image_thresholds: np.ndarray | None = field(default=None, repr=False, compare=False)
    # the negative ("none of these") images, reported apart: {"name", "images", "called" (given a
    # class at the threshold), "called_as" {class: n}}; a train may add "without" (the same
    # images scored by a model trained without the negative class). None: no negative class.
    negative: dict | None = None
    columns: list[str] | None = None  # the probability columns (classes + the negative one)
    unit: str = field(default="image", compare=False)  # what was scored: "image", or "text"

    @property
    def threshold_text(self) -> str:
        """The threshold as a learner reads it: '50 %', or '40 % to 60 % (per image)'."""
        if self.threshold is not None:
            return _thr(self.threshold)
        return _thr(self.image_thresholds)

    @property
    def n_images(self) -> int:
        return int(sum(map(sum, self.confusion)))

    @property
    def macro_precision(self) -> float | None:
        """Mean precision over the classes predicted at least once."""
        return _mean(c.precision for c in self.per_class)

    @property
    def macro_recall(self) -> float | None:
        """Mean recall over the classes present."""
        return _mean(c.recall for c in self.per_class)

    @property
    def macro_f1(self) -> float | None:
        return _mean(c.f1 for c in self.per_class)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe numbers (undefined values are ``None``), without the raw probabilities."""
        return {
            "threshold": self.threshold,
            **({} if self.image_thresholds is None
               else {"thresholds": sorted({float(t) for t in self.image_thresholds})}),
            "n_images": self.n_images, "classes": list(self.classes),
            "accuracy": self.accuracy, "balanced_accuracy": self.balanced_accuracy,
            "macro_precision": self.macro_precision, "macro_recall": self.macro_recall,
            "macro_f1": self.macro_f1, "mean_ap": self.mean_ap,
            "unknown_share": self.unknown_share,
            "per_class": [{**vars(c), "precision_interval": c.precision_interval,
                           "recall_interval": c.recall_interval} for c in self.per_class],
            "negative": self.negative,
            "confusion": {"rows": "true class", "columns": [*self.classes, UNKNOWN],
                          "counts": [list(r) for r in self.confusion]},
            "notes": list(self.notes),
        }

    def format(self) -> str:
        """The report as text: overall line, one row per class, then the notes."""
        t, n, n_cls = self.threshold_text, self.n_images, len(self.classes)
        unknown = round(self.unknown_share * n)
        majority = max(sum(r) for r in self.confusion) / n
        neg = (f" (+ {_count(self.negative['images'], 'negative image')}, reported apart)"
               if self.negative else "")
        lines = [
            f"Probability threshold {t} · {_count(n, self.unit)}{neg} · {n_cls} classes",
            (f"Precision {_pct(self.macro_precision)}   Recall {_pct(self.macro_recall)}   "
             f"mAP {_pct(self.mean_ap)}   (means over classes)"),
            (f"Accuracy {_pct(self.accuracy)} (top-1, no threshold; vs chance {_pct(1 / n_cls)},"
             f" majority class {_pct(majority)}) · balanced accuracy "
             f"{_pct(self.balanced_accuracy)}"),
            (f"Left unknown at {t}: {unknown} of {_count(n, self.unit)} "
             f"({_pct(self.unknown_share)})"),
            "",
        ]
        w = max(5, *(len(c) for c in self.classes))
        lines.append(f"{'class':<{w}}  {'precision (95 % interval)':<26}  "
                     f"{'recall (95 % interval)':<26}      F1      AP")
        for c in self.per_class:
            lines.append(f"{c.name:<{w}}  {share_text(c.true_positives, c.predicted):<26}  "
                         f"{share_text(c.true_positives, c.support):<26}  {_pct(c.f1):>6}"
                         f"  {_pct(c.ap):>6}")
        few = few_images_warning({c.name: c.support for c in self.per_class})
        lines += [f"warning: {few}"] if few else []
        if self.negative:
            lines.append(self.negative_text())
        lines += [f"— {note}" for note in self.notes]
        return "\n".join(lines)

    def negative_text(self) -> str:
        """The negative images, apart: how many were wrongly given a class at the threshold
        (with, if measured, the same images under a model trained without them)."""
        g = self.negative
        if not g:
            return ""
        text = (f"Negative images ('{g['name']}', none of these; not in the means): given a "
                f"class at {self.threshold_text}: {share_text(g['called'], g['images'])}")
        if g.get("called_as"):
            text += " — as " + ", ".join(f"{c} {k}" for c, k in g["called_as"].items())
        w = g.get("without")
        if w:
            text += (f"\nWithout the negative class (same split, seed and training images): "
                     f"{share_text(w['called'], w['images'])} at its threshold "
                     f"{_thr(w['threshold'])}")
        return text

    def __str__(self) -> str:
        return self.format()


class Loss(NamedTuple):
    """One image among the top losses (class indices; probabilities of the true and top class)."""

    index: int
    true: int
    pred: int
    prob_true: float
    prob_pred: float


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def _mean(values) -> float | None:
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


def _arrays(probs: Any, y: Any, classes: Sequence[str] | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """``probs`` as float64 ``[N, C]`` and ``y`` as int ``[N]``, checked; ValueError says the fix."""
    if hasattr(probs, "detach"):  # a torch tensor, maybe on a GPU or requiring grad
        probs = probs.detach().cpu().numpy()
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    p, t = np.asarray(probs, dtype=np.float64), np.asarray(y)
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"probs must be [images, classes] with at least one image; got shape "
                         f"{tuple(p.shape)}")
    if t.shape != (p.shape[0],):
        raise ValueError(f"y must hold one label per row of probs ({p.shape[0]}); got shape "
                         f"{tuple(t.shape)}")
    if not np.all(np.isfinite(p)) or p.min() < -1e-6 or not np.allclose(p.sum(1), 1, atol=1e-3):
        raise ValueError("probs must be probabilities (each row >= 0, summing to 1). Given "
                         "logits? Use probs = logits.softmax(1).")
    if t.dtype.kind not in "iu" or t.min() < 0 or t.max() >= p.shape[1]:
        raise ValueError(f"y must be integer class indices in 0..{p.shape[1] - 1}")
    if classes is not None and len(classes) != p.shape[1]:
        raise ValueError(f"{len(classes)} class names for {p.shape[1]} columns of probs")
    return p, t.astype(np.int64)


def _count(n: int, noun: str) -> str:
    """'1 image', '2 images', '0 images'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _thr(t: float | np.ndarray) -> str:
    """A threshold as a learner sets it: '50 %', '62.5 %'; per-image thresholds as their range,
    '40 % to 60 % (per image)'."""
    if np.ndim(t) == 0:
        return f"{100 * float(t):.4g} %"
    lo, hi = float(np.min(t)), float(np.max(t))
    return _thr(lo) if lo == hi else f"{_thr(lo)} to {_thr(hi)} (per image)"


def _check_threshold(t: float) -> float:
    if not 0 <= t <= 1:
        raise ValueError(f"threshold must be a probability between 0 and 1; got {t}")
    return float(t)


def _check_thresholds(t: Any, n: int) -> float | np.ndarray:
    """One threshold, or one per image (``[n]``), each a probability."""
    if np.ndim(t) == 0:
        return _check_threshold(t)
    a = np.asarray(t, dtype=np.float64)
    if a.shape != (n,):
        raise ValueError(f"give one threshold, or one threshold per image ({n}); got shape "
                         f"{a.shape}")
    if not np.all((a >= 0) & (a <= 1)):
        raise ValueError("every threshold must be a probability between 0 and 1")
    return a


def _predict_at(p: np.ndarray, t: float | np.ndarray, negative: int | None = None) -> np.ndarray:
    """Top class where its probability is >= t (one t, or one per image), else -1 (unknown);
    a top class that is the ``negative`` column is unknown too."""
    top = p.argmax(1)
    return np.where((p.max(1) >= t) & (top != (-2 if negative is None else negative)), top, -1)


def _counts(p: np.ndarray, y: np.ndarray, t: float | np.ndarray,
            negative: int | None = None) -> tuple[np.ndarray, ...]:
    """Per-class (true positives, predicted, support) at threshold t, and the predictions. The
    negative column's counts are 0: it is never predicted and never a class to score."""
    n_cls = p.shape[1]
    pred = _predict_at(p, t, negative)
    tp = np.bincount(y[pred == y], minlength=n_cls)
    predicted = np.bincount(pred[pred >= 0], minlength=n_cls)
    support = np.bincount(y, minlength=n_cls)
    if negative is not None:
        support[negative] = 0
    return tp, predicted, support, pred


def _f1(tp: int, predicted: int, support: int) -> float | None:
    # 2TP / (2TP + FP + FN) = 2TP / (predicted + support)
    return 2 * tp / (predicted + support) if predicted + support else None


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------
def report(probs: Any, y: Any, classes: Sequence[str],
           threshold: float | Sequence[float] = DEFAULT_THRESHOLD, *,
           negative_class: bool = True) -> Report:
    """Per-class precision, recall, F1 and AP at ``threshold``; mAP, accuracy, confusion.

    Args:
        probs: ``[N, C]`` probabilities (numpy or torch; softmax of the logits).
        y: ``[N]`` true class indices.
        classes: the C class names.
        threshold: the probability below which an image is "unknown" (Custom Vision: 50 %),
            or one per image (cross-validation: each fold at the threshold chosen on its own
            training folds); counts then pool over the images, each judged at its own.

    A class named as in :data:`NEGATIVE_NAMES` is the "none of these" class: its images are
    reported apart in ``Report.negative``, unless ``negative_class=False`` (a text's "negative").

    Example:
        >>> r = report([[0.7, 0.3], [0.45, 0.55]], [0, 1], ["cat", "dog"], threshold=0.6)
        >>> r.per_class[1].recall, r.unknown_share
        (0.0, 0.5)
    """
    p, y = _arrays(probs, y, classes)
    t = _check_thresholds(threshold, len(y))
    neg = negative_index(classes) if negative_class else None
    real = [c for c in range(p.shape[1]) if c != neg]  # the classes to score
    tp, predicted, support, pred = _counts(p, y, t, neg)
    per_class, notes = [], []
    for c in real:
        name = classes[c]
        s, k, h = int(support[c]), int(predicted[c]), int(tp[c])
        why = []
        if s == 0:
            why.append(f"no image of {name!r} in this set: recall and AP undefined")
        if k == 0:
            why.append(f"{name!r} never predicted at {_thr(t)}: precision undefined")
        ap = float(average_precision_score(y == c, p[:, c])) if s else None
        per_class.append(ClassMetrics(name, s, k, h, h / k if k else None, h / s if s else None,
                                      _f1(h, k, s), ap, "; ".join(why)))
        notes += why
    if any(c.precision is None or c.recall is None for c in per_class):
        notes.append("means over classes skip the undefined values")
    top1 = p.argmax(1)
    present = support > 0
    is_real = y != (-1 if neg is None else neg)
    if not is_real.any():
        raise ValueError("every image is a negative one: give images of the classes to score")
    column = np.full(p.shape[1] + 1, len(real))  # class index -> confusion column; -1: unknown
    column[real] = np.arange(len(real))
    confusion = np.zeros((len(real), len(real) + 1), dtype=np.int64)
    np.add.at(confusion, (column[y[is_real]], column[pred[is_real]]), 1)
    recall1 = np.bincount(y[top1 == y], minlength=p.shape[1])[present] / support[present]
    negative = None
    if neg is not None:
        gone = pred[~is_real]  # the negative images' predictions: >= 0 is a wrong class
        negative = {"name": classes[neg], "images": int((~is_real).sum()),
                    "called": int((gone >= 0).sum()),
                    "called_as": {classes[c]: int((gone == c).sum()) for c in real
                                  if (gone == c).any()}}
    return Report(
        threshold=t if np.ndim(t) == 0 else None, per_class=per_class,
        mean_ap=_mean(c.ap for c in per_class),
        accuracy=float((top1 == y)[is_real].mean()),
        balanced_accuracy=float(recall1.mean()),
        unknown_share=float((pred[is_real] < 0).mean()),
        confusion=confusion.tolist(), classes=[classes[c] for c in real], notes=notes, probs=p,
        y=y, image_thresholds=None if np.ndim(t) == 0 else t, negative=negative,
        columns=list(classes))


def pr_curves(probs: Any, y: Any) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each class's one-vs-rest precision-recall curve: ``{class index: (precision, recall,
    thresholds)}`` as ``sklearn.metrics.precision_recall_curve`` returns them (recall falling).

    A class with no image in ``y`` has no curve (recall is undefined) and no key.

    Example:
        >>> prec, rec, thr = pr_curves([[0.8, 0.2], [0.3, 0.7]], [0, 1])[0]
        >>> float(prec[-1]), float(rec[-1])
        (1.0, 0.0)
    """
    p, y = _arrays(probs, y)
    return {c: precision_recall_curve(y == c, p[:, c])
            for c in range(p.shape[1]) if np.any(y == c)}


def threshold_sweep(probs: Any, y: Any, thresholds: Sequence[float] = GRID,
                    classes: Sequence[str] | None = None) -> list[dict]:
    """Macro precision, recall, F1 and the unknown share at each threshold.

    Each row: ``threshold``, ``macro_precision`` (over the classes predicted at least once;
    ``None`` if every image is unknown), ``macro_recall`` and ``macro_f1`` (over the classes
    present), ``unknown_share``, ``classes_predicted``. With ``classes`` that hold a negative
    class, its column is "unknown" and it is not a class to average (see :func:`report`).

    Example:
        >>> rows = threshold_sweep([[0.9, 0.1], [0.4, 0.6]], [0, 1], [0.5, 0.8])
        >>> [(r["threshold"], r["macro_recall"], r["unknown_share"]) for r in rows]
        [(0.5, 1.0, 0.0), (0.8, 0.5, 0.5)]
    """
    p, y = _arrays(probs, y, classes)
    neg = negative_index(classes) if classes is not None else None
    rows = []
    for t in thresholds:
        t = _check_threshold(t)
        tp, predicted, support, pred = _counts(p, y, t, neg)
        present, said = support > 0, predicted > 0
        rows.append({
            "threshold": t,
            "macro_precision": float((tp[said] / predicted[said]).mean()) if said.any() else None,
            "macro_recall": float((tp[present] / support[present]).mean()),
            "macro_f1": float((2 * tp[present] / (predicted + support)[present]).mean()),
            "unknown_share": float((pred[y != neg] < 0).mean()),
            "classes_predicted": int(said.sum()),
        })
    return rows


def choose_threshold(probs: Any, y: Any, min_precision: float | None = None,
                     thresholds: Sequence[float] = GRID,
                     classes: Sequence[str] | None = None) -> float:
    """The probability threshold to deploy, chosen on held-out (validation) predictions.

    The rule: the threshold (from ``thresholds``, 0.05 to 0.95 by default) with the highest macro
    F1 (over the classes present). Ties go to the threshold nearest Custom Vision's default 50 %
    (leave the default only for a measured gain), then to the lower one. With ``min_precision``,
    only thresholds whose macro precision reaches it compete. With ``classes`` holding a
    negative class, a negative image given a class is a false positive of that class.

    Pass validation predictions, never the test set's: a threshold tuned on the test set makes
    the test score optimistic.

    Raises:
        ValueError: no threshold reaches ``min_precision``; the message gives the best reached.

    Example:
        >>> choose_threshold([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]], [0, 1, 1])
        0.65
    """
    rows = threshold_sweep(probs, y, thresholds, classes)
    ok = rows
    if min_precision is not None:
        ok = [r for r in rows if r["macro_precision"] is not None
              and r["macro_precision"] >= min_precision - 1e-12]
        if not ok:
            best = max(rows, key=lambda r: r["macro_precision"] or 0.0)
            raise ValueError(
                f"no threshold reaches a macro precision of {_pct(min_precision)}; the best is "
                f"{_pct(best['macro_precision'])} at {_thr(best['threshold'])}. Lower "
                f"min_precision, or add training images.")
    top = max(r["macro_f1"] for r in ok)
    tied = [r["threshold"] for r in ok if r["macro_f1"] >= top - 1e-12]
    return min(tied, key=lambda t: (abs(t - DEFAULT_THRESHOLD), t))


def top_losses(probs: Any, y: Any, k: int = 12) -> list[Loss]:
    """The ``k`` images the model is most wrong about: highest cross-entropy ``-log p(true)``.

    Each is a :class:`Loss` ``(index, true, pred, prob_true, prob_pred)``; ``pred`` is the top-1
    class (no threshold). A top loss can be right but unsure, or wrong and confident; often a
    wrong label or an odd photo.

    Example:
        >>> top_losses([[0.9, 0.1], [0.8, 0.2]], [0, 1], k=1)
        [Loss(index=1, true=1, pred=0, prob_true=0.2, prob_pred=0.8)]
    """
    p, y = _arrays(probs, y)
    p_true = p[np.arange(len(y)), y]
    order = sorted(range(len(y)), key=lambda i: (-_nll(p_true[i]), i))  # ties: lower index
    top = p.argmax(1)
    return [Loss(int(i), int(y[i]), int(top[i]), float(p_true[i]), float(p[i, top[i]]))
            for i in order[:max(k, 0)]]


def _nll(p: float) -> float:
    return -math.log(max(p, 1e-12))
