"""Shared helpers for the solver tests: the benchmark folder and a tiny hand-made instance."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BENCH = (REPO / ".." / "shared" / "benchdata" / "curtois").resolve()


def bench_file(n: int) -> Path:
    path = BENCH / f"Instance{n}.txt"
    if not path.is_file():
        message = f"the Curtois & Qu benchmark files are not at {BENCH} (shared data folder absent)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; CI must run these tests")  # CI has shared/ beside the checkout
        pytest.skip(message)
    return path


# One week, two shifts (N forbids D next day), three employees.
TINY = """# a tiny hand-made instance
SECTION_HORIZON
# days
7

SECTION_SHIFTS
D,480,
N,600,D

SECTION_STAFF
A,D=7|N=2,3000,960,3,2,2,1
B,D=7|N=2,3000,960,3,2,2,1
C,D=7|N=0,1000,960,3,2,2,0

SECTION_DAYS_OFF
A,0
B
C

SECTION_SHIFT_ON_REQUESTS
A,1,D,2
B,2,N,3

SECTION_SHIFT_OFF_REQUESTS
A,3,D,1
B,4,N,2

SECTION_COVER
0,D,1,100,1
0,N,0,100,1
1,D,1,100,1
1,N,0,100,1
2,D,1,100,1
2,N,1,100,1
3,D,1,100,1
3,N,0,100,1
4,D,1,100,1
4,N,0,100,1
5,D,1,100,1
5,N,0,100,1
6,D,1,100,1
6,N,0,100,1
"""
