"""The rsched command: every refusal is one sentence on stderr, exit status 2, nothing changed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

import core.cli as cli
from core.cli import main
from core.commands import default_db_path
from core.store.db import backup_database, list_backups, open_database, session_factory, unit_of_work
from core.store.models import Program

READ_COMMANDS = [["info"], ["info", "--json"], ["check"], ["backup"]]


def snapshot(path: Path) -> bytes | None:
    if path.is_dir() or not path.exists():
        return None
    wal = Path(str(path) + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    return path.read_bytes()


def bad_targets(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    text_file = tmp_path / "notes.sqlite"
    text_file.write_text("these are my notes, not a database\n" * 50)
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE recipes (name TEXT)")
        con.execute("INSERT INTO recipes VALUES ('soup')")
    con.close()
    (tmp_path / "folder.sqlite").mkdir()
    return {
        "missing file": (tmp_path / "nope.sqlite", "does not exist"),
        "missing folder": (tmp_path / "no" / "such" / "db.sqlite", "does not exist"),
        "a folder": (tmp_path / "folder.sqlite", "is a folder"),
        "a text file": (text_file, "is not a program database (not an SQLite file)"),
        "an empty file": (empty, "is an empty file"),
        "someone else's SQLite": (foreign, "is an SQLite file but not a program database"),
    }


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_bad_paths_give_one_sentence_and_exit_2(command: list[str], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    for name, (path, expected) in bad_targets(tmp_path).items():
        before = snapshot(path)
        capsys.readouterr()
        assert main([*command, "--db", str(path)]) == 2, name
        out, err = capsys.readouterr()
        assert expected in err, (name, err)
        assert err.count("\n") == 1 and err.rstrip().endswith("."), (name, err)
        assert "Traceback" not in err and out == ""
        assert snapshot(path) == before, name
        assert not path.with_name(path.name + ".backups").exists(), name


def test_export_from_bad_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    for name, (path, expected) in bad_targets(tmp_path).items():
        capsys.readouterr()
        assert main(["export-json", "--db", str(path), "-o", str(out)]) == 2, name
        assert expected in capsys.readouterr().err
        assert not out.exists()


def test_a_newer_schema_is_refused_by_every_command(db_path: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(db_path) as con:
        con.execute("UPDATE app_meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    before = snapshot(db_path)
    for command in [*READ_COMMANDS, ["export-json", "-o", str(tmp_path / "x.json")]]:
        capsys.readouterr()
        status = main([*command, "--db", str(db_path)])
        err = capsys.readouterr().err
        if command == ["backup"]:
            # Copying a newer file is harmless and may be exactly what its owner wants.
            assert status == 0, err
            continue
        assert status == 2, command
        assert "newer version of the program" in err and err.count("\n") == 1
        assert snapshot(db_path) == before


def test_import_into_a_text_file_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "p.json"
    src.write_text('{"format": "residency-scheduler-program", "format_version": 1}')
    target = bad_targets(tmp_path)["a text file"][0]
    before = snapshot(target)
    assert main(["import-json", str(src), "--db", str(target)]) == 2
    assert snapshot(target) == before
    assert main(["import-json", str(tmp_path / "missing.json"), "--db", str(tmp_path / "new.sqlite")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "new.sqlite").exists()


def test_info_json_counts_and_range(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from tests.helpers.small_program import build_small_program

    opened = open_database(db_path)
    with unit_of_work(session_factory(opened.engine)) as s:
        build_small_program(s)
    opened.engine.dispose()
    capsys.readouterr()
    assert main(["info", "--json", "--db", str(db_path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["tables"]["person"] == 6 and info["tables"]["block"] == 13
    assert info["assignments"] == {"first": "2026-07-01", "last": "2026-07-07"}
    assert info["rule_set"] == 2 and info["schema_version"] >= 1
    assert [p["name"] for p in info["programs"]] == ["Small Family Medicine"]
    assert info["programs"][0]["academic_years"] == [2026]


def test_check_backup_and_restore(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    opened = open_database(db_path)
    with unit_of_work(session_factory(opened.engine)) as s:
        s.add(Program(name="Kept"))
    opened.engine.dispose()
    assert main(["check", "--db", str(db_path)]) == 0
    assert "quick_check ok" in capsys.readouterr().out
    assert main(["restore", "--db", str(db_path)]) == 2
    assert "No sound backup" in capsys.readouterr().err
    assert main(["backup", "--db", str(db_path)]) == 0
    assert len(list_backups(db_path)) == 1
    # Damage the file, then: check says so and offers the restore; restore brings the backup back.
    data = bytearray(db_path.read_bytes())
    with sqlite3.connect(f"file:{list_backups(db_path)[0]}?mode=ro", uri=True) as con:
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name='program'").fetchone()[0]
    con.close()
    data[(root - 1) * 4096 : root * 4096] = b"\xa5" * 4096
    db_path.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["check", "--db", str(db_path)]) == 1
    out = capsys.readouterr().out
    assert "integrity check FAILED" in out and f"rsched restore --db {db_path}" in out
    assert main(["info", "--db", str(db_path)]) == 2
    assert "failed its integrity check" in capsys.readouterr().err
    assert main(["restore", "--db", str(db_path)]) == 0
    assert main(["check", "--db", str(db_path)]) == 0
    with sqlite3.connect(db_path) as con:
        assert con.execute("SELECT name FROM program").fetchall() == [("Kept",)]
    con.close()
    # A second restore still picks the sound backup, not the copy taken just before the first one.
    assert main(["restore", "--db", str(db_path)]) == 0
    assert "-manual.sqlite" in capsys.readouterr().out


def test_backup_to_a_chosen_folder(db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "safe"
    assert main(["backup", "--db", str(db_path), "--to", str(dest)]) == 0
    [copy] = list(dest.glob("*.sqlite"))
    assert main(["restore", str(copy), "--db", str(tmp_path / "restored.sqlite")]) == 0
    assert main(["check", "--db", str(tmp_path / "restored.sqlite")]) == 0
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    capsys.readouterr()
    assert main(["backup", "--db", str(db_path), "--to", str(a_file)]) == 2
    assert capsys.readouterr().err.strip() == f"{a_file} is a file, not a folder for backups."


def test_the_default_database_is_in_the_user_data_folder() -> None:
    from platformdirs import user_data_dir

    path = default_db_path()
    assert path.name == "program.sqlite"
    assert path.parent == Path(user_data_dir("ResidencyScheduler", appauthor=False))
    assert Path(cli.__file__).resolve().parents[1] not in path.parents  # never the install folder


def test_db_option_before_or_after_the_command(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db_path), "info"]) == 0
    assert main(["info", "--db", str(db_path)]) == 0
    assert capsys.readouterr().out.count(str(db_path)) == 2


def test_missing_and_broken_command_modules(monkeypatch: pytest.MonkeyPatch, db_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    broken = types.ModuleType("core.commands.broken_for_test")

    def register(subparsers: object) -> None:
        raise RuntimeError("boom")

    broken.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "core.commands.broken_for_test", broken)
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["core.commands.db", "core.commands.not_written_yet",
                                                 "core.commands.broken_for_test"])
    with pytest.raises(RuntimeError):
        cli.build_parser()  # a module that imports but whose register() fails is a plain bug
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["core.commands.db", "core.commands.not_written_yet"])
    assert main(["info", "--db", str(db_path)]) == 0
    assert capsys.readouterr().err == ""


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: rsched" in capsys.readouterr().err


def test_python_dash_m_core_runs(tmp_path: Path, new_db: Callable[[Path], Path]) -> None:
    path = new_db(tmp_path / "p.sqlite")
    done = subprocess.run([sys.executable, "-m", "core", "info", "--db", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "No program yet." in done.stdout


def test_backup_of_a_newer_file_and_restore_refuses_it(db_path: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    newer = tmp_path / "newer.sqlite"
    newer.write_bytes(db_path.read_bytes())
    with sqlite3.connect(newer) as con:
        con.execute("UPDATE app_meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    backup = backup_database(newer, tmp_path / "b", keep=0)
    before = snapshot(db_path)
    capsys.readouterr()
    assert main(["restore", str(backup), "--db", str(db_path)]) == 2
    assert "newer version of the program" in capsys.readouterr().err
    assert snapshot(db_path) == before
