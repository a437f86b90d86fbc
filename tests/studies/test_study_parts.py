"""Each study module, imported by name: its STUDY is the registry's, its model plan trains
only known data sets, and the parts the report reaches only through a whole run (the shift
study's family means, the conformal study's marginal sets, the variants CSV) hold on numbers
worked out by hand."""

import numpy as np
import pytest

from mnistlab.config import DATASETS, RunSpec
from mnistlab.studies import registry
from mnistlab.studies.conformal import sets as conformal_sets
from mnistlab.studies.conformal import study as conformal_study
from mnistlab.studies.conformal.views import ROTATIONS
from mnistlab.studies.cross import STUDY as CROSS
from mnistlab.studies.dropout import STUDY as DROPOUT
from mnistlab.studies.framework.context import StudyContext
from mnistlab.studies.framework.study import option_fields
from mnistlab.studies.scoreboard import study as scoreboard_study
from mnistlab.studies.shift import study as shift_study
from mnistlab.studies.shift import views as shift_views
from mnistlab.studies.tutorial import STUDY as TUTORIAL
from mnistlab.studies.variants import views as variants_views

MODULE_STUDIES = [
    CROSS,
    DROPOUT,
    TUTORIAL,
    conformal_study.STUDY,
    scoreboard_study.STUDY,
    shift_study.STUDY,
]


@pytest.mark.parametrize("study", MODULE_STUDIES, ids=lambda s: s.name)
def test_a_study_module_gives_the_registrys_study_and_a_plan_of_known_data(study):
    assert registry.get(study.name) is study
    for f in option_fields(study.options):
        assert f.metadata["option"]["help"], f"{study.name} --{f.name} has no help text"
    specs = study.model_specs(StudyContext(quick=True, seeds=2), study.options())
    assert all(isinstance(s, RunSpec) and s.dataset in DATASETS for s in specs)
    assert len(specs) == len(set(specs))  # each model once: the report trains them together


def test_the_shift_family_mean_averages_sets_per_seed_then_seeds():
    numbers = {"a": {"acc_seeds": [0.9, 0.7]}, "b": {"acc_seeds": [0.5, 0.3]}}
    mean = shift_views.family_mean(numbers, ["a", "b"], "acc")
    assert mean["acc"] == pytest.approx(0.6)  # seeds 0.7 and 0.5
    assert mean["acc_seeds"] == pytest.approx([0.7, 0.5])


def test_the_shifted_images_are_the_option_or_the_profile_at_most_the_test_set():
    quick = StudyContext(quick=True)
    options = shift_study.ShiftOptions
    assert shift_study.shifted_images(quick, options(), 10**6) == quick.profile.shift_images
    assert shift_study.shifted_images(quick, options(images=300), 10**6) == 300
    assert shift_study.shifted_images(quick, options(images=300), 120) == 120


def test_marginal_conformal_sets_cover_exchangeable_labels_at_the_promised_rate():
    rng = np.random.default_rng(0)
    n, alpha = 4000, 0.1
    probabilities = rng.dirichlet(np.full(10, 0.3), size=3 * n).astype(np.float32)
    labels = np.array([rng.choice(10, p=p / p.sum()) for p in probabilities])
    scores = {"calibration": 1 - probabilities[:n], "test": 1 - probabilities[n : 2 * n]}
    scores |= {f"rotation/{a}": 1 - probabilities[2 * n :] for a in ROTATIONS}
    out, covered = conformal_sets._marginal_numbers(
        scores, labels[n : 2 * n], labels[2 * n :], labels[:n], alpha
    )
    # Split conformal promises coverage >= 1 - alpha; with n = 4000 the test share is within
    # about 3 standard errors (0.014) of it.
    assert 1 - alpha - 0.015 <= out["coverage"] <= 1 - alpha + 0.02
    assert covered.mean() == pytest.approx(out["coverage"])
    for a in ROTATIONS:  # the same exchangeable images: the same promise
        assert out[f"rotation/{a}/coverage"] >= 1 - alpha - 0.02


def test_the_variants_csv_quotes_what_a_spreadsheet_would_run():
    assert variants_views.spreadsheet_text("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert variants_views.spreadsheet_text("@x") == "'@x"
    assert variants_views.spreadsheet_text("relu, 128") == "relu, 128"
    assert variants_views.difference_text({"vs_tutorial": None}) == "(reference)"
    assert variants_views.difference_text({}) == "n/a"
