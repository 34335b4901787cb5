"""Files the program ships with: the icon (SVG + 256 px PNG, drawn by tools/make_icon.py) and the Linux
`.desktop` entry. In the PyInstaller bundle they sit next to this module as well (build.spec)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ICON_NAME = "residency-scheduler"


def icon_path(kind: str = "png") -> Path | None:
    """The icon file (`kind` = "png" or "svg"), or None when it is missing."""
    path = HERE / f"{ICON_NAME}.{kind}"
    return path if path.is_file() else None
