#!/usr/bin/env python3
"""Set up and run the project with one command (standard library only; Python 3.11+;
Linux, macOS, Windows).

    python3 tools/dev.py run [ARGS...]       set up, then start the desktop program (ARGS go to it)
    python3 tools/dev.py test [--all | --slow-only | --packaging] [-- PYTEST ARGS...]
                                             set up, then ruff, mypy (core, strict) and pytest
                                             (--packaging: install PyInstaller, build the bundle, self-test it)
    python3 tools/dev.py setup               only create .venv and install the project

Set-up: `.venv/` is created when missing, and `pip install -e '.[dev]'` runs whenever
pyproject.toml changed since the last install (a stamp file inside .venv remembers it).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
STAMP = VENV / ".rsched-install-stamp"
MIN_PYTHON = (3, 11)
PYTEST_NO_TESTS = 5


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def run(cmd: list[str | Path], **kwargs: object) -> int:
    say("$ " + " ".join(str(c) for c in cmd))
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kwargs)  # type: ignore[arg-type]


def install_stamp() -> str:
    """What the installed environment was built from: pyproject.toml and the Python version."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def setup() -> Path:
    """Create .venv when missing; (re)install the project when pyproject.toml changed."""
    if sys.version_info < MIN_PYTHON:
        sys.exit(f"[dev] Python {'.'.join(map(str, MIN_PYTHON))} or newer is needed; this is {sys.version.split()[0]}.")
    python = venv_python()
    if not python.exists():
        say(f"creating the virtual environment in {VENV}")
        if VENV.exists():
            shutil.rmtree(VENV)  # a half-made environment from an interrupted run
        code = subprocess.call([sys.executable, "-m", "venv", str(VENV)])
        if code != 0 or not python.exists():
            sys.exit("[dev] could not create .venv (on Debian/Ubuntu: apt-get install python3-venv).")
        STAMP.unlink(missing_ok=True)
    wanted = install_stamp()
    if not STAMP.exists() or STAMP.read_text(encoding="utf-8").strip() != wanted:
        say("installing the project and its development tools (pip install -e '.[dev]')")
        code = run([python, "-m", "pip", "install", "--upgrade", "pip"])
        if code == 0:
            code = run([python, "-m", "pip", "install", "-e", ".[dev]"])
        if code != 0:
            sys.exit(f"[dev] the installation failed (exit status {code}).")
        STAMP.write_text(wanted + "\n", encoding="utf-8")
    else:
        say("the environment is up to date")
    return python


def has_display() -> bool:
    """False on a Linux machine without a display server and with no Qt platform chosen."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))


def desktop_ready() -> bool:
    app = ROOT / "desktop" / "app.py"
    return (ROOT / "desktop" / "__main__.py").exists() and app.exists() and "def main(" in app.read_text("utf-8")


def cmd_run(args: list[str]) -> int:
    python = setup()
    if not has_display():
        here = Path(sys.argv[0]).as_posix()
        print(
            "There is no display here (DISPLAY and WAYLAND_DISPLAY are unset), so the desktop program\n"
            "cannot open a window. Either run it under a virtual display:\n\n"
            f"    xvfb-run -a python3 {here} run\n\n"
            "(xvfb-run is in the Debian package xvfb), or use the command line:\n\n"
            f"    {python} -m core --help\n"
            f"    {python} -m core info\n"
        )
        return 0
    if not desktop_ready():
        say("the desktop program is not built yet (desktop/app.py has no main); showing the database instead")
        return run([python, "-m", "core", "info", *args])
    # --demo: a developer's first start opens the demo at once (an installed program shows the welcome screen).
    return run([python, "-m", "desktop", "--demo", *args])


def cmd_test(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dev.py test")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="also run the slow tests")
    which.add_argument("--slow-only", action="store_true", help="run only the slow tests (no ruff/mypy)")
    which.add_argument("--packaging", action="store_true",
                       help="install PyInstaller, then run only the packaging tests (build.spec; no ruff/mypy)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    opts = parser.parse_args(argv)
    python = setup()
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    steps: list[tuple[str, list[str | Path]]] = []
    if opts.packaging:
        steps.append(("pyinstaller", [python, "-m", "pip", "install", "--quiet", "pyinstaller>=6.5"]))
    if not opts.slow_only and not opts.packaging:
        steps.append(("ruff", [python, "-m", "ruff", "check", "."]))
        steps.append(("mypy", [python, "-m", "mypy"]))  # packages and strictness from pyproject.toml
    marker = (["-m", "slow"] if opts.slow_only else ["-m", "packaging"] if opts.packaging
              else ["-m", "not packaging"] if opts.all else [])
    steps.append(("pytest", [python, "-m", "pytest", *marker, *opts.pytest_args]))
    failed: list[str] = []
    for name, cmd in steps:
        code = run(cmd, env=env)
        if code == PYTEST_NO_TESTS and name == "pytest":
            say("pytest collected no tests; that is a failure, not a pass")
        if code != 0:
            failed.append(f"{name} (exit status {code})")
    if failed:
        say("FAILED: " + ", ".join(failed))
        return 1
    say("all passed: " + ", ".join(name for name, _ in steps))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "setup":
        setup()
        return 0
    if command == "run":
        return cmd_run(rest)
    if command == "test":
        return cmd_test(rest)
    print(f"[dev] unknown command {command!r}; use run, test or setup.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
