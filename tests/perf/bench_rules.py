"""Benchmark of the compliance engine (not collected by pytest).

    .venv/bin/python tests/perf/bench_rules.py [--size large|typical] [--edits 300] [--repeat 20]

Builds the demo program (core.demo) for a full academic year in a temporary database, then measures
side by side in one run:
1. full validation of the year (`core.rules.engine.validate`): the first call (building the
   per-snapshot lookup tables) and the steady state (best and median of --repeat calls);
2. the incremental check of one slot edit (`check_change`): median and 95th percentile over
   --edits random edits of one resident's slot;
3. the naive reference of tests/core/rules/naive.py on the same snapshot, and the speed-up.
Also checks that engine and naive reference agree on the demo.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import statistics
import sys
import tempfile
import time
from collections import Counter

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load(name: str, path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def demo_snapshot(size: str):
    from core.demo import create_demo
    from core.snapshot import build_snapshot
    from core.store.db import open_database, session_factory

    folder = pathlib.Path(tempfile.mkdtemp(prefix="bench_rules_"))
    opened = open_database(folder / "demo.sqlite")
    summary = create_demo(opened.engine, size=size)
    with session_factory(opened.engine)() as session:
        snap = build_snapshot(session, summary.program_id, summary.start, summary.end)
    opened.engine.dispose()
    return snap


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="large")
    ap.add_argument("--edits", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    from core.rules.engine import ProposedChange, check_change, validate

    t0 = time.perf_counter()
    snap = demo_snapshot(args.size)
    print(f"demo '{args.size}': {snap.n_people} people x {snap.n_days} days "
          f"({snap.start} - {snap.end}), built in {time.perf_counter() - t0:.1f} s")

    t = time.perf_counter()
    result = validate(snap)
    cold = time.perf_counter() - t
    warm = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        validate(snap)
        warm.append(time.perf_counter() - t)
    print(f"full validation: first call {cold * 1000:.1f} ms; then best {min(warm) * 1000:.1f} ms, "
          f"median {statistics.median(warm) * 1000:.1f} ms ({len(result.violations)} violations)")

    rng = np.random.default_rng(0)
    residents = [p.id for p in snap.people if p.kind == "resident"]
    acts = [a.id for a in snap.activities]
    times = []
    for _ in range(args.edits):
        change = ProposedChange(assignments=((
            residents[int(rng.integers(len(residents)))], snap.date_of(int(rng.integers(snap.n_days))),
            int(rng.integers(2)), acts[int(rng.integers(len(acts)))]),))
        t = time.perf_counter()
        check_change(snap, change)
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"incremental check of one slot edit: median {statistics.median(times) * 1000:.2f} ms, "
          f"p95 {times[int(0.95 * len(times))] * 1000:.2f} ms over {len(times)} edits")

    helpers_dir = ROOT / "tests" / "core" / "rules"
    load("rules_helpers", helpers_dir / "helpers.py")
    naive = load("rules_naive", helpers_dir / "naive.py")
    t = time.perf_counter()
    reference = naive.naive_violations(snap)
    naive_s = time.perf_counter() - t
    agree = Counter(reference) == Counter(naive.engine_rows(result.violations))
    print(f"naive reference: {naive_s:.2f} s; speed-up over the engine's median: "
          f"{naive_s / statistics.median(warm):.0f}x (best: {naive_s / min(warm):.0f}x); "
          f"engine and reference agree: {agree}")


if __name__ == "__main__":
    main()
