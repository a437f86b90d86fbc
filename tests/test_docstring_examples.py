"""Every docstring example in the package runs and shows what it says (doctest)."""

import doctest
import importlib
from pathlib import Path

import pytest

import mnistlab

PACKAGE = Path(mnistlab.__file__).parent


def _modules_with_examples() -> list[str]:
    return [
        ".".join(("mnistlab", *path.relative_to(PACKAGE).with_suffix("").parts))
        for path in sorted(PACKAGE.rglob("*.py"))
        if ">>> " in path.read_text(encoding="utf-8")
    ]


def test_the_examples_are_found():
    assert {"mnistlab.api", "mnistlab.uncertainty.conformal"} <= set(_modules_with_examples())


@pytest.mark.parametrize("name", _modules_with_examples())
def test_docstring_examples_run(name, trained_data, tmp_path, monkeypatch, capsys):
    """On the synthetic data and the test run's model cache; files go to tmp_path."""
    monkeypatch.chdir(tmp_path)  # the API's examples write mnistlab-out/ there
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    module = importlib.import_module(name)
    # a function's example uses `mnistlab` as the module's own example imported it
    failed, attempted = doctest.testmod(
        module, extraglobs={"mnistlab": mnistlab}, optionflags=flags
    )
    printed = capsys.readouterr().out
    assert attempted > 0 and failed == 0, printed
