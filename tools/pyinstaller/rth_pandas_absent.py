"""PyInstaller runtime hook (build.spec): a stand-in for pandas, which the bundle leaves out.

OR-Tools' `ortools.sat.python.cp_model` imports pandas at module level, but uses it only in its
pandas helpers (`new_int_var_series`, `CpSolver.values`/`boolean_values` and the like, typed with
`pd.Index`/`pd.Series`), which the program does not call. pandas would be 22 MB of the bundle.

The finder is appended to `sys.meta_path`, so it answers only when no real pandas is found, and only
once something imports pandas (so `sys.modules` has no "pandas" before that). Its `Index`, `Series` and
`DataFrame` exist for annotations and `isinstance` checks; making one raises ImportError, so a use of
the pandas helpers fails loudly instead of silently doing something else.
"""

from __future__ import annotations

import sys
import types
from importlib.machinery import ModuleSpec
from typing import Any

MESSAGE = "pandas is not part of the bundled Residency Scheduler (build.spec leaves it out)"


class _Absent:
    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise ImportError(MESSAGE)


class _PandasStandIn:
    """Finder and loader of the stand-in module."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        return ModuleSpec(name, self) if name == "pandas" else None

    def create_module(self, spec: ModuleSpec) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        module.__doc__ = MESSAGE
        for name in ("Index", "Series", "DataFrame"):
            setattr(module, name, type(name, (_Absent,), {"__module__": "pandas"}))


sys.meta_path.append(_PandasStandIn())
