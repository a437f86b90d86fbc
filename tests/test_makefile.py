"""The Makefile's environment: an unsupported Python is one clear line before pip runs, and a
failed install leaves no half-made environment for the next `make` to reuse."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _fake_python(folder: Path, version: str, *, venv_fails: bool = False) -> Path:
    """A `python3` that reports `version`, passes the version check when it is supported, and
    makes a venv whose pip fails (the install step's failure, without touching the network)."""
    major, minor = (int(x) for x in version.split(".")[:2])
    supported = (3, 11) <= (major, minor) <= (3, 13)
    script = folder / "python3"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-V" ]; then echo "Python {version}"; exit 0; fi\n'
        f'if [ "$1" = "-c" ]; then exit {0 if supported else 1}; fi\n'
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin"; '
        f"printf '#!/bin/sh\\nexit {1 if venv_fails else 0}\\n' > \"$3/bin/python\"; "
        'chmod +x "$3/bin/python"; exit 0; fi\n'
        "exit 1\n"
    )
    script.chmod(0o755)
    return script


def _make_venv(tmp_path: Path, python: Path) -> subprocess.CompletedProcess:
    venv = tmp_path / "venv"
    return subprocess.run(
        ["make", "-s", "-C", str(ROOT), "venv", f"PYTHON={python}", f"VENV={venv}"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_3_10_is_one_clear_line_before_pip(tmp_path):
    done = _make_venv(tmp_path, _fake_python(tmp_path, "3.10.13"))
    assert done.returncode != 0
    first = done.stderr.strip().splitlines()[0]
    assert "mnistlab needs Python 3.11, 3.12 or 3.13" in first and "Python 3.10.13" in first
    assert "make venv PYTHON=python3.11" in first
    assert not (tmp_path / "venv").exists()  # nothing made, pip never ran


def test_a_failed_install_removes_the_half_made_environment(tmp_path):
    done = _make_venv(tmp_path, _fake_python(tmp_path, "3.12.1", venv_fails=True))
    assert done.returncode != 0
    assert "the half-made" in done.stderr and "run make again" in done.stderr
    assert not (tmp_path / "venv").exists()  # the next make starts clean
