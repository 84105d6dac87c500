"""A decoded photo of any size -> class probabilities: the one module ``predict`` runs and the
ONNX export translates, so the two compute the same thing.

Decoding (:func:`tlcourse.custom.images.decode_rgb`) is the only step outside: an app decodes
the file as the model folder's README says and hands over uint8 ``[N, 3, H, W]``. Inside: scale
to [0, 1], pad to a centred white square (``letterbox``, as the course loads its photos), resize
to the backbone's input size exactly as :class:`~tlcourse.backbones.Preprocess` does (bilinear,
half-pixel; antialiased when the width shrinks), ``(x - mean) / std``, the network, softmax.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import Preprocess, TransferNet


def letterbox(x: torch.Tensor) -> torch.Tensor:
    """Pad ``[N, C, H, W]`` images in [0, 1] to a centred white square, as the course's loaders
    pad photos (``tlcourse.data``); works on symbolic shapes, so it exports."""
    h, w = x.shape[-2], x.shape[-1]
    side = torch.sym_max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    return F.pad(x, (left, side - w - left, top, side - h - top), value=1.0)


class GraphPreprocess(nn.Module):
    """:class:`Preprocess` for uint8 RGB of any size, written so that it exports with dynamic
    H and W: the antialiasing choice is made inside the graph (both resizes, then a select)
    instead of by a Python ``if`` that tracing would freeze at the example's size."""

    def __init__(self, pre: Preprocess, pad_square: bool) -> None:
        super().__init__()
        self.pre, self.pad_square = pre, pad_square

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # uint8 [N, 3, H, W] -> [N, 3, S, S]
        x = x.float() / 255
        if self.pad_square:
            x = letterbox(x)
        side = (self.pre.size, self.pre.size)
        shrunk = F.interpolate(x, size=side, mode="bilinear", antialias=True, align_corners=False)
        plain = F.interpolate(x, size=side, mode="bilinear", antialias=False, align_corners=False)
        # Preprocess antialiases exactly when the width shrinks; a 0-d tensor keeps it symbolic.
        x = torch.where(x.new_ones(()) * x.shape[-1] > self.pre.size, shrunk, plain)
        return (x - self.pre.mean) / self.pre.std if self.pre.normalize else x


class ImageToProbs(nn.Module):
    """uint8 images ``[N, 3, H, W]`` -> class probabilities ``[N, C]``, the whole classifier in
    one module (the one that is exported)."""

    def __init__(self, net: TransferNet, pad_square: bool = True) -> None:
        super().__init__()
        self.preprocess = GraphPreprocess(net.preprocess, pad_square)
        self.body, self.head = net.body, net.head

    def forward(self, image: torch.Tensor) -> torch.Tensor:  # [N, 3, H, W] -> [N, C]
        x = self.body.forward_head(self.body.forward_features(self.preprocess(image)),
                                   pre_logits=True)
        return torch.softmax(self.head(x), dim=-1)


def as_batch(rgb: np.ndarray) -> torch.Tensor:
    """uint8 ``[H, W, 3]`` (from :func:`~tlcourse.custom.images.decode_rgb`) -> ``[1, 3, H, W]``."""
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)[None]))


@torch.inference_mode()
def full_size_probabilities(net: TransferNet, images: Sequence[np.ndarray]) -> torch.Tensor:
    """Probabilities ``[N, C]`` for decoded photos of any sizes, each at its full size, through
    :class:`ImageToProbs` (what the exported file computes)."""
    model = ImageToProbs(net).eval()
    rows = [model(as_batch(a))[0] for a in images]
    return torch.stack(rows) if rows else torch.zeros(0, net.head.out_features)
