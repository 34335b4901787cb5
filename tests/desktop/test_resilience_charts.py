"""The resilience charts drawn from plain data, and the chart process that draws them."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktop.views.resilience_charts import DPI, FIGSIZE, ChartProcess, render_rgba, save

NK = {"day_k": np.array([[0.0, 1.0, np.nan], [-1.0, 2.0, 5.0]]), "services": ["ICU", "Ward"]}
SPC = {"name": "A. Resident", "hours": np.array([60.0, 82.0, 70.0]), "hit": np.array([False, True, False]),
       "centre": 70.0, "sigma": 5.0, "limit": 80.0, "p_over_limit": 0.02}
LORENZ = {"metric": "hours", "curves": [("PGY1", 0.1, np.array([0, 0.5, 1.0]), np.array([0, 0.4, 1.0]))]}
UTIL = {"person_week": np.array([[0.5, 0.9], [np.nan, 1.2]]), "week_starts": ["2026-07-06", "2026-07-13"]}


@pytest.fixture
def charts() -> Any:
    process = ChartProcess()
    yield process
    process.shutdown()


@pytest.mark.parametrize("kind, data", [("nk", NK), ("util", UTIL), ("spc", SPC), ("lorenz", LORENZ)])
def test_render_rgba_is_the_whole_figure(kind: str, data: dict[str, Any]) -> None:
    buf, w, h = render_rgba(kind, data)
    assert (w, h) == (round(FIGSIZE[0] * DPI), round(FIGSIZE[1] * DPI))
    pixels = np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 4)
    assert (pixels[..., 3] == 255).all()  # opaque
    assert len(np.unique(pixels.reshape(-1, 4), axis=0)) > 10  # something was drawn on the white


def test_save_writes_png_and_pdf(tmp_path: Path) -> None:
    save("nk", NK, str(tmp_path / "nk.png"))
    save("lorenz", LORENZ, str(tmp_path / "eq.pdf"))
    assert (tmp_path / "nk.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "eq.pdf").read_bytes()[:5] == b"%PDF-"


def test_the_chart_process_draws_the_same_image_without_qt(charts: ChartProcess) -> None:
    assert charts.call(render_rgba, "spc", SPC) == render_rgba("spc", SPC)
    assert charts.call(eval, "'PySide6' in __import__('sys').modules") is False
    assert charts.call(eval, "'matplotlib.figure' in __import__('sys').modules") is True  # loaded at start
    if hasattr(os, "getpriority"):
        assert charts.call(os.getpriority, os.PRIO_PROCESS, 0) >= 10  # niced


def test_a_new_chart_process_after_the_old_one_died(charts: ChartProcess) -> None:
    first = charts.call(os.getpid)
    os.kill(first, signal.SIGKILL)
    # the next call notices (on submitting or while waiting) and draws in a new process
    assert charts.call(render_rgba, "nk", NK)[1:] == render_rgba("nk", NK)[1:]
    assert charts.call(os.getpid) != first
