"""--executor ray: training jobs as Ray tasks on a local 2-CPU Ray instance."""

import json
import re
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
    from mnistlab.training.remote import worker_env

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": worker_env()},  # what connect() gives a local instance
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
    """K = 14 members in chunks of 4 (a memory budget that small), as 3 Ray tasks of whole
    chunks (members 0-3, 4-7, 8-13), merged: the local pass's summary bit for bit."""
    from mnistlab.uncertainty import remote_outputs
    from mnistlab.uncertainty.ensemble import chunk_sizes
    from mnistlab.uncertainty.members import MemberSummary
    from mnistlab.uncertainty.remote_members import members_on_ray, part_bounds
    from mnistlab.uncertainty.weight_dropout import ensemble_logits

    config, model, images, labels = _member_case()
    run = {"p": 0.3, "members": 14, "seed": 4, "memory_budget": 1_300_000}
    assert chunk_sizes(model, 50, 14, run["memory_budget"])[0] == 4
    local = ensemble_logits(model, images, sink=MemberSummary(14, 50, labels=labels), **run)
    before = remote_outputs.traffic()["parts"]
    remote = members_on_ray(config, model, images, parts=3, labels=labels, **run)
    assert remote_outputs.traffic()["parts"] - before == 3
    np.testing.assert_array_equal(remote.counts, local.counts)
    np.testing.assert_array_equal(remote.member_accuracy(), local.member_accuracy())
    np.testing.assert_array_equal(remote.mean_probability(), local.mean_probability())
    np.testing.assert_array_equal(remote.expected_entropy(), local.expected_entropy())
    assert part_bounds(12, 3) == [(0, 4), (4, 4), (8, 4)] and part_bounds(2, 5) == [(0, 1), (1, 1)]
    assert part_bounds(14, 3, chunk=4) == [(0, 4), (4, 4), (8, 6)]
    assert part_bounds(14, 8, chunk=4) == [(0, 4), (4, 4), (8, 4), (12, 2)]


def test_mc_dropout_passes_on_ray_merge_into_the_local_pass(local_ray):
    """K = 9 MC-dropout passes in parts of whole chunks (a budget giving chunks of 4 passes
    on the network after its first dropout): the local summary bit for bit."""
    from mnistlab.models.networks import build_model
    from mnistlab.uncertainty import remote_outputs
    from mnistlab.uncertainty.mc_dropout import mc_dropout_logits, member_chunk
    from mnistlab.uncertainty.members import MemberSummary
    from mnistlab.uncertainty.remote_members import members_on_ray

    config = ModelConfig(hidden_units=(24,), dropout=0.2)
    model = build_model(config, seed=3)
    images = np.random.default_rng(0).random((50, 28, 28), dtype=np.float32)
    budget = next(b for b in range(1000, 10**7, 500) if member_chunk(model, 50, 9, b) == 4)
    local = mc_dropout_logits(
        model, images, passes=9, seed=4, memory_budget=budget, sink=MemberSummary(9, 50)
    )
    before = remote_outputs.traffic()["parts"]
    remote = members_on_ray(
        config, model, images, p=0.0, members=9, seed=4, parts=3, memory_budget=budget,
        mc_dropout=True,
    )  # fmt: skip
    assert remote_outputs.traffic()["parts"] - before == 3  # passes 0-3, 4-7, 8
    np.testing.assert_array_equal(remote.counts, local.counts)
    np.testing.assert_array_equal(remote.mean_probability(), local.mean_probability())
    np.testing.assert_array_equal(remote.expected_entropy(), local.expected_entropy())


@pytest.mark.parametrize("failure", ["raises", "worker dies"])
def test_a_member_part_that_fails_once_is_retried(local_ray, tmp_path, failure):
    import os

    from mnistlab.uncertainty.remote_members import members_on_ray, summary_on_worker

    config, model, images, labels = _member_case()
    markers = tmp_path / "failed-once"
    markers.mkdir()

    def flaky(config, weights, images, p, first, count, seed, labels=None, **options):
        marker = Path(markers) / str(first)
        if not marker.exists():
            marker.touch()
            if failure == "worker dies":
                os._exit(1)  # the worker is lost mid-task
            raise RuntimeError("injected failure on the first try")
        return summary_on_worker(config, weights, images, p, first, count, seed, labels, **options)

    run = {"p": 0.3, "members": 6, "seed": 4, "parts": 2, "labels": labels}
    run["memory_budget"] = 1_300_000  # chunks of 4 members: parts 0-3 and 4-5
    again = members_on_ray(config, model, images, task=flaky, **run)
    assert sorted(p.name for p in markers.iterdir()) == ["0", "4"]  # each part failed once
    np.testing.assert_array_equal(again.counts, members_on_ray(config, model, images, **run).counts)


# What differs between two runs of the same numbers: when and where they ran, and how much
# work they found done (another test process may have stored the same model meanwhile: the
# same weights, trained again, with their own timing)
RUN_KEYS = {"seconds", "environment", "cost", "cost_this_run", "cost_computed_at", "created"}
RUN_KEYS |= {"study_seconds", "study_seconds_when_computed", "flop", "ray", "executor"}
RUN_KEYS |= {"seconds_per_epoch", "from_cache", "outputs", "method_outputs"}


def _differences(a, b, path=""):
    """(path, a, b) of every leaf where two results differ (NaN equals NaN here)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for key in a.keys() - RUN_KEYS:
            yield from _differences(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _differences(x, y, f"{path}[{i}]")
    elif a != b and not (a != a and b != b):
        yield path, a, b


@pytest.mark.slow
def test_a_quick_report_on_ray_gives_the_local_numbers(
    local_ray, trained_data, finished_quick_report, tmp_path, monkeypatch, capsys
):
    """report --quick with --executor ray (each replicate's method outputs as Ray jobs by
    family; weight dropout's members and MC dropout's passes in parts, in the method studies
    and the dropout study) gives every number of the local run (the test run's shared
    finished_quick_report, the same command without --executor) exactly."""
    from mnistlab.uncertainty import evaluation, remote_outputs

    jobs = []
    grouped = remote_outputs.grouped
    monkeypatch.setattr(
        remote_outputs, "grouped", lambda todo: (jobs.append(grouped(todo)), jobs[-1])[1]
    )
    evaluation.outputs().clear()  # computed on Ray, not taken from a local run in this process
    argv = ["report", "--quick", "--seeds", "1", "--executor", "ray"]
    assert main([*argv, "--out", str(tmp_path / "ray")]) == 0
    found = {
        executor: json.loads((out / "report" / "results.json").read_text())
        for executor, out in (("local", finished_quick_report), ("ray", tmp_path / "ray"))
    }
    printed = capsys.readouterr().out
    assert re.search(r"ray: \d+ evaluation jobs and [1-9]\d* parts of ensembles", printed)
    assert found["ray"]["ray"]["jobs"] == sum(map(len, jobs)) and not found["local"]["ray"]
    on_ray = {m.key for groups in jobs for group in groups.values() for m, _ in group}
    scoreboard = {
        r["key"] for r in found["ray"]["studies"]["scoreboard"]["datasets"]["mnist"]["rows"]
    }
    in_parts = {k for k in scoreboard if k.startswith(("wdrop-", "mc-dropout"))}
    assert scoreboard - on_ray == in_parts  # on the driver, their members in parts
    assert list(_differences(found["local"], found["ray"]))[:5] == []


@pytest.mark.parametrize("failure", ["raises", "worker dies"])
def test_an_evaluation_job_that_fails_once_is_retried(local_ray, tmp_path, monkeypatch, failure):
    """Each job fails once (an exception, or its worker process lost mid-task); the retries
    give the local outputs bit for bit, the feature-space detectors' tuned values included."""
    import os

    from mnistlab.training.cache import TrainedModel
    from mnistlab.uncertainty import registry, remote_outputs
    from mnistlab.uncertainty.evaluation import Evaluation
    from mnistlab.uncertainty.method import BASE
    from mnistlab.uncertainty.output_store import OutputStore

    config, model, images, labels = _member_case()
    spec = RunSpec("mnist", config, QUICK.apply(TrainConfig()), seed=3)
    sizes = {"members": 4, "ensemble_size": 2, "rate": 0.2}
    methods = registry.selected(("msp", "energy", "knn", "laplace"), sizes, (0.2,))
    rng = np.random.default_rng(1)
    train = rng.random((300, 28, 28), dtype=np.float32), np.arange(300) % 10
    validation = rng.random((60, 28, 28), dtype=np.float32), np.arange(60) % 10
    markers = tmp_path / "failed-once"
    markers.mkdir()
    real = remote_outputs.job_on_worker

    def flaky(job, methods, missing):  # pickled by value and run on a Ray worker
        marker = Path(markers) / methods[0].family.replace(" ", "-")
        if not marker.exists():
            marker.touch()
            if failure == "worker dies":
                os._exit(1)
            raise RuntimeError("injected failure on the first try")
        return real(job, methods, missing)

    monkeypatch.setattr(remote_outputs, "job_on_worker", flaky)
    found = {}
    for executor in ("local", "ray"):
        evaluation = Evaluation(
            {BASE: TrainedModel(spec, model)},
            {"test": images, "ood": images[::-1] * 0.5},
            validation=validation, train_images=train[0], train_labels=train[1],
            seed=3, members=4, memory_budget=1 << 28, store=OutputStore(), executor=executor,
        )  # fmt: skip
        found[executor] = evaluation.outputs(methods)
    assert len(list(markers.iterdir())) == 3  # single model, feature space, Laplace
    for local, remote in zip(found["local"], found["ray"], strict=True):
        for name in ("test", "ood"):
            np.testing.assert_array_equal(remote.probabilities[name], local.probabilities[name])
            np.testing.assert_array_equal(remote.score[name], local.score[name])
