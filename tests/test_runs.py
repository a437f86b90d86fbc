"""Atomic writes honour the umask: a result is as readable as any file the user makes."""

import os

import pytest

from mnistlab import runs


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_honour_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        assert runs.current_umask() == umask
        target = tmp_path / "out" / "results.json"
        runs.write_json(target, {"a": 1})
        with runs.atomic_path(tmp_path / "model.bin") as tmp:
            tmp.write_bytes(b"weights")  # as a library writing into the temporary file would
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == mode
    assert (tmp_path / "model.bin").stat().st_mode & 0o777 == mode


def test_the_model_cache_honours_the_umask(synthetic_data, tmp_path):
    from mnistlab.config import ModelConfig, RunSpec, TrainConfig, profile
    from mnistlab.training import train

    old = os.umask(0o022)
    try:
        spec = RunSpec("mnist", ModelConfig(), profile(True).apply(TrainConfig()), seed=0)
        trained = train(spec)
    finally:
        os.umask(old)
    assert trained.path.stat().st_mode & 0o777 == 0o755
    for name in ("model.keras", "meta.json"):
        assert (trained.path / name).stat().st_mode & 0o777 == 0o644
