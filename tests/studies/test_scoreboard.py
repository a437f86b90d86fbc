import json

import numpy as np
import pytest

from mnistlab.cli import main
from mnistlab.config import ModelConfig
from mnistlab.errors import ConfigError
from mnistlab.models.networks import build_model
from mnistlab.models.predict import predict_logits
from mnistlab.uncertainty.mc_dropout import mc_dropout_logits, mc_dropout_logits_loop


def test_scoreboard_quick(trained_data, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "--quiet",
                "scoreboard",
                "--quick",
                "--out",
                str(out),
                "--p",
                "0.1,0.5",
                "--members",
                "4",
            ]
        )
        == 0
    )
    document = json.loads((out / "scoreboard" / "results.json").read_text())
    for dataset in ("mnist", "fashion-mnist"):
        entry = document["datasets"][dataset]
        keys = [r["key"] for r in entry["rows"]]
        assert keys == [
            "msp", "entropy", "margin", "energy", "gen", "odin", "mahalanobis", "rmds", "knn",
            "vim", "react", "ash", "scale", "temperature", "laplace",
            "wdrop-0.1-vote", "wdrop-0.1-mean", "wdrop-0.5-vote", "wdrop-0.5-mean",
            "mc-dropout", "ensemble",
            "mc-dropout-entropy", "mc-dropout-ee", "mc-dropout-mi",
            "ensemble-entropy", "ensemble-ee", "ensemble-mi",
        ]  # fmt: skip
        names = [r["method"] for r in entry["rows"]]
        assert names[0] == "max softmax" and "weight dropout p=0.5 mean prob" in names
        assert set(entry["ood_sets"]) == {
            f"ood/{'fashion-mnist' if dataset == 'mnist' else 'mnist'}",
            "ood/uniform",
            "ood/gaussian",
            "ood/inverted",
        }
        for row in entry["rows"]:
            assert 0 <= row["cls/acc"] <= 1 and 0 <= row["cal/ece"] <= 1
            assert row["cls/acc_ci"][0] <= row["cls/acc"] <= row["cls/acc_ci"][1]
            assert all(
                0 <= row[k] <= 1 for k in row if k.startswith("ood/") and k.endswith("auroc")
            )
        vote = next(r for r in entry["rows"] if r["kind"] == "vote shares")
        assert vote["cal/nll"] is None  # a vote share is not a predictive distribution
        assert len(entry["models"][0]["ensemble"]) == 2
        # Tuned on held-out images vs the validation OOD set, recorded per seed replicate
        tuned = entry["tuned"][0]
        assert set(tuned) == {"odin", "knn", "react", "ash", "scale"}
        assert tuned["knn"]["value"] in [v for v, _ in tuned["knn"]["grid"]]
        assert 0.0 <= tuned["odin"]["auroc"] <= 1.0 and len(tuned["odin"]["value"]) == 2
    for name in document["figures"]:
        assert (out / "scoreboard" / name).stat().st_size > 5000
    assert "best mean OOD AUROC over 4 sets" in capsys.readouterr().out


def test_temperature_is_fitted_on_held_out_training_data_only(
    synthetic_data, tmp_path, monkeypatch
):
    from mnistlab.config import QUICK
    from mnistlab.data import load_split
    from mnistlab.uncertainty.calibration import TemperatureScaler

    seen = []
    original = TemperatureScaler.fit

    def spy(self, logits, y_true):
        seen.append(np.asarray(y_true).copy())
        return original(self, logits, y_true)

    monkeypatch.setattr(TemperatureScaler, "fit", spy)
    assert (
        main(
            [
                "--quiet",
                "scoreboard",
                "--quick",
                "--dataset",
                "mnist",
                "--members",
                "2",
                "--p",
                "0.1",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    train_images, train_labels = load_split("mnist", "train")
    (labels,) = seen
    size = QUICK.validation_size
    # Exactly the last `size` training labels: the split the models never trained on ...
    np.testing.assert_array_equal(labels, train_labels[len(train_labels) - size :])
    # ... and the models' training set stops where the validation split begins.
    document = json.loads((tmp_path / "out" / "scoreboard" / "results.json").read_text())
    base = document["datasets"]["mnist"]["models"][0]["base"]
    assert base["spec"]["train"]["validation_size"] == size
    assert document["datasets"]["mnist"]["validation_size"] == size


def test_mc_dropout_passes_differ_and_do_not_depend_on_chunking():
    model = build_model(ModelConfig(hidden_units=(32,), dropout=0.5), seed=0)
    images = np.random.default_rng(0).random((20, 28, 28), dtype=np.float32)
    reference = mc_dropout_logits(model, images, passes=6, seed=3, member_chunk=6)
    assert not np.allclose(reference[0], reference[1])  # dropout is on at test time
    chunked = mc_dropout_logits(model, images, passes=6, seed=3, member_chunk=4, image_batch=7)
    np.testing.assert_allclose(chunked, reference, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(mc_dropout_logits(model, images, passes=6, seed=3), reference)
    # Averaged over many passes, inverted dropout gives the deterministic output on average.
    many = mc_dropout_logits(model, images, passes=400, seed=1)
    deterministic = predict_logits(model, images)
    assert (
        np.abs(many.mean(axis=0) - deterministic).mean()
        < 0.25 * np.abs(deterministic).mean() + 0.05
    )


@pytest.mark.parametrize("arch, hidden", [("mlp", (16,)), ("cnn", (8,)), ("lenet5", None)])
def test_mc_dropout_equals_the_plain_loop(arch, hidden):
    """Vectorized over passes and images, chunked: the same logits as one call at a time."""
    model = build_model(ModelConfig(arch=arch, hidden_units=hidden, dropout=0.5), seed=0)
    images = np.random.default_rng(1).random((9, 28, 28), dtype=np.float32)
    fast = mc_dropout_logits(model, images, passes=4, seed=2, member_chunk=3, image_batch=4)
    slow = mc_dropout_logits_loop(model, images, passes=4, seed=2)
    np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-5)
    assert not np.allclose(fast[0], fast[1])


def test_mc_dropout_needs_a_dropout_model():
    model = build_model(ModelConfig(hidden_units=(8,)), seed=0)
    with pytest.raises(ConfigError, match="trained with dropout"):
        mc_dropout_logits(model, np.zeros((2, 28, 28), np.float32), passes=2, seed=0)


def test_bad_scoreboard_values(synthetic_data, tmp_path, capsys):
    assert main(["scoreboard", "--quick", "--members", "0", "--out", str(tmp_path)]) == 2
    assert main(["scoreboard", "--quick", "--p", "1.5", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--members" in err and "[0, 1)" in err
