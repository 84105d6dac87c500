"""One image from a learner's folder, decoded in full, upright and as RGB, or refused with why.

Nothing in a learner's folder is trusted: a header can look fine while the data is cut off, a
"photo" can be a 300-megapixel bomb or a renamed PDF, a file name can hold bytes that are not
UTF-8. :func:`open_image` decodes the whole file under Pillow's limits, applies the EXIF
orientation, converts every colour mode to RGB (transparency on white, 16-bit scaled, not
clipped) and raises :class:`ImageReadError`, one line naming the file and what to do.
"""

from __future__ import annotations

import io
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from ..errors import TlcourseError

MAX_SIDE = 4096            # longer sides are downscaled on load: no backbone here needs more
MAX_PIXELS = 300_000_000   # larger images are refused (a 300 MP RGB image is ~900 MB decoded)
WHITE = (255, 255, 255)
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".dib", ".tif",
                   ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm", ".ico", ".heic", ".heif",
                   ".avif", ".jp2", ".tga"}
_LOCK = threading.Lock()  # guards Pillow's global limits while they are changed


class ImageReadError(TlcourseError, ValueError):
    """An image file cannot be used. ``str(e)`` is one line: the file, then the reason.

    Attributes:
        path: the file.
        reason: what is wrong and what to do, for the learner.
        kind: ``"not-an-image"``, ``"corrupt"``, ``"too-large"`` or ``"unreadable"``.
    """

    def __init__(self, path: str | Path, reason: str, kind: str = "corrupt"):
        self.path, self.reason, self.kind = Path(path), reason, kind
        super().__init__(f"{_show(path)}: {reason}")


# ---------------------------------------------------------------------------------------------
# One image
# ---------------------------------------------------------------------------------------------
DECODING = {
    "decoder": "Pillow, the whole file at full resolution (no reduced-scale JPEG decoding)",
    "orientation": "EXIF orientation applied (PIL.ImageOps.exif_transpose)",
    "alpha": "transparency composited on white (255, 255, 255)",
    "color": "RGB, 8 bits per channel (16-bit data scaled, not clipped; CMYK via its ICC profile)",
    "frames": "the first frame of an animation",
    "too_large": f"longer side over {MAX_SIDE} px: PIL.Image.thumbnail(({MAX_SIDE}, {MAX_SIDE})) "
                 f"on the RGB image",
    "layout": "uint8 [1, 3, H, W]: numpy.asarray(rgb).transpose(2, 0, 1)[None]",
}
"""How a file becomes the pixels a model is given, the same for ``predict`` and an app (stored in
an exported file's metadata and written in the model folder's README)."""


def decode_rgb(path: str | Path) -> np.ndarray:
    """The pixels a model is given for a file: uint8 ``[H, W, 3]``, decoded as :data:`DECODING`
    says (full resolution, EXIF orientation applied, alpha on white).

    ``predict`` and the README's recipe for apps both decode this way, so the ONNX file and
    ``predict`` see the same pixels; resizing and normalising happen inside the model.

    Raises:
        ImageReadError: the file is missing, not an image, corrupt, truncated or too large.

    Example:
        >>> decode_rgb("IMG_0001.jpg").shape  # doctest: +SKIP
        (3024, 4032, 3)
    """
    path = Path(path)
    # max_side beyond any allowed image: every pixel decoded (no draft), shrunk on RGB below
    im = _decode(path, path, MAX_PIXELS, None)[0]
    if max(im.size) > MAX_SIDE:
        im.thumbnail((MAX_SIDE, MAX_SIDE))
    return np.array(im, dtype=np.uint8)  # a writable copy: torch.from_numpy takes it as is


def open_image(path: str | Path, max_side: int = MAX_SIDE) -> tuple[Image.Image, list[str]]:
    """Decode one image in full, upright and as RGB.

    Applies the EXIF orientation, converts every colour mode to RGB (transparency composited on
    white, 16-bit data scaled to 8 bit rather than clipped) and downscales images whose longer
    side exceeds ``max_side``. Images over ``MAX_PIXELS`` are refused.

    Returns:
        The image and notes on what was done, e.g. ``["converted from CMYK"]``.

    Raises:
        ImageReadError: the file is missing, not an image, corrupt, truncated or too large.

    Example:
        >>> im, notes = open_image("IMG_0001.jpg")  # doctest: +SKIP
        >>> notes                                   # doctest: +SKIP
        ['rotated by EXIF (orientation 6)']
    """
    return _decode(Path(path), Path(path), max_side, None)[:2]


@contextmanager
def _pillow_limits():
    """Pillow's bomb check at our limit (we refuse above it ourselves) and no silent truncation."""
    with _LOCK:
        saved = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
        Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = MAX_PIXELS, False
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = saved


def _decode(path: Path, source: Path | io.BytesIO, max_side: int,
            draft_side: int | None) -> tuple[Image.Image, list[str], tuple[int, int]]:
    """open_image's work; ``draft_side`` lets JPEG decode at a reduced scale (still reading all
    the data) when only a small image is needed (a JPEG larger than ``max_side`` also decodes at
    reduced scale). Also returns the stored size."""
    notes: list[str] = []
    with _pillow_limits(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with Image.open(source) as src:
                size = src.size
                if size[0] * size[1] > MAX_PIXELS:
                    raise _too_large(path, size)
                # MPO: a camera JPEG with extra frames (previews, depth), not an animation
                frames = getattr(src, "n_frames", 1) if src.format != "MPO" else 1
                want = min(max_side, draft_side or max_side)
                if src.format in ("JPEG", "MPO") and max(size) > want:
                    src.draft(None, _fit(size, want))  # DCT scaling: 1/2, 1/4 or 1/8
                src.load()  # the full decode: truncation and corruption surface here
                im, orientation = _upright(src, notes)
        except ImageReadError:
            raise
        except Image.DecompressionBombError:
            raise _too_large(path, None) from None
        except FileNotFoundError:
            raise ImageReadError(path, "no such file", "unreadable") from None
        except (PermissionError, IsADirectoryError) as e:
            raise ImageReadError(path, f"cannot be read ({e.strerror})", "unreadable") from None
        except UnidentifiedImageError:
            raise ImageReadError(path, _not_image_reason(path, source), "not-an-image") from None
        except Exception as e:  # noqa: BLE001 - any decoder failure means the file is unusable
            raise ImageReadError(
                path, f"corrupt or truncated ({_short(e)}); re-copy or re-export it",
                "corrupt") from None
    if frames > 1:
        notes.append(f"first of {frames} frames used")
    if orientation in range(2, 9):
        notes.append(f"rotated by EXIF (orientation {orientation})")
    if max(im.size) > max_side and im.mode in ("L", "RGB", "RGBA", "CMYK"):
        im.thumbnail((max_side, max_side))  # shrink before converting: cheaper
    im = _to_rgb(im, notes, path)
    if max(im.size) > max_side:
        im.thumbnail((max_side, max_side))
    if max(size) > max_side:
        notes.append(f"downscaled from {size[0]}x{size[1]}")
    notes += [f"Pillow warned: {_short(w.message)}" for w in caught  # e.g. corrupt EXIF
              if issubclass(w.category, UserWarning)]
    return im, notes, size


def _upright(src: Image.Image, notes: list[str]) -> tuple[Image.Image, int]:
    """A copy of ``src`` turned as its EXIF orientation says, and that orientation."""
    try:
        orientation = src.getexif().get(0x0112, 1)
        return ImageOps.exif_transpose(src), orientation  # always a copy, detached from the file
    except Exception:  # noqa: BLE001 - broken EXIF must not cost the picture itself
        notes.append("EXIF orientation unreadable; left as stored")
        return src.copy(), 1


def _to_rgb(im: Image.Image, notes: list[str], path: Path) -> Image.Image:
    mode = im.mode
    if mode == "RGB":
        return im
    notes.append(f"converted from {mode}")
    if mode.startswith("I") or mode == "F":  # 16-bit, 32-bit integer or float samples
        a = np.asarray(im.convert("I") if mode.startswith("I;16") else im)
        return Image.fromarray(_scale_to_8bit(a, mode, notes)).convert("RGB")
    if mode in ("P", "PA") and ("transparency" in im.info or mode == "PA"):
        im = im.convert("RGBA")  # palette transparency becomes a real alpha channel
    if im.mode in ("RGBA", "LA", "La", "RGBa", "PA"):
        im = im.convert("RGBA")
        if im.getchannel("A").getextrema()[0] < 255:
            notes.append("transparency composited on white")
            canvas = Image.new("RGBA", im.size, WHITE + (255,))
            canvas.alpha_composite(im)
            im = canvas
        return im.convert("RGB")
    if mode == "CMYK" and im.info.get("icc_profile"):
        try:  # the embedded profile converts print colours faithfully; plain convert is naive
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
            return ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"),
                                             outputMode="RGB")
        except Exception:  # noqa: BLE001 - a broken profile: fall back to the plain conversion
            notes.append("its colour profile could not be used; converted without it")
    try:
        return im.convert("RGB")
    except ValueError:
        raise ImageReadError(path, f"colour mode {mode} cannot be converted to RGB; "
                                   f"re-export it as an RGB JPEG or PNG", "corrupt") from None


def _scale_to_8bit(a: np.ndarray, mode: str, notes: list[str]) -> np.ndarray:
    """Scale high-bit-depth samples to 0-255 (Pillow's own conversion clips at 255)."""
    a = np.nan_to_num(a.astype(np.float64))
    lo, hi = float(a.min()), float(a.max())
    if mode == "F" and lo >= 0 and hi <= 1:
        scale, what = 255.0, "float scaled to 8-bit"
    elif mode != "F" and lo >= 0 and hi <= 65535:
        # 10-, 12- or 14-bit sensor data stored in 16 bits: scale by the bits actually used, so
        # a 12-bit image is not shown almost black; 0 stays black either way.
        bits = max(8, int(hi).bit_length())
        scale = 255.0 / ((1 << bits) - 1)
        what = "16-bit scaled to 8-bit" + (f" ({bits}-bit data)" if bits < 16 else "")
    else:  # negative or beyond 16 bits: stretch the range that is there
        a, scale = a - lo, 255.0 / max(hi - lo, 1e-12)
        what = f"{mode} values {lo:g}..{hi:g} stretched to 8-bit"
    notes.append(what)
    return np.clip(np.round(a * scale), 0, 255).astype(np.uint8)


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    s = side / max(size)
    return max(1, round(size[0] * s)), max(1, round(size[1] * s))


def _too_large(path: Path, size: tuple[int, int] | None) -> ImageReadError:
    what = f"{size[0]}x{size[1]} = {size[0] * size[1] / 1e6:.0f} MP" if size else "far too large"
    return ImageReadError(path, f"{what}, over the {MAX_PIXELS // 1_000_000} MP limit; shrink it "
                                f"first (e.g. to {MAX_SIDE} px on the longer side)", "too-large")


def _not_image_reason(path: Path, source: Path | io.BytesIO) -> str:
    suffix = path.suffix.lower()
    if suffix in (".heic", ".heif"):
        return ("a HEIC/HEIF photo, which this course cannot read; export it as JPEG (iPhone: "
                "Settings > Camera > Formats > Most Compatible)")
    try:
        if isinstance(source, io.BytesIO):
            head = source.getvalue()[:512]
        else:
            with open(source, "rb") as f:
                head = f.read(512)
    except OSError:
        head = b""
    if not head:
        return "an empty file (0 bytes)"
    try:
        is_text = b"\0" not in head and bool(head.decode("utf-8", errors="strict"))
    except UnicodeDecodeError:  # may also be a multi-byte character cut at byte 512
        is_text = False
    what = "a text file, not an image" if is_text else "not an image Pillow can read"
    return what + (f" (despite its {suffix} name)" if suffix in _IMAGE_SUFFIXES else "")


def _letterbox(im: Image.Image, size: int) -> np.ndarray:
    """Pad to a white square and resize, as tlcourse.data does: [size, size, 3] uint8."""
    side = max(im.size)
    canvas = Image.new("RGB", (side, side), WHITE)
    canvas.paste(im, ((side - im.width) // 2, (side - im.height) // 2))
    canvas = canvas.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(canvas)


def _short(e: object) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _show(p: object) -> str:
    """A printable path: bytes of a name that are not UTF-8 become escapes of those bytes
    (``ni\\xf1o`` for a Latin-1 "niño"), never a crash; valid names are unchanged."""
    text = str(p)
    try:  # file names decode with surrogateescape: this gives the original bytes back
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")
