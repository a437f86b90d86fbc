"""The README's "Add a method" example, run as written: registered in a notebook (the API),
through the scoreboard, shift and conformal studies; then as an installed package's entry
point, through the CLI. (The report with it: test_report.py's quick report.) And the registry's
promise: methods are selected by key, so renaming one changes no verdict and no figure."""

import importlib.metadata
import json
import sys

import numpy as np
import pytest
from readme_blocks import method_blocks

from mnistlab.cli import main
from mnistlab.errors import ConfigError
from mnistlab.uncertainty import registry


@pytest.fixture
def max_logit(tmp_path, monkeypatch):
    """The README's method as an importable module my_methods; unregistered afterwards."""
    (tmp_path / "my_methods.py").write_text(method_blocks()[0])
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    registry.unregister_method("max-logit")
    sys.modules.pop("my_methods", None)


def test_readme_example_runs_in_a_notebook(trained_data, max_logit, tmp_path, monkeypatch):
    import mnistlab

    monkeypatch.chdir(tmp_path)
    define, use = method_blocks()
    namespace: dict = {}
    exec(define, namespace)
    exec(use, namespace)
    rows = namespace["result"].results["datasets"]["mnist"]["rows"]
    assert [r["key"] for r in rows] == ["msp", "max-logit"]
    row = rows[1]
    assert row["method"] == "max logit" and row["kind"] == "score"
    assert 0 <= row["ood/fashion-mnist/auroc"] <= 1
    # Its own ranking, the softmax's probabilities: accuracy equal, scores not.
    assert row["cls/acc"] == rows[0]["cls/acc"] and row["cal/ece"] == rows[0]["cal/ece"]
    shift = mnistlab.run_study("shift", quick=True, methods=("max-logit",), images=20)
    entry = shift.results["datasets"]["mnist"]
    assert "max-logit" in entry["letters_ood"] and "max-logit" in entry["numbers"]
    assert entry["numbers"]["max-logit"]["rotation/90"]["cls/acc"] >= 0
    conformal = mnistlab.run_study("conformal", quick=True, methods=("max-logit",), images=20)
    numbers = conformal.results["datasets"]["mnist"]["numbers"]
    assert set(numbers) == {"msp", "max-logit"}
    assert "sets" not in numbers["max-logit"]  # a score has no sets of its own
    assert 0 <= numbers["max-logit"]["abstention"]["0.05"]["kept"] <= 1


def test_an_installed_package_adds_a_method_to_the_cli(
    synthetic_data, max_logit, tmp_path, monkeypatch, capsys
):
    point = importlib.metadata.EntryPoint(
        name="max-logit", value="my_methods:MAX_LOGIT", group=registry.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(
        importlib.metadata,
        "entry_points",
        lambda group=None: [point] if group == registry.ENTRY_POINT_GROUP else [],
    )
    monkeypatch.setattr(registry, "_ENTRY_POINTS_LOADED", False)
    assert main(["methods"]) == 0
    assert "max-logit" in capsys.readouterr().out
    out = tmp_path / "out"
    args = ["--quiet", "scoreboard", "--quick", "--methods", "max-logit,ensemble"]
    assert main([*args, "--out", str(out), "--dataset", "mnist"]) == 0
    rows = json.loads((out / "scoreboard" / "results.json").read_text())["datasets"]["mnist"][
        "rows"
    ]
    assert [r["key"] for r in rows] == ["msp", "ensemble", "max-logit"]  # the registry's order


def test_an_unknown_method_key_is_one_line_listing_the_known_ones(synthetic_data, capsys):
    assert main(["scoreboard", "--quick", "--methods", "msp,nope"]) == 2
    error = capsys.readouterr().err
    assert "unknown method key(s) 'nope'" in error and "wdrop-0.2-vote" in error
    assert error.count("\n") == 1
    with pytest.raises(ConfigError, match="already registered"):
        registry.register_method(registry.registered()[0])


def test_methods_as_text_in_the_api_are_keys_not_letters():
    from mnistlab.studies.framework.method_study import MethodStudyOptions

    assert MethodStudyOptions(methods="msp, wdrop").methods == ("msp", "wdrop")
    with pytest.raises(ConfigError, match="'nope'"):
        MethodStudyOptions(methods=("nope",))


def test_a_display_name_with_braces_of_its_own_is_kept():
    from mnistlab import Method

    method = Method("braces", "max {logit} } {0}", lambda e, m: ({}, {}))
    sizes = {"members": 3, "ensemble_size": 2, "rate": 0.2}
    assert method.instance(sizes).name == "max {logit} } {0}"
    templated = Method("t-{members}", "K={members}, M={ensemble_size}", lambda e, m: ({}, {}))
    assert (templated.instance(sizes).key, templated.instance(sizes).name) == ("t-3", "K=3, M=2")


def test_a_family_key_selects_every_fraction():
    sizes = {"members": 3, "ensemble_size": 2, "rate": 0.2}
    keys = [m.key for m in registry.selected(("msp", "wdrop"), sizes, (0.1, 0.5))]
    assert keys == ["msp", "wdrop-0.1-vote", "wdrop-0.1-mean", "wdrop-0.5-vote", "wdrop-0.5-mean"]


def _outputs(rng, n=400, renamed=False):
    """Outputs of every built-in method on made-up probabilities, in the registry's order."""
    from mnistlab.uncertainty.method import MethodOutput

    sizes = {"members": 10, "ensemble_size": 3, "rate": 0.2}
    methods = registry.expand(registry.registered(), sizes, (0.03, 0.2))
    out = []
    for method in methods:
        p = rng.dirichlet(np.full(10, 0.3), size=n + 100).astype(np.float32)
        sets = {"test": p[:n], "ood/other": p[n:]}
        output = MethodOutput.of(method, sets, {k: 1 - v.max(axis=1) for k, v in sets.items()})
        if renamed:
            output.name, output.label = f"Renamed {method.key}", f"R {method.key}"
        out.append(output)
    return out


def test_renaming_methods_changes_no_verdict_and_no_figure(tmp_path):
    from mnistlab.studies.scoreboard import views
    from mnistlab.studies.scoreboard.verdict import compare_with_softmax

    labels = np.random.default_rng(9).integers(0, 10, 400)
    results = {}
    for renamed in (False, True):
        replicates = [_outputs(np.random.default_rng(s), renamed=renamed) for s in range(2)]
        comparisons = compare_with_softmax(replicates, labels, "ood/other", n_boot=50, seed=0)
        drawn = [m.key for m in views._shown(replicates[0])]

        class Writer:  # records the figures the scoreboard draws
            def __init__(self):
                self.names = []

            def figure(self, name, fig, caption):
                self.names.append(name)

        writer = Writer()
        views.figures(writer, "mnist", replicates[0], labels)
        results[renamed] = (comparisons, drawn, writer.names)
    assert results[False] == results[True]
    comparisons, drawn, figures = results[False]
    assert drawn == ["msp", "temperature", "laplace", "wdrop-0.2-vote", "mc-dropout", "ensemble"]
    assert figures == ["reliability-mnist", "risk-coverage-mnist", "right-wrong-mnist"]
    assert "msp" not in comparisons and set(comparisons) >= {"ensemble", "wdrop-0.2-vote"}


def test_outputs_are_shared_across_studies_and_change_no_number(synthetic_data, tmp_path):
    """The conformal study reuses the scoreboard's outputs on the same models and test images
    (weight dropout, MC dropout at the same positions, ...), and gives the numbers it gives
    when it computes everything itself. Its own model cache (synthetic_data's): in the shared
    one, another xdist worker storing the same models between the two studies made this
    process read them again, as new objects whose outputs are not the scoreboard's."""
    import mnistlab
    from mnistlab.uncertainty.output_store import outputs

    OUTPUTS = outputs()

    options = {"quick": True, "methods": ("wdrop", "ensemble"), "p": (0.2,), "images": 20}
    OUTPUTS.clear()
    scoreboard_options = {k: v for k, v in options.items() if k != "images"}
    mnistlab.run_study("scoreboard", out=tmp_path / "a", **scoreboard_options)
    computed = OUTPUTS.computed
    shared = mnistlab.run_study("conformal", out=tmp_path / "a", **options)
    assert OUTPUTS.reused > 0 and OUTPUTS.computed > computed
    OUTPUTS.clear()
    alone = mnistlab.run_study("conformal", out=tmp_path / "b", **options)
    assert OUTPUTS.reused == 0
    for dataset in ("mnist", "fashion-mnist"):
        assert (
            shared.results["datasets"][dataset]["numbers"]
            == alone.results["datasets"][dataset]["numbers"]
        )
