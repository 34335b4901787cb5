"""Random schedules for property tests (seeded, so hypothesis can shrink over the seed and sizes)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from rules_helpers import H, SnapBuilder

from core.rules.ruleset import RuleValues

STARTS = (
    dt.date(2026, 9, 7),  # plain
    dt.date(2026, 10, 19),  # crosses the November change (Nov 1, 2026)
    dt.date(2027, 2, 22),  # crosses the March change (Mar 14, 2027)
    dt.date(2027, 6, 10),  # crosses July 1 (academic year)
)
RESIDENT_CODES = ("C", "IP", "NF", "OFF", "D14", "D13", "C7", "PROC", "ICU", "LV", None)
FACULTY_CODES = ("AT", "C", "IP", "OFF", None)


def random_snapshot(seed: int, *, n_days: int | None = None, tz: str | None = None, start: dt.date | None = None,
                    window_mode: str | None = None):
    rng = np.random.default_rng(seed)
    D = n_days or int(rng.integers(28, 50))
    mode = window_mode or ("block" if rng.random() < 0.25 else "rolling")
    rules = RuleValues(
        window_mode=mode,
        scheduled_transition_hours=float(rng.choice([0.0, 2.0, 4.0])),
        max_consecutive_night_float=int(rng.choice([4, 6])),
        max_clinic_physicians_per_slot=int(rng.choice([1, 2, 6])),
        warn_away_days_per_year=int(rng.choice([3, 21])),
        max_away_days_per_year=int(rng.choice([6, 28])),
    )
    b = SnapBuilder(start or STARTS[int(rng.integers(len(STARTS)))], D,
                    tz=tz or str(rng.choice(["America/New_York", "UTC", "Europe/Berlin"])), rules=rules)
    b.activity("ODD", am=(6 * H + 30, 5 * H + 45), pm=(12 * H + 15, 10 * H), category="inpatient")
    if mode == "block":
        s = int(rng.integers(0, 5))
        while s + 27 < D:
            b.block(len(b.blocks) + 1, s, s + 27)
            s += 28
    n_res = int(rng.integers(2, 6))
    n_fac = int(rng.integers(1, 3))
    density = float(rng.uniform(0.3, 1.0))
    res_codes = list(RESIDENT_CODES) + ["ODD"]
    day_codes = [c for c in res_codes if c is not None]
    for i in range(n_res):
        p = b.person(f"Resident {i}", pgy=int(rng.integers(1, 4)))
        for d in range(D):
            if rng.random() < density:
                if rng.random() < 0.7:
                    b.day(p, d, day_codes[int(rng.integers(len(day_codes)))])
                else:
                    for slot in (0, 1):
                        c = res_codes[int(rng.integers(len(res_codes)))]
                        b.assign(p, d, slot, c)
            r = rng.random()
            if r < 0.12 * density + 0.05:
                b.call(p, d, "in_house")
            elif r < 0.2:
                b.call(p, d, str(rng.choice(["home", "backup"])),
                       None if rng.random() < 0.3 else float(rng.choice([0.0, 1.5, 3.0, 8.25])))
        if rng.random() < 0.3:  # a night-float stretch
            n0 = int(rng.integers(0, D))
            for d in range(n0, min(D, n0 + int(rng.integers(3, 9)))):
                b.assign(p, d, 0, "OFF").assign(p, d, 1, "NF")
        if rng.random() < 0.2:  # a heavy call stretch
            step = int(rng.choice([2, 3]))
            for d in range(int(rng.integers(0, 3)), D, step):
                b.call(p, d, "in_house")
        if rng.random() < 0.4:
            a0 = int(rng.integers(0, D))
            b.absence(p, a0, min(D - 1, a0 + int(rng.integers(0, 9))), blocking=bool(rng.random() < 0.8))
        if rng.random() < 0.5:
            b.credential(p, "procedures", b.start + dt.timedelta(days=int(rng.integers(0, D))))
    for i in range(n_fac):
        p = b.person(f"Faculty {i}", "faculty", cap=int(rng.integers(2, 8)))
        for d in range(D):
            if rng.random() < density:
                b.day(p, d, str(rng.choice(FACULTY_CODES[:-1])))
            if rng.random() < 0.1:
                b.call(p, d, "home")
    for _ in range(int(rng.integers(0, 12))):
        code = str(rng.choice(["C", "IP", "AT", "NF"]))
        mn = int(rng.integers(0, 3))
        b.require(code, int(rng.integers(0, D)), int(rng.integers(0, 2)), mn, mn + int(rng.integers(0, 2)),
                  mn + int(rng.integers(1, 3)))
    return b.build()
