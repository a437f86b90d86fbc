"""Cache entries are verified: a model of another seed, another spec or a damaged file is found
out in one line and retrained, never silently used."""

import json
import re
import shutil
from dataclasses import replace

import numpy as np
import pytest

from mnistlab import progress, session
from mnistlab.cli import main
from mnistlab.config import ModelConfig, RunSpec, TrainConfig
from mnistlab.studies.registry import STUDIES
from mnistlab.training import train


def spec(seed: int) -> RunSpec:
    return RunSpec("mnist", ModelConfig(hidden_units=(8,)), TrainConfig(epochs=1), seed=seed)


@pytest.fixture
def two_models(synthetic_data):
    progress.set_quiet(False)
    return train(spec(0)), train(spec(1))


def test_model_file_of_another_seed_is_retrained(two_models, capsys):
    first, second = two_models
    original = first.model.get_weights()
    shutil.copyfile(second.path / "model.keras", first.path / "model.keras")
    capsys.readouterr()
    again = train(spec(0))
    assert not again.from_cache
    assert "holds weights other than the ones it recorded" in capsys.readouterr().err
    for got, want in zip(again.model.get_weights(), original, strict=True):
        np.testing.assert_array_equal(got, want)  # retrained: the same seed, the same weights
    assert train(spec(0)).from_cache  # and the entry is whole again


def test_entry_made_for_another_spec_is_retrained(two_models, capsys):
    first, _ = two_models
    meta = json.loads((first.path / "meta.json").read_text())
    meta["config"]["seed"] = 7
    (first.path / "meta.json").write_text(json.dumps(meta))
    capsys.readouterr()
    assert not train(spec(0)).from_cache
    assert "was made for another model or seed" in capsys.readouterr().err


def test_truncated_model_file_is_retrained(two_models, capsys):
    first, _ = two_models
    model_file = first.path / "model.keras"
    model_file.write_bytes(model_file.read_bytes()[:500])
    capsys.readouterr()
    assert not train(spec(0)).from_cache
    err = capsys.readouterr().err
    assert "cannot be read" in err and err.count("\n") == 1


@pytest.mark.parametrize("content", ["null", "[1, 2]", ""])
def test_damaged_study_results_are_recomputed(content, trained_data, tmp_path):
    out = tmp_path / "out"
    assert main(["--quiet", "cross", "--quick", "--out", str(out)]) == 0
    (out / "cross" / "results.json").write_text(content)
    assert main(["--quiet", "cross", "--quick", "--out", str(out)]) == 0
    assert json.loads((out / "cross" / "results.json").read_text())["study"] == "cross"


def test_a_report_recomputes_a_damaged_study_and_reuses_the_rest(
    trained_data, copy_of_finished_report, capsys
):
    out = copy_of_finished_report
    (out / "cross" / "results.json").write_text("{")
    assert main(["report", "--quick", "--seeds", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert not re.search(r"cross .*\(reused\)", printed)  # computed again
    assert printed.count("(reused)") == len(STUDIES) - 1
    assert json.loads((out / "cross" / "results.json").read_text())["study"] == "cross"


RACE = """
import pathlib, sys
import numpy as np
from mnistlab.training.cache import store

class Model:  # what store() asks of a model
    def save(self, path):
        pathlib.Path(path).write_bytes(b"w" * 4096)

    def get_weights(self):
        return [np.zeros(3)]

for i in range(int(sys.argv[2])):
    store(pathlib.Path(sys.argv[1]), Model(), {"writer": sys.argv[3], "i": i})
"""


def test_processes_storing_the_same_entry_do_not_fail(tmp_path):
    """Issue 27: two processes saving the same cache entry raced ('Directory not empty',
    FileNotFoundError): 21 of 300 concurrent saves failed."""
    import json
    import subprocess
    import sys

    folder = tmp_path / "models" / "entry"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, str(folder), "60", str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    results = [(w.wait(timeout=300), w.stderr.read()) for w in writers]
    assert all(code == 0 for code, _ in results), [err[-300:] for _, err in results]
    assert json.loads((folder / "meta.json").read_text())["i"] == 59  # a whole entry
    assert (folder / "model.keras").stat().st_size == 4096
    assert sorted(p.name for p in folder.parent.iterdir()) == ["entry"]  # nothing left aside


def test_cache_keys_of_existing_models_survive_new_spec_fields():
    """Keys computed before TrainConfig had `classes` (at 826ad5f): a field left at its default
    must not move every cached model to a new key (and retrain it)."""
    from mnistlab.config import ModelConfig, RunSpec, TrainConfig

    assert RunSpec("mnist").cache_key("abc") == "c1ba6bbc8578614ae8ae"
    lenet = RunSpec("fashion-mnist", ModelConfig(arch="lenet5"), seed=3)
    assert lenet.cache_key("x") == "5321955c0dbb9f62507c"
    subset = RunSpec("mnist", train=TrainConfig(classes=(4, 0, 1, 2, 3)))
    assert subset.cache_key("abc") != RunSpec("mnist").cache_key("abc")
    assert subset.train.classes == (0, 1, 2, 3, 4)  # sorted: the same classes, one key


WARM = """
import sys
from mnistlab.cli import main
code = main(["-q", *sys.argv[1:]])
print(code, "keras" in sys.modules, "jax" in sys.modules)
"""


@pytest.mark.parametrize("study", ["tutorial", "variants", "confidence", "cross", "morph"])
def test_a_warm_command_imports_neither_keras_nor_jax(
    study, real_data_dir, real_cache_dir, tmp_path
):
    """A cached model is found by its file's SHA-256 and read only when used: the tutorial
    uses recorded numbers only, and the studies that predict with cached MLPs do it with
    their weights.npz in NumPy. The second time (into another folder, so nothing is reused
    but the models), none imports Keras or JAX."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "MNISTLAB_DATA_DIR": str(real_data_dir)}
    env["MNISTLAB_CACHE_DIR"] = str(real_cache_dir)
    runs = [
        subprocess.run(
            [sys.executable, "-c", WARM, study, "--quick", "--out", str(tmp_path / run)],
            capture_output=True,
            text=True,
            env=env,
        )
        for run in ("cold", "warm")
    ]
    assert [run.stdout.split()[-3:] for run in runs][1] == ["0", "False", "False"], runs[1].stderr
    cold, warm = (
        _without_timings(json.loads((tmp_path / run / study / "results.json").read_text()))
        for run in ("cold", "warm")
    )
    assert cold == warm  # the same numbers, whether the models were just trained or read


def _without_timings(document):
    """A study's results without what differs between two runs of it: times, provenance, the
    FLOPs done (training's too, in the first) and the summary lines (they give s/epoch)."""
    if isinstance(document, dict):
        return {
            k: _without_timings(v)
            for k, v in document.items()
            if "seconds" not in k
            and k not in ("created", "environment", "from_cache", "cost", "flop", "summary")
        }
    if isinstance(document, list):
        return [_without_timings(v) for v in document]
    return document


def test_a_model_found_by_its_file_checksum_is_read_on_first_use(two_models, tmp_path):
    from mnistlab.training.cache import StoredModel, load

    first, _ = two_models
    session.clear()
    found = load(first.spec, first.path)
    assert isinstance(found.stored, StoredModel) and found.stored._model is None
    for a, b in zip(found.model.get_weights(), first.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert found.model is found.model and replace(found).model is found.model  # read once


def test_an_entry_from_before_file_checksums_is_verified_and_given_one(two_models):
    from mnistlab.runs import read_json, write_json
    from mnistlab.training.cache import StoredModel, load

    first, _ = two_models
    meta = read_json(first.path / "meta.json")
    recorded = meta.pop("file_sha256")
    write_json(first.path / "meta.json", meta)  # as an older mnistlab wrote it
    session.clear()
    found = load(first.spec, first.path)
    assert not isinstance(found.stored, StoredModel)  # read and its weights checked
    assert read_json(first.path / "meta.json")["file_sha256"] == recorded
    session.clear()
    assert isinstance(load(first.spec, first.path).stored, StoredModel)


def test_an_old_entry_in_a_cache_that_cannot_be_written_still_loads(two_models, monkeypatch):
    """Giving an old entry its checksum is an improvement, not a requirement: a read-only
    cache still serves the model, checked the old way."""
    from mnistlab.runs import read_json, write_json
    from mnistlab.training import cache

    first, _ = two_models
    meta = read_json(first.path / "meta.json")
    del meta["file_sha256"]
    write_json(first.path / "meta.json", meta)
    session.clear()

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache, "write_json", refused)
    found = cache.load(first.spec, first.path)
    assert found is not None and not isinstance(found.stored, cache.StoredModel)
    assert "file_sha256" not in read_json(first.path / "meta.json")
