"""Person month/week calendar, the academic-year overview, and Today.

Each page reads through services on a worker (never on the GUI thread) and shows the result in
its own table model.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.colours import text_colour_for
from desktop.program import ProgramData, ProgramSession, user_message


class LoadsWhenShown:
    """A page that reads in the background: `reload()` while it is hidden (another tab is in
    front) only marks it stale, and showing it loads it. Opening a program and loading its first
    block then run no reads for pages nobody looks at, beside the block's own load (they competed
    with it for the GIL and the two cores)."""

    _stale = False

    def reload(self) -> None:
        if not self.isVisible():  # type: ignore[attr-defined]
            self._stale = True
            return
        self._stale = False
        self._load()

    def _load(self) -> None:
        raise NotImplementedError

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)  # type: ignore[misc]
        if self._stale:
            self.reload()

Index = QModelIndex | QPersistentModelIndex
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SLOT_NAMES = ("AM", "PM")


# ------------------------------------------------------------------------------ person calendar
@dataclass(frozen=True)
class DayEntry:
    day: dt.date
    am: str  # activity codes
    pm: str
    colour: str | None  # colour of the AM (else PM) activity
    call: str  # call type or ""
    names: str  # activity names, for the tooltip


class PersonCalendarModel(QAbstractTableModel):
    """Rows = weeks, columns = Monday..Sunday; a cell is one day of one person."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.first = dt.date(2000, 1, 3)
        self.weeks = 0
        self.in_range: tuple[dt.date, dt.date] = (self.first, self.first)
        self.entries: dict[dt.date, DayEntry] = {}

    def set_days(self, start: dt.date, end: dt.date, entries: dict[dt.date, DayEntry]) -> None:
        self.beginResetModel()
        self.first = start - dt.timedelta(days=start.weekday())
        self.weeks = ((end - self.first).days // 7) + 1
        self.in_range = (start, end)
        self.entries = entries
        self.endResetModel()

    def day_at(self, row: int, col: int) -> dt.date:
        return self.first + dt.timedelta(days=7 * row + col)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.weeks

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 7

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        day = self.day_at(index.row(), index.column())
        inside = self.in_range[0] <= day <= self.in_range[1]
        e = self.entries.get(day)
        if role == Qt.ItemDataRole.DisplayRole:
            if not inside:
                return ""
            text = f"{day.day}\nAM {e.am if e else '–'}\nPM {e.pm if e else '–'}"
            return text + (f"\nCall ({e.call})" if e and e.call else "")
        if role == Qt.ItemDataRole.BackgroundRole:
            if inside and e is not None and e.colour:
                return QColor(e.colour)
            return QColor(128, 128, 128, 48) if day.weekday() >= 5 or not inside else None
        if role == Qt.ItemDataRole.ForegroundRole and inside and e is not None and e.colour:
            return QColor(text_colour_for(e.colour))
        if role == Qt.ItemDataRole.ToolTipRole and inside:
            return f"{day:%A %B %d, %Y}" + (f"\n{e.names}" if e else "\nNothing assigned")
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < 7:
            return WEEKDAYS[section]
        if orientation == Qt.Orientation.Vertical and 0 <= section < self.weeks:
            return f"{self.first + dt.timedelta(days=7 * section):%b %d}"
        return None


def read_person_days(ctx: Any, data: ProgramData, person_id: str, start: dt.date, end: dt.date, **_: Any) -> dict[dt.date, DayEntry]:
    from core.services import schedule

    acts = {a.id: a for a in data.activities}
    by_day: dict[dt.date, dict[int, Any]] = {}
    for a in schedule.assignments_between(ctx, start, end, person_id):
        by_day.setdefault(a.date, {})[a.slot] = acts.get(a.activity_id)
    calls = {c.date: c.call_type.replace("_", "-") for c in schedule.calls_between(ctx, start, end) if c.person_id == person_id}
    out = {}
    for day in set(by_day) | set(calls):
        slots = by_day.get(day, {})
        am, pm = slots.get(0), slots.get(1)
        first = am or pm
        out[day] = DayEntry(day, am.code if am else "–", pm.code if pm else "–", first.colour if first else None,
                            calls.get(day, ""), " / ".join(f"{n} {x.name}" for n, x in (("AM", am), ("PM", pm)) if x))
    return out


class PersonCalendarPage(LoadsWhenShown, QWidget):
    def __init__(self, session: ProgramSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.anchor = session.app.today()
        self.model = PersonCalendarModel(self)
        self.person = QComboBox(self)
        self.person.setAccessibleName("Person")
        self.mode = QComboBox(self)
        self.mode.addItems(["Month", "Week"])
        self.mode.setAccessibleName("Month or week")
        self.prev_button = QPushButton("◀", self)
        self.prev_button.setAccessibleName("Previous month or week")
        self.next_button = QPushButton("▶", self)
        self.next_button.setAccessibleName("Next month or week")
        self.title = QLabel(self)
        self.view = QTableView(self)
        self.view.setAccessibleName("Person calendar")
        self.view.setModel(self.model)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        bar = QHBoxLayout()
        for w in (QLabel("Person:", self), self.person, self.mode, self.prev_button, self.title, self.next_button):
            bar.addWidget(w)
        bar.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.view, 1)
        self.person.currentIndexChanged.connect(self.reload)
        self.mode.currentIndexChanged.connect(self.reload)
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        session.opened.connect(self.set_program)
        session.catalog_changed.connect(self.set_program)
        session.slots_changed.connect(lambda people, _d: self.reload() if self.person.currentData() in people else None)
        session.block_loaded.connect(self._block_loaded)
        if session.data is not None:
            self.set_program(session.data)

    def _block_loaded(self, block: Any) -> None:
        if not block.block.start <= self.anchor <= block.block.end:
            self.anchor = block.block.start
            self.reload()

    def set_program(self, data: ProgramData) -> None:
        current = self.person.currentData()
        self.person.blockSignals(True)
        self.person.clear()
        for p in data.people:
            self.person.addItem(p.name + (f" (PGY-{p.pgy})" if p.pgy else ""), p.id)
        i = self.person.findData(current)
        self.person.setCurrentIndex(max(0, i))
        self.person.blockSignals(False)
        if self.session.block is not None:
            self.anchor = self.session.block.block.start
        self.reload()

    def span(self) -> tuple[dt.date, dt.date]:
        a = self.anchor
        if self.mode.currentText() == "Week":
            start = a - dt.timedelta(days=a.weekday())
            return start, start + dt.timedelta(days=6)
        start = a.replace(day=1)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return start, nxt - dt.timedelta(days=1)

    def step(self, delta: int) -> None:
        if self.mode.currentText() == "Week":
            self.anchor += dt.timedelta(days=7 * delta)
        else:
            y, m = divmod(self.anchor.month - 1 + delta, 12)
            self.anchor = dt.date(self.anchor.year + y, m + 1, 1)
        self.reload()

    def _load(self) -> None:
        start, end = self.span()
        self.title.setText(f"{start:%b %d} – {end:%b %d, %Y}")
        pid, data, ctx = self.person.currentData(), self.session.data, self.session.ctx
        if pid is None or data is None or ctx is None:
            self.model.set_days(start, end, {})
            return
        self.session.app.workers.start(
            "person-calendar", read_person_days, ctx, data, pid, start, end,
            on_finished=lambda entries: self.model.set_days(start, end, entries),
            on_failed=lambda e: self.session.error.emit(user_message(e)))


# ------------------------------------------------------------------------------ academic year
class YearOverviewModel(QAbstractTableModel):
    """Residents x blocks -> rotation code(s) (a split block shows 'A / B')."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.people: list[Any] = []
        self.blocks: list[Any] = []
        self.cells: dict[tuple[str, str], list[tuple[int, Any]]] = {}

    @staticmethod
    def plan_cells(plan: list[Any], rotations: dict[str, Any]) -> dict[tuple[str, str], list[tuple[int, Any]]]:
        """(person id, block id) -> [(half, rotation)]; plain Python, runs on the worker."""
        cells: dict[tuple[str, str], list[tuple[int, Any]]] = {}
        for r in plan:
            rot = rotations.get(r.rotation_id)
            if rot is not None:
                cells.setdefault((r.person_id, r.block_id), []).append((r.half, rot))
        return cells

    def set_plan(self, people: list[Any], blocks: list[Any], plan: list[Any], rotations: dict[str, Any],
                 cells: dict[tuple[str, str], list[tuple[int, Any]]] | None = None) -> None:
        self.beginResetModel()
        self.people, self.blocks = people, blocks
        self.cells = cells if cells is not None else self.plan_cells(plan, rotations)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.people)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.blocks)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        person, block = self.people[index.row()], self.blocks[index.column()]
        rots = sorted(self.cells.get((person.id, block.id), []), key=lambda x: x[0])
        if role == Qt.ItemDataRole.DisplayRole:
            return " / ".join(r.code for _h, r in rots)
        if role == Qt.ItemDataRole.BackgroundRole and rots:
            return QColor(rots[0][1].colour)
        if role == Qt.ItemDataRole.ForegroundRole and rots:
            return QColor(text_colour_for(rots[0][1].colour))
        if role == Qt.ItemDataRole.ToolTipRole:
            what = " then ".join(r.name for _h, r in rots) or "no rotation"
            return f"{person.name}, block {block.number} ({block.start:%b %d} – {block.end:%b %d}): {what}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.blocks):
            b = self.blocks[section]
            return f"Block {b.number}\n{b.start:%b %d}"
        if orientation == Qt.Orientation.Vertical and 0 <= section < len(self.people):
            p = self.people[section]
            return f"{p.name} · PGY-{p.pgy}"
        return None


class YearOverviewPage(LoadsWhenShown, QWidget):
    def __init__(self, session: ProgramSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model = YearOverviewModel(self)
        self.title = QLabel(self)
        self.view = QTableView(self)
        self.view.setAccessibleName("Academic year overview: residents by blocks")
        self.view.setModel(self.model)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.horizontalHeader().setDefaultSectionSize(70)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.view, 1)
        self._year_id: str | None = None  # the academic year shown
        # A block of the year already shown changes nothing here: no reload (and no work on the
        # GUI thread) on every block step.
        session.block_loaded.connect(lambda b: self.reload() if b.year.id != self._year_id else None)
        session.catalog_changed.connect(lambda _d: self.reload())
        self.reload()

    def _load(self) -> None:
        data, ctx, block = self.session.data, self.session.ctx, self.session.block
        if data is None or ctx is None:
            return
        year = block.year if block is not None else (data.years[-1] if data.years else None)
        if year is None:
            return
        self.title.setText(f"Academic year {year.start_year}-{year.start_year + 1}: rotations by block")
        from core.services import queries

        residents = [p for p in data.people if p.kind == "resident"]
        rotations = {r.id: r for r in data.rotations}
        self._year_id = year.id

        def read(**_: Any) -> tuple[list[Any], dict[tuple[str, str], list[tuple[int, Any]]]]:
            plan = queries.rotation_plan(ctx, year.id)
            return plan, YearOverviewModel.plan_cells(plan, rotations)

        self.session.app.workers.start(
            "year-overview", read,
            on_finished=lambda out: self.model.set_plan(residents, list(year.blocks), out[0], rotations, out[1]),
            on_failed=lambda e: self.session.error.emit(user_message(e)))


# ------------------------------------------------------------------------------------ today
@dataclass(frozen=True)
class TodayRow:
    code: str
    name: str
    colour: str
    am: tuple[str, ...]
    pm: tuple[str, ...]
    short: str  # e.g. "AM: 1 of 2 minimum"


@dataclass(frozen=True)
class TodayData:
    day: dt.date
    rows: tuple[TodayRow, ...]
    on_call: tuple[str, ...]
    below_minimum: tuple[str, ...]


def read_today(ctx: Any, program_id: str, day: dt.date, **_: Any) -> TodayData:
    from core.snapshot import CALL_NONE, build_snapshot

    snap = ctx.read(lambda s: build_snapshot(s, program_id, day, day))
    rows = []
    below = []
    for a, act in enumerate(snap.activities):
        who = [tuple(snap.people[p].name for p in range(snap.n_people) if snap.codes[p, s] == a) for s in (0, 1)]
        short = []
        for s in (0, 1):
            need = int(snap.req_min[a, s])
            if len(who[s]) < need:
                short.append(f"{SLOT_NAMES[s]}: {len(who[s])} of {need} minimum")
                below.append(f"{act.name} {SLOT_NAMES[s]}: {len(who[s])} of {need} minimum")
        if who[0] or who[1] or short:
            rows.append(TodayRow(act.code, act.name, act.colour, who[0], who[1], "; ".join(short)))
    calls = tuple(f"{snap.people[p].name} ({['', 'in-house', 'home', 'backup'][int(snap.call[p, 0])]})"
                  for p in range(snap.n_people) if snap.call[p, 0] != CALL_NONE)
    return TodayData(day, tuple(rows), calls, tuple(below))


class TodayModel(QAbstractTableModel):
    HEADERS = ("Activity", "Morning (AM)", "Afternoon (PM)", "Below minimum")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: tuple[TodayRow, ...] = ()

    def set_rows(self, rows: tuple[TodayRow, ...]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 4

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, c = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (f"{r.code} — {r.name}", ", ".join(r.am) or "–", ", ".join(r.pm) or "–", r.short)[c]
        if role == Qt.ItemDataRole.BackgroundRole and c == 0:
            return QColor(r.colour)
        if role == Qt.ItemDataRole.ForegroundRole:
            if c == 0:
                return QColor(text_colour_for(r.colour))
            if c == 3 and r.short:
                return QColor("#c00000")
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and 0 <= section < 4:
            return self.HEADERS[section]
        return None


class TodayPage(LoadsWhenShown, QWidget):
    def __init__(self, session: ProgramSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model = TodayModel(self)
        self.title = QLabel(self)
        self.on_call = QLabel(self)
        self.on_call.setWordWrap(True)
        self.on_call.setAccessibleName("On call tonight")
        self.below = QLabel(self)
        self.below.setWordWrap(True)
        self.below.setAccessibleName("Services below their minimum")
        self.view = QTableView(self)
        self.view.setAccessibleName("Who is where today")
        self.view.setModel(self.model)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.horizontalHeader().setStretchLastSection(True)
        lay = QVBoxLayout(self)
        for w in (self.title, self.on_call, self.below):
            lay.addWidget(w)
        lay.addWidget(self.view, 1)
        session.opened.connect(lambda _d: self.reload())
        session.slots_changed.connect(lambda _p, dates: self.reload() if session.app.today() in dates else None)
        self.reload()

    def _load(self) -> None:
        data, ctx = self.session.data, self.session.ctx
        day = self.session.app.today()
        self.title.setText(f"<h3>Today, {day:%A %B %d, %Y}</h3>")
        if data is None or ctx is None:
            return
        if data.block_of(day) is None:
            self.on_call.setText("Today is outside every academic year of this program.")
            self.below.setText("")
            self.model.set_rows(())
            return
        self.session.app.workers.start("today", read_today, ctx, data.program.id, day, on_finished=self._show,
                                       on_failed=lambda e: self.session.error.emit(user_message(e)))

    def _show(self, t: TodayData) -> None:
        self.model.set_rows(t.rows)
        self.on_call.setText("On call tonight: " + (", ".join(t.on_call) or "nobody"))
        self.below.setText("Below minimum: " + ("; ".join(t.below_minimum) or "none"))
