"""Linear classifiers on text: logistic regression on TF-IDF (the classic from scratch) and on
frozen sentence embeddings (the probe), its strength chosen by cross-validation on the training
texts only."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import smoke
from ..errors import TlcourseError  # noqa: F401
from .corpora import TextData

# ---------------------------------------------------------------------------------------------
# Linear classifiers: on TF-IDF (the classic from scratch) and on frozen embeddings (the probe)
# ---------------------------------------------------------------------------------------------
C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)  # logistic regression's inverse regularisation strength


@dataclass
class LinearResult:
    """A logistic regression's test outcome.

    Attributes:
        accuracy: fraction of test texts right.
        pred: ``[N_test]`` predicted labels (for the mistake list).
        C: the regularisation chosen by cross-validation on the training set.
        seconds: wall time to fit and predict.
        model: the fitted scikit-learn estimator (for the probe: scaler + logistic regression,
            which :func:`head_from_probe` turns into a torch head for LP-FT).
    """

    accuracy: float
    pred: torch.Tensor
    C: float
    seconds: float
    model: object = None


class _Center:
    """Subtract the training vectors' mean, divide by their one overall spread (a scalar).

    Not a per-dimension standardisation: three of all-MiniLM-L6-v2's 384 dimensions are
    constant up to rounding (spread ~1e-33), which per-dimension scaling would blow up to
    nonsense on test texts.
    """

    def fit(self, x, y=None):
        self.mean_ = x.mean(0)
        self.scale_ = float((x - self.mean_).std()) or 1.0
        return self

    def transform(self, x):
        return (x - self.mean_) / self.scale_

    def fit_transform(self, x, y=None):
        return self.fit(x).transform(x)

    def get_params(self, deep=True):  # scikit-learn's estimator protocol (for cloning)
        return {}

    def set_params(self, **params):
        return self


def _fit_logreg(x_train, y_train: torch.Tensor, x_test, y_test: torch.Tensor,
                center: bool = False) -> LinearResult:
    """Logistic regression (on centred, rescaled vectors if ``center``), its C chosen by
    stratified k-fold CV (k <= 5) on the training set only; with fewer than 2 texts per class
    there is nothing to cross-validate and C = 1. In :func:`tlcourse.smoke.smoke_mode` the same
    search runs in miniature: C = 1 alone, 2 folds, a few rows per class, few iterations."""
    import warnings

    from sklearn import model_selection
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    start = time.perf_counter()
    y = y_train.numpy()
    grid, max_folds, max_iter = list(C_GRID), 5, 2000
    if smoke.active():  # prove the path runs; the numbers mean nothing
        rows = np.concatenate([np.flatnonzero(y == c)[:smoke.FIT_ROWS_PER_CLASS]
                               for c in np.unique(y)])
        x_train, y = x_train[rows], y[rows]
        grid, max_folds, max_iter = [1.0], 2, smoke.FIT_MAX_ITER
    model = make_pipeline(*([_Center()] if center else []),
                          LogisticRegression(max_iter=max_iter))
    folds = min(max_folds, int(np.bincount(y).min()))
    with warnings.catch_warnings():
        if smoke.active():
            warnings.simplefilter("ignore", ConvergenceWarning)
        if folds >= 2:
            cv = model_selection.StratifiedKFold(folds, shuffle=True, random_state=0)
            model = model_selection.GridSearchCV(
                model, {"logisticregression__C": grid}, cv=cv).fit(x_train, y).best_estimator_
        else:
            model.fit(x_train, y)
    pred = torch.as_tensor(model.predict(x_test), dtype=torch.long)
    acc = float((pred == y_test).float().mean())
    C = float(model[-1].C)
    return LinearResult(acc, pred, C, time.perf_counter() - start, model)


def tfidf_baseline(train: TextData, test: TextData) -> LinearResult:
    """TF-IDF of words and word pairs + logistic regression: the strong classic, learned from
    the training texts alone (no pretraining). C is chosen by cross-validation on ``train``.

    Example:
        >>> tfidf_baseline(train, test).accuracy     # doctest: +SKIP
        0.7...
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    start = time.perf_counter()
    if smoke.active():  # the vocabulary of the few texts the smoke fit sees (see _fit_logreg)
        train = train.subset(np.concatenate([np.flatnonzero(train.y.numpy() == c)[
            :smoke.FIT_ROWS_PER_CLASS] for c in range(len(train.classes))]))
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
    x_train = vec.fit_transform(train.texts)
    result = _fit_logreg(x_train, train.y, vec.transform(test.texts), test.y)
    result.seconds = time.perf_counter() - start
    return result


def probe(train_emb: torch.Tensor, train_y: torch.Tensor, test_emb: torch.Tensor,
          test_y: torch.Tensor) -> LinearResult:
    """Logistic regression on frozen sentence vectors (feature extraction), centred and
    rescaled first, C chosen by cross-validation on the training vectors.

    Centring matters for the random-weight encoder, whose vectors all point almost the same
    way (cosine ~0.93): without it one C grid could not suit both encoders.

    Example:
        >>> x_train, x_test = embed(train.texts, enc), embed(test.texts, enc)  # doctest: +SKIP
        >>> probe(x_train, train.y, x_test, test.y).accuracy                 # doctest: +SKIP
    """
    return _fit_logreg(train_emb.numpy(), train_y, test_emb.numpy(), test_y, center=True)


def head_from_probe(result: LinearResult) -> nn.Linear:
    """The probe as a torch head on the encoder's raw vectors, giving the same probabilities
    (the centring folded into the weights): LP-FT's starting point.

    Logistic regression's logit ``z = w . (e - mean) / scale + b`` becomes the two class logits
    ``[-z/2, z/2]`` (softmax of those is ``[1 - sigmoid(z), sigmoid(z)]``).
    """
    center, lr = result.model[0], result.model[-1]
    w = torch.as_tensor(lr.coef_[0] / center.scale_, dtype=torch.float32)  # [D]
    b = float(lr.intercept_[0] - np.sum(lr.coef_[0] * center.mean_ / center.scale_))
    head = nn.Linear(len(w), 2)
    with torch.no_grad():
        head.weight.copy_(torch.stack([-w / 2, w / 2]))
        head.bias.copy_(torch.tensor([-b / 2, b / 2]))
    return head
