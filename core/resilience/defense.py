"""DEFENSE: one overall status, GREEN..BLACK, with the reason.

The worst of:
- the UTIL band of the busiest service;
- the N-1 pass ratio: 1.0 GREEN, >= 0.95 YELLOW, >= 0.90 ORANGE, >= 0.80 RED, below BLACK;
- any NK slot below zero (already short): RED;
- any SPC rule-1 alarm (a week beyond 3 sigma): ORANGE.
`hysteresis` applies the day-to-day damping when the level is tracked over days: escalate on the
second consecutive day above the current level, de-escalate on the third consecutive day below it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.progress import CancelledFn, ProgressFn, never, noop
from core.resilience import n1 as n1_mod
from core.resilience import nk as nk_mod
from core.resilience import spc as spc_mod
from core.resilience import util as util_mod
from core.resilience.common import Level, cached, util_level
from core.snapshot import ScheduleSnapshot


def n1_level(pass_ratio: float) -> Level:
    if pass_ratio >= 1.0:
        return Level.GREEN
    if pass_ratio >= 0.95:
        return Level.YELLOW
    if pass_ratio >= 0.90:
        return Level.ORANGE
    if pass_ratio >= 0.80:
        return Level.RED
    return Level.BLACK


@dataclass(frozen=True)
class Params:
    use_n1: bool = True  # N-1 needs the rule-checked refill: run it per block, not on a whole year


@dataclass(frozen=True)
class DefenseResult:
    revision: str
    level: Level
    reason: str
    contributions: tuple[tuple[str, Level, str], ...]  # (source, level, sentence)


def combine(busiest: tuple[str, float] | None, n1_pass_ratio: float | None, min_nk: float | None,
            spc_rule1: int | None, revision: str = "") -> DefenseResult:
    """The status from its inputs (any may be None when not measured)."""
    parts: list[tuple[str, Level, str]] = []
    if busiest is not None and busiest[0]:
        code, u = busiest
        lvl = util_level(u)
        parts.append(("UTIL", lvl, f"busiest service {code} at {u:.0%} utilization"))
    if n1_pass_ratio is not None:
        lvl = n1_level(n1_pass_ratio)
        parts.append(("N1", lvl, f"{n1_pass_ratio:.0%} of people can be replaced if out (N-1)"))
    if min_nk is not None and min_nk < 0:
        parts.append(("NK", Level.RED, "a service is already below its minimum in some slot"))
    elif min_nk is not None:
        parts.append(("NK", Level.GREEN, f"every slot meets its minimum (thinnest N+{int(min_nk)})"
                      if min_nk != float("inf") else "no slot has a minimum"))
    if spc_rule1:
        parts.append(("SPC", Level.ORANGE, f"{spc_rule1} week(s) of duty hours beyond 3 sigma"))
    elif spc_rule1 is not None:
        parts.append(("SPC", Level.GREEN, "no duty-hour week beyond 3 sigma"))
    level = max((p[1] for p in parts), default=Level.GREEN)
    worst = [p[2] for p in parts if p[1] == level and level > Level.GREEN]
    reason = "; ".join(worst) if worst else "all measures green"
    return DefenseResult(revision, level, reason[0].upper() + reason[1:], tuple(parts))


def hysteresis(raw: Sequence[int], start: int = Level.GREEN) -> list[Level]:
    """Tracked level per day: escalate on the 2nd consecutive breach, de-escalate on the 3rd clean day.

    A breach is a day whose raw level is above the tracked level; escalation goes to the lower of
    the two breaching days. A clean day is below the tracked level; de-escalation goes to the highest
    of the three clean days.
    """
    state = Level(start)
    up: list[int] = []
    down: list[int] = []
    out: list[Level] = []
    for r in raw:
        if r > state:
            up.append(r)
            down = []
            if len(up) >= 2:
                state = Level(min(up[-2:]))
                up = []
        elif r < state:
            down.append(r)
            up = []
            if len(down) >= 3:
                state = Level(max(down[-3:]))
                down = []
        else:
            up, down = [], []
        out.append(state)
    return out


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> DefenseResult:
    params = params or Params()

    def compute() -> DefenseResult:
        u = util_mod.run(snapshot, cancelled=cancelled)
        k = nk_mod.run(snapshot, cancelled=cancelled)
        s = spc_mod.run(snapshot, cancelled=cancelled)
        progress(0.3, "N-1")
        ratio = n1_mod.run(snapshot, cancelled=cancelled).pass_ratio if params.use_n1 else None
        code, value, _ = u.busiest_service
        progress(1.0, "status")
        return combine((code, value), ratio, k.min_k, s.rule1_count, snapshot.revision)

    return cached("defense", snapshot.revision, params, compute, progress)
