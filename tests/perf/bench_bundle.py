"""Packaged program benchmark (not collected by pytest; figures go into docs/performance.md,
"Packaged program").

    .venv/bin/python tests/perf/bench_bundle.py [--bundle DIR] [--db FILE] [--runs N] [--no-source]

Needs a built bundle (`.venv/bin/pyinstaller build.spec`, or the packaging test with
RSCHED_KEEP_BUNDLE=DIR). Measures:
1. the bundle's size: bytes of its files (symbolic links not followed, as `du` counts them), in MiB,
   with the twelve largest entries of `_internal/`;
2. start to an interactive window: the bundled executable with `--db FILE --measure-startup`
   (Qt offscreen, a fresh HOME each run), which prints the seconds from process start until the main
   window is shown, the program's current block is painted and the event loop is idle, and the process CPU
   time by then, and (Linux) how long its threads waited for a CPU (/proc schedstat: on a shared
   machine most of the wall time); median of N runs. FILE defaults to a typical demo built once by
   the bundle itself;
3. start to the welcome screen (first start, no program), the same way;
4. for comparison in the same run (a ratio that the machine's load affects less), the same start from
   the source tree (`python -m desktop`), unless --no-source.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAME = "ResidencyScheduler"
LINE = re.compile(r"^startup: interactive window after ([0-9.]+) s \((.*); process CPU ([0-9.]+) s\)$", re.M)
MIB = 1024 * 1024


def size_of(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size if not path.is_symlink() else 0
    return sum(size_of(p) for p in path.iterdir())


def fresh_user(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(QT_QPA_PLATFORM="offscreen", HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
               XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"),
               MPLCONFIGDIR=str(home / "mpl"), LANG=os.environ.get("LANG", "C.UTF-8"))
    return env


def runqueue_wait(pid: int, seen: dict[str, float]) -> None:
    """Linux: the seconds each thread of `pid` has waited for a CPU so far (/proc/PID/task/*/schedstat)."""
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            seen[stat.parent.name] = int(stat.read_text().split()[1]) / 1e9
        except (OSError, ValueError, IndexError):
            pass


def start(command: list[str], work: Path) -> tuple[float, float, float, str]:
    """(seconds to the interactive window, process CPU seconds by then, seconds its threads waited for
    a CPU until the process exited (0 where /proc has no schedstat), what was shown)."""
    home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
    waits: dict[str, float] = {}
    try:
        env = fresh_user(home)
        if command[0] == sys.executable:
            env["PYTHONPATH"] = str(ROOT)
        with subprocess.Popen(command, cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) as proc:
            while proc.poll() is None:
                runqueue_wait(proc.pid, waits)
                time.sleep(0.02)
            stdout, stderr = proc.communicate(timeout=300)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    found = LINE.search(stdout)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"{' '.join(command)} failed (exit {proc.returncode}):\n{stdout}\n{stderr}")
    return float(found.group(1)), float(found.group(3)), sum(waits.values()), found.group(2)


def series(label: str, command: list[str], runs: int, work: Path) -> list[float]:
    walls, cpus, waits = [], [], []
    shown = ""
    for _ in range(runs):
        wall, cpu, wait, shown = start(command, work)
        walls.append(wall)
        cpus.append(cpu)
        waits.append(wait)
    print(f"{label}: median {statistics.median(walls):.2f} s (runs {' / '.join(f'{w:.2f}' for w in walls)}), "
          f"process CPU median {statistics.median(cpus):.2f} s, threads' wait for a CPU (to exit) median "
          f"{statistics.median(waits):.2f} s; {shown}", flush=True)
    return walls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / NAME)
    parser.add_argument("--db", type=Path, help="the program to open (default: a typical demo built by the bundle)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-source", action="store_true", help="skip the comparison with the source tree")
    args = parser.parse_args()
    exe = args.bundle / (NAME + (".exe" if os.name == "nt" else ""))
    if not exe.is_file():
        raise SystemExit(f"no bundle at {args.bundle}: .venv/bin/pyinstaller build.spec")
    try:
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    print(f"machine: {os.cpu_count()} CPUs, load average {load}")

    total = size_of(args.bundle)
    print(f"bundle size: {total / MIB:.0f} MiB ({total / 1e6:.0f} MB) in {args.bundle}")
    internal = args.bundle / "_internal"
    if internal.is_dir():
        parts = sorted(((size_of(p), p.name) for p in internal.iterdir()), reverse=True)[:12]
        print("  largest: " + ", ".join(f"{name} {size / MIB:.1f}" for size, name in parts))
    exe_size = exe.stat().st_size
    print(f"  executable with the Python archive: {exe_size / MIB:.1f} MiB")

    with tempfile.TemporaryDirectory(prefix="bench-bundle-") as tmp:
        work = Path(tmp)
        db = args.db
        if db is None:
            db = work / "typical.sqlite"
            home = work / "demo-home"
            home.mkdir()
            built = subprocess.run([str(exe), "--demo", "--measure-startup"], cwd=home, env=fresh_user(home),
                                   capture_output=True, text=True, timeout=600)
            made = list((home / "data").rglob("program.sqlite"))
            if built.returncode != 0 or not made:
                raise SystemExit(f"building the demo failed:\n{built.stdout}\n{built.stderr}")
            shutil.copy2(made[0], db)
        else:
            shutil.copy2(db, work / "program.sqlite")
            db = work / "program.sqlite"
        bundled = series("bundle, start to an interactive window (program open)",
                         [str(exe), "--db", str(db), "--measure-startup"], args.runs, work)
        series("bundle, start to the welcome screen (first start)", [str(exe), "--measure-startup"],
               args.runs, work)
        if not args.no_source:
            source = series("source tree (python -m desktop), same program",
                            [sys.executable, "-m", "desktop", "--db", str(db), "--measure-startup"], args.runs, work)
            print(f"ratio bundle / source (medians): {statistics.median(bundled) / statistics.median(source):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
