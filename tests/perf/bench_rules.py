"""Benchmark of the compliance engine (not collected by pytest).

    .venv/bin/python tests/perf/bench_rules.py [--size large|typical] [--edits 300] [--repeat 20]
        [--baseline GIT_REF] [--snapshot FILE.pickle]

Builds the demo program (core.demo) for a full academic year in a temporary database, then measures
side by side in one run:
1. full validation of the year (`core.rules.engine.validate`): the first call (building the
   per-snapshot lookup tables) and the steady state (best and median of --repeat calls);
2. the incremental check of one slot edit (`check_change`): median and 95th percentile over
   --edits random edits of one resident's slot;
3. the naive reference of tests/core/rules/naive.py on the same snapshot, and the speed-up.
Also checks that engine and naive reference agree on the demo.

Every figure is given as wall-clock time and as CPU time of the measuring thread
(`time.thread_time`): on a shared machine the CPU time is the steadier one. With --baseline (default
HEAD), the engine of that git commit (core/rules/duty.py, engine.py, faculty.py, loaded as a
separate package) is measured in the same run, interleaved call by call with the current one, and
the ratio baseline / current is printed. --snapshot caches the demo snapshot in a pickle file.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import pathlib
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
import types
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


def load_baseline(ref: str) -> types.SimpleNamespace:
    """The compliance engine of git commit `ref`, as a separate package `baseline_rules`."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="bench_rules_baseline_")) / "baseline_rules"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    for name in ("duty", "engine", "faculty"):
        text = subprocess.run(["git", "show", f"{ref}:core/rules/{name}.py"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout
        for other in ("duty", "engine", "faculty"):
            text = text.replace(f"core.rules.{other}", f"baseline_rules.{other}")
        (folder / f"{name}.py").write_text(text)
    sys.path.insert(0, str(folder.parent))
    import baseline_rules.engine as engine  # type: ignore[import-not-found]

    return types.SimpleNamespace(validate=engine.validate, check_change=engine.check_change,
                                 ProposedChange=engine.ProposedChange)


def timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.thread_time()
    value = fn()
    return value, time.perf_counter() - wall, time.thread_time() - cpu


def fresh(snap):  # type: ignore[no-untyped-def]
    """A new snapshot object with copies of the schedule arrays (no per-object cache applies)."""
    return dataclasses.replace(snap, codes=snap.codes.copy(), call=snap.call.copy())


def ms(xs: list[float]) -> str:
    return f"best {min(xs) * 1000:.1f} / median {statistics.median(xs) * 1000:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="large")
    ap.add_argument("--edits", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--baseline", default="HEAD", help="git ref of the engine to compare with ('' = none)")
    ap.add_argument("--snapshot", default="", help="pickle file caching the demo snapshot")
    ap.add_argument("--no-naive", action="store_true")
    args = ap.parse_args()

    from core.rules.engine import ProposedChange, check_change, validate

    engines = {"current": types.SimpleNamespace(validate=validate, check_change=check_change,
                                                ProposedChange=ProposedChange)}
    if args.baseline:
        engines["baseline"] = load_baseline(args.baseline)

    t0 = time.perf_counter()
    cache = pathlib.Path(args.snapshot) if args.snapshot else None
    if cache and cache.exists():
        snap = pickle.loads(cache.read_bytes())
    else:
        snap = demo_snapshot(args.size)
        if cache:
            cache.write_bytes(pickle.dumps(snap))
    print(f"demo '{args.size}': {snap.n_people} people x {snap.n_days} days "
          f"({snap.start} - {snap.end}), ready in {time.perf_counter() - t0:.1f} s")

    # 1. full validation: first call ever (lookup tables built), then steady state on one snapshot,
    #    then on a fresh snapshot object each time (what the editor sees after every edit).
    results = {}
    for name, eng in engines.items():
        results[name], w, c = timed(lambda: eng.validate(snap))  # noqa: B023
        print(f"[{name}] full validation, first call: wall {w * 1000:.1f} ms, CPU {c * 1000:.1f} ms "
              f"({len(results[name].violations)} violations)")
    if "baseline" in results:
        def rows(r):  # type: ignore[no-untyped-def]
            return Counter(tuple(v.to_dict().items()) for v in r.violations)

        assert rows(results["baseline"]) == rows(results["current"]), "the two engines differ"
        print("baseline and current report the same violations: True")
    steady: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in engines}
    new_snap: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in engines}
    for _ in range(args.repeat):
        for name, eng in engines.items():
            _, w, c = timed(lambda: eng.validate(snap))  # noqa: B023
            steady[name][0].append(w)
            steady[name][1].append(c)
            other = fresh(snap)
            _, w, c = timed(lambda: eng.validate(other))  # noqa: B023
            new_snap[name][0].append(w)
            new_snap[name][1].append(c)
    for label, table in (("same snapshot", steady), ("fresh snapshot object", new_snap)):
        for name in engines:
            wall, cpu = table[name]
            print(f"[{name}] full validation, {label}: wall {ms(wall)}; CPU {ms(cpu)}")
        if "baseline" in table:
            bw, bc = table["baseline"]
            cw, cc = table["current"]
            print(f"  ratio baseline/current ({label}, on medians): wall "
                  f"{statistics.median(bw) / statistics.median(cw):.2f}x, CPU "
                  f"{statistics.median(bc) / statistics.median(cc):.2f}x")

    # 2. incremental check of one slot edit, same random edits for every engine, interleaved.
    rng = np.random.default_rng(0)
    residents = [p.id for p in snap.people if p.kind == "resident"]
    acts = [a.id for a in snap.activities]
    inc: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in engines}
    for _ in range(args.edits):
        edit = (residents[int(rng.integers(len(residents)))], snap.date_of(int(rng.integers(snap.n_days))),
                int(rng.integers(2)), acts[int(rng.integers(len(acts)))])
        for name, eng in engines.items():
            change = eng.ProposedChange(assignments=(edit,))
            _, w, c = timed(lambda: eng.check_change(snap, change))  # noqa: B023
            inc[name][0].append(w)
            inc[name][1].append(c)
    for name in engines:
        wall, cpu = sorted(inc[name][0]), sorted(inc[name][1])
        p95 = int(0.95 * len(wall))
        print(f"[{name}] incremental check of one slot edit ({len(wall)} edits): wall median "
              f"{statistics.median(wall) * 1000:.2f} ms, p95 {wall[p95] * 1000:.2f} ms; CPU median "
              f"{statistics.median(cpu) * 1000:.2f} ms, p95 {cpu[p95] * 1000:.2f} ms")
    if "baseline" in inc:
        print(f"  ratio baseline/current (medians): wall "
              f"{statistics.median(inc['baseline'][0]) / statistics.median(inc['current'][0]):.2f}x, CPU "
              f"{statistics.median(inc['baseline'][1]) / statistics.median(inc['current'][1]):.2f}x")
    # the check on a new snapshot object nobody validated (what the editor has after an edit): each
    # person's "before" comes from the content cache filled by the other snapshot, the slots' are computed
    cold_w, cold_c = [], []
    for _ in range(min(args.edits, 50)):
        other = fresh(snap)
        edit = (residents[int(rng.integers(len(residents)))], snap.date_of(int(rng.integers(snap.n_days))),
                int(rng.integers(2)), acts[int(rng.integers(len(acts)))])
        _, w, c = timed(lambda: check_change(other, ProposedChange(assignments=(edit,))))  # noqa: B023
        cold_w.append(w)
        cold_c.append(c)
    print(f"[current] incremental check on a fresh snapshot object, not itself validated ({len(cold_w)}): wall median "
          f"{statistics.median(cold_w) * 1000:.2f} ms; CPU median {statistics.median(cold_c) * 1000:.2f} ms")

    if not args.no_naive:
        helpers_dir = ROOT / "tests" / "core" / "rules"
        load("rules_helpers", helpers_dir / "helpers.py")
        naive = load("rules_naive", helpers_dir / "naive.py")
        reference, naive_w, naive_c = timed(lambda: naive.naive_violations(snap))
        agree = Counter(reference) == Counter(naive.engine_rows(results["current"].violations))
        cw, cc = steady["current"]
        print(f"naive reference: wall {naive_w:.2f} s, CPU {naive_c:.2f} s; speed-up over the engine's median: "
              f"wall {naive_w / statistics.median(cw):.0f}x, CPU {naive_c / statistics.median(cc):.0f}x; "
              f"engine and reference agree: {agree}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; cpus: {os.cpu_count()}")


if __name__ == "__main__":
    main()
