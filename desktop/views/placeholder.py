"""A clear placeholder for a page another piece of work will fill."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

PLACEHOLDERS = {
    "Resilience": "Analyses of how the schedule copes with absences: coverage margins, single points of "
                  "failure, what-if scenarios, run in the background with progress and cancel.",
    "Sync": "Synchronisation with the program's server: pending changes, the last push and pull, "
            "conflicts to resolve.",
}


class PlaceholderPage(QWidget):
    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(f"{title} (coming later)")
        head = QLabel(f"<h2>{title}</h2>", self)
        body = QLabel(f"<p>This page is not built yet. It will show:</p><p>{text}</p>", self)
        body.setWordWrap(True)
        body.setTextFormat(Qt.TextFormat.RichText)
        lay = QVBoxLayout(self)
        lay.addWidget(head)
        lay.addWidget(body)
        lay.addStretch(1)
