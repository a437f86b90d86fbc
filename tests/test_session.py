"""The session: every cache and counter a run keeps belongs to one, and clearing it frees them."""

import gc
import weakref

import pytest

from mnistlab import flops, session


def test_two_sessions_share_no_part():
    first = session.begin()
    flops.add(5.0)
    first.part("example", dict)["kept"] = 1
    second = session.begin()
    assert second is session.current() and second is not first
    assert second.names() == [] and flops.total() == 0.0  # a new command counts from zero
    flops.add(2.0)
    assert first.part("flops", flops.Counter).total() == 5.0  # the first run's numbers stand
    assert first.part("example", dict) == {"kept": 1}
    first.clear()
    assert first.names() == []


def test_a_part_is_made_once_and_shared_by_threads():
    from concurrent.futures import ThreadPoolExecutor

    one = session.begin()
    with ThreadPoolExecutor(8) as pool:
        parts = list(pool.map(lambda _: one.part("example", list), range(64)))
    assert all(p is parts[0] for p in parts)


def test_a_run_keeps_its_models_in_the_session_and_clearing_it_frees_them(synthetic_data, tmp_path):
    """Two studies in one process: the second reuses the first's models and outputs (what a
    session is for); a new session starts with none of them; clearing frees every model."""
    import mnistlab
    from mnistlab.uncertainty.output_store import outputs

    first = session.begin()
    options = {"quick": True, "methods": ("wdrop",), "p": (0.2,), "datasets": ("mnist",)}
    mnistlab.run_study("scoreboard", out=tmp_path / "a", **options)
    assert {"uncertainty/outputs", "training/loaded-models", "flops"} <= set(first.names())
    models = [t.model for _, t in first.part("training/loaded-models", dict).values()]
    assert models, "the run's models are held by its session"
    held = [weakref.ref(m) for m in models]
    del models
    computed = outputs().computed
    mnistlab.run_study("scoreboard", out=tmp_path / "b", **options)
    assert outputs().computed == computed  # the same session: every output reused

    second = session.begin()
    assert second.names() == []
    mnistlab.run_study("scoreboard", out=tmp_path / "c", **options)
    assert outputs().computed > 0 and outputs().reused == 0  # nothing from the first run
    gc.collect()
    assert all(ref() is not None for ref in held), "the first session still holds its models"

    first.clear()
    gc.collect()
    alive = [ref for ref in held if ref() is not None]
    assert not alive, f"{len(alive)} of {len(held)} models outlive their cleared session"


def test_the_cli_starts_a_session_per_command(monkeypatch, capsys):
    from mnistlab import cli

    before = session.current()
    assert cli.main(["methods"]) == 0
    assert session.current() is not before


@pytest.fixture(autouse=True)
def _a_fresh_session_after():
    yield
    session.begin()
