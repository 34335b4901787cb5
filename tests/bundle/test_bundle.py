"""The PyInstaller bundle, built from a clean checkout of HEAD, passes its own --self-test and opens
its main window (offscreen) on the demo program.

Slow (a build takes minutes): marked `packaging`, run by .ci/run as its own step
(`python3 tools/dev.py test --packaging`). Needs PyInstaller in the venv (`pip install -e '.[packaging]'`).
Set RSCHED_KEEP_BUNDLE=DIR to keep the built bundle (copied to DIR) for measuring it.
"""

from __future__ import annotations

import os
import re
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


def _executable(bundle: Path) -> Path:
    exe = bundle / (NAME + (".exe" if os.name == "nt" else ""))
    assert exe.is_file()
    return exe


def _fresh_user(home: Path) -> dict[str, str]:
    """The environment of a user who never ran the program (no Python variables of this venv)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(QT_QPA_PLATFORM="offscreen", HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
               XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"),
               MPLCONFIGDIR=str(home / "mpl"))
    return env


def test_bundle_self_test_passes(bundle: Path, tmp_path: Path) -> None:
    run = subprocess.run([str(_executable(bundle)), "--self-test"], cwd=tmp_path, env=_fresh_user(tmp_path),
                         capture_output=True, text=True, timeout=600)
    lines = [line for line in run.stdout.splitlines() if line.startswith("self-test ")]
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(lines) == 1 and lines[0].startswith("self-test passed: "), run.stdout + run.stderr
    for step in ("qt ", "database ", "demo ", "validate ", "analysis ", "processes ", "generate ", "export "):
        assert step in lines[0]


def test_bundle_opens_the_main_window_on_the_demo(bundle: Path, tmp_path: Path) -> None:
    """A first start with --demo builds the demo program and opens it; --measure-startup quits once
    the current block is painted and the event loop is idle (exit status 1 if the program failed to
    open)."""
    run = subprocess.run([str(_executable(bundle)), "--demo", "--measure-startup"], cwd=tmp_path,
                         env=_fresh_user(tmp_path), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^startup: interactive window after [0-9.]+ s \(block [0-9]+ shown; ", run.stdout, re.M), \
        run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr


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
    # Left out for size (build.spec): pandas (a stand-in answers OR-Tools' import), the GTK platform
    # theme with the GTK stack it would pull in, and the CUPS client library (the system's is used).
    assert not (internal / "pandas").exists(), "pandas was bundled"
    if sys.platform.startswith("linux"):
        assert not (plugins / "platformthemes" / "libqgtk3.so").exists()
        assert not any(n.startswith(("libgtk-3.so", "libcairo.so", "libcups.so")) for n in names)


# Run by the source tree's Python with the bundle's ICU data library put first on the library path
# (LD_LIBRARY_PATH wins over the RUNPATH of the venv's Qt, the same PySide6 wheel the bundle holds):
# what the program relies on behaves as with ICU's full data, and what the stub gives up is gone.
_ICU_PROBE = r"""
import hashlib, sys
from PySide6.QtCore import QLocale, QStringDecoder, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QLabel
messages = []
qInstallMessageHandler(lambda kind, context, text: messages.append(text))
app = QApplication([])
label = QLabel("Zoë Émile Ærøskøbing, 张伟, สมชาย ใจดี, Ελένη, Юлия")
label.adjustSize()
image = label.grab().toImage()
print("pixels", hashlib.sha1(bytes(image.constBits())).hexdigest(), label.width())
print("upper", QLocale("tr_TR").toUpper("istanbul"), QLocale("en_US").toUpper("straße émile"),
      QLocale("el_GR").toLower("ΣΑΣ"))
print("utf8", QStringDecoder("UTF-8").isValid(), QStringDecoder("ISO-8859-1").isValid())
print("shift-jis", QStringDecoder("Shift-JIS").isValid())
print("messages", messages)
"""


def test_bundle_icu_data_is_the_stub(bundle: Path, tmp_path: Path) -> None:
    """build.spec replaces Qt's 32 MB ICU data library by an empty ICU data package on Linux (when a C
    compiler is there; .ci/run installs gcc). Text renders to the same pixels and Qt's case mapping and
    UTF converters work as with the real data; the legacy codepages are what it gives up."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the ICU data stub is built on Linux only (Qt on Windows/macOS ships no ICU data)")
    assert shutil.which("gcc") or shutil.which("cc"), "no C compiler: the bundle kept the real ICU data"
    stubs = list((bundle / "_internal" / "PySide6" / "Qt" / "lib").glob("libicudata.so.*"))
    assert len(stubs) == 1 and stubs[0].stat().st_size < 100_000, stubs
    stub = stubs[0]
    major = stub.name.rsplit(".", 1)[1]
    assert f"icudt{major}_dat".encode() in stub.read_bytes()
    (tmp_path / "stub").mkdir()
    shutil.copy2(stub, tmp_path / "stub" / stub.name)
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    real = subprocess.run([sys.executable, "-c", _ICU_PROBE], env=env, capture_output=True, text=True, timeout=300)
    env["LD_LIBRARY_PATH"] = str(tmp_path / "stub")
    stubbed = subprocess.run([sys.executable, "-c", _ICU_PROBE], env=env, capture_output=True, text=True,
                             timeout=300)
    assert real.returncode == 0 and stubbed.returncode == 0, real.stderr + stubbed.stderr
    assert "shift-jis True" in real.stdout and "shift-jis False" in stubbed.stdout, real.stdout + stubbed.stdout
    same = [line for line in real.stdout.splitlines() if not line.startswith("shift-jis")]
    assert same == [line for line in stubbed.stdout.splitlines() if not line.startswith("shift-jis")]
    assert "upper İSTANBUL STRASSE ÉMILE σας" in stubbed.stdout and "messages []" in stubbed.stdout
