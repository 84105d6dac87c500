"""Experiments: each chapter's claim as a function that measures it.

An experiment is registered with :func:`register` under a stable name, takes a profile
(``"quick"`` for CPUs and tests, ``"full"`` for a GPU) and returns :class:`Results`: one record per
run (its settings and measured metrics), plus the device, library versions and profile.

Example:
    >>> res = run_experiment("scratch-vs-transfer", profile="quick")  # doctest: +SKIP
    >>> summarize(res.records)                                          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import multiprocessing
import os
import pkgutil
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import torch

from .. import cache
from ..cache_format import storable
from ..data import ImageData
from ..stats import sd
from ..text import TextData
from ..train import get_device

PROFILES = ("quick", "full")

# The dataclasses an experiment may keep in ``Results.artifacts``: the results cache rebuilds
# these field by field and refuses any other class (it never unpickles).
storable(ImageData)
storable(TextData)


@storable
@dataclass
class Results:
    """What an experiment measured.

    Attributes:
        experiment: registered name.
        profile: "quick" or "full".
        config: the experiment's settings (``asdict`` of its config dataclass).
        records: one dict per run: settings (dataset, method, labels_per_class, seed, ...) and
            metrics (test_accuracy, seconds, trainable_params, ...).
        artifacts: objects for plots (test images, predictions); not written to JSON. The
            results cache stores tensors, NumPy arrays, numbers, strings, lists, tuples, dicts
            (any hashable keys), ImageData and TextData, and refuses anything else by name.
        threads: torch's CPU thread count during the run (part of the cache key: 1 and 2
            threads can give different numbers).
        from_cache: True when :func:`run_experiment` reused a stored run.
    """

    experiment: str
    profile: str
    config: dict
    records: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    device: str = field(default_factory=lambda: str(get_device()))
    versions: dict = field(default_factory=lambda: {
        "python": platform.python_version(), "torch": str(torch.__version__),
        "torchvision": importlib.import_module("torchvision").__version__,
        "timm": importlib.import_module("timm").__version__,
        "scikit-learn": cache.versions()["scikit-learn"],
    })
    artifacts: dict = field(default_factory=dict, repr=False)
    from_cache: bool = False  # reused from tlcourse.cache rather than trained just now
    smoke: bool = False  # a smoke run (tlcourse.smoke): code paths executed, numbers meaningless
    work: dict = field(default_factory=dict)  # smoke runs: the full run's counted network work
    threads: int = field(default_factory=torch.get_num_threads)  # last: positional API kept

    def to_dict(self) -> dict:
        """Everything but the artifacts, JSON-ready."""
        return {"experiment": self.experiment, "profile": self.profile, "device": self.device,
                "versions": self.versions, "threads": self.threads,
                "seconds": round(self.seconds, 2),
                "from_cache": self.from_cache, "smoke": self.smoke,
                **({"work": self.work} if self.smoke else {}),
                "config": self.config, "records": self.records}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path


def summarize(records: list[dict], by: tuple[str, ...] = ("dataset", "method", "labels_per_class"),
              metric: str = "test_accuracy") -> list[dict]:
    """Mean, sample std (ddof = 1, NaN for one run) and count ``n`` of ``metric`` for each group
    of records (groups keep first-seen order)."""
    groups: dict[tuple, list[float]] = {}
    for r in records:
        groups.setdefault(tuple(r.get(k) for k in by), []).append(r[metric])
    return [{**dict(zip(by, key)), f"{metric}_mean": statistics.fmean(v),
             f"{metric}_std": sd(v), "n": len(v)} for key, v in groups.items()]


def format_table(rows: list[dict], floats: str = "{:.3f}") -> str:
    """A plain-text table of ``rows`` (dicts with the same keys)."""
    if not rows:
        return "(no rows)"
    keys = list(rows[0])
    cells = [[floats.format(r[k]) if isinstance(r[k], float) else str(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    line = lambda vals: "  ".join(v.rjust(w) for v, w in zip(vals, widths))
    return "\n".join([line(keys), line(["-" * w for w in widths]), *map(line, cells)])


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------
Runner = Callable[..., Results]
_REGISTRY: dict[str, tuple[Runner, str]] = {}


#: Where ``--seeds`` goes in a config: the names of its seed fields (each gets the seeds), or a
#: function ``(cfg, seeds) -> cfg`` for a config that needs more (e.g. a seed count to match).
SeedsInto = tuple[str, ...] | Callable[[Any, tuple[int, ...]], Any]


def register(name: str, description: str, profiles: Mapping[str, Any] | None = None,
             seeds_into: SeedsInto = ("seeds",)) -> Callable[[Callable], Runner]:
    """Decorator: make a runner runnable by name; with ``profiles``, also do what every runner
    did first.

    Without ``profiles`` the runner is ``fn(profile, seeds=None, progress=True) -> Results``, as
    written. With ``profiles`` (profile name -> config dataclass) it is written as
    ``fn(cfg, res, progress)``: the decorator picks the profile's config, puts ``seeds`` into it
    (see :data:`SeedsInto`), makes the empty ``Results(name, profile, asdict(cfg))``, and returns
    the runner with the public signature above (it returns ``res`` unless ``fn`` returns one).

    Example:
        >>> @register("toy", "a toy", PROFILES)                   # doctest: +SKIP
        ... def run(cfg: ToyConfig, res: Results, progress: bool) -> None:
        ...     res.records += [{"seed": s, "test_accuracy": 1.0} for s in cfg.seeds]
    """
    def wrap(fn: Callable) -> Runner:
        runner = fn if profiles is None else _with_profiles(fn, name, profiles, seeds_into)
        _REGISTRY[name] = (runner, description)
        return runner
    return wrap


def _with_profiles(fn: Callable, name: str, profiles: Mapping[str, Any],
                   seeds_into: SeedsInto) -> Runner:
    @functools.wraps(fn)
    def run(profile: str = "quick", seeds: tuple[int, ...] | None = None,
            progress: bool = True) -> Results:
        if profile not in profiles:
            raise ValueError(f"{name} has no profile {profile!r}; it has "
                             + ", ".join(map(repr, profiles)))
        cfg = profiles[profile]
        if seeds is not None:
            seeds = tuple(seeds)
            cfg = (seeds_into(cfg, seeds) if callable(seeds_into)
                   else replace(cfg, **dict.fromkeys(seeds_into, seeds)))
        res = Results(name, profile, asdict(cfg))
        out = fn(cfg, res, progress)
        return res if out is None else out
    del run.__wrapped__  # inspect.signature shows the public one, not fn's
    return run


def _load_all() -> None:
    """Import every module of this package (lazily, so `tlcourse --help` stays fast)."""
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")


def list_experiments() -> dict[str, str]:
    """Registered experiment names with a one-line description."""
    _load_all()
    return {k: v[1] for k, v in sorted(_REGISTRY.items())}


def cached_results(name: str, profile: str = "quick", seeds: tuple[int, ...] | None = None,
                   any_threads: bool = False) -> Results | None:
    """The stored run of ``name`` for the current code, data, versions and device, or None.

    With ``any_threads`` a run made at another torch thread count will do (its ``threads``
    says which): enough for reading its records, as the claims ledger does.
    """
    key = cache.results_key(name, profile, tuple(seeds) if seeds is not None else None,
                            str(get_device()))
    return cache.load_results(key, any_threads=any_threads)


def run_experiment(name: str, profile: str = "quick", seeds: tuple[int, ...] | None = None,
                   progress: bool = True, fresh: bool = False, smoke: bool = False) -> Results:
    """Run a registered experiment and time it, or reuse the stored run of the same key.

    Args:
        name: one of :func:`list_experiments`.
        profile: ``"quick"`` (minutes on 2 CPU cores) or ``"full"`` (what a GPU user runs).
        seeds: override the profile's seeds.
        progress: show tqdm progress bars.
        fresh: rerun even if :mod:`tlcourse.cache` holds this run (so does ``TLCOURSE_CACHE=off``).
        smoke: run in :func:`tlcourse.smoke.smoke_mode` (one step per fit, tiny data); never
            cached, and the results say ``smoke``.

    Returns:
        The :class:`Results`; ``from_cache`` says whether it was reused (``seconds`` is then the
        original run's time).
    """
    from ..smoke import gpu_estimate, smoke_mode

    _load_all()
    if name not in _REGISTRY:
        raise ValueError(f"Unknown experiment {name!r}; choose from {sorted(_REGISTRY)}")
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}; choose from {list(PROFILES)}")
    seeds = tuple(seeds) if seeds is not None else None
    key = cache.results_key(name, profile, seeds, str(get_device()))
    use_cache = cache.enabled() and not smoke
    if use_cache and not fresh:
        hit = cache.load_results(key)
        if hit is not None:
            hit.from_cache = True
            return hit
    threads = torch.get_num_threads()
    start = time.perf_counter()
    with smoke_mode() if smoke else contextlib.nullcontext() as work:
        res = _REGISTRY[name][0](profile=profile, seeds=seeds, progress=progress)
    res.seconds, res.smoke, res.threads = time.perf_counter() - start, smoke, threads
    if work is not None:
        res.work = {**work.to_dict(), "gpu_seconds_estimate": round(gpu_estimate(work), 1)}
    if use_cache:
        try:
            cache.save_results(key, res)
        except Exception as e:  # noqa: BLE001 - a full disk must not cost the learner the run
            warnings.warn(f"tlcourse: could not store this run in the cache ({e}); "
                          f"the results are returned anyway", stacklevel=2)
    return res


# ---------------------------------------------------------------------------------------------
# Several at once (the claims ledger's --run)
# ---------------------------------------------------------------------------------------------
def default_jobs() -> int:
    """Experiments run at once by :func:`run_many`: one per CPU core this process may use (at
    most 4), each on one thread (small networks barely use a second thread); one on a GPU."""
    if torch.cuda.is_available():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 4))


def _run(name: str, profile: str, progress: bool, threads: int | None,
         seeds: tuple[int, ...] | None = None) -> tuple[str, list[dict], float]:
    """Run (or reuse) one experiment; in a worker process ``threads`` caps torch's threads."""
    if threads:
        torch.set_num_threads(threads)
    res = run_experiment(name, profile=profile, seeds=seeds, progress=progress)
    return name, res.records, res.seconds


_START_METHOD = "spawn"  # fork after torch has started its thread pools can deadlock


def run_many(names: list[str], profile: str = "quick", progress: bool = True,
             jobs: int | None = None, log: TextIO | None = None,
             seeds: tuple[int, ...] | None = None) -> Iterator[tuple[str, list[dict], float]]:
    """Run (or reuse) several experiments, ``jobs`` (default :func:`default_jobs`) at a time in
    worker processes of one torch thread each; yields ``(name, records, seconds)`` as each
    finishes, with a line per experiment to ``log`` (default stderr)."""
    jobs = default_jobs() if jobs is None else jobs
    log = log or sys.stderr
    how = f"{profile} profile" + (f", {len(seeds)} seeds" if seeds else "")
    if jobs <= 1 or len(names) <= 1:
        for name in names:
            print(f"running {name} ({how}) ...", file=log, flush=True)
            done = _run(name, profile, progress, None, seeds)
            print(f"  {name}: {done[2]:.0f} s", file=log, flush=True)
            yield done
        return
    jobs = min(jobs, len(names))
    print(f"running {', '.join(names)} ({how}), {jobs} at a time, one thread each ...",
          file=log, flush=True)
    ctx = multiprocessing.get_context(_START_METHOD)
    with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
        for future in as_completed([pool.submit(_run, n, profile, False, 1, seeds)
                                    for n in names]):
            done = future.result()
            print(f"  {done[0]}: {done[2]:.0f} s", file=log, flush=True)
            yield done
