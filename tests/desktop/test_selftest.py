"""desktop.selftest (the bundle's --self-test), run in-process; and the --self-test flag."""

from __future__ import annotations

import io

import pytest

from desktop import selftest


def test_self_test_passes_every_step(qapp):
    out, err = io.StringIO(), io.StringIO()
    code = selftest.run(out=out, err=err, generation_seconds=3.0)
    line = out.getvalue().strip()
    assert code == 0, line + err.getvalue()
    assert "\n" not in line and line.startswith("self-test passed: ")
    for name, _step in selftest.STEPS:
        assert f"{name} " in line
    assert "block 1 " in line and "xlsx " in line and "N-1 block 1 pass" in line


def test_self_test_names_the_failing_step(qapp, monkeypatch):
    from core.errors import ValidationError

    def broken(_test):
        raise ValidationError("The solver could not start.")

    monkeypatch.setattr(selftest, "STEPS", (("database", selftest.SelfTest.database), ("generate", broken)))
    out, err = io.StringIO(), io.StringIO()
    assert selftest.run(out=out, err=err) == 1
    assert out.getvalue().strip() == \
        "self-test FAILED at step 'generate': ValidationError: The solver could not start."
    assert "Traceback" in err.getvalue()


@pytest.mark.parametrize("code", [0, 1])
def test_self_test_flag_runs_the_self_test_and_returns_its_code(monkeypatch, code):
    from desktop import app

    calls = []
    monkeypatch.setattr(selftest, "run", lambda: calls.append(1) or code)
    assert app.main(["--self-test"]) == code
    assert calls == [1]
