"""Resilience analyses (RESILIENCE.md): pure functions of a `ScheduleSnapshot`, no Qt.

Each analysis module has `run(snapshot, params=None, *, progress=noop, cancelled=never)` returning
a frozen result (plain data + read-only numpy arrays), cached by the snapshot's revision, and a
`Params` dataclass. `ANALYSES` maps the ids used by the CLI and the desktop to the modules.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from core.progress import CancelledFn, ProgressFn, never, noop

ANALYSES: dict[str, str] = {
    "util": "core.resilience.util",
    "nk": "core.resilience.nk",
    "n1": "core.resilience.n1",
    "n2": "core.resilience.n2",
    "fallback": "core.resilience.fallback",
    "recovery": "core.resilience.recovery",
    "shed": "core.resilience.shed",
    "spc": "core.resilience.spc",
    "equity": "core.resilience.equity",
    "defense": "core.resilience.defense",
    "lechatelier": "core.resilience.lechatelier",
    "homeostasis": "core.resilience.homeostasis",
    "burnout": "core.resilience.burnout",
    "erlang": "core.resilience.erlang",
    "hubs": "core.resilience.hubs",
}


def module(analysis: str) -> ModuleType:
    return importlib.import_module(ANALYSES[analysis])


def run(analysis: str, snapshot: Any, params: Any = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> Any:
    """Run one analysis by id."""
    return module(analysis).run(snapshot, params, progress=progress, cancelled=cancelled)
