"""Your own images (chapter 7): the Custom Vision workflow, check -> train -> iterate -> use.

Where each step lives:

* :mod:`.images`: one image from a learner's folder, decoded in full or refused with why;
* :mod:`.folder`: :func:`check_folder` reads a folder of class subfolders and reports what
  training would trip over; :func:`load_folder` loads it;
* :mod:`.classifier`: :func:`train_model` (split, train, choose the threshold, score) and
  :func:`load_model` / ``Model.predict``;
* :mod:`.model_folder`: the model folder's numbered iterations (nothing image-specific);
* :mod:`.predictions`: one line per new file, and the predictions CSV;
* :mod:`.metrics`: Custom Vision's precision, recall and AP at a threshold (nothing
  image-specific);
* :mod:`.export`: :func:`export_onnx`, one ONNX file with the preprocessing inside;
* :mod:`.app_export`: :func:`export_iteration` writes ``model-iterN.onnx`` and the README an app
  follows; stale exports are named; :mod:`.rescore`: an iteration at another threshold;
* :mod:`.widgets` and :mod:`.plots`: chapter 7's threshold slider, error viewer and figures.

A notebook imports the workflow from here; each name loads its module on first use, so
``from tlcourse.custom import metrics`` does not start torch.

Example:
    >>> from tlcourse.custom import check_folder, train_model, load_model  # doctest: +SKIP
    >>> print(check_folder("my-photos").format())                         # doctest: +SKIP
    >>> it = train_model("my-photos", "my-model")                         # doctest: +SKIP
"""

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "check_folder": "folder", "load_folder": "folder", "FolderReport": "folder",
    "open_image": "images", "ImageReadError": "images",
    "TrainSettings": "classifier", "train_model": "classifier", "load_model": "classifier",
    "Model": "classifier", "FolderError": "classifier", "Prediction": "predictions",
    "write_predictions_csv": "predictions",
    "ModelError": "model_folder", "iterations": "model_folder",
    "current_iteration": "model_folder", "format_iterations": "model_folder",
    "export_onnx": "export", "ExportError": "export",
    "export_iteration": "app_export", "OnnxModel": "app_export", "decode_rgb": "images",
    "rescore": "rescore",
}
_MODULES = {"images", "folder", "classifier", "model_folder", "predictions", "metrics", "export",
            "widgets", "plots", "app_export", "app_model", "rescore"}

if TYPE_CHECKING:  # for type checkers and IDEs: the same names, eagerly
    from . import classifier, export, folder, images, metrics, model_folder, plots, widgets
    from .classifier import (
        FolderError,
        Model,
        TrainSettings,
        load_model,
        train_model,
    )
    from .export import ExportError, export_onnx
    from .folder import FolderReport, check_folder, load_folder
    from .images import ImageReadError, open_image
    from .model_folder import ModelError, current_iteration, format_iterations, iterations
    from .predictions import Prediction, write_predictions_csv


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'tlcourse.custom' has no attribute {name!r}")


__all__ = [
    "ExportError",
    "FolderError",
    "FolderReport",
    "ImageReadError",
    "Model",
    "ModelError",
    "OnnxModel",
    "Prediction",
    "TrainSettings",
    "check_folder",
    "classifier",
    "current_iteration",
    "decode_rgb",
    "export",
    "export_iteration",
    "export_onnx",
    "folder",
    "format_iterations",
    "images",
    "iterations",
    "load_folder",
    "load_model",
    "metrics",
    "model_folder",
    "open_image",
    "plots",
    "predictions",
    "rescore",
    "train_model",
    "widgets",
    "write_predictions_csv",
]
