"""Feature extraction: run the frozen backbone once, then train heads on the cached features.

Recomputing a frozen backbone every epoch gives the same numbers many times over; caching the
features is the honest fast path (``scripts/benchmark.py`` measures the speed-up).

Example:
    >>> net = create_backbone("lite0-imagenet", num_classes=6, input_size=96)
    >>> feats = extract_features(net, photos)          # [N, 1280], once
    >>> train, test = few_shot_split(feats, 5, seed=0)  # same split as on the images
    >>> head, history = train_head(train)
"""

from __future__ import annotations

import torch
from torch import nn
from tqdm.auto import tqdm

from . import cache, smoke
from .backbones import TransferNet
from .data import ImageData
from .train import History, TrainConfig, fit, get_device, smoke_rows

HEAD_CONFIG = TrainConfig(epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, progress=False)
"""The recipe for a linear head on cached features, used by every experiment."""


@torch.inference_mode()
def extract_features(net: TransferNet, data: ImageData, depth: int | None = None,
                     batch_size: int = 128, progress: bool = False,
                     use_cache: bool = True) -> ImageData:
    """Pooled features of every image, computed once in eval mode.

    Features are stored in :mod:`tlcourse.cache` under a key made of the backbone's weights,
    architecture and preprocessing and the images' content, so rerunning a notebook (or the
    same images through the same backbone elsewhere) reuses them. ``TLCOURSE_CACHE=off`` or
    ``use_cache=False`` (e.g. for randomly augmented images, never seen twice) skips it.

    Args:
        net: the (frozen) backbone; its head is ignored.
        data: images.
        depth: read the output of stage ``depth`` (1-based) instead of the last layer.

    Returns:
        An :class:`ImageData` whose ``x`` is ``[N, num_features]`` float features, with the
        same labels and order as ``data`` (so any split of ``data`` applies to it).
    """
    device = get_device()
    net.to(device).eval()
    # Smoke runs (toy data, never reused) skip the cache.
    use_cache = use_cache and cache.enabled() and not smoke.active()
    digest = cache.features_digest(net, data.x, depth) if use_cache else None
    feats = cache.load_features(digest) if digest else None
    if smoke.active():  # count the pass; run a sliver of it (never cached)
        smoke.work().add_infer(len(data), smoke.input_side(net))
        x = data.x[:smoke.BATCH].to(device)
        f = net.forward_features(x) if depth is None else net.stage_features(x, depth)
        feats = smoke_rows(f.float().cpu(), len(data))
    elif feats is None or len(feats) != len(data):
        chunks = []
        for i in tqdm(range(0, len(data), batch_size), desc="features", disable=not progress,
                      leave=False):
            x = data.x[i:i + batch_size].to(device)
            f = net.forward_features(x) if depth is None else net.stage_features(x, depth)
            chunks.append(f.float().cpu())  # [B, num_features]
        feats = torch.cat(chunks)
        if digest:
            cache.save_features(digest, feats)
    return ImageData(feats, data.y, data.classes, f"{data.name}:features", data.paths)


def flatten_pixels(data: ImageData) -> ImageData:
    """Raw pixels as features, scaled to [0, 1]: the no-network baseline."""
    x = data.x.flatten(1).float() / 255
    return ImageData(x, data.y, data.classes, f"{data.name}:pixels", data.paths)


def train_head(train: ImageData, cfg: TrainConfig = HEAD_CONFIG, hidden: int = 0,
               seed: int = 0) -> tuple[nn.Module, History]:
    """Train a linear head (or an MLP with ``hidden`` units) on cached features.

    A linear head is a plain ``nn.Linear(num_features, num_classes)``, so it can be copied into
    a :class:`TransferNet` as its ``head`` (the first stage of two-stage fine-tuning).
    """
    torch.manual_seed(seed)
    d, n_cls = train.x.shape[1], len(train.classes)
    head: nn.Module = (nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, n_cls))
                       if hidden else nn.Linear(d, n_cls))
    history = fit(head, train, cfg)
    return head, history
