"""The own-images commands (check, train, predict, export) refuse bad command lines before any
work: exit 2, one line naming the option and its valid range, no traceback, nothing written."""

from __future__ import annotations

import pytest

from tlcourse.cli import main


def _usage_error(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("argv, says", [
    (["predict", "MODEL", "x.jpg", "--top", "0"], "--top: must be an integer >= 1, not 0"),
    (["predict", "MODEL", "x.jpg", "--top", "-1"], "--top: must be an integer >= 1, not -1"),
    (["predict", "MODEL", "x.jpg", "--top", "two"], "--top: must be an integer >= 1"),
    (["predict", "MODEL", "x.jpg", "--threshold", "1.5"], "--threshold: must be a probability"),
    (["predict", "MODEL", "x.jpg", "--threshold", "nan"], "--threshold: must be a probability"),
    (["train", "DIR", "--out", "M", "--threshold", "-0.1"], "--threshold: must be a probability"),
    (["train", "DIR", "--out", "M", "--holdout", "1"], "--holdout: must be a fraction"),
    (["predict", "MODEL", "x.jpg", "--iteration", "0"], "--iteration: must be an integer >= 1"),
    (["export", "MODEL", "--iteration", "-2"], "--iteration: must be an integer >= 1"),
    (["report", "MODEL", "--threshold", "1"], "--threshold: must be a probability"),
    (["report", "MODEL", "--iteration", "0"], "--iteration: must be an integer >= 1"),
])
def test_bad_numbers_are_usage_errors_that_give_the_valid_range(argv, says, capsys):
    assert says in _usage_error(argv, capsys)


def test_output_paths_are_checked_before_any_work(tmp_path, capsys):
    # the model does not exist: if the option were checked late, the error would be about it
    err = _usage_error(["predict", str(tmp_path / "no-model"), "x.jpg", "--csv",
                        str(tmp_path / "missing_dir" / "out.csv")], capsys)
    assert "--csv" in err and "missing_dir" in err and "does not exist" in err
    err = _usage_error(["predict", str(tmp_path / "no-model"), "x.jpg", "--csv", str(tmp_path)],
                       capsys)
    assert "--csv" in err and "is a folder" in err
    err = _usage_error(["export", str(tmp_path / "no-model"), "--out", str(tmp_path)], capsys)
    assert "--out" in err and "is a folder" in err and ".onnx" in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_an_onnx_file_holds_one_iteration_and_report_needs_a_model(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "m.onnx"), "x.jpg", "--iteration", "2"]) == 2
    assert "--iteration is for a model folder" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tlcourse report: ") and "train a model first" in err
    assert "Traceback" not in err
