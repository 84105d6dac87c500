"""Speed benchmarks (run by hand, quoted in issue notes; not a timed test).

1. Head training on cached features vs recomputing the frozen backbone every epoch.
2. ``fit()`` overhead vs a bare torch loop on the same model, data and batch order.
3. Memory layout: a training step and a feature pass with contiguous (NCHW) weights vs the
   channels-last weights ``create_backbone`` returns.
4. (``--chapters``) each chapter notebook executed top to bottom twice: cold (an empty results
   and features cache) and warm (the cache its first run filled) - a learner's "restart and
   run all".

Usage:  python scripts/benchmark.py [--epochs 20] [--size 96] [--repeats 3] [--chapters [NN ...]]
        python scripts/benchmark.py --only-chapters --chapters 07 08   # just those two
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F

from tlcourse import (
    TrainConfig,
    create_backbone,
    extract_features,
    few_shot_split,
    fit,
    load_dataset,
)
from tlcourse.train import seed_everything


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_cached_features(epochs: int, size: int, repeats: int) -> None:
    photos = load_dataset("photo")
    train, _ = few_shot_split(photos, 10, seed=0)
    cfg = TrainConfig(epochs=epochs, batch_size=32, progress=False)

    def recompute():  # the frozen backbone runs again every epoch
        net = create_backbone("lite0-imagenet", len(photos.classes), input_size=size).freeze(0)
        fit(net, train, cfg)

    def cached():  # the backbone runs once; the head trains on its features
        net = create_backbone("lite0-imagenet", len(photos.classes), input_size=size).freeze(0)
        feats = extract_features(net, train, use_cache=False)  # measure the work, not the cache
        fit(torch.nn.Linear(net.num_features, len(photos.classes)), feats, cfg)

    t_re, t_ca = _best(recompute, repeats), _best(cached, repeats)
    print(f"[1] head training, {len(train)} photos, {epochs} epochs, Lite0 @ {size}px (best of {repeats}):")
    print(f"    recompute frozen backbone each epoch: {t_re:7.2f} s")
    print(f"    cache features once, train the head:  {t_ca:7.2f} s")
    print(f"    speed-up: x{t_re / t_ca:.1f}")


def bench_fit_overhead(epochs: int, repeats: int) -> None:
    data = load_dataset("fashion-mnist", "test")
    data = data.subset(torch.arange(2000))
    cfg = TrainConfig(epochs=epochs, batch_size=64, schedule="constant", progress=False)

    def with_fit():
        seed_everything(0)
        fit(create_backbone("small-cnn", 10, input_size=28), data, cfg)

    def bare():
        seed_everything(0)
        net = create_backbone("small-cnn", 10, input_size=28)
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        g = torch.Generator().manual_seed(0)
        net.train()
        for _ in range(epochs):
            for idx in torch.randperm(len(data), generator=g).split(cfg.batch_size):
                loss = F.cross_entropy(net(data.x[idx]), data.y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

    times_fit, times_bare = [], []
    for _ in range(repeats):  # interleave so machine load affects both alike
        times_bare.append(_best(bare, 1))
        times_fit.append(_best(with_fit, 1))
    t_fit, t_bare = min(times_fit), min(times_bare)
    print(f"[2] small CNN, {len(data)} Fashion-MNIST images, {epochs} epochs (best of {repeats}):")
    print(f"    bare torch loop: {t_bare:6.2f} s   fit(): {t_fit:6.2f} s   "
          f"overhead: {100 * (t_fit - t_bare) / t_bare:+.1f} % (median {100 * (statistics.median(times_fit) - statistics.median(times_bare)) / statistics.median(times_bare):+.1f} %)")


def bench_memory_format(size: int, repeats: int) -> None:
    """Contiguous vs channels-last weights: a training step (batch 16) and a feature pass."""
    x = torch.rand(16, 3, size, size)
    y = torch.randint(0, 10, (16,))
    images = torch.randint(0, 256, (128, 3, size, size), dtype=torch.uint8)
    print(f"[3] memory layout at {size}px (best of {repeats}; create_backbone returns channels-last):")
    for name, frozen in (("lite0-random", None), ("lite0-imagenet", 6), ("small-cnn", None)):
        row = []
        for layout in (torch.contiguous_format, torch.channels_last):
            net = create_backbone(name, 10, input_size=size, seed=0).to(memory_format=layout)
            if frozen is not None:
                net.freeze(frozen)
            opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], 1e-3)

            def step(net=net, opt=opt):
                net.train()
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(net(x), y).backward()
                opt.step()

            def features(net=net):
                net.eval()
                with torch.no_grad():
                    net.forward_features(images)

            step()  # warm-up: oneDNN picks its kernels on the first call
            row.append((_best(lambda: [step() for _ in range(3)], repeats) / 3 * 1000,
                        _best(features, repeats) / len(images) * 1000))
        (s0, f0), (s1, f1) = row
        print(f"    {name:15s} train step {s0:6.0f} -> {s1:6.0f} ms   "
              f"features {f0:5.2f} -> {f1:5.2f} ms/image   (contiguous -> channels-last)")


def bench_chapters(only: list[str] | None = None) -> None:
    """Cold and warm wall time of every chapter notebook (executed with nbclient), or of those
    whose name starts with one of ``only`` (e.g. ``["07", "08"]``)."""
    import os
    import tempfile
    from pathlib import Path

    import nbformat
    from nbclient import NotebookClient

    root = Path(__file__).resolve().parent.parent / "notebooks"
    print("[4] chapter notebooks, executed top to bottom (quick profile):")
    with tempfile.TemporaryDirectory(prefix="tlcourse-bench-cache-") as tmp:
        os.environ["TLCOURSE_CACHE_DIR"] = tmp  # the kernels inherit it: an empty cache
        os.environ.setdefault("TLCOURSE_PROGRESS_DB", str(Path(tmp) / "progress.sqlite"))
        for path in sorted(root.glob("*.ipynb")):
            if only and not path.stem.startswith(tuple(only)):
                continue
            times = []
            for _ in ("cold", "warm"):
                nb = nbformat.read(path, as_version=4)
                start = time.perf_counter()
                NotebookClient(nb, timeout=1800, resources={"metadata": {"path": str(root)}}).execute()
                times.append(time.perf_counter() - start)
            print(f"    {path.stem:28s} cold {times[0]:6.1f} s   warm {times[1]:6.1f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--chapters", nargs="*", metavar="NN", default=None,
                   help="also time the notebooks, cold and warm: all, or those starting NN")
    p.add_argument("--only-chapters", action="store_true", help="skip benchmarks 1-3")
    a = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs seen")
    if not a.only_chapters:
        bench_cached_features(a.epochs, a.size, a.repeats)
        bench_fit_overhead(max(2, a.epochs // 4), a.repeats)
        bench_memory_format(a.size, a.repeats)
    if a.chapters is not None:
        bench_chapters(a.chapters)


if __name__ == "__main__":
    main()
