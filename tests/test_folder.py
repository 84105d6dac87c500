"""tlcourse.custom.folder: a learner's own folder of images, built here with every way it can go wrong.

Images are small (40 px) and made with Pillow, so the whole file runs in seconds. Each test
asserts the message or number a learner would see, that nothing raises, and that the folder is
never written to.
"""

from __future__ import annotations

import json
import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tlcourse.assets import AssetError, data_dir, write_sample_folder
from tlcourse.custom.folder import (
    FolderReport,
    check_folder,
    load_folder,
    load_images,
)
from tlcourse.custom.images import MAX_PIXELS, ImageReadError, open_image


# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------
def _rgb(path: Path, seed: int, size: tuple[int, int] = (40, 40), fmt: str | None = None) -> Path:
    """A distinct noise image (distinct content, so no accidental duplicates)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    px = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(px).save(path, fmt)
    return path


def _class(root: Path, name: str, n: int, start: int) -> list[Path]:
    return [_rgb(root / name / f"img{i}.png", start + i) for i in range(n)]


def _png_header_only(path: Path, w: int, h: int) -> Path:
    """A PNG that claims w x h pixels but holds (almost) no data: a decompression bomb's shape."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b""))
    return path


def _snapshot(root: Path) -> list[tuple[str, int, int]]:
    """Every entry under root with its mtime and size (symlinks not followed)."""
    out = []
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            st = os.lstat(os.path.join(d, name))
            out.append((os.path.relpath(os.path.join(d, name), root), st.st_mtime_ns, st.st_size))
    return sorted(out)


def _symlink(target: str, link: Path) -> None:
    try:
        os.symlink(target, link)
    except (OSError, NotImplementedError):
        pytest.skip("this file system cannot make symlinks")


# ---------------------------------------------------------------------------------------------
# open_image: one file
# ---------------------------------------------------------------------------------------------
def test_cmyk_jpeg_becomes_rgb(tmp_path):
    Image.new("CMYK", (40, 40), (0, 255, 255, 0)).save(tmp_path / "c.jpg")  # pure red in print
    im, notes = open_image(tmp_path / "c.jpg")
    assert im.mode == "RGB" and notes == ["converted from CMYK"]
    r, g, b = im.getpixel((20, 20))
    assert r > 240 and g < 15 and b < 15


def test_16bit_png_is_scaled_not_clipped(tmp_path):
    values = np.linspace(0, 65535, 40 * 40).reshape(40, 40).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode == "I;16"
    im, notes = open_image(tmp_path / "g16.png")
    got = np.asarray(im)[..., 0]
    assert notes == ["converted from I;16", "16-bit scaled to 8-bit"]
    # Pillow's own convert("L") clips: everything above 255 turns white.
    assert (np.asarray(Image.open(tmp_path / "g16.png").convert("L")) == 255).mean() > 0.99
    np.testing.assert_array_equal(got, np.round(values / 257).astype(np.uint8))
    assert len(np.unique(got)) > 200


def test_12bit_data_in_16bit_png_uses_its_range(tmp_path):
    values = np.linspace(0, 4095, 1600).reshape(40, 40).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "g12.png")
    im, notes = open_image(tmp_path / "g12.png")
    assert "16-bit scaled to 8-bit (12-bit data)" in notes
    assert np.asarray(im).max() == 255  # not 16/255: almost black


def test_palette_transparency_composited_on_white(tmp_path):
    p = Image.new("P", (40, 40), 1)
    p.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    p.paste(0, (0, 0, 20, 40))  # left half: index 0, transparent
    p.save(tmp_path / "p.png", transparency=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's "convert P with transparency" warning
        im, notes = open_image(tmp_path / "p.png")
    assert notes == ["converted from P", "transparency composited on white"]
    assert im.getpixel((5, 20)) == (255, 255, 255) and im.getpixel((30, 20)) == (0, 0, 255)


def test_opaque_rgba_is_converted_without_a_transparency_note(tmp_path):
    Image.new("RGBA", (40, 40), (10, 20, 30, 255)).save(tmp_path / "a.png")
    im, notes = open_image(tmp_path / "a.png")
    assert notes == ["converted from RGBA"] and im.getpixel((0, 0)) == (10, 20, 30)


def test_exif_orientation_6_is_turned_upright(tmp_path):
    im = Image.new("RGB", (40, 20), (255, 0, 0))
    im.paste((0, 0, 255), (20, 0, 40, 20))  # stored: red left, blue right
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    im.save(tmp_path / "r.jpg", exif=exif, quality=95)
    out, notes = open_image(tmp_path / "r.jpg")
    assert notes == ["rotated by EXIF (orientation 6)"]
    assert out.size == (20, 40)
    assert out.getpixel((10, 5))[0] > 240 and out.getpixel((10, 35))[2] > 240  # red on top


@pytest.mark.parametrize("mode, array, notes, expect", [
    ("1", np.eye(40, dtype=bool), ["converted from 1"], (255, 255, 255)),
    ("LA", np.dstack([np.full((40, 40), 0, np.uint8), np.full((40, 40), 0, np.uint8)]),
     ["converted from LA", "transparency composited on white"], (255, 255, 255)),
    ("F", np.full((40, 40), 0.5, np.float32), ["converted from F", "float scaled to 8-bit"],
     (128, 128, 128)),
    ("I", np.linspace(-1000, 1000, 1600).reshape(40, 40).astype(np.int32),
     ["converted from I", "I values -1000..1000 stretched to 8-bit"], (0, 0, 0)),
])
def test_other_modes_become_rgb(tmp_path, mode, array, notes, expect):
    path = tmp_path / "x.tif" if mode in ("F", "I") else tmp_path / "x.png"
    Image.fromarray(array, mode if mode == "LA" else None).save(path)
    assert Image.open(path).mode == mode
    im, got = open_image(path)
    assert im.mode == "RGB" and got == notes and im.getpixel((0, 0)) == expect


def test_12000x9000_jpeg_loads_downscaled_without_a_bomb_warning(tmp_path):
    Image.new("L", (12000, 9000), 200).save(tmp_path / "huge.jpg", quality=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        im, notes = open_image(tmp_path / "huge.jpg")
    assert max(im.size) == 4096 and im.size == (4096, 3072)
    assert notes == ["converted from L", "downscaled from 12000x9000"]
    assert Image.MAX_IMAGE_PIXELS != MAX_PIXELS  # Pillow's global limit is restored


def test_large_png_downscaled_by_max_side(tmp_path):
    _rgb(tmp_path / "wide.png", 0, size=(500, 300))
    im, notes = open_image(tmp_path / "wide.png", max_side=100)
    assert im.size == (100, 60) and notes == ["downscaled from 500x300"]


@pytest.mark.parametrize("side", [20_000, 30_000])  # 400 MP: our limit; 900 MP: Pillow's
def test_over_the_pixel_limit_is_refused(tmp_path, side):
    path = _png_header_only(tmp_path / "bomb.png", side, side)
    with pytest.raises(ImageReadError, match="over the 300 MP limit; shrink it") as e:
        open_image(path)
    assert e.value.kind == "too-large"


def test_truncated_jpeg_is_corrupt(tmp_path):
    _rgb(tmp_path / "ok.jpg", 1, size=(200, 200), fmt="JPEG")
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"cut\.jpg: corrupt or truncated \(image file is "
                                             r"truncated.*re-copy or re-export it") as e:
        open_image(tmp_path / "cut.jpg")
    assert e.value.kind == "corrupt" and isinstance(e.value, ValueError)


def test_not_an_image_messages(tmp_path):
    (tmp_path / "notes.jpg").write_text("my holiday notes")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "IMG_1.HEIC").write_bytes(b"\0\0\0\x18ftypheic" + bytes(100))
    cases = {"notes.jpg": "a text file, not an image (despite its .jpg name)",
             "empty.png": "an empty file (0 bytes)",
             "IMG_1.HEIC": "a HEIC/HEIF photo, which this course cannot read; export it as JPEG"}
    for name, reason in cases.items():
        with pytest.raises(ImageReadError) as e:
            open_image(tmp_path / name)
        assert str(e.value).startswith(f"{tmp_path / name}: {reason}")
        assert "\n" not in str(e.value)
    with pytest.raises(ImageReadError, match="missing.jpg: no such file"):
        open_image(tmp_path / "missing.jpg")


# ---------------------------------------------------------------------------------------------
# check_folder: the whole folder
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def messy(tmp_path) -> Path:
    """A folder with most things a real one can get wrong."""
    root = tmp_path / "my photos"
    _class(root, "cat", 6, 0)
    _rgb(root / "cat" / "garden 2024" / "deep" / "nested cat.png", 100)  # nested: still 'cat'
    shared = _rgb(root / "cat" / "shared.png", 101)
    (root / "dog").mkdir()
    (root / "dog" / "also shared.png").write_bytes(shared.read_bytes())  # label conflict
    _class(root, "dog", 5, 200)
    (root / "dog" / "img0 copy.png").write_bytes((root / "dog" / "img0.png").read_bytes())
    Image.new("CMYK", (40, 40), (0, 255, 255, 0)).save(root / "dog" / "cmyk.jpg")
    Image.fromarray(np.linspace(0, 65535, 1600).reshape(40, 40).astype(np.uint16)).save(
        root / "dog" / "sixteen.png")
    _class(root, "chat café ñandú", 5, 300)  # non-ASCII class name
    _rgb(root / "chat café ñandú" / "fötö 1 (copy).jpg", 305, fmt="JPEG")
    _class(root, "three", 3, 400)  # too few: blocking
    (root / "empty").mkdir()       # none: blocking
    _rgb(root / "cat" / "ok.jpg", 500, size=(200, 200), fmt="JPEG")
    data = (root / "cat" / "ok.jpg").read_bytes()
    (root / "cat" / "cut.jpg").write_bytes(data[: len(data) // 2])
    (root / "cat" / "ok.jpg").unlink()
    (root / "cat" / "fake.jpg").write_text("not a picture")
    (root / "cat" / "labels.txt").write_text("cat\n")
    _rgb(root / "cat" / "tiny.png", 600, size=(20, 16))
    _rgb(root / "loose.png", 700)  # not in a class folder
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "cat" / ".ipynb_checkpoints").mkdir()
    _rgb(root / "cat" / ".ipynb_checkpoints" / "hidden.png", 800)
    _rgb(root / "__MACOSX" / "cat" / "._img0.png", 801)
    _symlink("..", root / "dog" / "loop")  # points back up: must not recurse forever
    return root


def test_messy_folder_report(messy):
    before = _snapshot(messy)
    report = check_folder(messy, progress=False)
    assert report.classes == ["cat", "chat café ñandú", "dog", "empty", "three"]
    # cat: 6 + nested + tiny (shared.png is in conflict; cut/fake/labels are unusable)
    assert report.counts == {"cat": 8, "chat café ñandú": 6, "dog": 7, "empty": 0, "three": 3}
    assert not report.ok and report.imbalance is None  # an empty class
    kinds = sorted((p.kind, p.blocking) for p in report.problems)
    assert kinds == sorted([
        ("corrupt", False), ("corrupt", False), ("non-image", False), ("duplicate", False),
        ("label-conflict", False), ("loose-file", False), ("symlink-loop", False),
        ("tiny", False), ("too-few", True), ("too-few", True),
        ("few-images", False), ("few-images", False), ("few-images", False)])
    msg = {p.kind + ":" + str(p.path.relative_to(messy)): p.message for p in report.problems}
    assert msg["corrupt:cat/fake.jpg"] == ("cat/fake.jpg: a text file, not an image (despite its "
                                           ".jpg name); left out")
    assert msg["corrupt:cat/cut.jpg"].startswith("cat/cut.jpg: corrupt or truncated")
    assert msg["non-image:cat/labels.txt"] == ("cat/labels.txt: a text file, not an image; "
                                               "ignored")
    assert msg["duplicate:dog/img0 copy.png"] == ("dog/img0 copy.png is an exact copy of "
                                                  "dog/img0.png; only one is used")
    assert msg["label-conflict:cat/shared.png"].startswith(
        "the same image is in 2 classes (cat/shared.png, dog/also shared.png): a label conflict "
        "and a train/test leak; all copies left out")
    assert msg["symlink-loop:dog/loop"].startswith("dog/loop: symlink loop")
    assert msg["too-few:empty"].startswith("class 'empty' has 0 usable images; at least 5 are "
                                           "needed (Custom Vision's minimum per tag is 5)")
    assert msg["few-images:cat"] == ("class 'cat' has 8 images: enough to train, too few to "
                                     "measure well; Custom Vision needs >= 5 per tag and "
                                     "recommends about 50")
    assert msg["tiny:cat/tiny.png"].startswith("cat/tiny.png is tiny (20x16 px)")
    assert "loose.png is not inside a class folder; ignored" in msg["loose-file:loose.png"]
    # Nested images belong to their top-level class; hidden files are not even mentioned.
    assert messy / "cat" / "garden 2024" / "deep" / "nested cat.png" in report.files["cat"]
    assert not any("hidden" in str(p.path) or "MACOSX" in str(p.path) or "DS_Store"
                   in str(p.path) for p in report.problems)
    assert report.notes[messy / "dog" / "cmyk.jpg"] == ["converted from CMYK"]
    assert report.notes[messy / "dog" / "sixteen.png"] == ["converted from I;16",
                                                           "16-bit scaled to 8-bit"]
    text = report.format()
    assert text.splitlines()[-1] == ("NOT READY: 2 problems to fix (lines starting 'error:'), "
                                     "11 warnings.")
    assert "on load: 2 converted to RGB (CMYK 1, I;16 1)" in text
    assert text.index("error:") < text.index("warning:")
    js = json.loads(json.dumps(report.to_json(), ensure_ascii=False))
    assert js["counts"]["chat café ñandú"] == 6 and js["ok"] is False
    assert "chat café ñandú/fötö 1 (copy).jpg" in js["files"]["chat café ñandú"]
    assert _snapshot(messy) == before  # never written to


def test_odd_entries_are_reported_not_followed(tmp_path):
    _class(tmp_path, "a", 6, 0)
    _class(tmp_path, "b", 5, 10)
    _symlink("self", tmp_path / "a" / "self")            # a link to itself: ELOOP
    _symlink("gone.png", tmp_path / "a" / "dangling.png")
    _symlink(str(tmp_path), tmp_path / "root-again")     # a "class" that is the folder itself
    _symlink(str(tmp_path / "a" / "img0.png"), tmp_path / "b" / "linked.png")  # followed
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "b" / "pipe.jpg")  # reading it would block forever
    before = _snapshot(tmp_path)
    report = check_folder(tmp_path, progress=False)
    kinds = {str(p.path.relative_to(tmp_path)): p.kind for p in report.problems}
    assert kinds["a/self"] == "symlink-loop" and kinds["a/dangling.png"] == "broken-link"
    assert kinds["root-again"] == "symlink-loop"
    assert kinds["a/img0.png"] == "label-conflict"  # the link put one image in both classes
    if hasattr(os, "mkfifo"):
        assert kinds["b/pipe.jpg"] == "non-image"
    assert report.classes == ["a", "b"] and report.counts == {"a": 5, "b": 5}
    assert report.ok and _snapshot(tmp_path) == before


def test_load_folder_refuses_a_blocked_report(messy):
    with pytest.raises(ValueError, match="not ready to load: class 'empty' has 0 usable images"):
        load_folder(check_folder(messy, progress=False), 32, progress=False)


@pytest.mark.parametrize("setup, kind, message", [
    (lambda t: t / "nope", "missing", "does not exist; give the folder that holds one subfolder"),
    (lambda t: _rgb(t / "one.png", 0), "not-a-folder", "is a file, not a folder"),
    (lambda t: (_rgb(t / "flat" / "a.png", 0), t / "flat")[1], "no-classes",
     "has no class folders (1 file directly in it); put each class's images in its own"),
    (lambda t: (_class(t / "solo", "cat", 5, 0), t / "solo")[1], "one-class",
     "only one class folder (cat); a classifier needs at least 2 classes"),
])
def test_blocking_paths(tmp_path, setup, kind, message):
    report = check_folder(setup(tmp_path), progress=False)
    assert not report.ok
    blocking = [p for p in report.problems if p.blocking]
    assert [p.kind for p in blocking] == [kind] and message in blocking[0].message
    assert sum(line.startswith("error:") for line in report.format().splitlines()) == 1


def test_imbalance_warns_but_does_not_block(tmp_path):
    _class(tmp_path, "many", 55, 0)
    _class(tmp_path, "few", 5, 100)
    report = check_folder(tmp_path, progress=False)
    assert report.ok and report.imbalance == 11.0
    warn = [p.message for p in report.problems if p.kind == "imbalance"]
    assert warn == [("imbalance 11:1 ('many' 55 images, 'few' 5); the model will favour the big "
                     "class: add images to the small one or weight the loss")]
    last = report.format().splitlines()[-1]
    assert last == "READY: 60 images in 2 classes, imbalance 11.0:1; 2 warnings."


def test_content_hash_tracks_the_data(tmp_path):
    _class(tmp_path, "a", 5, 0)
    _class(tmp_path, "b", 5, 10)
    h1 = check_folder(tmp_path, progress=False).content_hash()
    assert h1 == check_folder(tmp_path, progress=False).content_hash()
    os.rename(tmp_path / "b" / "img0.png", tmp_path / "a" / "moved.png")  # a label change
    _rgb(tmp_path / "b" / "img0.png", 99)
    assert check_folder(tmp_path, progress=False).content_hash() != h1


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------
def test_load_folder_letterboxes_and_labels(tmp_path):
    _class(tmp_path, "a", 5, 0)
    _class(tmp_path, "b", 5, 10)
    _rgb(tmp_path / "b" / "wide.png", 50, size=(80, 40))
    before = _snapshot(tmp_path)
    report = check_folder(tmp_path, progress=False)
    data = load_folder(report, 32, progress=False)
    assert data.x.shape == (11, 3, 32, 32) and data.x.dtype.is_floating_point is False
    assert data.y.tolist() == [0] * 5 + [1] * 6 and data.classes == ["a", "b"]
    assert data.paths[0] == "a/img0.png" and "b/wide.png" in data.paths
    wide = data.x[data.paths.index("b/wide.png")]
    assert (wide[:, :4] == 255).all() and (wide[:, -4:] == 255).all()  # white bars, no stretch
    assert _snapshot(tmp_path) == before
    (tmp_path / "a" / "img0.png").write_bytes((tmp_path / "b" / "img0.png").read_bytes())
    with pytest.raises(ValueError, match="img0.png changed since the folder was checked"):
        load_folder(report, 32, progress=False)


def test_load_folder_matches_the_course_loader(tmp_path):
    """The same pixels as tlcourse.data for the course's own PNGs (a trusted reference)."""
    from tlcourse.data import _load_image

    photos = data_dir() / "objects" / "photo"
    if not photos.is_dir():
        pytest.skip("course photos not provisioned")
    for cls in ("bird", "vehicle"):
        (tmp_path / cls).mkdir()
        for f in sorted((photos / cls).glob("*.png"))[:5]:
            _symlink(str(f), tmp_path / cls / f.name)  # symlinked files are followed
    data = load_folder(check_folder(tmp_path, progress=False), 64, progress=False)
    for x, rel in zip(data.x, data.paths):
        ref = _load_image(photos / rel, 64)
        np.testing.assert_array_equal(x.permute(1, 2, 0).numpy(), ref)


def test_load_images_reports_failures_and_goes_on(tmp_path):
    good = _rgb(tmp_path / "one.png", 0)
    (tmp_path / "bad.jpg").write_text("oops")
    _rgb(tmp_path / "more" / "sub" / "two.jpg", 1, fmt="JPEG")
    (tmp_path / "more" / "readme.md").write_text("hi")
    _symlink(".", tmp_path / "more" / "loop")
    x, loaded, failed = load_images([good, tmp_path / "bad.jpg", tmp_path / "more",
                                     tmp_path / "gone.png"], size=24)
    assert x.shape == (2, 3, 24, 24) and loaded == [good, tmp_path / "more" / "sub" / "two.jpg"]
    reasons = {p.name: r for p, r in failed}
    assert reasons == {"bad.jpg": "a text file, not an image (despite its .jpg name)",
                       "readme.md": "a text file, not an image",
                       "loop": "symlink loop (points back to a folder it is inside); skipped",
                       "gone.png": "no such file or folder"}
    assert load_images([], size=24)[0].shape == (0, 3, 24, 24)


# ---------------------------------------------------------------------------------------------
# The sample folder
# ---------------------------------------------------------------------------------------------
def test_write_sample_folder_is_idempotent_and_checkable(tmp_path):
    src = tmp_path / "photo"
    for c, seed in (("bird", 0), ("fruit", 10)):
        _class(src, c, 5, seed)
    dest = write_sample_folder(tmp_path / "out" / "sample-images", src)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.jpg")) == [
        f"{c}/img{i}.jpg" for c in ("bird", "fruit") for i in range(5)]
    assert Image.open(dest / "bird" / "img0.jpg").format == "JPEG"
    before = _snapshot(dest)
    assert write_sample_folder(dest, src) == dest and _snapshot(dest) == before  # skipped
    (dest / "bird" / "img3.jpg").unlink()  # damaged: rebuilt
    write_sample_folder(dest, src)
    assert (dest / "bird" / "img3.jpg").is_file()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["sample-images"]  # no temp left
    report = check_folder(dest, progress=False)
    assert report.ok and report.counts == {"bird": 5, "fruit": 5}
    with pytest.raises(AssetError, match="exists but was not written by write_sample_folder"):
        write_sample_folder(src, tmp_path)
    with pytest.raises(AssetError, match="The course photos are missing"):
        write_sample_folder(tmp_path / "x", tmp_path / "nowhere")


def test_report_type():
    assert FolderReport(root=Path("x")).imbalance is None


def test_of_exact_copies_the_plainer_name_is_kept(tmp_path):
    root = tmp_path / "photos"
    keep = _rgb(root / "a" / "IMG_1024.jpg", seed=1, fmt="PNG")
    for name in ("IMG_1024 (1).jpg", "IMG_1024 copy.jpg", "Copy of IMG_1024.jpg"):
        (root / "a" / name).write_bytes(keep.read_bytes())
    _class(root, "b", 5, 10)
    _class(root, "a", 4, 20)
    report = check_folder(root, progress=False)
    assert keep in report.files["a"]
    kept_copies = [p.name for p in report.files["a"] if "IMG_1024" in p.name]
    assert kept_copies == ["IMG_1024.jpg"]
    dupes = [p.message for p in report.problems if p.kind == "duplicate"]
    assert len(dupes) == 3 and all(m.endswith("is an exact copy of a/IMG_1024.jpg; only one is used")
                                   for m in dupes)


def test_counts_of_one_read_in_the_singular(tmp_path):
    root = tmp_path / "photos"
    _class(root, "a", 1, 0)
    _class(root, "b", 5, 10)
    report = check_folder(root, progress=False)
    text = report.format()
    assert "class 'a' has 1 usable image; at least 5" in text
    relaxed = check_folder(root, min_per_class=1, progress=False)
    text = relaxed.format()
    assert "class 'a' has 1 image: enough to train" in text and "1 images" not in text
