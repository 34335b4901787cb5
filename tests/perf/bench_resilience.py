"""Benchmark of the resilience analyses against RESILIENCE.md's bars (not collected by pytest).

    .venv/bin/python tests/perf/bench_resilience.py [--skip-large-n2]

Programs: the demo program (`core.demo`, typical and large) when it can be built, one 28-day block;
otherwise the synthetic stand-in of tests/core/resilience/helpers.py. "cold" includes the
rule-checked availability (the compliance engine's batched checks), "warm" reuses it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core" / "resilience"))

from helpers import synthetic_program  # noqa: E402

from core.errors import Cancelled  # noqa: E402
from core.resilience import defense, equity, n1, n2, nk, spc, util  # noqa: E402
from core.resilience.common import CACHE  # noqa: E402


def demo_snapshot(size: str, days: int) -> object:
    """A block (or the year) of the demo program, written to a temporary database."""
    import datetime as dt

    from core.commands import demo as demo_cmd  # noqa: F401 - presence check
    from core.snapshot import build_snapshot
    from core.store.db import open_database, session_factory

    folder = Path(tempfile.mkdtemp())
    path = folder / f"{size}.sqlite"
    import subprocess

    subprocess.run([sys.executable, "-m", "core", "demo", "--db", str(path), "--size", size], check=True,
                   capture_output=True)
    opened = open_database(path, create=False)
    with session_factory(opened.engine)() as session:
        from sqlalchemy import select

        from core.store import models as m

        prog = session.scalars(select(m.Program)).first()
        assert prog is not None
        block = session.scalars(select(m.Block).where(m.Block.number == 3)).first()
        assert block is not None
        start = block.start_date if days <= 28 else dt.date(2026, 7, 1)
        end = block.end_date if days <= 28 else dt.date(2027, 6, 30)
        snap = build_snapshot(session, prog.id, start, end)
    opened.engine.dispose()
    return snap


def timed(label: str, fn: object, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        CACHE.clear()  # results are recomputed; the per-snapshot availability is kept ("warm")
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t)
    print(f"{label:<58} {best:8.3f} s")
    return best


def fresh(snap_factory: object) -> object:
    CACHE.clear()
    return snap_factory()  # type: ignore[operator]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--synthetic", action="store_true", help="use the synthetic programs, not the demo")
    ap.add_argument("--skip-large-n2", action="store_true")
    args = ap.parse_args()

    def make(size: str, res: int, fac: int, days: int) -> object:
        if not args.synthetic:
            try:
                return demo_snapshot(size, days)
            except Exception as exc:  # noqa: BLE001 - fall back to the stand-in
                print(f"(demo {size} not available: {exc}; synthetic stand-in)")
        return synthetic_program(res, fac, days)

    typical = make("typical", 18, 13, 28)
    large = make("large", 150, 60, 28)
    sixty = synthetic_program(40, 20, 28)
    print(f"typical: {typical.n_people} people, large: {large.n_people}, sixty: {sixty.n_people}")  # type: ignore[attr-defined]
    for name, snap in (("typical", typical), ("large", large)):
        CACHE.clear()
        timed(f"N1 all people, {name}, cold (with availability)", lambda s=snap: n1.run(s))
        timed(f"N1 all people, {name}, warm", lambda s=snap: n1.run(s), repeat=3)
    for name, snap in (("typical", typical), ("sixty (synthetic 40+20)", sixty)):
        CACHE.clear()
        timed(f"N2 all pairs, {name}, cold", lambda s=snap: n2.run(s))
        timed(f"N2 all pairs, {name}, warm", lambda s=snap: n2.run(s), repeat=2)
    if not args.skip_large_n2:
        CACHE.clear()
        marks: list[tuple[float, float]] = []
        t0 = time.perf_counter()
        res = n2.run(large, progress=lambda f, m="": marks.append((time.perf_counter() - t0, f)))
        print(f"{'N2 all pairs, large, to the end (process pool)':<58} {time.perf_counter() - t0:8.3f} s "
              f"({res.n_pairs} pairs, {res.n_solved} solved, {res.n_decomposed} decomposed, "
              f"{res.processes} processes, {len(marks)} progress reports)")
        worst = 0.0
        for when in (0.5, 2.0, 4.0):
            CACHE.clear()
            flag = threading.Event()
            asked = [0.0]

            def cancel_later(delay: float = when, asked: list[float] = asked,
                             flag: threading.Event = flag) -> None:
                time.sleep(delay)
                asked[0] = time.perf_counter()
                flag.set()

            threading.Thread(target=cancel_later, daemon=True).start()
            try:
                n2.run(large, cancelled=flag.is_set)
                print("  (finished before the cancel)")
            except Cancelled:
                lag = time.perf_counter() - asked[0]
                worst = max(worst, lag)
                print(f"  cancel after {when:.1f} s returned in {lag:.3f} s")
        print(f"{'N2 large: worst cancel latency':<58} {worst:8.3f} s")
    year = make("large", 150, 60, 364)

    def together() -> None:
        for mod in (util, nk, spc, equity):
            mod.run(year)
        defense.run(year, defense.Params(use_n1=False))

    timed("UTIL+NK+SPC+EQUITY+DEFENSE, large, academic year (first, builds foundations)", together)
    timed("UTIL+NK+SPC+EQUITY+DEFENSE, large, academic year (foundations kept)", together, repeat=3)


if __name__ == "__main__":
    main()
