"""Builds the demo program in memory (numpy arrays + row dicts) and bulk-inserts it.

The steps, in order (each deterministic for the seed):
1. catalogue: activities, rotations with weekly patterns, blocks, holidays;
2. people: residents (fixed-name anchors + seeded names) and faculty with roles and clinic caps;
3. the rotation plan (a cycle per PGY level, half-block splits for some PGY-3 electives);
4. the year's slots filled from the patterns (source 'template'; outpatient work stops on a
   clinic-closed holiday);
5. vacations and conferences (approved, slots set to LV) and some pending requests;
6. the deliberate violations that are about one resident's own schedule (hand edits, 'manual');
7. the resident in-house call pool, greedily and fairly, each call checked against the duty-hour
   rules (`core.demo.checks`) before it is accepted; the day after a call is post-call (PC);
8. faculty: inpatient attending weeks (Friday to Thursday), leave, the nightly home-call rota with
   the morning after off, precepting as the residents' clinic needs it (SUP), own clinic (CAP),
   administration; adjuncts hold a few preloaded, locked precepting sessions;
9. the remaining deliberate violations (SUP, CAP), coverage requirements read off the finished
   schedule, then the COV one (a dated surge requirement the schedule does not meet).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from core.calendar import (
    LAYOUT_13X28,
    LAYOUT_BLOCK0_THURSDAY,
    BlockDates,
    academic_year_bounds,
    academic_year_holidays,
    make_blocks,
)
from core.demo import catalog as cat
from core.demo.checks import duty_findings, slot_hours, supervision_required
from core.demo.plan import PLANTS, plant_day
from core.progress import ProgressFn
from core.rules.ruleset import RuleValues
from core.store import models as m

SOURCE_TEMPLATE, SOURCE_PRELOAD, SOURCE_MANUAL, SOURCE_GENERATED = 0, 1, 2, 3
SOURCE_NAMES = ("template", "preload", "manual", "generated")
STRICT = RuleValues(max_hours_per_week=76.0)  # keep clear of the H80W warning (304 h)
RULES = RuleValues()


@dataclass(frozen=True)
class SizeSpec:
    residents_per_pgy: int
    faculty_roles: tuple[tuple[str, int, int], ...]  # (role, how many, weekly clinic cap)
    layout: str
    sites: tuple[cat.ClinicSite, ...]
    ward_attendings: int
    resident_calls_per_night: int
    program_name: str


SIZES: dict[str, SizeSpec] = {
    "typical": SizeSpec(
        6, (("pd", 1, 2), ("apd", 1, 4), ("core", 9, 6), ("adjunct", 2, 2)), LAYOUT_13X28,
        (cat.MAIN_SITE,), 1, 1, "Lakeside Family Medicine Residency",
    ),
    "large": SizeSpec(
        50, (("pd", 1, 2), ("apd", 3, 4), ("core", 50, 7), ("specialist", 4, 3), ("adjunct", 2, 2)),
        LAYOUT_BLOCK0_THURSDAY, cat.LARGE_SITES, 7, 5, "Riverside Internal Medicine Residency",
    ),
}


class Ids:
    """Stable UUIDs drawn from the seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self) -> str:
        # The text of uuid.UUID(int=bits, version=4), without building the object (it is slow).
        bits = self.rng.getrandbits(128)
        bits = (bits & ~(0xC000 << 48)) | (0x8000 << 48)
        bits = (bits & ~(0xF000 << 64)) | (4 << 76)
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass
class Person:
    id: str
    name: str
    kind: str
    pgy: int = 0
    role: str | None = None
    cap: int | None = None
    site: int = 0


class DemoBuilder:
    def __init__(self, size: str, year: int, seed: int, name: str | None, progress: ProgressFn) -> None:
        if size not in SIZES:
            raise ValueError(f"Unknown demo size {size!r}; choose typical or large.")
        self.spec = SIZES[size]
        self.size, self.year, self.seed = size, year, seed
        self.name = name or self.spec.program_name
        self.progress = progress
        self.rng = random.Random(seed)
        self.uid = Ids(self.rng)
        self.first, self.last = academic_year_bounds(year)
        self.D = (self.last - self.first).days + 1
        self.weekday = np.array([(self.first + dt.timedelta(days=d)).weekday() for d in range(self.D)])
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.deliberate: list[Any] = []

    # ----------------------------------------------------------------------------------- helpers
    def date(self, d: int) -> dt.date:
        return self.first + dt.timedelta(days=d)

    def add(self, table: str, **row: Any) -> dict[str, Any]:
        row.setdefault("id", self.uid())
        row.setdefault("version", 0)
        row.setdefault("deleted", False)
        self.rows.setdefault(table, []).append(row)
        return row

    # ---------------------------------------------------------------------------------- catalogue
    def build_catalogue(self) -> None:
        self.program_id = self.uid()
        self.add("program", id=self.program_id, name=self.name, time_zone="America/New_York",
                 settings={"demo": {"size": self.size, "seed": self.seed}})
        self.year_id = self.uid()
        layout = self.spec.layout
        self.add("academic_year", id=self.year_id, program_id=self.program_id, start_year=self.year,
                 start_date=self.first, end_date=self.last, block_layout=layout)
        self.blocks: list[BlockDates] = make_blocks(self.year, layout)
        self.block_ids = [self.add("block", academic_year_id=self.year_id, number=b.number,
                                   start_date=b.start, end_date=b.end)["id"] for b in self.blocks]
        self.closed = np.zeros(self.D, dtype=bool)
        for day, hname in academic_year_holidays(self.year).items():
            self.add("holiday", program_id=self.program_id, date=day, name=hname, clinic_closed=True)
            self.closed[(day - self.first).days] = True

        self.acts = cat.activities_for(self.spec.sites)
        self.act = {a.code: i for i, a in enumerate(self.acts)}
        self.act_ids = []
        for a in self.acts:
            self.act_ids.append(self.add(
                "activity", program_id=self.program_id, code=a.code, name=a.name, colour=a.colour,
                category=a.category, am_start=a.am[0], am_minutes=a.am[1], pm_start=a.pm[0],
                pm_minutes=a.pm[1], needs_supervision=a.needs_supervision,
                provides_supervision=a.provides_supervision, counts_clinic_capacity=a.counts_capacity,
                is_procedure=a.is_procedure, is_night_float=a.is_night_float, eligible_kinds=list(a.kinds),
                eligible_pgy=list(a.pgy), required_credential=a.credential, shed_priority=a.shed,
                archived=False)["id"])
        self.span_start = np.array([[a.am[0], a.pm[0]] for a in self.acts], dtype=np.int32)
        self.span_len = np.array([[a.am[1], a.pm[1]] for a in self.acts], dtype=np.int32)
        self.is_nf = np.array([a.is_night_float for a in self.acts])
        self.cover = slot_hours(self.span_start, self.span_len)
        self.outpatient = np.array([a.category in cat.OUTPATIENT_CATEGORIES for a in self.acts])
        self.clinic_site = np.full(len(self.acts), -1)
        self.precept_site = np.full(len(self.acts), -1)
        for k, each in enumerate(self.spec.sites):
            self.clinic_site[self.act[each.clinic]] = k
            self.precept_site[self.act[each.precept]] = k

        # Rotations: per-site ones get one copy per clinic site.
        self.rots: list[tuple[cat.RotationDef, int]] = []  # (definition, site index or -1)
        self.rot_index: dict[tuple[str, int], int] = {}
        patterns = []
        for r in cat.ROTATIONS:
            sites = range(len(self.spec.sites)) if r.per_site else [-1]
            for k in sites:
                site: cat.ClinicSite | None = self.spec.sites[k] if k >= 0 else None
                code = r.code if site is None or site is cat.MAIN_SITE else f"{r.code}-{site.suffix}"
                name = r.name if site is None or site is cat.MAIN_SITE else f"{r.name}, {site.name} clinic"
                rid = self.add("rotation", program_id=self.program_id, code=code, name=name,
                               min_residents=0, max_residents=99, eligible_pgy=list(r.pgy),
                               leave_allowed=r.leave_allowed, includes_weekends=r.weekends,
                               colour=r.colour, archived=False)["id"]
                pat = np.zeros((7, 2), dtype=np.int16)
                for wd, pair in enumerate(r.week):
                    for s, code_ in enumerate(pair):
                        real = (site or cat.MAIN_SITE).clinic if code_ == "C" else code_
                        pat[wd, s] = self.act[real]
                        self.add("rotation_pattern", rotation_id=rid, weekday=wd, slot=s,
                                 activity_id=self.act_ids[pat[wd, s]])
                self.rot_index[(r.code, k)] = len(self.rots)
                self.rots.append((r, k))
                patterns.append(pat)
                self.rows["rotation"][-1]["_def"] = r
        self.rot_ids = [row["id"] for row in self.rows["rotation"]]
        self.patterns = np.stack(patterns)  # [Rot, 7, 2]
        self.rot_takes_call = np.array([r.takes_call for r, _ in self.rots])
        self.rot_leave = np.array([r.leave_allowed for r, _ in self.rots])

    # ------------------------------------------------------------------------------------- people
    def build_people(self) -> None:
        used = {n for names in cat.ANCHOR_RESIDENTS.values() for n in names}
        used |= {cat.PROGRAM_DIRECTOR, cat.ASSOCIATE_DIRECTOR}
        pool = [f"{f} {last}" for f in cat.FIRST_NAMES for last in cat.LAST_NAMES]
        self.rng.shuffle(pool)
        pool = [n for n in pool if n not in used]

        def next_name() -> str:
            return pool.pop()

        n_sites = len(self.spec.sites)
        self.residents: list[Person] = []
        for pgy in (1, 2, 3):
            anchors = cat.ANCHOR_RESIDENTS[pgy]
            for i in range(self.spec.residents_per_pgy):
                name = anchors[i] if i < len(anchors) else next_name()
                self.residents.append(Person(self.uid(), name, "resident", pgy=pgy, site=i % n_sites))
        self.faculty: list[Person] = []
        for role, count, cap in self.spec.faculty_roles:
            for i in range(count):
                if role == "pd":
                    name = cat.PROGRAM_DIRECTOR
                elif role == "apd" and i == 0:
                    name = cat.ASSOCIATE_DIRECTOR
                else:
                    name = next_name()
                c = cap + (self.rng.randint(0, 2) if role == "core" else 0)
                self.faculty.append(Person(self.uid(), name, "faculty", role=role, cap=c,
                                           site=len(self.faculty) % n_sites))
        self.res_index = {p.name: i for i, p in enumerate(self.residents)}
        for k, p in enumerate(self.residents + self.faculty):
            self.add("person", id=p.id, program_id=self.program_id, name=p.name, kind=p.kind,
                     faculty_role=p.role, clinic_cap_per_week=p.cap,
                     email=p.name.lower().replace(" ", ".") + "@demo.example", archived=False, sort_key=k)
        for p in self.residents:
            self.add("resident_year", person_id=p.id, academic_year_id=self.year_id, pgy=p.pgy)
            self.add("qualification", person_id=p.id, what="acls", valid_from=self.first, valid_to=self.last)
            if p.pgy in (1, 3):
                self.add("qualification", person_id=p.id, what="obstetrics", valid_from=self.first,
                         valid_to=None)
            if p.pgy >= 2:
                self.add("qualification", person_id=p.id, what="procedures", valid_from=self.first,
                         valid_to=None)
        for i, p in enumerate(self.faculty):
            self.add("qualification", person_id=p.id, what="board_certified", valid_from=None, valid_to=None)
            if i % 3 == 0:
                self.add("qualification", person_id=p.id, what="obstetrics", valid_from=None, valid_to=None)
            if i % 2 == 0:
                self.add("qualification", person_id=p.id, what="procedures", valid_from=None, valid_to=None)

    # -------------------------------------------------------------------------------- rotation plan
    def build_rotation_plan(self) -> None:
        R = len(self.residents)
        self.rot_of = np.full((R, self.D), -1, dtype=np.int32)
        by_pgy: dict[int, list[int]] = {1: [], 2: [], 3: []}
        for r, p in enumerate(self.residents):
            by_pgy[p.pgy].append(r)
        for b, block in enumerate(self.blocks):
            d0 = (block.start - self.first).days
            d1 = (block.end - self.first).days
            (h1s, h1e), (h2s, h2e) = block.halves()
            mid = (h2s - self.first).days
            for pgy, members in by_pgy.items():
                cycle = cat.CYCLES[pgy]
                for i, r in enumerate(members):
                    code = cycle[(i + b) % len(cycle)]
                    site = self.residents[r].site
                    split = pgy == 3 and code in ("ELEC", "RES") and b % 3 == 2 and block.days >= 28
                    if split:
                        other = "RES" if code == "ELEC" else "ELEC"
                        halves = [(1, code, d0, mid - 1), (2, other, mid, d1)]
                    else:
                        halves = [(0, code, d0, d1)]
                    for half, c, s, e in halves:
                        k = self.rot_index[(c, site)] if (c, site) in self.rot_index else self.rot_index[(c, -1)]
                        self.rot_of[r, s : e + 1] = k
                        self.add("rotation_assignment", person_id=self.residents[r].id,
                                 block_id=self.block_ids[b], half=half, rotation_id=self.rot_ids[k])

    def fill_templates(self) -> None:
        R = len(self.residents)
        self.codes = self.patterns[self.rot_of, self.weekday[None, :]].astype(np.int16)  # [R, D, 2]
        shut = self.outpatient[self.codes] & self.closed[None, :, None]
        self.codes[shut] = self.act["OFF"]
        self.source = np.zeros((R, self.D, 2), dtype=np.int8)
        self.notes: dict[tuple[int, int, int], str] = {}
        for r, d, s in zip(*np.nonzero(shut)):
            self.notes[(int(r), int(d), int(s))] = "Holiday: clinic closed"
        self.locked = np.zeros((R, self.D, 2), dtype=bool)
        self.in_house = np.zeros((R, self.D), dtype=bool)
        self.frozen = np.zeros((R, self.D), dtype=bool)  # the call scheduler leaves these days alone
        self.leave = np.zeros((R, self.D), dtype=bool)
        self.planted = np.zeros((R, self.D), dtype=bool)  # days a deliberate violation was made on
        self.repair_rest()

    def _rest_day(self, r: int, d: int, note: str) -> None:
        self.codes[r, d] = self.act["OFF"]
        self.source[r, d] = SOURCE_GENERATED
        self.notes[(r, d, 0)] = self.notes[(r, d, 1)] = note

    def repair_rest(self, *, after_nights: bool = True) -> None:
        """Where rotations meet, the weekly patterns can leave a 28-day window short of free days
        (a Saturday-off rotation followed by a Sunday-off one) or run nights straight into a day
        shift. The scheduler gives a recovery day after a night-float run that ends at a rotation
        change, then a rest day (latest weekend day first) in every window still short."""
        R = len(self.residents)
        nf = self.is_nf
        for r in range(R if after_nights else 0):
            for d in range(1, self.D):
                if self.rot_of[r, d] != self.rot_of[r, d - 1] and nf[self.codes[r, d - 1, 1]]:
                    if not nf[self.codes[r, d, 1]]:
                        self._rest_day(r, d, "Recovery after nights")
        for _ in range(20):
            codes = self.codes.reshape(R, -1)
            found = [f for f in duty_findings(codes, self.in_house, nf, self.span_start, self.span_len, RULES)
                     if f.rule == "OFF7"]
            if not found:
                return
            done: set[int] = set()
            for f in found:
                if f.person in done:
                    continue  # one fix per person per pass; the next pass re-measures
                r = f.person
                window = range(f.first_day, f.last_day + 1)

                def becomes_free(d: int, r: int = r) -> bool:
                    no_night_before = d == 0 or not nf[self.codes[r, d - 1, 1]]
                    busy = self.span_len[self.codes[r, d], (0, 1)].sum() > 0
                    return bool(no_night_before and busy and not nf[self.codes[r, d, 1]]
                                and not self.planted[r, d])

                cands = [d for d in window if becomes_free(d)]
                if not cands:
                    continue
                cands.sort(key=lambda d: (self.weekday[d] < 5, -d))
                self._rest_day(r, cands[0], "Rest day")
                done.add(r)

    # ------------------------------------------------------------------------------------ absences
    def _absence(self, person: str, kind: str, d0: int, d1: int, status: str, *, away: bool = True,
                 note: str | None = None) -> None:
        self.add("absence", person_id=person, type=kind, start_date=self.date(d0), end_date=self.date(d1),
                 status=status, blocking=True, counts_away=away, note=note)

    def build_resident_leave(self, protected: set[int]) -> None:
        mondays = [d for d in range(self.D - 7) if self.weekday[d] == 0]
        anchors = {name for plant in PLANTS for name in ([plant.person] if plant.person else [])}
        for r, p in enumerate(self.residents):
            if p.name in anchors:
                continue  # their leave is part of the planted story
            ok = [d for d in mondays
                  if all(self.rot_leave[self.rot_of[r, d + k]] and self.rot_of[r, d + k] == self.rot_of[r, d]
                         for k in range(5))
                  and not any(d + k in protected for k in range(-1, 6))]
            self.rng.shuffle(ok)
            chosen: list[int] = []
            for d in ok:
                if all(abs(d - c) >= 28 for c in chosen):
                    chosen.append(d)
                if len(chosen) == 3:
                    break
            for d in chosen:
                self._absence(p.id, "vacation", d, d + 4, "approved", note="Vacation")
                self.set_leave(r, d, d + 4, "Vacation")
            if p.pgy >= 2:
                wed = [d + 2 for d in ok if d not in chosen and all(abs(d - c) >= 7 for c in chosen)]
                if wed:
                    d = wed[0]
                    self._absence(p.id, "conference", d, d + 2, "approved", away=False, note="Conference")
                    self.set_leave(r, d, d + 2, "Conference")
            if r % 3 == 0:
                spring = [d for d in mondays if self.date(d).month in (4, 5, 6) and d not in chosen]
                if spring:
                    d = self.rng.choice(spring)
                    self._absence(p.id, "vacation", d, d + 4, "pending", note="Requested")

    def set_leave(self, r: int, d0: int, d1: int, note: str) -> None:
        self.codes[r, d0 : d1 + 1] = self.act["LV"]
        self.source[r, d0 : d1 + 1] = SOURCE_MANUAL
        self.locked[r, d0 : d1 + 1] = True
        self.leave[r, d0 : d1 + 1] = True
        for d in range(d0, d1 + 1):
            for s in (0, 1):
                self.notes[(r, d, s)] = note

    # ------------------------------------------------------------------------------------ plants
    def plant_personal(self) -> None:
        for plant in PLANTS:
            if plant.person is None:
                continue
            r = self.res_index[plant.person]
            first = plant_day(plant, self.year, self.closed)
            plant.apply(self, r, first)

    # ------------------------------------------------------------------------------ resident calls
    def _person_ok(self, r: int, d: int, rules: RuleValues) -> bool:
        lo, hi = max(0, d - 30), min(self.D, d + 32)
        codes = self.codes[r : r + 1, lo:hi].reshape(1, -1)
        found = duty_findings(codes, self.in_house[r : r + 1, lo:hi], self.is_nf, self.span_start,
                              self.span_len, rules, self.cover)
        return not found

    def build_resident_calls(self, protected: set[int]) -> None:
        R = len(self.residents)
        order = list(range(R))
        self.rng.shuffle(order)
        rank = np.empty(R, dtype=np.int64)
        rank[order] = np.arange(R)
        nf, pc, lv, off = self.is_nf, self.act["PC"], self.act["LV"], self.act["OFF"]
        total = np.zeros(R, dtype=np.int64)
        last = np.full(R, -100, dtype=np.int64)
        self.call_short = 0
        clinicish = self.clinic_site >= 0
        for d in range(self.D - 1):
            if d % 30 == 0:
                self.progress(0.2 + 0.4 * d / self.D, "Resident call pool")
            rot = self.rot_of[:, d]
            cand = self.rot_takes_call[rot] & ~self.frozen[:, d] & ~self.frozen[:, d + 1]
            cand &= ~self.leave[:, d] & ~self.leave[:, d + 1] & (d - last >= 3)
            cand &= ~nf[self.codes[:, d, 1]] & ~nf[self.codes[:, d + 1, 1]]
            cand &= (self.codes[:, d, 0] != pc) & ~self.locked[:, d + 1].any(axis=1)
            if d > 0:
                cand &= ~nf[self.codes[:, d - 1, 1]]
            if d + 2 < self.D:
                cand &= ~nf[self.codes[:, d + 2, 1]]
            if d + 1 in protected:
                cand &= ~clinicish[self.codes[:, d + 1]].any(axis=1)
            # Prefer a working day (a call on a day off costs a free day).
            idle = (self.codes[:, d, 0] == off) | (self.codes[:, d, 0] == lv)
            recent = np.array([self.in_house[r, max(0, d - 27) : d].sum() for r in range(R)])
            keys = sorted((int(x) for x in np.flatnonzero(cand)), key=lambda r: (recent[r], total[r], idle[r], rank[r]))
            need = self.spec.resident_calls_per_night
            for rules in (STRICT, RULES):
                for r in keys:
                    if need == 0:
                        break
                    if self.in_house[r, d]:
                        continue
                    saved = self.codes[r, d + 1].copy()
                    self.in_house[r, d] = True
                    self.codes[r, d + 1] = pc
                    if self._person_ok(r, d, rules):
                        self.source[r, d + 1] = SOURCE_GENERATED
                        self.notes[(r, d + 1, 0)] = self.notes[(r, d + 1, 1)] = "Post-call"
                        total[r] += 1
                        last[r] = d
                        need -= 1
                    else:
                        self.in_house[r, d] = False
                        self.codes[r, d + 1] = saved
            self.call_short += need
            _ = lv

    # ------------------------------------------------------------------------------------- faculty
    def build_faculty(self, sup_day: int) -> None:
        F, D = len(self.faculty), self.D
        A = self.act
        self.fcodes = np.full((F, D, 2), A["OFF"], dtype=np.int16)
        self.fsource = np.full((F, D, 2), SOURCE_GENERATED, dtype=np.int8)
        self.flocked = np.zeros((F, D, 2), dtype=bool)
        self.fnotes: dict[tuple[int, int, int], str] = {}
        adjunct = np.array([p.role == "adjunct" for p in self.faculty])
        worker = ~adjunct
        fleave = np.zeros((F, D), dtype=bool)
        mondays = [d for d in range(D - 7) if self.weekday[d] == 0]
        for f, p in enumerate(self.faculty):
            weeks = 1 if p.role == "adjunct" else 2
            picks = sorted(self.rng.sample(mondays, weeks))
            for d in picks:
                self._absence(p.id, "vacation", d, d + 4, "approved", note="Vacation")
                fleave[f, d : d + 5] = True
            if f % 4 == 1:
                d = self.rng.choice([x for x in mondays if not fleave[f, x : x + 7].any()]) + 2
                self._absence(p.id, "conference", d, d + 2, "approved", away=False, note="Conference")
                fleave[f, d : d + 3] = True
        self.fcodes[fleave] = A["LV"]
        self.fsource[fleave] = SOURCE_MANUAL
        # Inpatient attending weeks, Friday to Thursday, never two in a row.
        fw = np.zeros((F, D), dtype=bool)
        fw_weeks = np.zeros(F, dtype=np.int64)
        prev: set[int] = set()
        start = -((self.weekday[0] - 4) % 7)  # the Friday on or before July 1
        rank = list(range(F))
        self.rng.shuffle(rank)
        week_ends: list[tuple[int, int]] = []
        for w0 in range(start, D, 7):
            lo, hi = max(w0, 0), min(w0 + 7, D)
            cands = [f for f in range(F) if worker[f] and f not in prev and not fleave[f, lo:hi].any()
                     and self.faculty[f].role != "pd"]
            cands.sort(key=lambda f: (fw_weeks[f], rank[f]))
            chosen = cands[: self.spec.ward_attendings]
            for f in chosen:
                fw[f, lo:hi] = True
                fw_weeks[f] += 1
                week_ends.append((f, hi - 1))
            prev = set(chosen)
        self.fcodes[fw] = A["FW"]
        # The Sunday after an inpatient week: no call.
        no_call = fw | fleave
        for f, end in week_ends:
            sunday = end + ((6 - self.weekday[end]) % 7 or 7) if end < D - 1 else None
            if sunday is not None and sunday < D:
                no_call[f, sunday] = True
        # Nightly home call: one faculty member, fairly spread, the next morning off.
        self.fcall = np.zeros((F, D), dtype=bool)
        self.fcall_hours: dict[tuple[int, int], float] = {}
        total = np.zeros(F, dtype=np.int64)
        last = np.full(F, -100)
        for d in range(D):
            nxt_block = no_call[:, d + 1] & ~fw[:, d] if d + 1 < D else np.zeros(F, dtype=bool)
            ok = worker & ~no_call[:, d] & ~nxt_block & (d - last >= 3)
            if d + 1 < D:
                ok &= ~fw[:, d + 1]
            cands = sorted(np.flatnonzero(ok), key=lambda f: (total[f], d - last[f] < 7, rank[f]))
            if not cands:
                continue
            f = int(cands[0])
            self.fcall[f, d] = True
            total[f] += 1
            last[f] = d
            if self.rng.random() < 0.3:
                self.fcall_hours[(f, d)] = round(self.rng.uniform(0.5, 3.0), 1)
        postcall_am = np.zeros((F, D), dtype=bool)
        postcall_am[:, 1:] = self.fcall[:, :-1]
        # Adjuncts precept a fixed half-day a week: entered by hand, locked (preload).
        adj = [f for f in range(F) if adjunct[f]]
        preload_slots = [(1, 0), (3, 1)]  # Tuesday AM, Thursday PM
        self.preload: dict[tuple[int, int], list[int]] = {}
        for j, f in enumerate(adj):
            wd, s = preload_slots[j % 2]
            for d in range(D):
                if self.weekday[d] == wd and not self.closed[d] and not fleave[f, d]:
                    self.fcodes[f, d, s] = A[self.spec.sites[0].precept]
                    self.fsource[f, d, s] = SOURCE_PRELOAD
                    self.flocked[f, d, s] = True
                    self.fnotes[(f, d, s)] = "Adjunct precepting session"
                    self.preload.setdefault((d, s), []).append(f)
        # Weekday slots: precepting as the clinic needs it, then own clinic, then administration.
        pgy = np.array([p.pgy for p in self.residents])
        unit = np.where(pgy == 1, RULES.sup_units_pgy1, RULES.sup_units_senior)
        home = np.array([p.site for p in self.residents])
        n_sites = len(self.spec.sites)
        proc = np.array([a.is_procedure for a in self.acts])
        cap = np.array([p.cap or 0 for p in self.faculty])
        fhome = np.array([p.site for p in self.faculty])
        fc, adm, lec = A["FC"], A["ADM"], A["LEC"]
        main_clinic = A[self.spec.sites[0].clinic]
        clinic_days = [d for d in range(D) if self.weekday[d] < 5 and not self.closed[d]]
        by_week: dict[int, list[int]] = {}
        for d in clinic_days:
            by_week.setdefault(d - int(self.weekday[d]), []).append(d)
        available = np.zeros((F, D, 2), dtype=bool)
        for d in clinic_days:
            for s in (0, 1):
                free = worker & ~fw[:, d] & ~fleave[:, d] & ~self.flocked[:, d, s]
                if s == 0:
                    free &= ~postcall_am[:, d]
                    self.fcodes[postcall_am[:, d] & ~fw[:, d] & ~fleave[:, d], d, 0] = A["OFF"]
                available[:, d, s] = free
        for week in by_week.values():
            week_clinic = np.zeros(F, dtype=np.int64)
            # First the precepting the residents' clinics need (SUP), for the whole week ...
            for d in week:
                for s in (0, 1):
                    rc = self.codes[:, d, s]
                    site_of = self.clinic_site[rc]
                    units = np.zeros(n_sites, dtype=np.int64)
                    np.add.at(units, site_of[site_of >= 0], unit[site_of >= 0])
                    # A procedure session needs its resident's own units plus the procedure's.
                    np.add.at(units, home[proc[rc]], RULES.sup_units_procedure + unit[proc[rc]])
                    for f in self.preload.get((d, s), []):
                        week_clinic[f] += 1
                    for k in range(n_sites):
                        need = supervision_required(int(units[k]), RULES)
                        if k == 0:
                            need -= len(self.preload.get((d, s), []))
                        cands = [int(f) for f in np.flatnonzero(available[:, d, s]) if week_clinic[f] < cap[f]]
                        cands.sort(key=lambda f: (fhome[f] != k, week_clinic[f], rank[f]))
                        for f in cands[: max(need, 0)]:
                            self.fcodes[f, d, s] = A[self.spec.sites[k].precept]
                            week_clinic[f] += 1
                            available[f, d, s] = False
            # ... then teaching, the faculty's own clinic where rooms and caps allow, administration.
            for d in week:
                for s in (0, 1):
                    free = available[:, d, s]
                    if self.weekday[d] == 2 and s == 1:
                        for f in [int(x) for x in np.flatnonzero(free)][:2]:
                            self.fcodes[f, d, s] = lec
                            free[f] = False
                    rooms = 6 - int((self.codes[:, d, s] == main_clinic).sum())
                    for f in sorted((int(x) for x in np.flatnonzero(free)), key=lambda f: (week_clinic[f], rank[f])):
                        if rooms > 0 and week_clinic[f] < cap[f] and fhome[f] == 0:
                            self.fcodes[f, d, s] = fc
                            week_clinic[f] += 1
                            rooms -= 1
                        else:
                            self.fcodes[f, d, s] = adm
        self.fw, self.fleave, self.fpostcall = fw, fleave, postcall_am
        _ = sup_day

    # ------------------------------------------------------------------------------ slot plants
    def plant_cap(self, d: int) -> None:
        """CAP: extra residents booked into the main clinic's afternoon until it holds 7."""
        A = self.act
        main = A[self.spec.sites[0].clinic]
        need = 7 - int((self.codes[:, d, 1] == main).sum())
        prefer = {A[c] for c in ("ELEC", "RES", "ADM")}
        anchors = {p.person for p in PLANTS if p.person}
        day_work = self.span_len[self.codes[:, d, 1], 1] > 0
        cands = [r for r in range(len(self.residents))
                 if day_work[r] and not self.is_nf[self.codes[r, d, 1]] and self.codes[r, d, 1] != main
                 and not self.frozen[r, d] and self.residents[r].name not in anchors]
        cands.sort(key=lambda r: (self.codes[r, d, 1] not in prefer, r))
        for r in cands[:need]:
            self.codes[r, d, 1] = main
            self.source[r, d, 1] = SOURCE_MANUAL
            self.notes[(r, d, 1)] = "Extra clinic session"

    def plant_sup(self, d: int) -> None:
        """SUP: precepting attendings taken out of the morning clinic until supervision falls short."""
        A = self.act
        pgy = np.array([p.pgy for p in self.residents])
        unit = np.where(pgy == 1, RULES.sup_units_pgy1, RULES.sup_units_senior)
        rc = self.codes[:, d, 0]
        needs = self.clinic_site[rc] >= 0
        proc = np.array([a.is_procedure for a in self.acts])[rc]
        needs |= proc
        total_units = int(unit[needs].sum()) + RULES.sup_units_procedure * int(proc.sum())
        precept = self.precept_site[self.fcodes[:, d, 0]] >= 0
        main = A[self.spec.sites[0].precept]
        order = sorted((int(x) for x in np.flatnonzero(precept)), key=lambda f: (self.fcodes[f, d, 0] != main, f))
        required = supervision_required(total_units, RULES)
        at_main = (self.clinic_site[rc] == 0) | (proc & (np.array([p.site for p in self.residents]) == 0))
        main_units = int(unit[at_main].sum()) + RULES.sup_units_procedure * int((proc & at_main).sum())
        main_required = supervision_required(main_units, RULES)
        for f in order:
            have = int((self.precept_site[self.fcodes[:, d, 0]] >= 0).sum())
            have_main = int((self.fcodes[:, d, 0] == main).sum())
            if have < required and have_main < main_required:
                break
            if self.flocked[f, d, 0]:
                continue
            self.fcodes[f, d, 0] = A["ADM"]
            self.fnotes[(f, d, 0)] = "Called to a meeting"

    # -------------------------------------------------------------------------------- coverage
    def build_coverage(self, cov_day: int) -> None:
        A = self.act
        watched = ["W", "ICU", "OB", "PEDS", "NF", "FW"] + [s.clinic for s in self.spec.sites]
        for code in watched:
            a = A[code]
            held = (self.codes == a).sum(axis=0) + (self.fcodes == a).sum(axis=0)  # [D, 2]
            clinic = self.acts[a].counts_capacity
            for wd in range(7):
                days = (self.weekday == wd) & ~(self.closed if clinic else np.zeros(self.D, dtype=bool))
                for s in (0, 1):
                    counts = held[days, s]
                    if counts.size == 0 or counts.max() == 0:
                        continue
                    lo, hi = int(counts.min()), int(counts.max())
                    opt = min(max(int(np.percentile(counts, 10)), lo), hi)  # met on 9 days in 10
                    self.add("coverage_requirement", program_id=self.program_id, activity_id=self.act_ids[a],
                             weekday=wd, date=None, slot=s, min_count=lo, optimum=opt, max_count=hi,
                             qualification=None)
        w = A["W"]
        have = int((self.codes[:, cov_day, 0] == w).sum())
        self.add("coverage_requirement", program_id=self.program_id, activity_id=self.act_ids[w],
                 weekday=None, date=self.date(cov_day), slot=0, min_count=have + 1, optimum=have + 1,
                 max_count=have + 3, qualification=None)

    def build_call_rows(self) -> None:
        n = self.spec.resident_calls_per_night
        self.add("call_requirement", program_id=self.program_id, service="", call_type="in_house",
                 kind="resident", eligible_pgy=[1, 2, 3], per_night=n)
        self.add("call_requirement", program_id=self.program_id, service="faculty", call_type="home",
                 kind="faculty", eligible_pgy=[], per_night=1)
        for r, d in zip(*np.nonzero(self.in_house)):
            self.add("call_assignment", person_id=self.residents[r].id, date=self.date(int(d)),
                     call_type="in_house", service="", hours_worked=None, source="generated")
        for f, d in zip(*np.nonzero(self.fcall)):
            self.add("call_assignment", person_id=self.faculty[f].id, date=self.date(int(d)), call_type="home",
                     service="faculty", hours_worked=self.fcall_hours.get((int(f), int(d))), source="generated")
        self.add("rule_set", program_id=self.program_id, number=1, values=RuleValues().to_dict(), exceptions={},
                 created_at=dt.datetime(self.year, 6, 1, tzinfo=dt.UTC), note="ACGME defaults (demo)")

    def assignment_rows(self) -> list[tuple[Any, ...]]:
        """Assignment rows as tuples in ASSIGNMENT_COLUMNS order, as stored (ISO dates, 0/1)."""
        dates = [self.date(d).isoformat() for d in range(self.D)]
        names = SOURCE_NAMES
        n = 2 * self.D * (len(self.residents) + len(self.faculty))
        # Random (seeded) UUIDs handed out in sorted order: the primary-key index then grows at its
        # end instead of splitting pages all over a 150k-row tree.
        ids = iter(sorted(self.uid() for _ in range(n)))
        out: list[tuple[Any, ...]] = []
        for people, codes, source, locked, notes, rot_of in (
            (self.residents, self.codes, self.source, self.locked, self.notes, self.rot_of),
            (self.faculty, self.fcodes, self.fsource, self.flocked, self.fnotes, None),
        ):
            for i, p in enumerate(people):
                c, so, lk = codes[i].tolist(), source[i].tolist(), locked[i].astype(int).tolist()
                rots = rot_of[i].tolist() if rot_of is not None else None
                for d in range(self.D):
                    rid = self.rot_ids[rots[d]] if rots is not None and rots[d] >= 0 else None
                    cd, sd, ld = c[d], so[d], lk[d]
                    for s in (0, 1):
                        out.append((next(ids), 0, 0, p.id, dates[d], s, self.act_ids[cd[s]], rid,
                                    names[sd[s]], ld[s], notes.get((i, d, s))))
        return out

    # ----------------------------------------------------------------------------------- all
    def run(self) -> None:
        self.progress(0.0, "Catalogue")
        self.build_catalogue()
        self.build_people()
        self.build_rotation_plan()
        self.fill_templates()
        days = {p.rule: plant_day(p, self.year, self.closed) for p in PLANTS}
        protected = {days["SUP"], days["CAP"], days["COV"], days["QUAL"]}
        self.progress(0.1, "Leave")
        self.build_resident_leave(protected)
        self.plant_personal()
        self.repair_rest(after_nights=False)  # the planted runs can shift free days next to them
        self.build_resident_calls(protected)
        self.plant_cap(days["CAP"])
        self.progress(0.65, "Faculty")
        self.build_faculty(days["SUP"])
        self.plant_sup(days["SUP"])
        self.build_coverage(days["COV"])
        self.build_call_rows()


INSERT_ORDER = (
    ("program", m.Program), ("academic_year", m.AcademicYear), ("block", m.Block), ("holiday", m.Holiday),
    ("activity", m.Activity), ("rotation", m.Rotation), ("rotation_pattern", m.RotationPatternEntry),
    ("person", m.Person), ("resident_year", m.ResidentYear), ("qualification", m.Qualification),
    ("rotation_assignment", m.RotationAssignment), ("call_assignment", m.CallAssignment),
    ("absence", m.Absence), ("coverage_requirement", m.CoverageRequirement),
    ("call_requirement", m.CallRequirement), ("rule_set", m.RuleSet),
)


def write(builder: DemoBuilder, session: Session, progress: ProgressFn) -> int:
    """Bulk-insert every row; returns the number of assignment rows."""
    for table, model in INSERT_ORDER:
        rows = [{k: v for k, v in row.items() if not k.startswith("_")} for row in builder.rows.get(table, [])]
        if rows:
            session.execute(insert(cast(Table, model.__table__)), rows)
    progress(0.8, "Assignments")
    # The one big table goes straight to the driver's executemany: the rows are already in their
    # stored form, and skipping per-row parameter processing makes the large demo several times faster.
    tuples = builder.assignment_rows()
    assignment = cast(Table, m.Assignment.__table__)
    assert {c.name for c in assignment.columns} == set(ASSIGNMENT_COLUMNS), "the assignment table changed"
    sql = (f"INSERT INTO assignment ({', '.join(ASSIGNMENT_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in ASSIGNMENT_COLUMNS)})")
    step = 20000
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # The table's three indexes (random UUIDs, person x date x slot, date) outgrow SQLite's
        # default 2 MB page cache at once; a bigger cache for this one write avoids re-reading pages.
        cache = int(connection.exec_driver_sql("PRAGMA cache_size").scalar() or -2000)
        connection.exec_driver_sql("PRAGMA cache_size = -131072")
    try:
        for i in range(0, len(tuples), step):
            connection.exec_driver_sql(sql, tuples[i : i + step])
            progress(0.8 + 0.2 * min(1.0, (i + step) / len(tuples)), "Assignments")
    finally:
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA cache_size = {cache}")
    return len(tuples)


ASSIGNMENT_COLUMNS = ("id", "version", "deleted", "person_id", "date", "slot", "activity_id", "rotation_id",
                      "source", "locked", "note")


_ = math
