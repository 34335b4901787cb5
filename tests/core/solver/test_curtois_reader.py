"""The Curtois & Qu reader and the independent evaluator, on a hand-made instance with hand-computed scores."""

from __future__ import annotations

from pathlib import Path

import pytest
from curtois_fixtures import TINY, bench_file

from core.errors import ValidationError
from core.solver import curtois


def row(text: str) -> list[str | None]:
    return [None if c == "-" else c for c in text.split()]


def test_parse_tiny_instance_lf_and_crlf() -> None:
    for text in (TINY, TINY.replace("\n", "\r\n"), "\n\n" + TINY + "\n\n"):
        inst = curtois.parse_instance(text, name="tiny")
        assert inst.horizon == 7
        assert [(s.id, s.minutes, s.forbidden_next) for s in inst.shifts] == [
            ("D", 480, frozenset()), ("N", 600, frozenset({"D"}))]
        assert [e.id for e in inst.staff] == ["A", "B", "C"]
        c = inst.staff[2]
        assert (c.max_shifts, c.max_total_minutes, c.min_total_minutes) == ({"D": 7, "N": 0}, 1000, 960)
        assert (c.max_consecutive_shifts, c.min_consecutive_shifts, c.min_consecutive_days_off,
                c.max_weekends) == (3, 2, 2, 0)
        assert inst.days_off == {"A": frozenset({0}), "B": frozenset(), "C": frozenset()}
        assert [(r.employee, r.day, r.shift, r.weight) for r in inst.on_requests] == [("A", 1, "D", 2), ("B", 2, "N", 3)]
        assert len(inst.off_requests) == 2 and len(inst.cover) == 14
        assert inst.cover[5] == curtois.Cover(2, "N", 1, 100, 1)


def test_evaluate_feasible_roster_hand_computed() -> None:
    inst = curtois.parse_instance(TINY)
    roster = [row("- D D - - D D"), row("D D - - N N -"), row("- - D D - - -")]
    ev = curtois.evaluate(inst, roster)
    assert ev.hard == ()
    # D cover: day1 A+B (over 1), day2 A+C (over 1), day4 nobody (under 100)   -> 102
    # N cover: day2 nobody (under 100), day4 and day5 B (over 1 each)           -> 102
    # requests: B wanted N on day 2 (3), B works N on day 4 asked off (2)       -> 5
    assert (ev.under_cover_penalty, ev.over_cover_penalty) == (200, 4)
    assert (ev.on_request_penalty, ev.off_request_penalty) == (3, 2)
    assert ev.penalty == 209


def test_evaluate_lists_each_hard_violation_kind() -> None:
    inst = curtois.parse_instance(TINY)
    roster = [row("D D D D - - -"), row("D - N D - - -"), row("- - - - - D -")]
    ev = curtois.evaluate(inst, roster)
    kinds = sorted(v.kind for v in ev.hard)
    # A: works its day off 0 and 4 days in a row; B: N then D, one day off between two shifts;
    # C: 480 < 960 minutes, a single-day run inside the horizon, a weekend with MaxWeekends 0
    assert kinds == sorted(["day_off", "max_consecutive", "rotation", "min_days_off", "min_minutes",
                            "min_consecutive", "max_weekends"])
    roster = [row("- - - - - - -"), row("N N N - - D D"), row("D D - - - - -")]
    kinds = sorted(v.kind for v in curtois.evaluate(inst, roster).hard)
    assert kinds == ["max_shifts", "min_minutes"]  # B: 3 nights > 2; A: no minutes at all
    roster = [row("- D D - - - -"), row("D D D - - - -"), row("D D D - - - -")]
    kinds = sorted(v.kind for v in curtois.evaluate(inst, roster).hard)
    assert kinds == ["max_minutes"]  # C: 1440 > 1000


def test_boundary_runs_are_exempt() -> None:
    inst = curtois.parse_instance(TINY)
    # A single worked day touching the end, a single day off touching the start: both exempt.
    roster = [row("- - - - D D -"), row("- D D - - - D"), row("D D - - - - -")]
    assert curtois.evaluate(inst, roster).hard == ()


def test_shape_and_unknown_shift() -> None:
    inst = curtois.parse_instance(TINY)
    assert curtois.evaluate(inst, [row("- - - - - - -")]).hard[0].kind == "shape"
    roster = [row("- - - - - - X"), row("D D - - - - -"), row("D D - - - - -")]
    assert curtois.evaluate(inst, roster).hard[0].kind == "unknown_shift"


@pytest.mark.parametrize("text, words", [
    ("SECTION_HORIZON\n7\n", "SECTION_SHIFTS is missing"),
    (TINY.replace("\n7\n", "\nseven\n"), "whole number"),
    (TINY.replace("N,600,D", "N,600,Q"), "unknown shift"),
    (TINY.replace("A,1,D,2", "Z,1,D,2"), "unknown employee"),
    (TINY.replace("A,1,D,2", "A,9,D,2"), "outside the horizon"),
    (TINY.replace("C,D=7|N=0,1000,960,3,2,2,0", "C,D=7|N=0,1000,960"), "8 comma-separated fields"),
    ("hello\n" + TINY, "before the first SECTION_"),
    (TINY.replace("SECTION_COVER", "SECTION_WHATEVER"), "unknown section"),
])
def test_malformed_instances_give_one_sentence(text: str, words: str) -> None:
    with pytest.raises(ValidationError) as err:
        curtois.parse_instance(text, name="bad.txt")
    assert words in str(err.value)
    assert str(err.value).endswith(".")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        curtois.read_instance(tmp_path / "nope.txt")


def test_benchmark_files_parse_with_published_sizes() -> None:
    sizes = {1: (14, 1, 8, 21, 5, 14), 8: (28, 4, 30, 139, 86, 112), 12: (28, 10, 60, 294, 128, 280)}
    for n, expected in sizes.items():
        inst = curtois.read_instance(bench_file(n))
        got = (inst.horizon, len(inst.shifts), len(inst.staff), len(inst.on_requests),
               len(inst.off_requests), len(inst.cover))
        assert got == expected, n


def test_best_known_from_table_and_builtin(tmp_path: Path) -> None:
    assert curtois.best_known(bench_file(9)) == 439
    lone = tmp_path / "Instance15.txt"
    lone.write_text("")
    assert curtois.best_known(lone) == 3828
    (tmp_path / "BEST_KNOWN.md").write_text(
        "| Instance | [A] LB | [A] BKS |\n|---|---|---|\n| 15 | 3800 | 3829 |\n")
    assert curtois.best_known(lone) == 3829
    assert curtois.best_known(tmp_path / "mine.txt") is None


def test_format_roster() -> None:
    inst = curtois.parse_instance(TINY)
    roster = [row("- D D - - D D"), row("D D - - N N -"), row("- - D D - - -")]
    text = curtois.format_roster(inst, roster)
    assert text.splitlines()[1] == "B\tD\tD\t-\t-\tN\tN\t-"
