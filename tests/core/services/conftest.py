from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from core.services import catalog, people, programs
from core.services.base import ServiceContext
from core.store.db import open_database


class Clock:
    """A settable clock: services read 'today' from it (freeze horizon, audit times)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC))


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory):
    """The tiny program built once; each test works on its own copy of the file."""
    path = tmp_path_factory.mktemp("template") / "program.sqlite"
    opened = open_database(path)
    ctx = ServiceContext(opened.engine, actor="tester", clock=Clock(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)))
    built = _build_program(ctx)
    opened.engine.dispose()
    return path, built


@pytest.fixture
def ctx(tmp_path: Path, clock: Clock, _template) -> ServiceContext:
    path = tmp_path / "program.sqlite"
    shutil.copyfile(_template[0], path)
    opened = open_database(path)
    yield ServiceContext(opened.engine, actor="tester", clock=clock)
    opened.engine.dispose()


@pytest.fixture
def program(ctx: ServiceContext, _template):
    """A tiny program: AY 2026, three activities, a rotation, one resident, one faculty."""
    return _template[1]


def _build_program(ctx: ServiceContext):
    prog = programs.create_program(ctx, "Test FM", start_year=2026).value
    clinic = catalog.create_activity(ctx, prog.id, code="C", name="Clinic", category="clinic", colour="#4f81bd",
                                     am_start=480, am_minutes=240, pm_start=780, pm_minutes=240,
                                     needs_supervision=True, counts_clinic_capacity=True).value
    wards = catalog.create_activity(ctx, prog.id, code="W", name="Wards", category="inpatient", colour="#c0504d",
                                    am_start=420, am_minutes=360, pm_start=780, pm_minutes=360).value
    leave = catalog.create_activity(ctx, prog.id, code="LV", name="Leave", category="leave", colour="#9bbb59").value
    pattern = {(wd, s): wards.id for wd in range(5) for s in (0, 1)}
    pattern[(2, 1)] = clinic.id
    rot = catalog.create_rotation(ctx, prog.id, code="WARDS", name="Inpatient wards", pattern=pattern).value
    res = people.create_person(ctx, prog.id, "Dr Lee", "resident", academic_year=2026, pgy=1).value
    fac = people.create_person(ctx, prog.id, "Dr Smith", "faculty", faculty_role="core", clinic_cap_per_week=4).value
    blocks = programs.academic_years(ctx, prog.id)[0].blocks
    return {"program": prog, "clinic": clinic, "wards": wards, "leave": leave, "rotation": rot,
            "resident": res, "faculty": fac, "blocks": blocks}
