"""Near-duplicates in a learner's folder, built from the course's own photos: re-saved, converted,
resized, cropped and turned copies are grouped by ``check``, a copy in another class is a label
conflict, and no split of ``train`` puts two copies of one photo on both sides.

The photos are the course's 256-px cut-outs, so the whole file runs in a few seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tlcourse.assets import data_dir
from tlcourse.custom.folder import check_folder, load_folder
from tlcourse.custom.splits import _splits
from tlcourse.custom.walk import split_layout

PHOTOS = data_dir() / "objects" / "photo"
pytestmark = pytest.mark.skipif(not PHOTOS.is_dir(), reason="the course photos are not provisioned")


def _photos(cls: str, n: int) -> list[Image.Image]:
    return [Image.open(p).convert("RGB") for p in sorted((PHOTOS / cls).glob("*.png"))[:n]]


def _save(im: Image.Image, path, **kw) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, **kw)


def _crop(im: Image.Image, f: float) -> Image.Image:  # f of each side, from the top left
    return im.crop((int(im.width * f), int(im.height * f), im.width, im.height))


# Each photo's copies: what a learner's folder really holds.
COPIES = {
    "resaved.jpg": lambda im: (im, {"quality": 70}),
    "converted.webp": lambda im: (im, {"quality": 80}),
    "small.png": lambda im: (im.resize((im.width // 2, im.height // 2)), {}),
    "cropped.jpg": lambda im: (_crop(im, 0.10), {"quality": 90}),
    "turned.jpg": lambda im: (im.rotate(90, expand=True), {"quality": 90}),
    "all.webp": lambda im: (_crop(im, 0.08).rotate(270, expand=True).resize(
        (im.height // 2, im.width // 2)), {}),
}


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """3 classes of 7 distinct photos; 2 photos a class get copies (each a different 3 of
    COPIES); one bird photo is also in 'fruit' (a label conflict); and a Synology thumbnail."""
    root = tmp_path_factory.mktemp("messy")
    expected, k = [], 0
    for cls in ("bird", "flower", "mammal"):
        for i, im in enumerate(_photos(cls, 7)):
            _save(im, root / cls / f"{cls}{i}.jpg", quality=92)
            if i < 2:
                group = {f"{cls}/{cls}{i}.jpg"}
                for name in list(COPIES)[k % 6:k % 6 + 3] or list(COPIES)[:3]:
                    copy, kw = COPIES[name](im)
                    _save(copy, root / cls / "copies" / f"{cls}{i}-{name}", **kw)
                    group.add(f"{cls}/copies/{cls}{i}-{name}")
                expected.append(group)
                k += 3
            _save(im.resize((96, 96)), root / cls / "@eaDir" / f"{cls}{i}.jpg" / "SYNOPHOTO_THUMB_M.jpg")
    _save(_photos("bird", 7)[6].rotate(180), root / "flower" / "odd-one.png")  # label conflict
    return root, expected


def test_check_lists_every_group_and_the_label_conflict(messy):
    root, expected = messy
    report = check_folder(root, progress=False)
    assert report.counts == {"bird": 12, "flower": 13, "mammal": 13}  # no thumbnail counted
    groups = [{report._rel(p) for p in g} for g in report.groups]
    assert sorted(map(sorted, groups)) == sorted(map(sorted, expected))
    for g in report.groups:  # the kept one is the largest: here the original
        assert g[0].parent.name != "copies"
    text = report.format()
    for g in expected:
        line = next(ln for ln in text.splitlines() if all(p in ln for p in g))
        assert line.startswith("warning: near-duplicates in ") and "(kept)" in line
    conflict = [p for p in report.problems if p.kind == "label-conflict"]
    assert len(conflict) == 1 and "bird/bird6.jpg" in conflict[0].message \
        and "flower/odd-one.png" in conflict[0].message and "2 classes" in conflict[0].message
    assert "bird6.jpg" not in {p.name for p in report.files["bird"]}  # both copies left out
    assert report.to_json()["near_duplicates"] == [[report._rel(p) for p in g]
                                                   for g in report.groups]


@pytest.mark.parametrize("holdout, seed", [(0.5, 0), (0.5, 1), (0.3, 2), (0.1, 0), (0.1, 3)])
def test_no_group_straddles_a_split_and_each_held_out_photo_counts_once(messy, holdout, seed):
    root, _ = messy
    report = check_folder(root, progress=False)
    data = load_folder(report, size=16, progress=False)
    evaluation, splits, groups = _splits(data, report, holdout, seed)
    assert evaluation == ("cross-validation" if holdout == 0.1 else "holdout")
    ids, kept = report.group_ids(data.paths)
    grouped = [i for i in range(len(data)) if (ids == ids[i]).sum() > 1]
    assert len(grouped) == sum(len(g) for g in report.groups) > 0
    for tr, ev in splits:
        assert not set(groups[tr]) & set(groups[ev])  # no photo on both sides
        assert kept[ev].all()  # a held-out group is scored once, by its kept copy
        assert len(set(groups[ev])) == len(ev)
    scored = np.concatenate([ev for _, ev in splits])
    if evaluation == "cross-validation":  # every photo scored exactly once
        assert sorted(scored) == sorted(np.flatnonzero(kept))
    assert any(set(groups[ev]) & set(ids[grouped]) for _, ev in splits)  # groups were held out


def test_given_train_valid_split_is_used_and_a_held_out_copy_left_out(tmp_path):
    for cls in ("bird", "mammal"):
        ims = _photos(cls, 8)
        for i, im in enumerate(ims):
            _save(im, tmp_path / ("train" if i < 6 else "valid") / cls / f"{i}.jpg", quality=92)
    _save(_photos("bird", 1)[0].resize((128, 128)), tmp_path / "valid" / "bird" / "leak.png")
    _save(_photos("bird", 1)[0], tmp_path / "train" / ".DS_Store", format="PNG")  # litter, not a class
    assert split_layout(["train", "valid"]) and split_layout(["Train", "val", "test"])
    assert not split_layout(["train"]) and not split_layout(["train", "cats"])
    report = check_folder(tmp_path, progress=False)
    assert report.classes == ["bird", "mammal"] and report.counts == {"bird": 8, "mammal": 8}
    leak = [p for p in report.problems if "across the given split" in p.message]
    assert len(leak) == 1 and "valid/bird/leak.png" in leak[0].message
    assert "given split: train/ 12, valid/ 4" in report.format()
    data = load_folder(report, size=16, progress=False)
    evaluation, [(tr, ev)], _ = _splits(data, report, 0.2, 0)
    assert evaluation == "holdout" and all(data.paths[i].startswith("train/") for i in tr)
    assert len(tr) == 12
    assert sorted(data.paths[i] for i in ev) == sorted(
        f"valid/{c}/{i}.jpg" for c in ("bird", "mammal") for i in (6, 7))


def test_the_course_sample_folder_raises_no_false_alarm():
    sample = data_dir() / "sample-images"
    if not sample.is_dir():
        pytest.skip("the sample folder is not provisioned")
    report = check_folder(sample, progress=False)
    counts = dict(report.counts)
    assert counts.pop("negative") == 30  # Fashion-MNIST images of none of the classes
    assert sum(counts.values()) == 186  # the course photos, all distinct pictures
    assert report.groups == [] and not [p for p in report.problems
                                        if p.kind in ("near-duplicate", "label-conflict")]
