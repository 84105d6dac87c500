"""Data augmentation on whole batches, seeded by the training loop's generator.

Each augmentation maps a batch ``[B, C, H, W]`` (uint8 or float in [0, 1]) to a float batch in
[0, 1] of the same shape. They run before the backbone's preprocessing, so they work for every
backbone and input size.

Example:
    >>> aug = get_augment("standard")
    >>> out = aug(torch.zeros(4, 3, 32, 32, dtype=torch.uint8), torch.Generator().manual_seed(0))
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _to_float(x: torch.Tensor) -> torch.Tensor:
    return x.float() / 255 if x.dtype == torch.uint8 else x.float()


def _rand(n: int, g: torch.Generator, lo: float, hi: float, device) -> torch.Tensor:
    return (lo + (hi - lo) * torch.rand(n, generator=g)).to(device)


def none(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """No augmentation."""
    return x


def flip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Mirror half of the images left-right."""
    x = _to_float(x)
    mask = (torch.rand(len(x), generator=g) < 0.5).to(x.device)
    return torch.where(mask.view(-1, 1, 1, 1), x.flip(-1), x)


def _affine(x: torch.Tensor, g: torch.Generator, degrees: float, scale: tuple[float, float],
            shift: float) -> torch.Tensor:
    """Random rotation, zoom and shift in one ``grid_sample``; the border is filled by edge pixels."""
    n, dev = len(x), x.device
    angle = _rand(n, g, -degrees, degrees, dev) * math.pi / 180
    s = 1 / _rand(n, g, *scale, dev)  # sampling a smaller window zooms in
    tx, ty = _rand(n, g, -shift, shift, dev), _rand(n, g, -shift, shift, dev)
    theta = torch.stack([
        torch.stack([s * torch.cos(angle), -s * torch.sin(angle), tx], 1),
        torch.stack([s * torch.sin(angle), s * torch.cos(angle), ty], 1),
    ], 1)  # [B, 2, 3]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


def standard(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Flip, rotate +-15 deg, zoom 1.0-1.25x, shift +-10 %, brightness and contrast +-20 %."""
    x = _affine(flip(x, g), g, degrees=15, scale=(1.0, 1.25), shift=0.1)
    n, dev = len(x), x.device
    bright = _rand(n, g, 0.8, 1.2, dev).view(-1, 1, 1, 1)
    contrast = _rand(n, g, 0.8, 1.2, dev).view(-1, 1, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * contrast + mean * bright).clamp(0, 1)


def digits(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """For digits and clothes: small rotations and shifts, no flips (a mirrored 2 is not a 2)."""
    return _affine(_to_float(x), g, degrees=10, scale=(0.9, 1.1), shift=0.1)


_AUGMENTS: dict[str, Augment] = {"none": none, "flip": flip, "standard": standard, "digits": digits}


def list_augments() -> list[str]:
    """Names accepted by :func:`get_augment` and ``TrainConfig.augment``."""
    return sorted(_AUGMENTS)


def get_augment(name: str) -> Augment:
    """The augmentation called ``name``."""
    if name not in _AUGMENTS:
        raise ValueError(f"Unknown augmentation {name!r}; choose from {list_augments()}")
    return _AUGMENTS[name]
