"""Progress and cancellation for long computations (no Qt).

Compute functions take `progress(fraction, message)` and `cancelled() -> bool` callables and raise
`Cancelled` when asked to stop; the desktop's worker adapts these to Qt signals.
"""

from __future__ import annotations

from collections.abc import Callable

from core.errors import Cancelled

ProgressFn = Callable[[float, str], None]
CancelledFn = Callable[[], bool]


def noop(fraction: float, message: str = "") -> None:
    """A progress callback that ignores progress."""


def never() -> bool:
    """A cancel check that never cancels."""
    return False


def check(cancelled: CancelledFn) -> None:
    """Raise Cancelled if the caller asked to stop."""
    if cancelled():
        raise Cancelled("The computation was cancelled.")


class Throttled:
    """Wraps a progress callback so it fires only on >= `step` changes (and at 0 and 1)."""

    def __init__(self, progress: ProgressFn, step: float = 0.01) -> None:
        self._progress = progress
        self._step = step
        self._last = -1.0

    def __call__(self, fraction: float, message: str = "") -> None:
        if fraction >= 1.0 or fraction - self._last >= self._step or self._last < 0:
            self._last = fraction
            self._progress(min(max(fraction, 0.0), 1.0), message)
