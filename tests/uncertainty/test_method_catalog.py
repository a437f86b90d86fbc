"""The built-in methods and detectors as the registry lists them, and which trained networks
a method's outputs are keyed by."""

from mnistlab.studies.ood.protocols import is_single_network
from mnistlab.uncertainty import BASE, ENSEMBLE, MC_DROPOUT, is_builtin, registered
from mnistlab.uncertainty.builtin_methods import BUILTIN
from mnistlab.uncertainty.detector_methods import DETECTORS
from mnistlab.uncertainty.method_outputs import networks


def test_every_builtin_method_and_detector_is_registered_once():
    keys = [m.key for m in registered()]
    assert len(keys) == len(set(keys))
    for method in [*BUILTIN, *DETECTORS]:
        assert method.key in keys
        assert method.per_fraction or is_builtin(
            method.key
        )  # keys like wdrop-{p:g}-vote are templates
    assert {m.kind for m in DETECTORS} == {"score"}  # they borrow the base model's probabilities


def test_the_ood_study_compares_the_methods_that_read_one_network_once():
    single = {m.key for m in registered() if is_single_network(m)}
    assert {"msp", "temperature", "laplace", *(m.key for m in DETECTORS)} <= single
    assert not {m.key for m in BUILTIN if set(m.roles) != {BASE}} & single
    assert not {m.key for m in BUILTIN if m.per_fraction} & single


class _Models:
    """An evaluation's models by role, as Evaluation.model gives them."""

    def __init__(self):
        self.by_role = {BASE: "base", MC_DROPOUT: "dropout", ENSEMBLE: ["base", "second"]}

    def model(self, role):
        return self.by_role[role]


def test_a_methods_networks_are_the_base_model_first_then_its_roles():
    by_key = {m.key: m for m in registered()}
    assert networks(_Models(), by_key["msp"]) == ["base"]
    assert networks(_Models(), by_key["mc-dropout"]) == ["base", "dropout"]
    ensemble = next(m for m in registered() if ENSEMBLE in m.roles)
    assert networks(_Models(), ensemble) == ["base", "base", "second"]
