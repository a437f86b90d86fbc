"""The README's "Add a study" example, run as written: saved as a module, added to the registry,
then used through the CLI, the API and the report."""

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from mnistlab.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    section = README.read_text().split("## Add a study", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return code


@pytest.fixture
def per_class(tmp_path, monkeypatch):
    """The example saved as mnistlab.studies.per_class and its STUDY added to STUDIES."""
    from mnistlab.studies import registry

    path = tmp_path / "per_class.py"
    path.write_text(readme_example())
    spec = importlib.util.spec_from_file_location("mnistlab.studies.per_class", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    # The README's one line in registry.py: STUDIES = [..., per_class.STUDY]
    monkeypatch.setattr(registry, "STUDIES", [*registry.STUDIES, module.STUDY])
    return module


def test_readme_example_runs_from_the_cli(trained_data, per_class, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--quiet", "per-class", "--quick", "--dataset", "mnist", "--out", str(out)]
    assert main(argv) == 0
    assert "hardest class" in capsys.readouterr().out
    results = json.loads((out / "per-class" / "results.json").read_text())
    assert len(results["accuracy"]) == 10 and results["options"] == {"dataset": "mnist"}
    assert (out / "per-class" / "per-class.png").stat().st_size > 5000


@pytest.mark.slow
def test_readme_example_in_the_api_and_the_report(
    trained_data, per_class, copy_of_finished_report, tmp_path, capsys
):
    """The added study runs from the API, and a report (into the folder of a finished one
    without it: every other study reused) computes it and shows its section."""
    import mnistlab
    from mnistlab.studies import registry

    assert "per-class" in mnistlab.list_studies()
    result = mnistlab.run_study("per-class", quick=True, out=tmp_path / "api")
    assert 'id="per-class"' in result._repr_html_()
    out = copy_of_finished_report
    assert main(["report", "--quick", "--seeds", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("(reused)") == len(registry.STUDIES) - 1 and "per-class" in printed
    report = json.loads((out / "report" / "results.json").read_text())
    assert "per-class" in report["sections"] and "per-class" in report["studies"]
    assert 'id="per-class"' in (out / "report" / "index.html").read_text()


def test_readme_example_rejects_a_bad_value(synthetic_data, per_class, capsys):
    with pytest.raises(SystemExit) as exit_info:  # argparse's own one-line usage error
        main(["per-class", "--quick", "--dataset", "letters"])
    assert exit_info.value.code == 2 and "invalid choice: 'letters'" in capsys.readouterr().err


def _installed(monkeypatch, value: str, name: str = "per-class"):
    """An installed package whose entry point in `mnistlab.studies` names `value`."""
    import importlib.metadata

    from mnistlab.studies import registry

    point = importlib.metadata.EntryPoint(name=name, value=value, group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(
        importlib.metadata,
        "entry_points",
        lambda group=None: [point] if group == registry.ENTRY_POINT_GROUP else [],
    )
    monkeypatch.setattr(registry, "_ENTRY_POINTS_LOADED", False)
    monkeypatch.setattr(registry, "_PLUGINS", [])


def test_an_installed_package_adds_a_study_to_the_cli(trained_data, tmp_path, monkeypatch, capsys):
    from mnistlab.studies import registry

    path = tmp_path / "my_studies.py"
    path.write_text(readme_example())
    monkeypatch.syspath_prepend(str(tmp_path))
    _installed(monkeypatch, "my_studies:STUDY")
    assert registry.names()[-1] == "per-class"  # after the built-in ones
    out = tmp_path / "out"
    argv = ["--quiet", "per-class", "--quick", "--dataset", "mnist", "--out", str(out)]
    assert main(argv) == 0
    assert "hardest class" in capsys.readouterr().out


@pytest.mark.parametrize(
    "source, says",
    [
        ("raise RuntimeError('broken')\n", "broken"),
        ("STUDY = 3\n", "not a mnistlab Study"),
        (
            "from mnistlab.studies.tutorial import STUDY\n",
            "names a study 'tutorial' that already exists",
        ),
    ],
)
def test_a_broken_study_plugin_is_one_line_naming_it(tmp_path, monkeypatch, capsys, source, says):
    (tmp_path / "bad_studies.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "bad_studies", raising=False)
    _installed(monkeypatch, "bad_studies:STUDY", name="bad")
    assert main(["methods"]) == 2
    error = capsys.readouterr().err
    assert "study plugin 'bad' (bad_studies:STUDY)" in error and says in error
    assert error.count("\n") == 1
