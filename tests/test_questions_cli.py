"""`questions check | stats | import` end to end, through main()."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.bank import load_pack
from bot.questions_cli import main

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def good_dir(tmp_path: Path) -> Path:
    bank = tmp_path / "bank"
    bank.mkdir()
    shutil.copy(DATA / "sample-pack.yaml", bank / "generalization.yaml")
    return bank


def test_check_good_dir_exits_0_with_summary(
    good_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(good_dir)]) == 0
    assert capsys.readouterr().out == "OK: 4 questions in 1 pack\n"


def test_check_bad_pack_prints_each_problem_and_exits_1(
    good_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (good_dir / "generalization.yaml").read_text(encoding="utf-8")
    text = text.replace("difficulty: easy", "difficulty: simple", 1).replace("week: 2", "week: 6")
    text = text.replace(
        "- label: wrong\n        answer: They both", "- label: partial\n        answer: They both"
    )
    bad = good_dir / "broken.yaml"
    bad.write_text(text.replace("gen-sample-", "bad-"), encoding="utf-8")
    assert main(["check", str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        f"{bad}: bad-sparse-penalty: difficulty: 'simple' is not one of easy | medium | hard",
        f"{bad}: bad-fold-share: week: expected a whole number 1-4, got the number 6",
        f"{bad}: bad-l1-vs-l2: examples[3]: labelled partial but grades wrong (score 0.00 | "
        "missed: L1 drives some weights exactly to zero (sparsity); L2 shrinks all weights "
        "smoothly; L1 penalises absolute values, L2 squared values)",
    ]
    assert lines[-1] == "FAILED: 3 problems; 2 valid questions in 1 pack"


def test_check_reports_duplicates_across_files(
    good_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(DATA / "sample-pack.yaml", good_dir / "zz-copy.yaml")
    assert main(["check", str(good_dir)]) == 1
    out = capsys.readouterr().out
    assert f"{good_dir / 'zz-copy.yaml'}: gen-sample-l1-vs-l2: id: duplicate id" in out


def test_check_missing_path_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope.yaml")]) == 1
    assert "no such file or directory" in capsys.readouterr().out


def test_stats_prints_count_tables(good_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", str(good_dir)]) == 0
    out = capsys.readouterr().out
    assert "generalization      4   100%" in out
    assert "choice       1    25%" in out
    assert "easy            3    75%" in out
    assert "1         3    75%" in out
    assert "total: 4 questions in 1 pack, 1 topic" in out
    assert "kinds: choice 25%, short 25%, numeric 25%, open 25%" in out


def test_import_writes_a_pack_that_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "imported.yaml"
    code = main(["import", str(DATA / "sample.csv"), "--format", "csv", "--out", str(out)])
    assert code == 0
    assert capsys.readouterr().out == f"wrote 4 questions to {out}\n"
    assert len(load_pack(out)) == 4
    assert main(["check", str(out)]) == 0


def test_import_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "imported.yaml"
    out.write_text("keep me", encoding="utf-8")
    args = ["import", str(DATA / "sample-red.yaml"), "--format", "red-trivia", "--out", str(out)]
    assert main(args) == 1
    assert "--force" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "keep me"
    assert main([*args, "--force", "--topic", "deep-learning"]) == 0
    assert {q.topic for q in load_pack(out)} == {"deep-learning"}


def test_import_bad_row_names_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "imported.yaml"
    assert main(["import", str(DATA / "sample-bad.csv"), "--format", "csv", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "sample-bad.csv: line 3: answer 'L3'" in err
    assert f"nothing written to {out}" in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_runs_as_a_module(good_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.questions_cli", "check", str(good_dir / "generalization.yaml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "OK: 4 questions in 1 pack\n")


@pytest.mark.parametrize("command", [["check"], ["stats"]])
def test_check_and_stats_read_questions_dir(
    command: list[str],
    good_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("QUESTIONS_DIR", str(good_dir))
    assert main(command) == 0
    assert "4 questions in 1 pack" in capsys.readouterr().out


def test_import_writes_into_questions_dir_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bank = tmp_path / "bank"
    bank.mkdir()
    monkeypatch.setenv("QUESTIONS_DIR", str(bank))
    monkeypatch.chdir(tmp_path)
    assert main(["import", str(DATA / "sample.csv"), "--format", "csv"]) == 0
    assert len(load_pack(bank / "imported-sample.yaml")) == 4
    assert capsys.readouterr().out == "wrote 4 questions to bank/imported-sample.yaml\n"


@pytest.mark.parametrize("command", [["check"], ["stats"], ["import", "x.csv", "--format", "csv"]])
def test_a_questions_dir_that_is_a_file_is_named_not_printed(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n" * 50, encoding="utf-8")
    monkeypatch.setenv("QUESTIONS_DIR", str(secret))
    assert main(command) == 2
    captured = capsys.readouterr()
    assert "root:x" not in captured.out + captured.err
    assert captured.err.count("\n") == 1
    assert f"QUESTIONS_DIR='{secret}' is not a directory" in captured.err


@pytest.mark.parametrize("command", ["check", "stats"])
def test_a_path_that_is_not_a_pack_is_named_not_printed(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n" * 50, encoding="utf-8")
    assert main([command, str(secret)]) == 2
    captured = capsys.readouterr()
    assert "root:x" not in captured.out + captured.err
    assert captured.err == f"{secret} is not a .yaml question pack or a directory of them\n"


def test_importing_twice_refuses_naming_the_clashing_ids(
    good_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["import", str(DATA / "sample.csv"), "--format", "csv"]
    assert main([*args, "--out", str(good_dir / "first.yaml")]) == 0
    capsys.readouterr()
    second = good_dir / "second.yaml"
    assert main([*args, "--out", str(second)]) == 1
    err = capsys.readouterr().err
    qid = "generalization-which-penalty-drives-some-weights-exactly-to-zero"
    assert f"{second}: {qid}: id: already used in {good_dir / 'first.yaml'}" in err
    assert f"nothing written to {second}" in err
    assert not second.exists()
    assert main(["check", str(good_dir)]) == 0


def test_import_refuses_a_near_duplicate_of_a_prompt_already_in_the_bank(
    good_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "again.csv"
    source.write_text(
        "prompt,answer\nWhich penalty (one term) tends to set some weights to exactly zero?,L1\n",
        encoding="utf-8",
    )
    out = good_dir / "again.yaml"
    assert main(["import", str(source), "--format", "csv", "--out", str(out)]) == 1
    assert "prompt: near-duplicate of gen-sample-sparse-penalty" in capsys.readouterr().err
    assert not out.exists()


def test_reimporting_with_force_over_the_same_pack_is_allowed(
    good_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["import", str(DATA / "sample-red.yaml"), "--format", "red-trivia"]
    out = good_dir / "red.yaml"
    assert main([*args, "--out", str(out)]) == 0
    assert main([*args, "--out", str(out), "--force"]) == 0
    assert main(["check", str(good_dir)]) == 0


@pytest.mark.parametrize(
    ("out", "problem"),
    [
        (".", "is a directory"),
        ("missing/pack.yaml", "does not exist"),
        ("pack.txt", "must end in .yaml"),
    ],
)
def test_import_bad_out_path_is_one_line_and_exit_2(
    tmp_path: Path, out: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / out
    args = ["import", str(DATA / "sample.csv"), "--format", "csv", "--out", str(target)]
    assert main([*args, "--force"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and problem in err
    assert list(tmp_path.iterdir()) == []


def test_dates_and_odd_scalars_never_raise_in_check_stats_or_import(
    good_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = good_dir / "generalization.yaml"
    text = pack.read_text(encoding="utf-8")
    text = text.replace(
        "answers: [L1, lasso, L1 regularization, l1 penalty]", "answers: [2017-02-30]"
    )
    pack.write_text(text.replace("tolerance: 0.005", "tolerance: .nan"), encoding="utf-8")
    assert main(["check", str(good_dir)]) == 1
    out = capsys.readouterr().out
    assert f"{pack}: gen-sample-fold-share: tolerance: expected a finite number" in out
    assert "FAILED: 1 problem" in out
    assert main(["stats", str(good_dir)]) == 1
    capsys.readouterr()
    out_pack = tmp_path / "copy.yaml"
    assert main(["import", str(pack), "--format", "yaml", "--out", str(out_pack)]) == 1
    assert "tolerance: expected a finite number" in capsys.readouterr().err
    pack.write_text(text, encoding="utf-8")
    assert main(["import", str(pack), "--format", "yaml", "--out", str(out_pack)]) == 0
    copied = {q.id: q for q in load_pack(out_pack)}
    assert copied["gen-sample-sparse-penalty"].answers == ("2017-02-30",)
