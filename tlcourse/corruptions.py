"""Image corruptions at severities 1-5, in the style of MNIST-C and ImageNet-C.

Each corruption maps uint8 images ``[N, C, H, W]`` to uint8 images of the same shape and is
deterministic given ``seed``. Severity 1 is mild, 5 is harsh; the distance from the clean image
(mean absolute pixel difference) grows with severity, which the tests check. Blur and noise
scale with the image size, so 28 px digits and 128 px photos are corrupted alike.

Robustness is measured as each model's *drop* from its own clean accuracy
(:func:`drop_from_clean`), not as its accuracy under corruption: a model that is better on clean
images can stay ahead under corruption while losing more.

Example:
    >>> noisy = corrupt(test.x, "gaussian-noise", severity=3, seed=0)
    >>> list_corruptions()
    ['gaussian-noise', 'impulse-noise', 'blur', 'contrast', 'rotation', 'inversion']
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .data import ImageData

Corruption = Callable[[torch.Tensor, int, torch.Generator], torch.Tensor]  # float [0,1] in/out


def _gaussian_noise(x: torch.Tensor, s: int, g: torch.Generator) -> torch.Tensor:
    sigma = (0.08, 0.15, 0.25, 0.38, 0.55)[s - 1]  # std of added noise, in [0,1] pixel units
    return x + sigma * torch.randn(x.shape, generator=g)


def _impulse_noise(x: torch.Tensor, s: int, g: torch.Generator) -> torch.Tensor:
    frac = (0.03, 0.07, 0.12, 0.2, 0.3)[s - 1]  # share of pixels set to black or white
    hit = torch.rand(x.shape, generator=g) < frac
    salt = (torch.rand(x.shape, generator=g) < 0.5).float()
    return torch.where(hit, salt, x)


def _blur(x: torch.Tensor, s: int, g: torch.Generator) -> torch.Tensor:
    sigma = (0.6, 1.0, 1.5, 2.0, 2.8)[s - 1] * x.shape[-1] / 28  # Gaussian std in px (28 px scale)
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-t**2 / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    xp = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    xp = F.conv2d(xp, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(xp, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def _contrast(x: torch.Tensor, s: int, g: torch.Generator) -> torch.Tensor:
    c = (0.5, 0.35, 0.2, 0.12, 0.06)[s - 1]  # share of the original contrast kept
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * c + mean


def _rotation(x: torch.Tensor, s: int, g: torch.Generator) -> torch.Tensor:
    deg = (12, 25, 40, 60, 85)[s - 1]  # rotation angle; the sign is random per image
    sign = torch.where(torch.rand(len(x), generator=g) < 0.5, -1.0, 1.0)
    a = sign * math.radians(deg)
    theta = torch.zeros(len(x), 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = torch.cos(a), -torch.sin(a)
    theta[:, 1, 0], theta[:, 1, 1] = torch.sin(a), torch.cos(a)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # rotate the difference from the border colour so corners fill with background, not black
    bg = x[..., :1, :1]
    return F.grid_sample(x - bg, grid, align_corners=False) + bg


def _inversion(x: torch.Tensor, s: int, g: torch.Generator) -> torch.Tensor:
    alpha = (0.2, 0.35, 0.6, 0.8, 1.0)[s - 1]  # blend towards the negative image (1 = inverted)
    return (1 - alpha) * x + alpha * (1 - x)


_CORRUPTIONS: dict[str, Corruption] = {
    "gaussian-noise": _gaussian_noise, "impulse-noise": _impulse_noise, "blur": _blur,
    "contrast": _contrast, "rotation": _rotation, "inversion": _inversion,
}


def list_corruptions() -> list[str]:
    """Names accepted by :func:`corrupt`."""
    return list(_CORRUPTIONS)


def corrupt(x: torch.Tensor, name: str, severity: int, seed: int = 0) -> torch.Tensor:
    """Corrupt a batch of images.

    Args:
        x: uint8 images ``[N, C, H, W]``.
        name: one of :func:`list_corruptions`.
        severity: 1 (mild) to 5 (harsh).
        seed: seeds the random parts (noise, rotation direction); same seed, same output.

    Returns:
        uint8 images ``[N, C, H, W]``.

    Example:
        >>> x = torch.zeros(2, 1, 28, 28, dtype=torch.uint8)
        >>> corrupt(x, "blur", 2).shape
        torch.Size([2, 1, 28, 28])
    """
    if name not in _CORRUPTIONS:
        raise ValueError(f"Unknown corruption {name!r}; choose from {list_corruptions()}")
    if not 1 <= severity <= 5:
        raise ValueError(f"severity must be in 1..5, not {severity}")
    g = torch.Generator().manual_seed(seed)
    out = _CORRUPTIONS[name](x.float() / 255, severity, g)
    return (out.clamp(0, 1) * 255).round().to(torch.uint8)


def corrupt_data(data: ImageData, name: str, severity: int, seed: int = 0) -> ImageData:
    """:func:`corrupt` applied to a dataset's images (labels and names kept)."""
    return ImageData(corrupt(data.x, name, severity, seed), data.y, data.classes,
                     f"{data.name}:{name}-{severity}", data.paths)


#: Settings that identify one model in corruption records: its clean record shares them.
MODEL_KEYS = ("method", "seed", "bn_stats")


def drop_from_clean(records: list[dict], keys: tuple[str, ...] = MODEL_KEYS) -> list[dict]:
    """Each record with ``clean_accuracy`` (the same model's accuracy at severity 0) and
    ``drop_from_clean`` = clean minus this accuracy (fractions; positive = lost accuracy).

    Args:
        records: dicts with ``severity`` (0 = clean) and ``test_accuracy``; one clean record per
            model, a model being the values of ``keys`` (missing keys count as None).
        keys: the settings that identify a model.

    Returns:
        New dicts (the inputs are not modified), in the same order.

    Raises:
        ValueError: a model has no clean record to measure its drop from.

    Example:
        >>> recs = [{"method": "a", "seed": 0, "severity": 0, "test_accuracy": 0.9},
        ...         {"method": "a", "seed": 0, "severity": 3, "test_accuracy": 0.6}]
        >>> drop_from_clean(recs)[1]["drop_from_clean"]
        0.3
    """
    def model(r: dict) -> tuple:
        return tuple(r.get(k) for k in keys)

    clean = {model(r): r["test_accuracy"] for r in records if r["severity"] == 0}
    out = []
    for r in records:
        if model(r) not in clean:
            raise ValueError(f"no clean (severity 0) record for {dict(zip(keys, model(r)))}")
        c = clean[model(r)]
        out.append({**r, "clean_accuracy": c, "drop_from_clean": round(c - r["test_accuracy"], 4)})
    return out
