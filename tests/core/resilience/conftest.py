"""Make this folder's helpers importable as `resilience_helpers` (no clash with other test folders)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_FILE = Path(__file__).parent / "helpers.py"
if "resilience_helpers" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("resilience_helpers", _FILE)
    assert _spec is not None and _spec.loader is not None
    _mod = importlib.util.module_from_spec(_spec)
    sys.modules["resilience_helpers"] = _mod
    _spec.loader.exec_module(_mod)
