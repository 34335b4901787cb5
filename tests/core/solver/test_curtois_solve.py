"""Curtois & Qu Instances 1-3 solved to their published optimum and proven; the roster-bench command."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from curtois_fixtures import TINY, bench_file

from core.cli import main
from core.commands import solver as solver_command
from core.solver import curtois
from core.solver.roster import solve

OPTIMA = {1: 607, 2: 828, 3: 1001}


def check_optimum(n: int) -> None:
    inst = curtois.read_instance(bench_file(n))
    result = solve(curtois.to_roster_model(inst), time_limit=120, workers=2)
    assert result.status == "optimal"
    assert result.objective == result.best_bound == OPTIMA[n]
    ev = curtois.evaluate(inst, result.assignment or ())
    assert ev.hard == () and ev.penalty == OPTIMA[n]


def test_instance_1_optimal() -> None:
    check_optimum(1)


@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 3])
def test_instances_2_and_3_optimal(n: int) -> None:
    check_optimum(n)


def test_roster_bench_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "roster.txt"
    path = bench_file(1)
    assert main(["roster-bench", str(path), "--time-limit", "60", "--json", "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["objective"] == report["evaluator_penalty"] == 607
    assert report["best_known"] == 607 and report["gap_to_best_known"] == 0
    assert report["hard_violations"] == 0 and report["time_to_first_feasible"] is not None
    lines = out.read_text().splitlines()
    inst = curtois.read_instance(path)
    assert [line.split("\t")[0] for line in lines] == [e.id for e in inst.staff]
    roster = [[None if c == "-" else c for c in line.split("\t")[1:]] for line in lines]
    assert curtois.evaluate(inst, roster).penalty == 607


def test_roster_bench_on_own_parser_and_text_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    solver_command.register(parser.add_subparsers())
    tiny = tmp_path / "tiny.txt"
    tiny.write_text(TINY.replace("\n", "\r\n"))
    args = parser.parse_args(["roster-bench", str(tiny), "--time-limit", "10", "--workers", "1"])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "objective" in text and "best known          -" in text and "0 hard violations" in text


@pytest.mark.parametrize("content, words", [
    (None, "does not exist"),
    ("SECTION_HORIZON\n7\n", "is missing"),
    (TINY.replace("D,480,", "D,eight hours,"), "whole number"),
])
def test_roster_bench_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None,
                                words: str) -> None:
    path = tmp_path / "Instance1.txt"
    if content is not None:
        path.write_text(content)
    assert main(["roster-bench", str(path), "--time-limit", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


def test_roster_bench_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiny = tmp_path / "tiny.txt"
    tiny.write_text(TINY)
    assert main(["roster-bench", str(tiny), "--time-limit", "0"]) == 2
    assert "time limit" in capsys.readouterr().err
    assert main(["roster-bench", str(tiny), "--time-limit", "5", "--out", str(tmp_path)]) == 2
    assert "folder" in capsys.readouterr().err
