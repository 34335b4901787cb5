"""PDF of the block grid (one landscape page per block, A4 and Letter) and of a person's month."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from core.io.grid import load_year
from desktop.io.pdf import main, none_refcount_guard, write_block_pdf, write_person_month_pdf
from tests.helpers.io_program import program_copy


@pytest.fixture
def small(tmp_path: Path):
    path, ctx = program_copy(tmp_path / "p.sqlite", n_residents=3, n_faculty=2, cache_dir=tmp_path)
    yield path, ctx
    ctx.engine.dispose()


def _pages(pdf: Path) -> list[tuple[float, float]]:
    raw = pdf.read_bytes()
    assert raw.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", raw)
    assert len(re.findall(rb"/Type /Page\b", raw)) == len(boxes)
    return [(float(w), float(h)) for w, h in boxes]


@pytest.mark.parametrize("page, size", [("A4", (842, 595)), ("Letter", (792, 612))])
def test_block_grid_one_landscape_page_per_block(qapp, small, tmp_path: Path, page: str, size) -> None:
    _, ctx = small
    out = tmp_path / "grid.pdf"
    assert write_block_pdf(load_year(ctx), [1, 2, 3], out, page=page) == 3
    pages = _pages(out)
    assert len(pages) == 3
    assert all(abs(w - size[0]) < 1.5 and abs(h - size[1]) < 1.5 for w, h in pages)


def test_person_month_is_one_page(qapp, small, tmp_path: Path) -> None:
    _, ctx = small
    data = load_year(ctx)
    out = tmp_path / "month.pdf"
    write_person_month_pdf(data, data.people[0].id, 2026, 9, out, page="Letter")
    assert len(_pages(out)) == 1


def test_command_line(qapp, small, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, ctx = small
    ctx.engine.dispose()
    out = tmp_path / "all.pdf"
    assert main(["block", "--db", str(path), "--out", str(out)]) == 0
    assert len(_pages(out)) == 13
    assert main(["month", "--db", str(path), "--person", "Nobody", "--month", "2026-09", "--out",
                 str(tmp_path / "m.pdf")]) == 2
    assert "Nobody called Nobody" in capsys.readouterr().err


def test_none_refcount_guard_gives_back_what_pyside_drops(qapp) -> None:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter

    img = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(img)
    before = sys.getrefcount(None)
    with none_refcount_guard():
        for _ in range(500):
            painter.drawRect(QRectF(0, 0, 2, 2))
    painter.end()
    assert sys.getrefcount(None) >= before
