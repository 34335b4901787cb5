"""desktop.app.preload_core: the first program load's modules imported on a thread at start-up."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_preload_imports_the_core_modules_on_its_own_thread() -> None:
    # A fresh interpreter: in this test process the modules are imported already.
    code = (
        "import sys, threading\n"
        "from desktop.app import PRELOAD_MODULES, preload_core\n"
        "before = [m for m in PRELOAD_MODULES if m in sys.modules]\n"
        "thread = preload_core()\n"
        "assert thread is not threading.current_thread() and thread.daemon\n"
        "thread.join(120)\n"
        "print(before, [m for m in PRELOAD_MODULES if m not in sys.modules])\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[] []", run.stdout


def test_preload_ignores_an_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop import app

    failures: list[object] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: failures.append(args))
    monkeypatch.setattr(app, "PRELOAD_MODULES", ("core.no_such_module_for_the_test", "core.errors"))
    app.preload_core().join(30)
    assert failures == []
    assert "core.no_such_module_for_the_test" not in sys.modules
