"""Named random streams (mnistlab.seeds): stable across processes, keyed by name and not by
position, the old streams unchanged; one rule for a replicate's model seeds, used by every study
that trains a replicate's base model."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnistlab.seeds import LEGACY, entropy, replicate_seeds, stream
from mnistlab.studies.framework.context import StudyContext
from mnistlab.studies.framework.method_study import MethodStudyOptions
from mnistlab.studies.framework.method_study import model_plan as method_plan
from mnistlab.studies.ood.study import STANDARD, OODOptions
from mnistlab.studies.ood.study import model_plan as ood_plan
from mnistlab.uncertainty.method import BASE, ENSEMBLE

SRC = Path(__file__).resolve().parents[2] / "src" / "mnistlab"


def test_the_same_names_give_the_same_stream_in_another_process():
    """Python's hash of a str changes per process (PYTHONHASHSEED): the words must not."""
    code = "from mnistlab.seeds import stream; print(stream(3, 'conformal/aps', 'msp').random())"
    here = stream(3, "conformal/aps", "msp").random()
    for hash_seed in ("1", "2"):
        env = {"PYTHONHASHSEED": hash_seed, "PATH": ""}
        there = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        assert float(there.stdout) == here


def test_names_keys_and_seeds_each_give_another_stream():
    draws = {
        (seed, name, key): stream(seed, name, key).random()
        for seed in (0, 1)
        for name in ("conformal/randomized-scores", "conformal/recalibration")
        for key in ("msp", "temperature", 0)
    }
    assert len(set(draws.values())) == len(draws)


def test_the_old_streams_keep_their_entropy():
    """Every stream from before the names draws what it drew: the training shuffle (so no
    cached model changes), the resamples and generated sets of a published report."""
    assert entropy(4, "training/shuffle", 7) == [4, 7]
    np.testing.assert_array_equal(
        stream(4, "training/shuffle", 7).permutation(100),
        np.random.default_rng([4, 7]).permutation(100),
    )
    old = {"scoreboard/ood-noise": [5, 4242], "paired/difference-resamples": [5, 2718]}
    old.update({"studies/test-order": [5, 7], "conformal/control-splits": [5]})
    for name, words in old.items():
        assert stream(5, name).random() == np.random.default_rng(words).random()
    assert all(isinstance(w, int) for words in LEGACY.values() for w in words)


def test_bad_keys_are_refused():
    with pytest.raises(ValueError, match=">= 0"):
        stream(0, "x", -1)
    with pytest.raises(TypeError, match="int or a str"):
        stream(0, "x", 1.5)


def test_no_stream_in_src_is_seeded_by_hand():
    """Every derived stream goes through mnistlab.seeds: no salt list, no list position."""
    hand_seeded = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py")
        if path.name != "seeds.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"default_rng\(\s*\[", line)
    ]
    assert hand_seeded == []


def test_replicate_seeds_are_disjoint_and_start_at_the_base_model():
    for size in (1, 2, 5, 8):
        seeds = [replicate_seeds(10, r, ensemble_size=size, stride=5) for r in range(4)]
        flat = [s for replicate in seeds for s in replicate]
        assert len(set(flat)) == len(flat)
        if size <= 5:  # the stride holds: base models do not depend on the ensemble's size
            assert [s[0] for s in seeds] == [10, 15, 20, 25]


def test_every_study_trains_the_same_base_models_whatever_the_ensemble_size(tmp_path):
    ctx = StudyContext(out=tmp_path, seeds=3)
    ood = ood_plan(ctx, OODOptions(datasets=("mnist",), open_set=()))
    for size in (None, 2, 3, 5):
        options = MethodStudyOptions(datasets=("mnist",), ensemble_size=size)
        plan = method_plan(ctx, options.resolve(ctx))
        for seed in ctx.seed_list:
            assert plan["mnist", seed, BASE] == ood[STANDARD, "mnist", seed]
            if ("mnist", seed, ENSEMBLE) in plan:
                assert plan["mnist", seed, ENSEMBLE][0] == plan["mnist", seed, BASE]


def test_a_methods_conformal_numbers_do_not_depend_on_the_others_chosen(trained_data, tmp_path):
    """The randomized scores (APS, RAPS) and the recalibration draw from the method's own
    streams: msp's and laplace's numbers are the same alone as among every method (laplace is
    second alone and later among all, so a stream keyed by position would differ)."""
    import mnistlab

    options = {"quick": True, "images": 20, "datasets": ("mnist",)}
    every = mnistlab.run_study("conformal", out=tmp_path / "all", **options)
    alone = mnistlab.run_study("conformal", out=tmp_path / "one", methods=("laplace",), **options)
    every, alone = (r.results["datasets"]["mnist"]["numbers"] for r in (every, alone))
    assert list(alone) == ["msp", "laplace"] and list(every).index("laplace") > 1
    for key in alone:
        for part in ("sets", "recalibration"):
            assert alone[key][part] == every[key][part]
        assert alone[key]["sets"]["aps-randomized"] == every[key]["sets"]["aps-randomized"]
