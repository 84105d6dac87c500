"""One base class for the errors a learner can act on, caught once by the command line."""

import importlib
import inspect
import pkgutil
import warnings

import tlcourse
from tlcourse import cli
from tlcourse.errors import TlcourseError

# Raised and caught inside one module, never shown as they are: not for the learner (nor are
# private classes, e.g. a signal that ends a training loop early).
INTERNAL = {"Untrusted", "Rejected", "ExerciseCheckFailed"}


def _error_classes() -> dict[str, type]:
    found = {}
    for mod in pkgutil.walk_packages(tlcourse.__path__, "tlcourse."):
        if mod.name.endswith("browser_assets"):  # the deprecated alias warns on import
            continue
        with warnings.catch_warnings():  # the old import paths warn that they moved: expected
            warnings.simplefilter("ignore", DeprecationWarning)
            m = importlib.import_module(mod.name)
        for name, obj in vars(m).items():
            if (inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == m.__name__
                    and obj is not TlcourseError):
                found[name] = obj
    return found


def test_every_error_a_learner_sees_derives_from_the_one_base_class():
    classes = _error_classes()
    outside = sorted(n for n, c in classes.items()
                     if n not in INTERNAL and not n.startswith("_") and not issubclass(c, TlcourseError))
    assert not outside, f"derive these from tlcourse.errors.TlcourseError: {outside}"
    assert len([c for c in classes.values() if issubclass(c, TlcourseError)]) >= 11
    # the built-in class each had before still catches it
    assert issubclass(classes["AssetError"], RuntimeError) and issubclass(classes["BankError"], ValueError)


def test_the_cli_prints_one_line_naming_the_command(tmp_path, capsys):
    rc = cli.main(["class", "release", "--src", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and err[0].startswith("tlcourse class release: "), err
    rc = cli.main(["iterations", str(tmp_path / "no-model")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and err[0].startswith("tlcourse iterations: "), err
