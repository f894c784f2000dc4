"""deploy/pick-python: which interpreter `make` makes the venv from.

The candidates here are stand-in interpreters (shell scripts) that answer the script's
two questions: "are you a CPython 3.11 that can make a venv, and where do you live?"
and "how many µs did the workload take?". The machine's own interpreters stay on PATH
(the system directories hold sh and the tools it calls), but the stand-ins report times
no real build reaches, so they win or lose only against each other.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "pick-python"


def _fake(directory: Path, name: str, *, us: int | None, usable: bool = True) -> Path:
    """A stand-in interpreter: ``usable`` says whether it passes the version check;
    ``us`` is the workload time it reports (None: it fails to run the workload)."""
    directory.mkdir(parents=True, exist_ok=True)
    exe = directory / name
    check = 'echo "$0"' if usable else "exit 1"
    timed = f"echo {us}" if us is not None else "exit 1"
    exe.write_text(f'#!/bin/sh\ncase "$2" in\n  *ensurepip*) {check} ;;\n  *) {timed} ;;\nesac\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe


def _pick(*dirs: Path) -> str:
    path = ":".join([*(str(d) for d in dirs), "/usr/bin", "/bin"])
    env = {**os.environ, "PATH": path}
    out = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip()


def test_the_faster_of_two_builds_is_taken(tmp_path: Path) -> None:
    slow = _fake(tmp_path / "a", "python3.11", us=230)
    fast = _fake(tmp_path / "b", "python3.11", us=180)
    picked = _pick(tmp_path / "a", tmp_path / "b")
    # 0.18 ms for the workload: a real build takes about ten times that.
    assert picked != str(slow)
    assert picked == str(fast)


def test_order_on_path_does_not_decide(tmp_path: Path) -> None:
    fast = _fake(tmp_path / "a", "python3", us=90)
    _fake(tmp_path / "b", "python3.11", us=150)
    assert _pick(tmp_path / "b", tmp_path / "a") == str(fast)


def test_builds_that_cannot_make_a_venv_or_run_are_skipped(tmp_path: Path) -> None:
    _fake(tmp_path / "a", "python3.11", us=1, usable=False)  # not 3.11, or no venv module
    _fake(tmp_path / "b", "python3.11", us=None)  # fails on the workload
    ok = _fake(tmp_path / "c", "python3.11", us=100)
    assert _pick(tmp_path / "a", tmp_path / "b", tmp_path / "c") == str(ok)


def test_the_real_interpreter_running_the_tests_qualifies() -> None:
    """With only real interpreters on PATH (the tests' own among them, so that there is
    at least one), the answer is a CPython 3.11 that can make a venv."""
    picked = _pick(Path(sys.executable).parent)
    out = subprocess.run([picked, "-c", "import sys, venv; print(sys.version_info[:2])"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "(3, 11)"
