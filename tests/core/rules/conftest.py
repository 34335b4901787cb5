"""Make this folder's helper modules importable under names no other test folder uses."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_HERE = Path(__file__).parent
for _module, _file in (
    ("rules_helpers", "helpers.py"),
    ("rules_naive", "naive.py"),
    ("rules_random", "random_schedules.py"),
):
    if _module not in sys.modules and (_HERE / _file).exists():
        _spec = importlib.util.spec_from_file_location(_module, _HERE / _file)
        assert _spec is not None and _spec.loader is not None
        _mod = importlib.util.module_from_spec(_spec)
        sys.modules[_module] = _mod
        _spec.loader.exec_module(_mod)
