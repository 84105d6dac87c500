"""tlcourse: transfer learning, taught by running it.

The public API, re-exported explicitly (see each module for details):

* data: :func:`load_dataset`, :func:`list_datasets`, :func:`few_shot_split`, :func:`sample_per_class`
* backbones: :func:`create_backbone`, :func:`list_backbones`, :class:`TransferNet`
* training: :class:`TrainConfig`, :func:`fit`, :func:`evaluate`, :func:`seed_everything`, :func:`get_device`
* features: :func:`extract_features`, :func:`train_head`
* experiments: :func:`run_experiment`, :func:`list_experiments`, :func:`summarize`, :func:`format_table`
* assets: :func:`~tlcourse.assets.provision`, :class:`AssetError`
* quizzes: ``from tlcourse import quiz; quiz.show("ch01")``
"""

import importlib
from typing import TYPE_CHECKING

# Public name -> module. Imported on first use, so `tlcourse drill` and `tlcourse quiz` start
# without loading torch.
_EXPORTS = {
    "AssetError": "assets",
    "TransferNet": "backbones", "create_backbone": "backbones", "list_backbones": "backbones",
    "ImageData": "data", "few_shot_split": "data", "list_datasets": "data", "load_dataset": "data",
    "sample_per_class": "data",
    "Results": "experiments", "format_table": "experiments", "list_experiments": "experiments",
    "run_experiment": "experiments", "summarize": "experiments",
    "extract_features": "features", "train_head": "features",
    "History": "train", "TrainConfig": "train", "evaluate": "train", "fit": "train",
    "get_device": "train", "seed_everything": "train",
}

if TYPE_CHECKING:  # for type checkers and IDEs: the same names, eagerly
    from .assets import AssetError
    from .backbones import TransferNet, create_backbone, list_backbones
    from .data import ImageData, few_shot_split, list_datasets, load_dataset, sample_per_class
    from .experiments import Results, format_table, list_experiments, run_experiment, summarize
    from .features import extract_features, train_head
    from .train import History, TrainConfig, evaluate, fit, get_device, seed_everything


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'tlcourse' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "AssetError", "History", "ImageData", "Results", "TrainConfig", "TransferNet",
    "create_backbone", "evaluate", "extract_features", "few_shot_split", "fit", "format_table",
    "get_device", "list_backbones", "list_datasets", "list_experiments", "load_dataset",
    "run_experiment", "sample_per_class", "seed_everything", "summarize", "train_head",
]
