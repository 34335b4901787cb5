"""The layering rule (DESIGN.md principle 1): core never imports PySide6, desktop or server;
server never imports desktop. Checked on the source with ast, so lazy imports count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top in forbidden:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


def test_core_imports_no_qt_desktop_or_server() -> None:
    assert (ROOT / "core").is_dir()
    assert violations("core", ("PySide6", "shiboken6", "desktop", "server")) == []


def test_server_never_imports_desktop() -> None:
    if not (ROOT / "server").is_dir():
        pytest.fail("server/ package is missing")
    assert violations("server", ("desktop", "PySide6")) == []


def test_the_scanner_sees_every_import_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import PySide6.QtCore\n"
        "from desktop import app\n"
        "def f():\n"
        "    from server.api import x\n"
        "    import importlib; importlib.import_module('desktop.views')\n"
        "from . import sibling\n",
        encoding="utf-8",
    )
    assert [m for _, m in imported_modules(sample)] == [
        "PySide6.QtCore", "desktop", "server.api", "importlib", "desktop.views",
    ]
