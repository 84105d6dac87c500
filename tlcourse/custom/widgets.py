"""Notebook widgets for a classifier trained on your own images: threshold, errors, upload.

* :func:`threshold_explorer` — a slider for the probability threshold; per-class precision and
  recall and the share of images left "unknown" update as it moves.
* :func:`error_viewer` — pick a class, see the images it missed and the ones wrongly called it.
* :func:`upload_classifier` — upload a picture, get the top 3 classes, or "unknown".

ipywidgets is imported when a widget is built, not with this module. Each widget's content comes
from a plain function returning HTML (``_threshold_table``, ``_errors_html``, ``_upload_html``),
which the tests call without a browser. A widget also carries a ``text/plain`` rendering, so a
notebook run without a widget frontend (nbval, nbconvert) shows the numbers.

Definitions as in :mod:`tlcourse.custom.metrics`: at threshold t an image gets its top class if that
probability is ``>= t``, else "unknown"; an unknown counts as a miss.

Example:
    >>> threshold_explorer(probs, test.y, test.classes)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics
from .metrics import _count, _pct, _thr

Prediction = list[tuple[str, float]]  # (class, probability), one pair per class or the top k
MAX_THUMBS = 24  # images shown per section of the error viewer
_TABLE_CSS = ("<style>.tlc-metrics{border-collapse:collapse}.tlc-metrics td,.tlc-metrics th"
              "{padding:2px 10px;text-align:right;border-bottom:1px solid #ddd}"
              ".tlc-metrics td:first-child{text-align:left}</style>")


def _with_text(box: Any, text: Callable[[], str]) -> Any:
    """Give a widget a ``text/plain`` rendering (what a page without widgets shows)."""
    widget_bundle = box._repr_mimebundle_

    def bundle(**kwargs: Any) -> dict[str, Any]:
        out = dict(widget_bundle(**kwargs) or {})
        out["text/plain"] = text()
        return out

    box._repr_mimebundle_ = bundle
    return box


# ---------------------------------------------------------------------------------------------
# Threshold explorer
# ---------------------------------------------------------------------------------------------
def _threshold_table(probs: Any, y: Any, classes: Sequence[str], t: float) -> str:
    """HTML: macro precision and recall, the unknown share, and one row per class at ``t``."""
    r = metrics.report(probs, y, classes, t)
    n_unknown = sum(row[-1] for row in r.confusion)  # the last column is "unknown"
    head = (f"<p><b>At {_thr(t)}</b>: precision {_pct(r.macro_precision)} · recall "
            f"{_pct(r.macro_recall)} (means over classes) · <b>{n_unknown}"
            f" of {_count(r.n_images, 'image')} ({_pct(r.unknown_share)}) left unknown</b></p>")
    cells = "".join(
        f"<tr><td>{html.escape(c.name)}</td><td>{c.support}</td><td>{c.predicted}</td>"
        f"<td>{_pct(c.precision)}</td><td>{_pct(c.recall)}</td><td>{_pct(c.f1)}</td>"
        f"<td>{row[-1]}</td></tr>" for c, row in zip(r.per_class, r.confusion))
    table = (_TABLE_CSS + "<table class='tlc-metrics'><tr><th>class</th>"
             "<th>images</th><th>predicted</th><th>precision</th><th>recall</th><th>F1</th>"
             f"<th>unknown</th></tr>{cells}</table>")
    notes = "".join(f"<br><small>— {html.escape(n)}</small>" for n in r.notes)
    return head + table + notes


def threshold_explorer(probs: Any, y: Any, classes: Sequence[str],
                       initial: float = metrics.DEFAULT_THRESHOLD) -> Any:
    """A threshold slider (5 % to 95 %) over a live per-class precision / recall table.

    Args:
        probs: ``[N, C]`` probabilities on a labelled set (validation or test).
        y: ``[N]`` true labels.
        classes: the class names.
        initial: where the slider starts (e.g. the threshold :func:`~tlcourse.custom.metrics.
            choose_threshold` picked).

    Example:
        >>> threshold_explorer(probs, test.y, test.classes, initial=0.5)  # doctest: +SKIP
    """
    import ipywidgets as w

    p, yy = metrics._arrays(probs, y, classes)  # fail now, with the message, not in a callback
    slider = w.FloatSlider(value=initial, min=0.05, max=0.95, step=0.05, readout_format=".0%",
                           description="threshold", continuous_update=True,
                           layout=w.Layout(width="420px"))
    table = w.HTML(_threshold_table(p, yy, classes, initial))

    def update(change: dict) -> None:
        table.value = _threshold_table(p, yy, classes, change["new"])

    slider.observe(update, names="value")
    box = w.VBox([slider, table])
    return _with_text(box, lambda: metrics.report(p, yy, classes, slider.value).format())


# ---------------------------------------------------------------------------------------------
# Error viewer
# ---------------------------------------------------------------------------------------------
def _png(img: Any, max_side: int = 160) -> str:
    """A uint8 ``[C, H, W]`` image as a base64 PNG data URL."""
    from PIL import Image

    a = np.asarray(img.detach().cpu() if hasattr(img, "detach") else img)
    a = a.transpose(1, 2, 0)
    pil = Image.fromarray(a[..., 0] if a.shape[2] == 1 else a)
    pil.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _thumbs(idx: list[int], images: Any, classes: Sequence[str], y: np.ndarray,
            pred: np.ndarray, top: np.ndarray, conf: np.ndarray, paths: Sequence[str]) -> str:
    out = []
    for i in idx[:MAX_THUMBS]:
        said = classes[pred[i]] if pred[i] >= 0 else f"unknown (top {classes[top[i]]})"
        name = Path(paths[i]).name if paths else f"#{i}"
        full = html.escape(str(paths[i]) if paths else name, quote=True)
        out.append(
            f"<figure style='display:inline-block;margin:4px;width:140px;vertical-align:top'>"
            f"<img src='{_png(images[i])}' style='width:128px' title='{full}'>"
            f"<figcaption style='font-size:11px;color:#cf222e'>{html.escape(classes[y[i]])} → "
            f"{html.escape(said)} ({conf[i]:.0%})<br><small>{html.escape(name)}</small>"
            f"</figcaption></figure>")
    if len(idx) > MAX_THUMBS:
        out.append(f"<p>… and {len(idx) - MAX_THUMBS} more.</p>")
    return "".join(out)


def _errors_html(images: Any, probs: Any, y: Any, classes: Sequence[str], paths: Sequence[str],
                 c: int, threshold: float = metrics.DEFAULT_THRESHOLD) -> str:
    """HTML: the images of class ``c`` the model missed at ``threshold`` (wrong or unknown), and
    the images of other classes it wrongly called ``c``; or "no errors"."""
    p, yy = metrics._arrays(probs, y, classes)
    pred = metrics._predict_at(p, threshold, metrics.negative_index(classes))
    top, conf = p.argmax(1), p.max(1)
    missed = np.flatnonzero((yy == c) & (pred != c)).tolist()
    false_alarms = np.flatnonzero((yy != c) & (pred == c)).tolist()
    name = html.escape(classes[c])
    n_c = int((yy == c).sum())
    if not missed and not false_alarms:
        return (f"<p><b>{name}</b>: no errors at {_thr(threshold)} ({_count(n_c, 'image')} of {name}, "
                f"none missed, none wrongly called {name}).</p>")
    args = (images, classes, yy, pred, top, conf, paths)
    return (f"<p><b>Missed</b>: {len(missed)} of {_count(n_c, 'image')} of {name} (true → predicted, top "
            f"probability)</p>{_thumbs(missed, *args) or '<p>none</p>'}"
            f"<p><b>Wrongly called {name}</b>: {_count(len(false_alarms), 'image')} of other classes</p>"
            f"{_thumbs(false_alarms, *args) or '<p>none</p>'}")


def error_viewer(images: Any, probs: Any, y: Any, classes: Sequence[str],
                 paths: Sequence[str] = (), threshold: float = metrics.DEFAULT_THRESHOLD) -> Any:
    """A dropdown of classes; shows that class's errors on a labelled set, with file names.

    Args:
        images: uint8 ``[N, C, H, W]`` in the order of ``probs`` (``test.x``, or ``test``).
        probs, y, classes: the model's probabilities, true labels and class names.
        paths: each image's file (``test.paths``), shown under it; may be empty.
        threshold: an image below it is "unknown", which counts as a miss.

    Example:
        >>> error_viewer(test.x, probs, test.y, test.classes, test.paths)  # doctest: +SKIP
    """
    import ipywidgets as w

    images = getattr(images, "x", images)  # an ImageData or its images
    p, yy = metrics._arrays(probs, y, classes)
    if len(images) != len(yy) or (paths and len(paths) != len(yy)):
        raise ValueError(f"{len(images)} images and {len(paths)} paths for {len(yy)} predictions:"
                         f" pass them in the order of probs")
    pred = metrics._predict_at(p, threshold, metrics.negative_index(classes))
    options = [(f"{name} — {int(((yy == c) & (pred != c)).sum())} missed", c)
               for c, name in enumerate(classes)]  # a negative class: its images given a class
    pick = w.Dropdown(options=options, value=0, description="class")
    view = w.HTML(_errors_html(images, p, yy, classes, paths, 0, threshold))

    def update(change: dict) -> None:
        view.value = _errors_html(images, p, yy, classes, paths, change["new"], threshold)

    pick.observe(update, names="value")
    box = w.VBox([pick, view])
    return _with_text(box, lambda: "Errors per class at " + _thr(threshold) + ": "
                      + ", ".join(label for label, _ in options))


# ---------------------------------------------------------------------------------------------
# Upload and classify
# ---------------------------------------------------------------------------------------------
def _upload_html(files: Sequence[tuple[str, bytes]],
                 predict_fn: Callable[[list[bytes]], list[Prediction]],
                 threshold: float = metrics.DEFAULT_THRESHOLD, k: int = 3) -> str:
    """HTML: for each ``(file name, bytes)``, the top ``k`` classes with probabilities and the
    verdict ("unknown" if the top probability is below ``threshold``), or why it failed."""
    parts = []
    for name, data in files:
        label = f"<b>{html.escape(name)}</b>"
        try:
            (pred,) = predict_fn([data])  # one at a time: a bad file must not sink the others
        except ValueError as e:
            parts.append(f"<p>{label}: <span style='color:#cf222e'>{html.escape(str(e))}</span>"
                         "</p>")
            continue
        ranked = sorted(pred, key=lambda cp: -cp[1])[:k]
        if not ranked:
            parts.append(f"<p>{label}: the model returned no classes.</p>")
            continue
        best, p_best = ranked[0]
        verdict = (f"<b>{html.escape(best)}</b>" if p_best >= threshold else
                   f"<b>unknown</b> (no class reaches {_thr(threshold)})")
        if best.lower() in metrics.NEGATIVE_NAMES:  # the model's "none of these"
            verdict = f"<b>unknown</b> (its top answer is {html.escape(best)}: none of these)"
        rows = "".join(f"<li>{html.escape(c)}: {p:.1%}</li>" for c, p in ranked)
        parts.append(f"<p>{label}: {verdict}</p><ol>{rows}</ol>")
    return "".join(parts) or "<p>Upload one or more images.</p>"


def _uploaded(value: Any) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of each file in a FileUpload's value (ipywidgets 8: a tuple of dicts;
    7: a dict keyed by name)."""
    if isinstance(value, dict):
        return [(n, bytes(f["content"])) for n, f in value.items()]
    return [(f["name"], bytes(f["content"])) for f in value]


def upload_classifier(predict_fn: Callable[[list[bytes]], list[Prediction]],
                      threshold: float = metrics.DEFAULT_THRESHOLD) -> Any:
    """An upload button: each picture gets the top 3 classes with probabilities, or "unknown".

    Args:
        predict_fn: image file bytes -> for each, ``[(class, probability), ...]``. It raises
            ``ValueError`` with a message for a file that is not a readable image.
        threshold: below it the verdict is "unknown" (use the model's chosen threshold).

    Example:
        >>> upload_classifier(model.predict_bytes, threshold=0.5)  # doctest: +SKIP
    """
    import ipywidgets as w

    upload = w.FileUpload(accept="image/*", multiple=True, description="Upload images")
    result = w.HTML(_upload_html([], predict_fn, threshold))

    def update(change: dict) -> None:
        result.value = "<i>classifying…</i>"
        result.value = _upload_html(_uploaded(change["new"]), predict_fn, threshold)

    upload.observe(update, names="value")
    box = w.VBox([upload, result])
    return _with_text(box, lambda: "Upload an image in Jupyter to classify it "
                      f"(threshold {_thr(threshold)}).")
