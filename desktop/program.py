"""The open program as the windows see it: a hub between the views and the core services.

`ProgramSession` owns the ServiceContext of the open database, the undo stack, and the loaded
block (a `ScheduleSnapshot` with a margin of one rule window on each side, plus its violations).
Views never query: they call the session, which runs services on the worker pools and announces
results by signals.

Edits: `assign(edits)` runs `core.services.schedule.assign_slots` on the writer pool; on success
the returned ChangeSet is pushed on the QUndoStack and applied locally: the snapshot is patched
(only the changed cells), the compliance engine's `check_change` gives the violations the edit
added and removed, and `slots_changed` / `violations_changed` tell the views which people changed,
so nothing reloads the whole block. Undo and redo apply the ChangeSet's row images the same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from core.errors import SchedulerError

if TYPE_CHECKING:  # the heavy core modules (SQLAlchemy, numpy) load on the worker that opens a program
    from core.services.base import ChangeSet, Result, RowChange, ServiceContext
    from core.services.records import (
        AcademicYearRecord,
        ActivityRecord,
        BlockRecord,
        PersonRecord,
        ProgramRecord,
        RotationRecord,
        RuleSetRecord,
    )
    from core.snapshot import ScheduleSnapshot

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------ records
@dataclass(frozen=True)
class ProgramData:
    """What the windows need about the open program (read once per open / catalog change)."""

    path: Path
    program: ProgramRecord
    years: tuple[AcademicYearRecord, ...]
    activities: tuple[ActivityRecord, ...]  # archived too (old assignments may use them)
    rotations: tuple[RotationRecord, ...]
    people: tuple[PersonRecord, ...]  # of the latest academic year
    rule_set: RuleSetRecord | None
    pending_sync: int

    def activity(self, activity_id: str) -> ActivityRecord | None:
        return next((a for a in self.activities if a.id == activity_id), None)

    def activity_by_code(self, code: str) -> ActivityRecord | None:
        code = code.strip().upper()
        return next((a for a in self.activities if a.code.upper() == code and not a.archived), None)

    @property
    def blocks(self) -> tuple[tuple[AcademicYearRecord, BlockRecord], ...]:
        return tuple((y, b) for y in self.years for b in y.blocks)

    def block_of(self, day: dt.date) -> tuple[AcademicYearRecord, BlockRecord] | None:
        return next(((y, b) for y, b in self.blocks if b.start <= day <= b.end), None)


@dataclass(frozen=True)
class BlockData:
    """One block loaded for viewing and editing."""

    year: AcademicYearRecord
    block: BlockRecord
    snapshot: ScheduleSnapshot  # block +/- one rule window (inside the academic year)
    first_day: int  # index of block.start in the snapshot
    violations: tuple[Any, ...]  # every violation of the snapshot (core.rules.engine.Violation)
    rotations: dict[str, tuple[str, ...]] = field(default_factory=dict)  # person id -> rotation ids
    cells: Any = None  # desktop.models.block_grid.GridCells of the block (computed with the snapshot)

    @property
    def n_days(self) -> int:
        return (self.block.end - self.block.start).days + 1

    def in_block(self, v: Any) -> bool:
        start = v.start.date() if isinstance(v.start, dt.datetime) else v.start
        end = v.end.date() if isinstance(v.end, dt.datetime) else v.end
        return bool(start <= self.block.end and end >= self.block.start)


@dataclass(frozen=True)
class SlotState:
    person_id: str
    date: dt.date
    slot: int
    activity_id: str | None
    source: str | None
    locked: bool


@dataclass(frozen=True)
class CallState:
    person_id: str
    date: dt.date
    call_type: str | None
    hours_worked: float | None


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def states_after(rows: Iterable[RowChange]) -> tuple[list[SlotState], list[CallState], bool]:
    """The slot and call states the row changes leave behind; `other` is True when a row of another
    table changed too (then the views reload instead of patching)."""
    slots: dict[tuple[str, dt.date, int], SlotState] = {}
    calls: dict[tuple[str, dt.date], CallState] = {}
    other = False
    for rc in rows:
        img = rc.after
        ref = rc.after or rc.before or {}
        gone = img is None or bool(img.get("deleted"))
        if rc.table == "assignment":
            key = (str(ref["person_id"]), _day(ref["date"]), int(ref["slot"]))
            slots[key] = SlotState(*key, None if gone else str(img["activity_id"]),  # type: ignore[index]
                                   None if gone else str(img["source"]),  # type: ignore[index]
                                   False if gone else bool(img["locked"]))  # type: ignore[index]
        elif rc.table == "call_assignment":
            ckey = (str(ref["person_id"]), _day(ref["date"]))
            calls[ckey] = CallState(*ckey, None if gone else str(img["call_type"]),  # type: ignore[index]
                                    None if gone else img.get("hours_worked"))  # type: ignore[union-attr]
        else:
            other = True
    return list(slots.values()), list(calls.values()), other


def patched_snapshot(snap: ScheduleSnapshot, slots: Sequence[SlotState], calls: Sequence[CallState]) -> ScheduleSnapshot:
    """A copy of `snap` with the given cells changed (cells outside it are ignored)."""
    import numpy as np

    from core.snapshot import CALL_CODES, SOURCE_CODES, with_changes

    codes = np.array(snap.codes, copy=True)
    source = np.array(snap.source, copy=True)
    locked = np.array(snap.locked, copy=True)
    call = np.array(snap.call, copy=True)
    hours = np.array(snap.call_hours, copy=True)
    for s in slots:
        p = snap.person_index.get(s.person_id)
        d = snap.day_of(s.date)
        if p is None or not 0 <= d < snap.n_days:
            continue
        col = 2 * d + s.slot
        if s.activity_id is None or s.activity_id not in snap.activity_index:
            codes[p, col], source[p, col], locked[p, col] = -1, 0, False
        else:
            codes[p, col] = snap.activity_index[s.activity_id]
            source[p, col] = SOURCE_CODES.get(s.source or "", 0)
            locked[p, col] = s.locked
    for c in calls:
        p = snap.person_index.get(c.person_id)
        d = snap.day_of(c.date)
        if p is None or not 0 <= d < snap.n_days:
            continue
        call[p, d] = 0 if c.call_type is None else CALL_CODES[c.call_type]
        hours[p, d] = np.nan if c.hours_worked is None else float(c.hours_worked)
    out = with_changes(snap, codes=codes, call=call, call_hours=hours)
    source.setflags(write=False)
    locked.setflags(write=False)
    return dataclasses.replace(out, source=source, locked=locked)


# ------------------------------------------------------------------------------ compute (threads)
def read_program(ctx: ServiceContext, path: Path) -> ProgramData:
    from core.services import catalog, people, programs, queries

    prog = programs.get_program(ctx)
    years = tuple(programs.academic_years(ctx, prog.id))
    year = years[-1].start_year if years else ctx.today().year
    return ProgramData(
        path=path,
        program=prog,
        years=years,
        activities=tuple(catalog.list_activities(ctx, prog.id, include_archived=True)),
        rotations=tuple(catalog.list_rotations(ctx, prog.id)),
        people=tuple(people.list_people(ctx, prog.id, year)),
        rule_set=programs.current_rule_set(ctx, prog.id),
        pending_sync=queries.pending_sync_count(ctx),
    )


_startup_frozen = False


def freeze_startup_objects() -> None:
    """Once per process, when the core has been imported for the first program: move every object
    the garbage collector tracks so far (modules, classes, SQLAlchemy's mappers, Qt wrappers,
    ~80,000 objects) into its permanent generation (`gc.freeze`). A full collection walks all
    tracked objects with the GIL held; it set in while the large program's block was loading and
    held the GUI thread for ~150 ms (~380 ms on a busy machine) on each of them. Frozen objects
    are never collected: they are the program's own modules, which live as long as it does."""
    global _startup_frozen
    if not _startup_frozen:
        _startup_frozen = True
        gc.freeze()


def open_program(path: Path, *, actor: str, clock: Callable[[], dt.datetime], progress: Any, cancelled: Any,
                 probe: bool = False) -> tuple[ServiceContext, ProgramData] | None:
    """Open (check, migrate) the database and read the program. Runs on a worker thread, which
    also imports the core modules the views will need (so the GUI thread never waits on them).

    The integrity check (`PRAGMA quick_check`, in SQLite's C code without the GIL) starts on a
    thread of its own first and runs while SQLAlchemy and the core are imported; the database is
    opened only once it passed (a file that fails goes through `open_database`'s own check, which
    words the error). With `probe`, a missing or empty file or a database without a program gives
    None instead of an open program (a first start), so a start-up opens the file once."""
    has_file = path.is_file() and path.stat().st_size > 0
    if probe and not has_file:
        return None
    problems: list[str] = []
    checker = None
    if has_file:
        from core.store.integrity import quick_check

        checker = threading.Thread(target=lambda: problems.extend(quick_check(path)), name="quick-check", daemon=True)
        checker.start()
    import core.rules.engine  # noqa: F401
    import core.services.schedule  # noqa: F401
    import core.services.undo  # noqa: F401
    from core.services import queries
    from core.services.base import ServiceContext
    from core.store.db import open_database

    freeze_startup_objects()
    progress(0.05, "Opening the database")
    if checker is not None:
        checker.join()
    opened = open_database(path, check=checker is None or bool(problems))
    ctx = ServiceContext(opened.engine, actor=actor, clock=clock)
    try:
        if probe and not queries.has_program(ctx):
            opened.engine.dispose()
            return None
        progress(0.5, "Reading the program")
        data = read_program(ctx, path)
    except BaseException:
        opened.engine.dispose()
        raise
    progress(1.0, "")
    return ctx, data


def load_block(
    ctx: ServiceContext, program_id: str, year: AcademicYearRecord, block: BlockRecord, *, progress: Any, cancelled: Any
) -> BlockData:
    """Snapshot of the block with a rule window of margin, validated. Runs on a worker thread."""
    from core.progress import check
    from core.services import queries
    from core.snapshot import build_snapshot

    progress(0.0, f"Loading block {block.number}")
    margin = dt.timedelta(days=27)
    start = max(year.start, block.start - margin)
    end = min(year.end, block.end + margin)
    snap = ctx.read(lambda s: build_snapshot(s, program_id, start, end))
    check(cancelled)
    progress(0.4, "Checking the rules")
    violations: tuple[Any, ...] = ()
    try:
        from core.rules.engine import validate
    except ImportError:  # the compliance engine is not there yet
        validate = None  # type: ignore[assignment]
    if validate is not None:
        violations = validate(snap).violations
    check(cancelled)
    plan: dict[str, list[str]] = {}
    for r in queries.rotation_plan(ctx, year.id):
        if r.block_id == block.id:
            plan.setdefault(r.person_id, []).append(r.rotation_id)
    from desktop.models.block_grid import grid_cells

    first_day = snap.day_of(block.start)
    n_days = (block.end - block.start).days + 1
    cells = grid_cells(snap, first_day, n_days)
    progress(1.0, "")
    return BlockData(year, block, snap, first_day, violations, {k: tuple(v) for k, v in plan.items()}, cells)


@dataclass(frozen=True)
class Patch:
    """A committed ChangeSet worked out against a loaded block (on the writer thread, right after
    the commit): the block after it, or `reload` when the block has to be read again."""

    base: BlockData | None
    block: BlockData | None = None
    people: frozenset[str] = frozenset()
    dates: frozenset[dt.date] = frozenset()
    added: tuple[Any, ...] = ()
    removed: tuple[Any, ...] = ()
    reload: bool = False
    catalog: bool = False
    nothing: bool = False


CATALOG_TABLES = frozenset({"activity", "rotation", "rotation_pattern", "person", "resident_year", "rule_set",
                            "coverage_requirement", "program"})


def check_edits(block: BlockData | None, edits: Sequence[tuple[str, dt.date, int, str | None]]) -> Any | None:
    """core.rules.engine.check_change of slot edits on the block; None when the engine is not
    available or the cells are outside the loaded block."""
    if block is None or not edits:
        return None
    try:
        from core.rules.engine import ProposedChange, check_change
    except ImportError:
        return None
    snap = block.snapshot
    if any(not 0 <= snap.day_of(d) < snap.n_days or p not in snap.person_index for p, d, _s, _a in edits):
        return None
    try:
        return check_change(snap, ProposedChange(assignments=tuple(edits)))
    except SchedulerError:
        return None


def patch_block(block: BlockData | None, changes: ChangeSet) -> Patch:
    """What a committed ChangeSet does to the loaded block: the patched snapshot (only the changed
    cells), the violations the incremental check adds and removes, the grid cells. Pure; runs on
    the writer thread after the commit (or on the GUI thread as a fallback)."""
    slots, calls, other = states_after(changes.rows)
    if other:
        return Patch(block, reload=True, catalog=bool(changes.tables & CATALOG_TABLES))
    if block is None or (not slots and not calls):
        return Patch(block, nothing=True)
    snap = block.snapshot
    check = None
    if not calls:
        check = check_edits(block, [(s.person_id, s.date, s.slot, s.activity_id) for s in slots
                                    if s.person_id in snap.person_index and 0 <= snap.day_of(s.date) < snap.n_days])
    else:  # call changes: the incremental check covers slot edits only
        return Patch(block, reload=True)
    new_snap = patched_snapshot(snap, slots, calls)
    violations = block.violations
    added: tuple[Any, ...] = ()
    removed: tuple[Any, ...] = ()
    if check is not None:
        added, removed = tuple(check.added), tuple(check.removed)
        left = Counter(removed)
        kept = []
        for v in violations:
            if left[v] > 0:
                left[v] -= 1
            else:
                kept.append(v)
        violations = tuple(kept) + added
    from desktop.models.block_grid import grid_cells

    cells = grid_cells(new_snap, block.first_day, block.n_days)
    new_block = dataclasses.replace(block, snapshot=new_snap, violations=violations, cells=cells)
    return Patch(block, new_block, frozenset({s.person_id for s in slots} | {c.person_id for c in calls}),
                 frozenset({s.date for s in slots} | {c.date for c in calls}), added, removed)


def user_message(exc: BaseException) -> str:
    """The sentence a coordinator reads for an error: core errors say it themselves; a raw
    database or programming error never reaches the user as such."""
    if isinstance(exc, SchedulerError):
        return str(exc)
    try:
        from core.store.db import translate_sqlite_error

        translated = translate_sqlite_error(exc)
        if translated is not None:
            return str(translated)
    except ImportError:  # pragma: no cover
        pass
    log.error("unexpected error", exc_info=exc)
    return "Something went wrong and nothing was changed. The details were written to the log."


# ----------------------------------------------------------------------------------- undo
class ChangeCommand(QUndoCommand):
    """One edit on the undo stack: holds its ChangeSet; undo/redo go through core.services.undo."""

    def __init__(self, session: ProgramSession, changes: ChangeSet, text: str) -> None:
        super().__init__(text)
        self.session = session
        self.changes = changes
        self._done_already = True  # the edit was made before the command was pushed

    def redo(self) -> None:
        if self._done_already:
            self._done_already = False
            return
        self.session._replay(self.changes, forward=True)

    def undo(self) -> None:
        self.session._replay(self.changes, forward=False)


# ------------------------------------------------------------------------------------ session
class ProgramSession(QObject):
    """The open program; see the module docstring."""

    opening = Signal(str)  # path
    opened = Signal(object)  # ProgramData
    open_failed = Signal(str)
    catalog_changed = Signal(object)  # ProgramData
    block_loading = Signal(object)  # BlockRecord
    block_loaded = Signal(object)  # BlockData
    slots_changed = Signal(object, object)  # person ids, dates
    violations_changed = Signal(object, object)  # added, removed
    # Every committed write with rows (a service write from any view, an undo, a redo): its
    # ChangeSet. Views that show more than the block (swaps, absences) refresh themselves from it.
    data_changed = Signal(object)
    reason_needed = Signal(object, str)  # retry(reason) callable, message
    message = Signal(str)
    error = Signal(str)
    status_changed = Signal()
    busy = Signal(bool)

    def __init__(self, app: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.ctx: ServiceContext | None = None
        self.data: ProgramData | None = None
        self.block: BlockData | None = None
        self.undo_stack = QUndoStack(self)
        self.pending_writes = 0
        # The block as the writer thread sees it: each committed write patches it there (so a
        # second write queued behind the first builds on the first's result); the GUI thread
        # resets it when a block loads. Guarded by the lock (compare and set).
        self._writer_block: BlockData | None = None
        self._writer_lock = threading.Lock()

    # ------------------------------------------------------------------------------- open
    @property
    def is_open(self) -> bool:
        return self.ctx is not None and self.data is not None

    def open(self, path: Path, *, on_opened: Callable[[ProgramData], None] | None = None,
             on_missing: Callable[[], None] | None = None) -> None:
        """Open the program in `path` in the background. With `on_missing`, a missing or empty
        file or a database without a program calls it instead (nothing is opened)."""
        self.opening.emit(str(path))
        self.busy.emit(True)

        def done(result: tuple[ServiceContext, ProgramData] | None) -> None:
            if result is None:
                self.busy.emit(False)
                if on_missing is not None:
                    on_missing()
                return
            ctx, data = result
            self.close()
            self.ctx, self.data = ctx, data
            self.undo_stack.clear()
            self.app.remember_program(path)
            self.busy.emit(False)
            self.opened.emit(data)
            self.status_changed.emit()
            if on_opened is not None:
                on_opened(data)
            self.show_initial_block()

        def failed(exc: BaseException) -> None:
            self.busy.emit(False)
            self.open_failed.emit(user_message(exc))

        self.app.workers.start("open", open_program, path, actor=self.app.actor, clock=self.app.clock,
                               probe=on_missing is not None, on_finished=done, on_failed=failed)

    def close(self) -> None:
        self.app.workers.cancel("block")
        if self.ctx is not None:
            self.app.writer_pool.waitForDone(10_000)
            self.ctx.engine.dispose()
        self.ctx, self.data, self.block = None, None, None
        self._set_block(None)
        self.undo_stack.clear()

    def show_initial_block(self) -> None:
        assert self.data is not None
        found = self.data.block_of(self.app.today())
        if found is None and self.data.years:
            year = self.data.years[-1]
            found = (year, year.blocks[0]) if self.app.today() < year.start else (year, year.blocks[-1])
        if found is not None:
            self.load_block(*found)

    def refresh_catalog(self) -> None:
        """Re-read activities, rotations, people, rule set (after an editor saved)."""
        if self.ctx is None or self.data is None:
            return
        ctx, path = self.ctx, self.data.path

        def done(data: ProgramData) -> None:
            self.data = data
            self.catalog_changed.emit(data)
            self.status_changed.emit()

        self.app.workers.start("catalog", lambda **_: read_program(ctx, path), on_finished=done,
                               on_failed=lambda e: self.error.emit(user_message(e)))

    def refresh_status(self) -> None:
        if self.ctx is None or self.data is None:
            return
        ctx = self.ctx
        from core.services import queries

        def done(n: int) -> None:
            if self.data is not None:
                self.data = dataclasses.replace(self.data, pending_sync=n)
                self.status_changed.emit()

        self.app.workers.start("status", lambda **_: queries.pending_sync_count(ctx), on_finished=done)

    # ------------------------------------------------------------------------------ blocks
    def load_block(self, year: AcademicYearRecord, block: BlockRecord) -> None:
        if self.ctx is None or self.data is None:
            return
        self.block_loading.emit(block)

        def done(data: BlockData) -> None:
            self._set_block(data)
            self.block_loaded.emit(data)
            self.status_changed.emit()

        self.app.workers.start("block", load_block, self.ctx, self.data.program.id, year, block,
                               on_finished=done, on_failed=lambda e: self.error.emit(user_message(e)))

    def _set_block(self, block: BlockData | None) -> None:
        with self._writer_lock:
            self.block = block
            self._writer_block = block

    def _patch_on_writer(self, changes: ChangeSet) -> Patch | None:
        """On the writer thread after a commit: patch the writer's view of the block."""
        with self._writer_lock:
            base = self._writer_block
        try:
            patch = patch_block(base, changes)
        except Exception:  # noqa: BLE001 - the GUI thread falls back to working it out itself
            log.debug("patching the block on the writer failed", exc_info=True)
            return None
        with self._writer_lock:
            if self._writer_block is base and patch.block is not None:
                self._writer_block = patch.block
        return patch

    def reload_block(self) -> None:
        if self.block is not None:
            self.load_block(self.block.year, self.block.block)

    def step_block(self, delta: int) -> bool:
        if self.data is None or self.block is None:
            return False
        blocks = self.data.blocks
        ids = [b.id for _y, b in blocks]
        i = ids.index(self.block.block.id) + delta
        if not 0 <= i < len(blocks):
            return False
        self.load_block(*blocks[i])
        return True

    def go_to_date(self, day: dt.date) -> bool:
        if self.data is None:
            return False
        found = self.data.block_of(day)
        if found is None:
            return False
        if self.block is None or self.block.block.id != found[1].id:
            self.load_block(*found)
        return True

    # ------------------------------------------------------------------------------ checks
    def check(self, edits: Sequence[tuple[str, dt.date, int, str | None]]) -> Any | None:
        """What the edits would add and remove (core.rules.engine.check_change); None when the
        engine is not available or the cells are outside the loaded block."""
        return check_edits(self.block, edits)

    # ------------------------------------------------------------------------------ writes
    def write(
        self,
        fn: Callable[[ServiceContext], Result[Any]],
        *,
        text: str,
        on_done: Callable[[Result[Any]], None] | None = None,
        on_failed: Callable[[BaseException], bool] | None = None,
        undoable: bool = True,
    ) -> None:
        """Run a write service on the writer pool; push its ChangeSet on the undo stack and apply
        it to the views. `on_failed` may return True when it handled the error itself."""
        if self.ctx is None:
            return
        ctx = self.ctx
        self.pending_writes += 1

        def run(**_: Any) -> tuple[Result[Any], Patch | None, int | None]:
            from core.services import queries

            result = fn(ctx)
            # The incremental check and the patched snapshot are worked out here, on the writer,
            # so the GUI thread only swaps the block in and repaints the changed cells; the
            # pending-sync count too (one query on this connection, no worker thread per edit).
            patch = self._patch_on_writer(result.changes)
            try:
                pending: int | None = queries.pending_sync_count(ctx)
            except SchedulerError:
                pending = None
            return result, patch, pending

        def done(out: tuple[Result[Any], Patch | None, int | None]) -> None:
            result, patch, pending = out
            self.pending_writes -= 1
            if undoable and not result.changes.empty:
                self.undo_stack.push(ChangeCommand(self, result.changes, text))
            self._apply(result.changes, patch, pending)
            if on_done is not None:
                on_done(result)

        def failed(exc: BaseException) -> None:
            self.pending_writes -= 1
            if on_failed is not None and on_failed(exc):
                return
            self.error.emit(user_message(exc))

        self.app.workers.start("", run, writer=True, on_finished=done, on_failed=failed)

    def assign(self, edits: Sequence[tuple[str, dt.date, int, str | None]], *, reason: str | None = None,
               text: str | None = None) -> None:
        """Assign (or clear, activity None) slots: one undoable edit. Freeze-horizon edits ask for
        a reason through `reason_needed(retry, message)`."""
        from core.services import schedule
        from core.services.schedule import ReasonRequired, SlotEdit

        slot_edits = [SlotEdit(p, d, s, a) for p, d, s, a in edits]
        label = text or self._edit_text(edits)

        def failed(exc: BaseException) -> bool:
            if isinstance(exc, ReasonRequired):
                self.reason_needed.emit(lambda r: self.assign(edits, reason=r, text=label), str(exc))
                return True
            return False

        self.write(lambda ctx: schedule.assign_slots(ctx, slot_edits, reason=reason), text=label, on_failed=failed)

    def set_rotation(self, person_id: str, block_id: str, rotation_id: str, *, reason: str | None = None) -> None:
        from core.services import schedule
        from core.services.schedule import ReasonRequired

        def failed(exc: BaseException) -> bool:
            if isinstance(exc, ReasonRequired):
                self.reason_needed.emit(lambda r: self.set_rotation(person_id, block_id, rotation_id, reason=r), str(exc))
                return True
            return False

        self.write(lambda ctx: schedule.set_rotation(ctx, person_id, block_id, rotation_id, reason=reason),
                   text="Set rotation", on_failed=failed)

    def _edit_text(self, edits: Sequence[tuple[str, dt.date, int, str | None]]) -> str:
        codes = {a for *_x, a in edits}
        if codes == {None}:
            return f"Clear {len(edits)} slot(s)"
        code = ""
        if self.data is not None and len(codes) == 1:
            act = self.data.activity(str(next(iter(codes))))
            code = act.code if act else ""
        return f"Assign {code} to {len(edits)} slot(s)".replace("  ", " ")

    def _replay(self, changes: ChangeSet, *, forward: bool) -> None:
        """Undo or redo a ChangeSet; the service's own ChangeSet (the rows it applied) updates the
        views like any edit."""
        from core.services import undo

        fn = undo.redo if forward else undo.undo

        def failed(exc: BaseException) -> bool:
            self.error.emit(user_message(exc))
            self.reload_block()
            return True

        self.write(lambda ctx: fn(ctx, changes), text="", undoable=False, on_failed=failed)

    def _apply(self, changes: ChangeSet, patch: Patch | None = None, pending: int | None = None) -> None:
        """Bring the loaded block and the violations up to date with a committed ChangeSet. `patch`
        is the writer's result; when it was made against another block than the one shown (a
        block loaded meanwhile), the patch is worked out again here. `pending` is the pending-sync
        count the writer read after the write (None: read it on a worker)."""
        if not changes.empty:
            self.data_changed.emit(changes)
        if pending is None:
            self.refresh_status()
        elif self.data is not None:
            self.data = dataclasses.replace(self.data, pending_sync=pending)
        if patch is None or patch.base is not self.block:
            patch = patch_block(self.block, changes)
        if patch.reload:
            if patch.catalog:
                self.refresh_catalog()
            self.reload_block()
            return
        if patch.nothing or patch.block is None:
            if pending is not None:
                self.status_changed.emit()
            return
        with self._writer_lock:
            self.block = patch.block
            if self._writer_block is patch.base:  # the GUI thread worked it out: keep the writer in step
                self._writer_block = patch.block
        self.slots_changed.emit(set(patch.people), set(patch.dates))
        if patch.added or patch.removed:
            self.violations_changed.emit(patch.added, patch.removed)
        self.status_changed.emit()
