"""The Import/Export wizard: import with preview and one-step undo; exports write their files."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.io.excel import export_blocks
from core.io.grid import load_year
from core.services.undo import undo
from desktop.io.wizard import PAGE_EXPORT, PAGE_PREVIEW, ImportExportWizard
from tests.helpers.io_program import program_copy, snapshot_rows

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def small(tmp_path: Path):
    _path, ctx = program_copy(tmp_path / "p.sqlite", n_residents=3, n_faculty=2, cache_dir=tmp_path)
    yield ctx
    ctx.engine.dispose()


def test_import_preview_apply_and_undo(qtbot, small, tmp_path: Path) -> None:
    book = tmp_path / "b.xlsx"
    export_blocks(load_year(small), [2], book)
    wb = load_workbook(book)
    ws = wb["Block 2"]
    ws["C7"] = "ELEC" if ws["C7"].value != "ELEC" else "W"
    ws["E7"] = "NOPE"
    wb.save(book)
    before = snapshot_rows(small)
    wizard = ImportExportWizard(small)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.choose.path.setText(str(book))
    wizard.next()
    assert wizard.currentId() == PAGE_PREVIEW
    page = wizard.preview_page
    assert page.changes.rowCount() == 1
    assert page.changes.data(page.changes.index(0, 6)) == "Block 2!C7"
    assert page.unmatched.count() == 1 and "E7" in page.unmatched.item(0).text()
    with qtbot.waitSignal(wizard.imported) as signal:
        wizard.accept()
    assert signal.args[0] is wizard.changes and not wizard.changes.empty
    assert snapshot_rows(small) != before
    undo(small, wizard.changes)
    assert snapshot_rows(small) == before


def test_bad_file_shows_the_message_and_cannot_finish(qtbot, small, tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_text("hello")
    wizard = ImportExportWizard(small)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.choose.path.setText(str(bad))
    wizard.next()
    assert not wizard.preview_page.isComplete()
    assert "not an Excel workbook" in wizard.preview_page.summary.text()


@pytest.mark.parametrize("mode, name", [("export_xlsx", "y.xlsx"), ("export_ics", "me.ics"),
                                        ("export_csv", "people.csv"), ("export_pdf", "grid.pdf")])
def test_exports(qtbot, small, tmp_path: Path, mode: str, name: str) -> None:
    wizard = ImportExportWizard(small)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.choose.findChild(type(wizard.choose.group.button(0)), mode).setChecked(True)
    wizard.choose.path.setText(str(tmp_path / name))
    wizard.next()
    assert wizard.currentId() == PAGE_EXPORT
    if mode == "export_pdf":
        wizard.export_page.block.setCurrentIndex(1)
    wizard.accept()
    assert wizard.written == tmp_path / name and (tmp_path / name).stat().st_size > 0
