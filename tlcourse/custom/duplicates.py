"""Near-duplicates in a learner's folder: the same photo re-saved, converted, resized, cropped or
turned, found by a perceptual hash of the decoded pixels.

Byte-identical copies are easy (a sha256). A copy that was re-saved as ``.webp``, shrunk, cropped
by a few per cent or rotated by 90° has other bytes but is the same photo: in a training folder it
is a leak waiting to happen, because a copy on the evaluation side is scored as a new image that
the model has in fact seen. The hash here is the classic DCT "pHash" (Zauner 2010): the image
shrunk to 32 x 32 gray, its 2-D cosine transform, and one bit per low frequency of the top-left
8 x 8 block (above or below their median). Re-saving, format changes and resizing barely touch
those frequencies (at most 6 of 64 bits on the course photos). A crop of 10 % moves up to 28
bits, as many as between two different photos, so each image is also hashed on 48 windows a crop
could have kept (90 to 100 % of each side, at the edges and the centre), and a pair is compared
at its best window. A turn by a multiple of 90° or a mirror moves most bits, so each whole image
is hashed in all 8 orientations of the square. Last, a gray hash cannot tell a red apple from
the same apple recoloured green: a pair must also have close colour histograms.

Measured on the course's own photos (``datasets/objects/photo``, 186 distinct cut-outs on white)
and on their JPEG copies in the sample folder: see :data:`THRESHOLD`. Line art is another matter:
among the 353 clip-art images, 110 pairs pass, some of them true variants (one drawing in colour
and in black and white) and some not (two outlines of a similar shape); ``check`` then warns
about photos that are not copies, and keeps them all, together.

Example:
    >>> h = [phash(open_image(p)[0]) for p in paths]           # doctest: +SKIP
    >>> groups = near_duplicate_groups(h)                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .walk import SPLITS

SIDE = 32      # the gray thumbnail the cosine transform is taken of
LOW = 8        # the LOW x LOW lowest frequencies give the 64 bits
THRESHOLD = 8
"""Two images whose hashes differ in at most this many of 64 bits (at their closest orientation or
crop window) and ...

Measured on the 186 course photos with 12 kinds of copy each (JPEG q70, WebP, half size, turned
90°/180°, mirrored, 5 % and 10 % crops centred, from a corner or one side, and all at once):
every copy is within 8 bits (99 % within 6) and 0.18 in colour. Between the 17,205 pairs of
distinct photos the hash alone reaches down to 6 bits (cut-outs on white look alike), but no
pair is within 8 bits *and* 0.2 in colour: the closest are 8 bits at 0.23 (blackbird and
lorikeet) and 10 bits at 0.05. The margin is thin on the colour side (0.18 vs 0.23); a learner's
full-frame photos carry far more detail than cut-outs on white."""
MAX_COLOUR = 0.2
"""... whose colours differ by at most this share of pixels (total variation over 4 x 4 x 4 RGB
bins) are near-duplicates. A recoloured copy (the course's red and green apple) is not."""
CROSS_CLASS = (4, 0.12)
"""Stricter bounds (bits, colour) for a pair in two different classes, whose copies are all left
out as a label conflict: a false alarm there costs images. Re-saves, format changes, turns and
mirrors stay within them (at most 4 bits, 0.11); crops and shrunk copies may not, and then stay
in both classes as separate photos. On a folder of 15 course photos a class each with two edited
copies, a crop-and-turn copy of the avocado came 6 bits (0.18) from the eggplant."""


def _dct_matrix(n: int) -> np.ndarray:
    """The orthonormal DCT-II matrix: ``D @ x`` transforms a length-n signal."""
    k, i = np.arange(n)[:, None], np.arange(n)[None, :]
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2 / n)
    d[0] /= np.sqrt(2)
    return d


_D = _dct_matrix(SIDE)[:LOW]  # only the low frequencies are ever used: [LOW, SIDE]


def _windows() -> list[tuple[float, float, float, float]]:
    """Boxes (left, top, right, bottom, as fractions) that a crop of up to ~10 % a side could be."""
    out = []
    for sx in (1.0, 0.95, 0.9):
        for sy in (1.0, 0.95, 0.9):
            if sx == sy == 1.0:
                continue
            for x0 in sorted({0.0, (1 - sx) / 2, 1 - sx}):
                for y0 in sorted({0.0, (1 - sy) / 2, 1 - sy}):
                    out.append((x0, y0, x0 + sx, y0 + sy))
    return out


WINDOWS = _windows()


def _bits(a: np.ndarray) -> np.ndarray:
    """The 64 hash bits of a gray [SIDE, SIDE] array: low frequencies above their median
    (the median taken without the DC term, as pHash does)."""
    low = (_D @ a @ _D.T).ravel()
    return low > np.median(low[1:])


@dataclass(frozen=True)
class Fingerprint:
    """What two images are compared by (about 5 kB an image)."""

    turns: np.ndarray    # bool [8, 64]: the whole image, turned 0/90/180/270°, then mirrored
    windows: np.ndarray  # bool [len(WINDOWS), 64]: upright sub-windows a crop could have kept
    colour: np.ndarray   # float [64]: share of pixels in each of 4 x 4 x 4 RGB bins


def fingerprint(im: Image.Image) -> Fingerprint:
    """Hash an RGB image: the whole in 8 orientations, the crop windows upright, and its colours.

    Example:
        >>> fp = fingerprint(open_image("IMG_0001.jpg")[0])  # doctest: +SKIP
    """
    rgb = im.convert("RGB")
    if max(rgb.size) > 4 * SIDE:  # every window is read from this: 128 px is plenty for 32
        rgb = rgb.resize((min(rgb.width, 4 * SIDE), min(rgb.height, 4 * SIDE)),
                         Image.Resampling.BOX, reducing_gap=2.0)
    gray = rgb.convert("L")
    a = np.asarray(gray.resize((SIDE, SIDE), Image.Resampling.BOX), dtype=np.float64)
    turns = np.stack([_bits(np.rot90(a[:, ::-1] if m else a, r))
                      for m in range(2) for r in range(4)])
    w, h = gray.size
    windows = np.stack([_bits(np.asarray(gray.resize((SIDE, SIDE), Image.Resampling.BOX,
                                                     box=(x0 * w, y0 * h, x1 * w, y1 * h)),
                                         dtype=np.float64))
                        for x0, y0, x1, y1 in WINDOWS])
    q = np.asarray(rgb, dtype=np.uint8) // 64  # 4 levels a channel
    colour = np.bincount((q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]).ravel(), minlength=64)
    return Fingerprint(turns, windows, colour / max(1, colour.sum()))


def _signs(bits: np.ndarray) -> np.ndarray:
    return 2 * bits.astype(np.float32) - 1  # +-1, so that agreeing bits = (64 + dot) / 2


def distances(fps: list[Fingerprint], chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Hash and colour distances between N images: int ``[N, N]`` and float ``[N, N]``.

    The hash distance is the fewest differing bits of 64 over every way one could be the other:
    the two whole images at the closest of the 8 orientations, or a crop window of one against
    the other whole (at any orientation). The colour distance is the share of pixels that would
    have to change bins (total variation, 0 to 1): a recoloured copy is not the same photo.
    """
    n = len(fps)
    if n == 0:
        return np.zeros((0, 0), dtype=int), np.zeros((0, 0))
    turns = _signs(np.stack([f.turns for f in fps]))        # [N, 8, 64]
    windows = _signs(np.stack([f.windows for f in fps]))    # [N, K, 64]
    every = turns.reshape(n * 8, -1)                         # [N * 8, 64]
    agree = np.empty((n, n), dtype=np.float32)
    for i in range(0, n, chunk):  # chunked: [chunk * (K + 1), N * 8] floats at a time
        mine = np.concatenate([turns[i:i + chunk, :1], windows[i:i + chunk]], axis=1)
        m = len(mine)
        agree[i:i + m] = (mine.reshape(-1, mine.shape[2]) @ every.T).reshape(
            m, -1, n, 8).max(axis=(1, 3))
    agree = np.maximum(agree, agree.T)  # a window of either against the other whole
    hashes = np.rint((turns.shape[2] - agree) / 2).astype(int)
    colours = np.stack([f.colour for f in fps])
    colour = np.abs(colours[:, None, :] - colours[None, :, :]).sum(axis=2) / 2 \
        if n <= 2048 else _colour_chunked(colours)
    return hashes, colour


def _colour_chunked(colours: np.ndarray) -> np.ndarray:
    out = np.empty((len(colours), len(colours)))
    for i in range(0, len(colours), 256):
        out[i:i + 256] = np.abs(colours[i:i + 256, None] - colours[None]).sum(axis=2) / 2
    return out


def near_duplicate_groups(fps: list[Fingerprint], labels: list[str] | None = None,
                          threshold: int = THRESHOLD, max_colour: float = MAX_COLOUR
                          ) -> list[list[int]]:
    """Indices of images linked by a chain of near-duplicate pairs (hash distance at most
    ``threshold`` and colour distance at most ``max_colour``; between two ``labels``, within
    :data:`CROSS_CLASS`); only groups of 2 or more, each sorted, in order of their first member."""
    hashes, colour = distances(fps)
    linked = (hashes <= threshold) & (colour <= max_colour)
    if labels is not None:
        lab = np.asarray(labels, dtype=object)
        same = lab[:, None] == lab[None, :]
        linked &= same | ((hashes <= CROSS_CLASS[0]) & (colour <= CROSS_CLASS[1]))
    linked = np.triu(linked, 1)
    parent = list(range(len(fps)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(linked)):
        a, b = root(int(i)), root(int(j))
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(len(fps)):
        groups.setdefault(root(i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])


@dataclass
class Finding:
    """One near-duplicate group as ``check`` reports it."""

    kind: str              # "near-duplicate" (a warning) or "label-conflict" (copies in 2 classes)
    members: list[Path]    # the kept one first
    left_out: list[Path]   # not used at all: every copy of a conflict, held-out copies of a
    # training photo under a given split
    message: str


def find_groups(paths: list[Path], labels: list[str], splits: list[str | None],
                fps: list[Fingerprint], sizes: list[tuple[int, int]],
                rel: Callable[[Path], str]) -> list[Finding]:
    """Group near-duplicates and decide, for each group, which copy is kept and what is left out.

    The kept copy is on the training side of a given split, else the one with the most pixels
    (crops and shrunk copies have fewer: the largest is likely the original), then the plainest
    name. Copies in two classes are a label conflict: all left out, as for exact copies. Under a
    given split, copies outside ``train/`` of a photo that is in ``train/`` are left out (they
    would be scored as new images). Otherwise the whole group is kept, and the training code
    keeps it on one side of every split.
    """
    out = []
    for g in near_duplicate_groups(fps, labels):
        g.sort(key=lambda i: (SPLITS.get((splits[i] or "train").lower()) != "train",
                              -sizes[i][0] * sizes[i][1], len(paths[i].name), str(paths[i])))
        members = [paths[i] for i in g]
        names = ", ".join(rel(p) + (" (kept)" if k == 0 else "") for k, p in enumerate(members))
        classes = sorted({labels[i] for i in g})
        trained = [SPLITS.get((splits[i] or "").lower()) == "train" for i in g]
        if len(classes) > 1:
            out.append(Finding("label-conflict", members, members,
                               f"the same photo (near-duplicate: re-saved, resized, cropped or "
                               f"turned) is in {len(classes)} classes ({', '.join(map(rel, members))}): "
                               f"a label conflict and a train/test leak; all copies left out. "
                               f"Keep it in one class only"))
        elif trained[0] and not all(trained):
            held = [p for p, t in zip(members, trained) if not t]
            out.append(Finding("near-duplicate", members, held,
                               f"near-duplicates across the given split ({names}): the copies "
                               f"outside train/ are left out, or they would be scored as new "
                               f"images the model has in fact seen"))
        else:
            out.append(Finding("near-duplicate", members, [],
                               f"near-duplicates in '{classes[0]}' (the same photo re-saved, "
                               f"resized, cropped or turned): {names}; all are used, always on "
                               f"the same side of every split, and only the kept one is scored "
                               f"when held out. Delete the copies if they are not meant"))
    return out
