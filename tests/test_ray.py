"""--executor ray: training jobs as Ray tasks on a local 2-CPU Ray instance."""

import sys
from pathlib import Path

import numpy as np
import pytest

from mnistlab.cli import main
from mnistlab.config import QUICK, ModelConfig, RunSpec, TrainConfig
from mnistlab.training import is_cached, train_many

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'mnistlab[ray]')")


def test_an_unreachable_cluster_is_a_one_line_error(synthetic_data, tmp_path, capsys):
    """Ray itself would keep retrying for minutes; nothing listens on port 1."""
    from mnistlab.errors import UserError
    from mnistlab.training.remote import check_reachable

    with pytest.raises(UserError, match="cannot reach the Ray cluster at 127.0.0.1:1"):
        check_reachable("127.0.0.1:1")
    check_reachable("auto")  # no port: left to Ray
    if not ray.is_initialized():  # the CLI path, before this module starts its local Ray
        argv = ["tutorial", "--quick", "--executor", "ray", "--ray-address", "127.0.0.1:1"]
        assert main([*argv, "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert "ray start --head" in err and len(err.strip().splitlines()) == 1


def test_starting_a_local_ray_instance_prints_nothing(capfd):
    """Ray's own log lines (its start-up notice, its token warning) stay out of the user's
    output: the first tests of this module run before it starts its own instance."""
    from mnistlab.training.remote import connect

    if ray.is_initialized():
        pytest.skip("Ray was started by an earlier test")
    try:
        connect(None)
        err = capfd.readouterr().err
        assert "INFO" not in err and "WARNING" not in err, err
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def local_ray():
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"KERAS_BACKEND": "jax"}},
    )
    yield
    ray.shutdown()


def _specs(count: int) -> list[RunSpec]:
    train = QUICK.apply(TrainConfig())
    return [
        RunSpec("mnist", ModelConfig(hidden_units=(32,)), train, seed=seed) for seed in range(count)
    ]


def test_ray_trains_the_same_models_and_caches_them(local_ray, synthetic_data, tmp_path):
    specs = _specs(3)
    remote = train_many(specs, cache_dir=tmp_path / "ray", executor="ray")
    local = train_many(specs, cache_dir=tmp_path / "local")
    for on_ray, here in zip(remote, local, strict=True):
        assert on_ray.meta["executor"] == "ray" and not on_ray.from_cache
        for a, b in zip(on_ray.model.get_weights(), here.model.get_weights(), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        assert on_ray.meta["test/acc"] == pytest.approx(here.meta["test/acc"], abs=1e-3)
    assert all(is_cached(spec, cache_dir=tmp_path / "ray") for spec in specs)
    again = train_many(specs, cache_dir=tmp_path / "ray", executor="ray")
    assert all(model.from_cache for model in again)  # nothing sent to Ray the second time


@pytest.mark.parametrize("failure", ["raises", "worker dies"])
def test_a_task_that_fails_once_is_retried(
    local_ray, synthetic_data, tmp_path, monkeypatch, failure
):
    import os

    from mnistlab.training import remote

    real = remote.fit_on_worker
    markers = tmp_path / "failed-once"
    markers.mkdir()

    def flaky(spec, arrays, test):  # pickled by value and run on a Ray worker
        marker = Path(markers) / str(spec.seed)
        if not marker.exists():
            marker.touch()
            if failure == "worker dies":
                os._exit(1)  # the worker process is lost mid-job
            raise RuntimeError("injected failure on the first try")
        return real(spec, arrays, test)

    monkeypatch.setattr(remote, "fit_on_worker", flaky)
    specs = _specs(2)
    models = train_many(specs, cache_dir=tmp_path / "cache", executor="ray")
    assert sorted(p.name for p in markers.iterdir()) == ["0", "1"]  # each failed once ...
    assert all(m.meta["executor"] == "ray" for m in models)  # ... and was trained on retry
    assert all(is_cached(spec, cache_dir=tmp_path / "cache") for spec in specs)


def test_study_through_ray_on_the_command_line_and_the_api(local_ray, synthetic_data, tmp_path):
    import json

    import mnistlab

    out = tmp_path / "out"
    code = main(["--quiet", "tutorial", "--quick", "--executor", "ray", "--out", str(out)])
    assert code == 0 and (out / "tutorial" / "results.json").is_file()
    result = mnistlab.run_study("confidence", quick=True, seed=7, executor="ray", out=out)
    key = result.results["datasets"]["mnist"]["model"]["cache_key"]
    meta = json.loads((tmp_path / "cache" / "models" / key / "meta.json").read_text())
    assert meta["executor"] == "ray"  # trained as a Ray task, through the API


def test_without_ray_the_executor_is_a_one_line_error(
    synthetic_data, tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    code = main(["tutorial", "--quick", "--executor", "ray", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'mnistlab[ray]'" in err and len(err.strip().splitlines()) == 1


def _member_case():
    from mnistlab.models.networks import build_model

    config = ModelConfig(hidden_units=(24,))
    images = np.random.default_rng(0).random((50, 28, 28), dtype=np.float32)
    return config, build_model(config, seed=3), images, np.arange(50) % 10


def test_weight_dropout_members_on_ray_merge_into_the_local_pass(local_ray):
    """K = 12 members as 3 Ray tasks (members 0-3, 4-7, 8-11), merged: the local pass's votes
    and member accuracies, its mean probability within float32 rounding."""
    from mnistlab.uncertainty.members import MemberSummary
    from mnistlab.uncertainty.remote_members import members_on_ray, part_bounds
    from mnistlab.uncertainty.weight_dropout import ensemble_logits

    config, model, images, labels = _member_case()
    sink = MemberSummary(12, 50, labels=labels)
    local = ensemble_logits(model, images, p=0.3, members=12, seed=4, sink=sink)
    remote = members_on_ray(
        config, model, images, p=0.3, members=12, seed=4, parts=3, labels=labels
    )
    np.testing.assert_array_equal(remote.counts, local.counts)
    np.testing.assert_array_equal(remote.member_accuracy(), local.member_accuracy())
    np.testing.assert_allclose(
        remote.mean_probability(), local.mean_probability(), rtol=1e-5, atol=1e-6
    )
    assert part_bounds(12, 3) == [(0, 4), (4, 4), (8, 4)] and part_bounds(2, 5) == [(0, 1), (1, 1)]


@pytest.mark.parametrize("failure", ["raises", "worker dies"])
def test_a_member_part_that_fails_once_is_retried(local_ray, tmp_path, failure):
    import os

    from mnistlab.uncertainty.remote_members import members_on_ray, summary_on_worker

    config, model, images, labels = _member_case()
    markers = tmp_path / "failed-once"
    markers.mkdir()

    def flaky(config, weights, images, p, first, count, seed, labels=None):  # on a worker
        marker = Path(markers) / str(first)
        if not marker.exists():
            marker.touch()
            if failure == "worker dies":
                os._exit(1)  # the worker is lost mid-task
            raise RuntimeError("injected failure on the first try")
        return summary_on_worker(config, weights, images, p, first, count, seed, labels)

    run = {"p": 0.3, "members": 6, "seed": 4, "parts": 2, "labels": labels}
    again = members_on_ray(config, model, images, task=flaky, **run)
    assert sorted(p.name for p in markers.iterdir()) == ["0", "3"]  # each part failed once
    np.testing.assert_array_equal(again.counts, members_on_ray(config, model, images, **run).counts)


def test_a_method_study_on_ray_gives_the_local_numbers(
    local_ray, trained_data, tmp_path, monkeypatch
):
    """The scoreboard with --executor ray (weight dropout's members as Ray tasks) gives the
    local run's numbers: within float32 rounding of the members' summed probabilities."""
    import json

    from mnistlab.uncertainty import evaluation

    sent = []
    on_ray = evaluation.members_on_ray
    monkeypatch.setattr(
        evaluation, "members_on_ray", lambda *a, **k: (sent.append(k["p"]), on_ray(*a, **k))[1]
    )
    rows = {}
    for executor in ("local", "ray"):
        evaluation.OUTPUTS.clear()  # computed again, not taken from the other run
        out = tmp_path / executor
        argv = ["--quiet", "scoreboard", "--quick", "--methods", "wdrop", "--p", "0.2"]
        assert main([*argv, "--executor", executor, "--out", str(out)]) == 0
        document = json.loads((out / "scoreboard" / "results.json").read_text())
        rows[executor] = {
            (d, r["key"]): r for d, e in document["datasets"].items() for r in e["rows"]
        }
    assert sent == [0.2] * 2  # one replicate per data set, its members sent to Ray
    assert rows["local"].keys() == rows["ray"].keys()
    for key, local in rows["local"].items():
        for name, value in local.items():
            if isinstance(value, float):
                assert rows["ray"][key][name] == pytest.approx(
                    value, rel=1e-4, abs=1e-5, nan_ok=True
                )
