"""The OOD study (issue 23): near, far and open-set protocols, paired against max softmax."""

import json

import numpy as np
import pytest

from mnistlab.cli import main
from mnistlab.config import RunSpec, TrainConfig
from mnistlab.errors import ConfigError
from mnistlab.studies.ood import numbers
from mnistlab.studies.ood.study import OODOptions
from mnistlab.uncertainty.method import MethodOutput


@pytest.fixture(scope="module")
def ood_run(tmp_path_factory, synthetic_root, shared_cache_dir):
    """One quick run on the synthetic data, shared by the tests below."""
    from synthetic import patch_checksums

    monkeypatch = pytest.MonkeyPatch()
    root, sums = synthetic_root
    for name, file_sums in sums.items():
        patch_checksums(monkeypatch, name, file_sums)
    tmp = tmp_path_factory.mktemp("ood")
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(root))
    monkeypatch.setenv("MNISTLAB_CACHE_DIR", str(shared_cache_dir))
    out = tmp / "out"
    assert main(["--quiet", "ood", "--quick", "--seeds", "2", "--out", str(out)]) == 0
    yield json.loads((out / "ood" / "results.json").read_text()), out / "ood"
    monkeypatch.undo()


def test_every_protocol_compares_every_single_network_method(ood_run):
    document, folder = ood_run
    keys = [m["key"] for m in document["options"]["methods"]]
    assert keys[0] == "msp" and {"odin", "knn", "vim", "ash", "scale", "laplace"} <= set(keys)
    assert not any(k.startswith(("wdrop", "mc-dropout", "ensemble")) for k in keys)
    for dataset, other in (("mnist", "fashion-mnist"), ("fashion-mnist", "mnist")):
        standard = document["datasets"][dataset]["standard"]
        assert standard["groups"] == {
            f"ood/{other}": "near", "ood/letters": "near",
            "ood/uniform": "far", "ood/gaussian": "far", "ood/inverted": "far",
        }  # fmt: skip
        for key in keys:
            for name in ("near", "far", f"ood/{other}"):
                n = standard["numbers"][key][name]
                assert 0 <= n["auroc"] <= 1 and 0 <= n["fpr95_in"] <= 1
                assert len(n["auroc_seeds"]) == 2
            if key != "msp":
                c = standard["comparisons"][key]["near"]
                assert c["low"] <= c["difference"] <= c["high"] and c["seeds"] == 2
        open_set = document["datasets"][dataset]["open set mlp"]
        assert open_set["groups"] == {"ood/classes 5-9": "open set"}
        assert open_set["models"][0]["base"]["spec"]["train"]["classes"] == [0, 1, 2, 3, 4]
        assert set(open_set["tuned"][0]) == {"odin", "knn", "react", "ash", "scale"}
    assert len(document["figures"]) == 4
    assert all((folder / name).is_file() for name in document["figures"])


def test_the_section_shows_each_protocol_the_open_set_table_and_the_tuned_values(ood_run):
    from mnistlab.studies.ood.views import sections

    document, folder = ood_run
    (section,) = sections(document, folder)
    headers = [t.header for t in section.tables]
    assert headers[0][:3] == ["mnist model, near and far: method", "AUROC near", "Δ near [95%]"]
    assert any(
        h[1:3] == ["mnist mlp", "fashion-mnist mlp"] and "oodeel TF (mnist)" in h for h in headers
    )
    assert headers[-1][:3] == ["tuned: data set", "protocol", "method"]
    assert {row[2] for row in section.tables[-1].rows} == {
        "ODIN",
        "KNN",
        "ReAct energy",
        "ASH-S energy",
        "SCALE energy",
    }
    assert "mnist: near OOD: **" in section.finding and "open set mlp: **" in section.finding
    text = " ".join(section.paragraphs)
    assert "rank correlation with oodeel" in text and "near: objects framed" in text


def _method(key, test, out):
    return MethodOutput(
        key,
        key,
        "single model",
        {},
        {"test": np.asarray(test), "ood/a": np.asarray(out[0]), "ood/b": np.asarray(out[1])},
    )


def test_a_group_is_the_mean_of_its_sets_and_a_perfect_detector_has_no_false_positives():
    rng = np.random.default_rng(0)
    test = rng.normal(0, 1, 300)
    a, b = rng.normal(3, 1, 200), rng.normal(0.5, 1, 100)
    perfect = _method(
        "perfect", test, (test.max() + 1 + rng.random(200), test.max() + 1 + rng.random(100))
    )
    replicates = [[_method("msp", test, (a, b)), perfect]]
    groups = {"ood/a": "near", "ood/b": "near"}
    found = numbers.over_sets(replicates, groups)
    assert found["perfect"]["near"]["auroc"] == 1.0 and found["perfect"]["near"]["fpr95_in"] == 0.0
    msp = found["msp"]
    assert msp["near"]["auroc"] == pytest.approx(
        (msp["ood/a"]["auroc"] + msp["ood/b"]["auroc"]) / 2
    )
    compared = numbers.compare_with_softmax(replicates, groups, n_boot=200, seed=0)["perfect"]
    assert compared["near"]["difference"] == pytest.approx(1.0 - msp["near"]["auroc"])
    assert compared["near"]["verdict"] == "better" and compared["ood/b"]["low"] > 0


def test_a_class_subset_trains_holds_out_and_tests_on_those_classes_only(synthetic_data):
    from mnistlab.training.job import test_arrays, training_arrays

    spec = RunSpec("mnist", train=TrainConfig(validation_size=100, classes=(0, 1, 2, 3, 4)))
    x, y, x_val, y_val = training_arrays(spec)
    assert set(np.unique(y)) <= {0, 1, 2, 3, 4} and set(np.unique(y_val)) <= {0, 1, 2, 3, 4}
    assert len(x) == len(y) > 0 and len(x_val) == len(y_val) > 0
    assert set(np.unique(test_arrays(spec)[1])) <= {0, 1, 2, 3, 4}
    assert "classes=0,1,2,3,4" in spec.describe()


@pytest.mark.parametrize(
    "values, message",
    [
        ({"open_set": ("mlp", "resnet")}, "--open-set: unknown architecture(s) resnet"),
        ({"methods": ("nope",)}, "unknown method key(s) 'nope'"),
        ({"bootstrap": 3}, "--bootstrap"),
    ],
)
def test_bad_options_are_one_line_errors(values, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        OODOptions(**values)


def test_bad_class_subsets_are_refused():
    for classes in ((1,), (0, 0, 1), (0, 10), ("0", "1")):
        with pytest.raises(ConfigError, match="classes must be at least two distinct"):
            TrainConfig(classes=classes)


def test_spearman_equals_scipy_with_and_without_ties():
    from scipy.stats import spearmanr

    from mnistlab.studies.ood.views import spearman

    rng = np.random.default_rng(0)
    cases = [(rng.random(9), rng.random(9)), ([1, 2, 2, 3, 5, 5, 5], [3, 1, 2, 2, 9, 8, 8])]
    cases.append(([0.9, 0.8, 0.7, 0.95], [0.1, 0.2, 0.3, 0.05]))  # perfectly reversed
    for a, b in cases:
        assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
