"""The PyInstaller bundle, built from a clean checkout of HEAD, passes its own --self-test.

Slow (a build takes minutes): marked `packaging`, run by .ci/run as its own step
(`python3 tools/dev.py test --packaging`). Needs PyInstaller in the venv (`pip install -e '.[packaging]'`).
Set RSCHED_KEEP_BUNDLE=DIR to keep the built bundle (copied to DIR) for measuring it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(3600)]

ROOT = Path(__file__).resolve().parents[2]
NAME = "ResidencyScheduler"


def _pyinstaller() -> Path:
    exe = Path(sys.executable).with_name("pyinstaller.exe" if os.name == "nt" else "pyinstaller")
    if not exe.exists():
        pytest.fail(f"PyInstaller is not installed in {Path(sys.executable).parent.parent}: "
                    ".venv/bin/pip install -e '.[packaging]'")
    return exe


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("bundle")
    checkout = work / "checkout"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(checkout)], check=True, timeout=300)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    subprocess.run(["git", "checkout", "--quiet", head.strip()], cwd=checkout, check=True)
    log = work / "pyinstaller.log"
    with log.open("w") as out:
        built = subprocess.run([str(_pyinstaller()), "build.spec", "--noconfirm", "--clean"], cwd=checkout,
                               stdout=out, stderr=subprocess.STDOUT, timeout=3000)
    assert built.returncode == 0, log.read_text()[-4000:]
    folder = checkout / "dist" / NAME
    keep = os.environ.get("RSCHED_KEEP_BUNDLE")
    if keep:
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(folder, keep, symlinks=True)
    return folder


def test_bundle_self_test_passes(bundle: Path, tmp_path: Path) -> None:
    exe = bundle / (NAME + (".exe" if os.name == "nt" else ""))
    assert exe.is_file()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               MPLCONFIGDIR=str(tmp_path / "mpl"))
    run = subprocess.run([str(exe), "--self-test"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    lines = [line for line in run.stdout.splitlines() if line.startswith("self-test ")]
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(lines) == 1 and lines[0].startswith("self-test passed: "), run.stdout + run.stderr
    for step in ("qt ", "database ", "demo ", "validate ", "analysis ", "generate ", "export "):
        assert step in lines[0]


def test_bundle_contents(bundle: Path) -> None:
    internal = bundle / "_internal"
    assert (internal / "core" / "store" / "migrations" / "script.py.mako").is_file()
    assert list((internal / "core" / "store" / "migrations" / "versions").glob("*.py"))
    assert (internal / "resources" / "residency-scheduler.png").is_file()
    assert (internal / "resources" / "residency-scheduler.desktop").is_file()
    names = {p.name for p in internal.rglob("*")}
    assert not any(n.startswith(("_tkinter", "libtk", "libtcl")) for n in names), "Tk was bundled"
    assert not (internal / "_tcl_data").exists() and not (internal / "tkinter").exists(), "Tk was bundled"
    assert not (internal / "keyrings").exists(), "a plain-text keyring backend was bundled"
    plugins = internal / "PySide6" / "Qt" / "plugins"
    platforms = {p.name for p in (plugins / "platforms").iterdir()}
    if sys.platform.startswith("linux"):
        assert {"libqoffscreen.so", "libqminimal.so", "libqxcb.so"} <= platforms
        assert not {"libqvnc.so", "libqlinuxfb.so", "libqeglfs.so"} & platforms
    assert (plugins / "imageformats").is_dir() and (plugins / "printsupport").is_dir()
