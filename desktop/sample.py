"""A small program made through the services, for first start (until/unless `core.demo` is there)
and for the desktop tests.

`create_first_program(path, ...)` prefers the real demo (`core.demo.create_demo`, typical size);
when that module is not available it builds `create_sample_program`: one academic year, a handful
of activities and rotations, residents in three PGY levels, faculty, calls and one approved
absence, with rotations set for a few blocks around a given date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.calendar import academic_year_of
from core.progress import CancelledFn, ProgressFn, check, never, noop
from core.services import absences, catalog, people, programs, schedule
from core.services.base import ServiceContext
from core.services.schedule import CallEdit

H = 60

_ACTIVITIES: tuple[dict[str, Any], ...] = (
    dict(code="C", name="FM Clinic", colour="#4f81bd", category="clinic", am_start=8 * H, am_minutes=4 * H,
         pm_start=13 * H, pm_minutes=4 * H, needs_supervision=True, counts_clinic_capacity=True,
         eligible_kinds=["resident"]),
    dict(code="AT", name="Clinic attending", colour="#1f497d", category="supervision", am_start=8 * H,
         am_minutes=4 * H, pm_start=13 * H, pm_minutes=4 * H, provides_supervision=True,
         counts_clinic_capacity=True, eligible_kinds=["faculty"]),
    dict(code="W", name="Inpatient wards", colour="#c0504d", category="inpatient", am_start=7 * H,
         am_minutes=6 * H, pm_start=13 * H, pm_minutes=6 * H),
    dict(code="NF", name="Night float", colour="#3f3151", category="night", am_start=0, am_minutes=0,
         pm_start=19 * H, pm_minutes=12 * H, is_night_float=True, eligible_kinds=["resident"]),
    dict(code="PROC", name="Procedures", colour="#f79646", category="procedure", am_start=8 * H,
         am_minutes=4 * H, pm_start=13 * H, pm_minutes=4 * H, is_procedure=True, needs_supervision=True,
         eligible_kinds=["resident"], eligible_pgy=[2, 3]),
    dict(code="LEC", name="Didactics", colour="#9bbb59", category="didactics", am_start=8 * H, am_minutes=4 * H,
         pm_start=13 * H, pm_minutes=4 * H),
    dict(code="ADM", name="Administration", colour="#d9d9d9", category="administration", am_start=8 * H,
         am_minutes=4 * H, pm_start=13 * H, pm_minutes=4 * H, eligible_kinds=["faculty"]),
    dict(code="OFF", name="Off", colour="#ffffff", category="off"),
    dict(code="LV", name="Leave", colour="#ffff99", category="leave"),
)


@dataclass(frozen=True)
class SampleProgram:
    program_id: str
    activity_ids: dict[str, str]  # code -> id
    rotation_ids: dict[str, str]  # code -> id
    residents: tuple[str, ...]  # ids, PGY-3 first
    faculty: tuple[str, ...]


def _week(am: str, pm: str, *, wed_pm: str | None = None, weekends: str | None = None) -> dict[tuple[int, int], str]:
    out = {}
    for wd in range(5):
        out[(wd, 0)], out[(wd, 1)] = am, pm
    if wed_pm:
        out[(2, 1)] = wed_pm
    if weekends:
        for wd in (5, 6):
            out[(wd, 0)], out[(wd, 1)] = weekends, weekends
    return out


def create_sample_program(
    ctx: ServiceContext,
    *,
    around: dt.date,
    residents_per_pgy: int = 2,
    faculty: int = 3,
    blocks_around: int = 1,
    name: str = "Sample Family Medicine",
    progress: ProgressFn = noop,
    cancelled: CancelledFn = never,
) -> SampleProgram:
    """Build the sample program in `ctx`'s database. Rotations fill the block containing `around`
    and `blocks_around` blocks on each side."""
    year = academic_year_of(around)
    prog = programs.create_program(ctx, name, start_year=year).value
    acts = {}
    for spec in _ACTIVITIES:
        acts[spec["code"]] = catalog.create_activity(ctx, prog.id, **spec).value.id
    progress(0.1, "Activities")
    a = acts
    rots = {
        "WARDS": catalog.create_rotation(ctx, prog.id, code="WARDS", name="Inpatient wards", colour="#f2dcdb",
                                         min_residents=1, pattern=_week(a["W"], a["W"], wed_pm=a["LEC"])).value.id,
        "CLIN": catalog.create_rotation(ctx, prog.id, code="CLIN", name="FM clinic", colour="#dbe5f1",
                                        pattern=_week(a["C"], a["C"], wed_pm=a["LEC"])).value.id,
        "NIGHT": catalog.create_rotation(ctx, prog.id, code="NIGHT", name="Night float", colour="#e5e0ec",
                                         pattern={**{(wd, 1): a["NF"] for wd in range(6)},
                                                  **{(wd, 0): a["OFF"] for wd in range(7)}}).value.id,
        "PROC": catalog.create_rotation(ctx, prog.id, code="PROC", name="Procedures", colour="#fde9d9",
                                        eligible_pgy=[2, 3], pattern=_week(a["PROC"], a["C"], wed_pm=a["LEC"])).value.id,
    }
    for act, wd_slots, lo in ((a["C"], range(5), 2), (a["W"], range(7), 1)):
        for wd in wd_slots:
            for slot in (0, 1):
                catalog.create_requirement(ctx, prog.id, act, weekday=wd, slot=slot, min_count=lo, optimum=lo,
                                           max_count=6)
    progress(0.2, "People")
    firsts = ("Ana", "Ben", "Chloe", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivan", "June", "Kofi", "Lena")
    lasts = ("Lee", "Moreno", "Nakamura", "Okafor", "Patel", "Quinn", "Rossi", "Singh", "Tanaka", "Usman")
    res_ids: list[str] = []
    n = 0
    for pgy in (3, 2, 1):
        for _ in range(residents_per_pgy):
            nm = f"Dr {firsts[n % len(firsts)]} {lasts[(n * 3) % len(lasts)]}"
            res_ids.append(people.create_person(ctx, prog.id, nm, "resident", academic_year=year, pgy=pgy).value.id)
            n += 1
    fac_ids = []
    for i in range(faculty):
        nm = f"Dr {lasts[(i * 7 + 5) % len(lasts)]} (faculty)" if i else "Dr Helen Marsh"
        role = "pd" if i == 0 else "core"
        fac_ids.append(people.create_person(ctx, prog.id, nm, "faculty", faculty_role=role,
                                            clinic_cap_per_week=4).value.id)
    check(cancelled)
    years = programs.academic_years(ctx, prog.id)
    blocks = years[-1].blocks
    centre = next((i for i, b in enumerate(blocks) if b.start <= around <= b.end), 0)
    chosen = blocks[max(0, centre - blocks_around): centre + blocks_around + 1]
    order = ("WARDS", "CLIN", "NIGHT", "PROC", "CLIN", "WARDS")
    reason = "sample program"
    steps = len(chosen) * (len(res_ids) + 2)
    done = 0
    for bi, block in enumerate(chosen):
        for ri, pid in enumerate(res_ids):
            code = order[(ri + bi) % len(order)]
            if code == "PROC" and ri >= 2 * residents_per_pgy:  # PGY-1 may not do procedures
                code = "CLIN"
            schedule.set_rotation(ctx, pid, block.id, rots[code], reason=reason)
            done += 1
            progress(0.2 + 0.75 * done / steps, f"Block {block.number}")
            check(cancelled)
        edits = []
        for day_i in range((block.end - block.start).days + 1):
            day = block.start + dt.timedelta(days=day_i)
            for slot in (0, 1):
                fid = fac_ids[(day_i + slot) % len(fac_ids)]
                code = "AT" if day.weekday() < 5 else "OFF"
                edits.append(schedule.SlotEdit(fid, day, slot, a[code]))
        schedule.assign_slots(ctx, edits, reason=reason, source="preload")
        calls = [CallEdit(fac_ids[d % len(fac_ids)], block.start + dt.timedelta(days=d), "home")
                 for d in range((block.end - block.start).days + 1)]
        calls += [CallEdit(res_ids[d % len(res_ids)], block.start + dt.timedelta(days=d), "in_house", service="res")
                  for d in range(0, (block.end - block.start).days + 1, 4)]
        schedule.set_calls(ctx, calls, reason=reason)
        done += 2
        progress(0.2 + 0.75 * done / steps, f"Block {block.number}")
    if chosen and res_ids:
        first = chosen[0].start + dt.timedelta(days=9)
        ab = absences.request_absence(ctx, res_ids[-1], "conference", first, first + dt.timedelta(days=1)).value
        absences.approve_absence(ctx, ab.id, reason=reason)
    progress(1.0, "Done")
    return SampleProgram(prog.id, acts, rots, tuple(res_ids), tuple(fac_ids))


def demo_builder() -> Callable[..., Any] | None:
    """`core.demo.create_demo` when that module has landed, else None."""
    try:
        from core.demo import create_demo  # type: ignore[attr-defined]
    except ImportError:
        return None
    return create_demo  # type: ignore[no-any-return]


def create_first_program(
    path: Path,
    *,
    today: dt.date,
    clock: Callable[[], dt.datetime] | None = None,
    progress: ProgressFn = noop,
    cancelled: CancelledFn = never,
) -> str:
    """Fill the (empty) database at `path` with the typical demo, or the sample program. Returns
    a one-line description of what was built."""
    from core.store.db import open_database

    build = demo_builder()
    if build is not None:
        opened = open_database(path)
        try:
            build(opened.engine, size="typical", year=academic_year_of(today), progress=progress)
        finally:
            opened.engine.dispose()
        return "the typical demo program"
    opened = open_database(path)
    try:
        ctx = ServiceContext(opened.engine, actor="demo", **({"clock": clock} if clock else {}))
        create_sample_program(ctx, around=today, residents_per_pgy=6, faculty=6, blocks_around=1,
                              progress=progress, cancelled=cancelled)
    finally:
        opened.engine.dispose()
    return "a sample program"
