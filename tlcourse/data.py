"""Datasets as small in-memory tensors, and seeded, stratified few-shot splits.

Every dataset loads as an :class:`ImageData`: uint8 images ``[N, C, H, W]``, integer labels and
class names. Images stay at their native size; the backbone's :class:`~tlcourse.backbones.Preprocess`
resizes and normalises them, so the same data serves every backbone.

Example:
    >>> photos = load_dataset("photo")
    >>> train, test = few_shot_split(photos, labels_per_class=5, seed=0)
    >>> len(train) == 5 * len(photos.classes)
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from .assets import PROVISION_CMD, AssetError, data_dir, objects_manifest


@dataclass
class ImageData:
    """A labelled image set held in memory.

    Attributes:
        x: uint8 images, ``[N, C, H, W]`` (C = 1 for gray, 3 for RGB).
        y: int64 labels, ``[N]``.
        classes: class names, indexed by label.
        name: dataset name (for tables and plots).
        paths: source file of each image, where there is one.
    """

    x: torch.Tensor
    y: torch.Tensor
    classes: list[str]
    name: str
    paths: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: torch.Tensor | np.ndarray | list[int]) -> ImageData:
        """The images at ``idx`` (a new ImageData sharing nothing mutable)."""
        idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
        paths = [self.paths[i] for i in idx.tolist()] if self.paths else []
        return ImageData(self.x[idx], self.y[idx], self.classes, self.name, paths)

    def counts(self) -> list[int]:
        """Images per class."""
        return torch.bincount(self.y, minlength=len(self.classes)).tolist()


# ---------------------------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------------------------
def _load_image(path, size: int) -> np.ndarray:
    """Open one stored object image and pad it to a white square of ``size`` px: [size, size, 3]."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("RGBA")
    except Exception as e:  # noqa: BLE001 - any decoding failure means the file is unusable
        raise AssetError(
            f"Image {path} is corrupt or unreadable ({type(e).__name__}: {e}). "
            f"Re-provision it: tlcourse assets --provision --force"
        ) from None
    side = max(im.size)
    canvas = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    canvas.alpha_composite(im, ((side - im.width) // 2, (side - im.height) // 2))
    canvas = canvas.convert("RGB").resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(canvas)


@lru_cache(maxsize=8)
def _objects(domain: str, size: int) -> ImageData:
    root = data_dir() / "objects"
    manifest = objects_manifest()  # raises AssetError with the fix when missing or stale
    classes = manifest["classes"]
    files = [f for f in manifest["files"] if f["domain"] == domain]
    missing = [f["path"] for f in files if not (root / f["path"]).is_file()]
    if missing:
        raise AssetError(f"{len(missing)} object images are missing, e.g. {root / missing[0]}. "
                         f"Run: tlcourse assets --provision --force")
    imgs = np.stack([_load_image(root / f["path"], size) for f in files])  # [N, H, W, 3]
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous()
    y = torch.tensor([classes.index(f["label"]) for f in files])
    return ImageData(x, y, classes, domain, [f["path"] for f in files])


@lru_cache(maxsize=8)
def _mnist_family(cls_name: str, train: bool) -> ImageData:
    from torchvision import datasets

    try:
        ds = getattr(datasets, cls_name)(str(data_dir()), train=train, download=False)
    except RuntimeError as e:
        raise AssetError(f"{cls_name} is not provisioned in {data_dir() / cls_name / 'raw'} ({e}). "
                         f"Run: {PROVISION_CMD}") from None
    return ImageData(ds.data.unsqueeze(1).clone(), ds.targets.clone(), list(ds.classes),
                     cls_name)


@lru_cache(maxsize=2)
def _digits() -> ImageData:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy((d.images * (255 / 16)).round().astype(np.uint8)).unsqueeze(1)
    return ImageData(x, torch.from_numpy(d.target).long(), [str(i) for i in range(10)], "digits")


_DATASETS = {
    "photo": ("object photos (Tux Paint stamps), 6 classes; RGB", lambda _, size: _objects("photo", size)),
    "clipart": ("clip art of the same 6 classes (Openclipart); RGB", lambda _, size: _objects("clipart", size)),
    "fashion-mnist": ("Fashion-MNIST, 10 clothing classes, 28x28 gray",
                      lambda split, size: _mnist_family("FashionMNIST", split == "train")),
    "mnist": ("MNIST handwritten digits, 28x28 gray",
              lambda split, size: _mnist_family("MNIST", split == "train")),
    "digits": ("scikit-learn digits, 1,797 8x8 gray (one pool)", lambda _, size: _digits()),
}


_POOLED = ("photo", "clipart", "digits")  # one pool each; few_shot_split makes train and test


def list_datasets() -> dict[str, str]:
    """Dataset names accepted by :func:`load_dataset`, with a one-line description."""
    return {k: v[0] for k, v in _DATASETS.items()}


def load_dataset(name: str, split: str = "train", size: int = 128) -> ImageData:
    """Load a dataset into memory (cached per process).

    Args:
        name: one of :func:`list_datasets`.
        split: ``"train"`` or ``"test"`` for the MNIST family. The object sets and digits are
            one pool (``"train"``, the default) that :func:`few_shot_split` divides; asking
            them for ``"test"`` raises rather than silently returning the same images.
        size: stored side in px for the object sets (the backbone resizes again).

    Raises:
        AssetError: the data is not provisioned or a file is corrupt; the message says the fix.
        ValueError: an unknown name or split, or ``"test"`` of a pooled set.
    """
    if name not in _DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; choose from {sorted(_DATASETS)}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    if split == "test" and name in _POOLED:
        raise ValueError(
            f"{name!r} has no separate test split: it is one pool of images. Load it with "
            f"load_dataset({name!r}) and divide it with few_shot_split(data, k, seed), which "
            f"returns (train, test) without overlap.")
    return _DATASETS[name][1](split, size)


# ---------------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------------
def _per_class_perm(y: torch.Tensor, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = y.numpy()
    return [rng.permutation(np.flatnonzero(labels == c)) for c in range(int(labels.max()) + 1)]


MIN_TEST_PER_CLASS = 5  # fewer test images than this per class make accuracy meaningless


def few_shot_split(data: ImageData, labels_per_class: int, seed: int,
                   test_per_class: int | None = None, max_labels: int | None = None,
                   min_test: int = MIN_TEST_PER_CLASS) -> tuple[ImageData, ImageData]:
    """Seeded stratified split: ``labels_per_class`` training images per class, the rest (or
    at most ``test_per_class`` of the rest) as test images.

    For a fixed seed the training sets are nested (the 2 images per class of ``k=2`` are among
    the 5 of ``k=5``), so a learning curve adds labels rather than drawing new ones. Pass the
    curve's largest k as ``max_labels`` and every k of the curve is tested on the *same* images
    (the ones outside the largest training set); otherwise the test set is "the rest" and its
    class mix changes with k.

    Raises:
        ValueError: a class would keep fewer than ``min_test`` test images; the message names
            the class and the largest k it allows.

    Example:
        >>> a = few_shot_split(photos, 1, seed=0, max_labels=10)[1]  # doctest: +SKIP
        >>> b = few_shot_split(photos, 10, seed=0, max_labels=10)[1]  # doctest: +SKIP
        >>> torch.equal(a.y, b.y)                                     # doctest: +SKIP
        True
    """
    reserve = labels_per_class if max_labels is None else max_labels
    if max_labels is not None and labels_per_class > max_labels:
        raise ValueError(f"labels_per_class={labels_per_class} exceeds max_labels={max_labels}")
    train_idx, test_idx = [], []
    for c, perm in enumerate(_per_class_perm(data.y, seed)):
        if len(perm) - reserve < min_test:
            name = data.classes[c] if c < len(data.classes) else str(c)
            raise ValueError(
                f"{data.name}: class {name!r} has {len(perm)} images; taking {reserve} for "
                f"training would leave {len(perm) - reserve} test images (< {min_test}). "
                f"Use at most {max_labels_per_class(data, min_test)} labels per class "
                f"(max_labels_per_class).")
        train_idx.extend(perm[:labels_per_class])
        rest = perm[reserve:]
        test_idx.extend(rest if test_per_class is None else rest[:test_per_class])
    return data.subset(train_idx), data.subset(test_idx)


def max_labels_per_class(data: ImageData, min_test: int = MIN_TEST_PER_CLASS) -> int:
    """The largest k that :func:`few_shot_split` allows: every class keeps ``min_test`` test images."""
    return min(data.counts()) - min_test


def sample_per_class(data: ImageData, per_class: int, seed: int) -> ImageData:
    """A seeded, stratified sample of ``per_class`` images of each class."""
    return data.subset(np.concatenate([p[:per_class] for p in _per_class_perm(data.y, seed)]))


def held_out_per_class(data: ImageData, skip: int, per_class: int, seed: int) -> ImageData:
    """The next ``per_class`` images of each class after the ``skip`` that
    ``sample_per_class(data, skip, seed)`` draws: validation images that are never among
    that sample's training images."""
    return data.subset(np.concatenate([p[skip:skip + per_class]
                                       for p in _per_class_perm(data.y, seed)]))


def train_val_split(data: ImageData, val_fraction: float, seed: int) -> tuple[ImageData, ImageData]:
    """Stratified split of ``data`` into train and validation (at least one val image a class)."""
    train_idx, val_idx = [], []
    for perm in _per_class_perm(data.y, seed):
        n_val = max(1, round(len(perm) * val_fraction))
        val_idx.extend(perm[:n_val])
        train_idx.extend(perm[n_val:])
    return data.subset(train_idx), data.subset(val_idx)
