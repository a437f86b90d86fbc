"""Every registered study, the same way: through the CLI in --quick mode on synthetic data, its
declared models are exactly what it trains, and its report sections render."""

import json

import pytest

from mnistlab.cli import main
from mnistlab.report.render import html_section, markdown_table
from mnistlab.studies.registry import STUDIES, get, names

STUDY_NAMES = [study.name for study in STUDIES]


def test_registry_order_and_names():
    assert names() == STUDY_NAMES
    assert STUDY_NAMES[:2] == ["tutorial", "variants"]  # the exercise's order
    assert len(set(STUDY_NAMES)) == len(STUDY_NAMES)
    with pytest.raises(ValueError, match="unknown study 'nope'"):
        get("nope")


@pytest.mark.parametrize("study", STUDIES, ids=STUDY_NAMES)
def test_default_options_are_valid(study):
    options = study.options()
    assert options == study.make_options()
    with pytest.raises(ValueError, match="has no option"):
        study.make_options(no_such_option=1)


@pytest.mark.parametrize("study", STUDIES, ids=STUDY_NAMES)
def test_study_declares_the_models_it_uses(study, trained_data, tmp_path, monkeypatch):
    """The report trains study.model_specs up front; run must then train nothing new."""
    from mnistlab.studies.framework.context import StudyContext, get_models
    from mnistlab.training import many

    ctx = StudyContext(out=tmp_path / "out", quick=True)
    options = study.options()
    get_models(ctx, study.model_specs(ctx, options))
    fitted = []
    original = many.fit
    monkeypatch.setattr(many, "fit", lambda job, bar: (fitted.append(job.spec), original(job, bar)))
    document = study.run(ctx, options)
    assert fitted == [], f"{study.name} trained models it did not declare: {fitted}"
    assert document["study"] == study.name


@pytest.mark.parametrize("study", STUDIES, ids=STUDY_NAMES)
def test_study_from_the_cli_writes_results_figures_and_sections(
    study, trained_data, tmp_path, capsys
):
    out = tmp_path / "out"
    assert main(["--quiet", study.name, "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"{study.name}: wrote")
    results = json.loads((out / study.name / "results.json").read_text())
    for key in ("options", "seed", "quick", "summary", "figures", "environment", "data_sha256"):
        assert key in results, key
    for name in results["figures"]:
        assert (out / study.name / name).stat().st_size > 5000
    sections = study.sections(results, out / study.name)
    assert sections, f"{study.name} gives the report no section"
    for section in sections:
        html = html_section(section)
        assert f'<section id="{section.key}">' in html
        for table in section.tables:
            rows = [line for line in markdown_table(table).splitlines() if line.startswith("|")]
            assert len(rows) == len(table.rows) + 2  # header, rule, one line per row
        json.dumps(section.shown())  # everything shown can go into results.json


@pytest.mark.parametrize(
    "argv, message",
    [
        (["dropout", "--p", ""], "--p needs at least one number"),
        (["scoreboard", "--p", ""], "--p needs at least one number"),
        (["variants", "--seeds", "0"], "--seeds must be between 1 and 100"),
        (["shift", "--images", "5"], "--images must be"),
        (["conformal", "--alpha", "1.5"], "--alpha values must be in (0, 1)"),
        (["train", "--quick", "--epochs", "0"], "epochs must be between 1 and 1,000"),
    ],
)
def test_values_are_checked_before_any_work(synthetic_data, tmp_path, capsys, argv, message):
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()  # nothing ran


def test_a_method_name_with_a_control_character_is_refused():
    from mnistlab import Method
    from mnistlab.errors import ConfigError
    from mnistlab.uncertainty.method import SCORE

    with pytest.raises(ConfigError, match="control character"):
        Method(key="x", name="clear\x1b[2J", kind=SCORE, outputs=lambda *a: None)
