"""Generate an Alembic migration by comparing the models with the newest schema.

    .venv/bin/python tools/new_migration.py "add swap tables" 0002
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    message, rev_id = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/base.sqlite")
        cfg = Config()
        cfg.set_main_option("script_location", str(ROOT / "core/store/migrations"))
        cfg.attributes["engine"] = engine
        command.upgrade(cfg, "head")
        command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)


if __name__ == "__main__":
    main()
