import numpy as np
import pytest

from mnistlab.config import ModelConfig, RunSpec, TrainConfig
from mnistlab.errors import ConfigError
from mnistlab.models.networks import build_model, make_optimizer
from mnistlab.training import fit_fast, fit_keras, train

SMALL = TrainConfig(epochs=2, batch_size=32, train_size=300)


def _weights(model):
    return [np.asarray(v.numpy()) for v in model.weights]


def test_same_seed_gives_same_weights(synthetic_data, tmp_path):
    spec = RunSpec("mnist", ModelConfig(hidden_units=(16,)), SMALL, seed=3)
    first = train(spec, cache_dir=tmp_path / "a")
    second = train(spec, cache_dir=tmp_path / "b")
    assert not first.from_cache and not second.from_cache
    for a, b in zip(_weights(first.model), _weights(second.model), strict=True):
        np.testing.assert_array_equal(a, b)
    other = train(
        RunSpec("mnist", ModelConfig(hidden_units=(16,)), SMALL, seed=4), cache_dir=tmp_path / "a"
    )
    assert not np.allclose(_weights(first.model)[0], _weights(other.model)[0])


def test_fast_path_equals_keras_fit(synthetic_data):
    """The scanned epoch is the same computation as fit: same batches, same weights."""
    from mnistlab.data import load_split

    x, y = load_split("mnist", "train")
    x, y = x[:250], y[:250]  # 250 = 7 full batches of 32 + a partial one of 26
    configs = (
        ModelConfig(hidden_units=(16,)),
        ModelConfig(arch="cnn", hidden_units=(8,)),
        ModelConfig(arch="lenet5"),
    )
    for config in configs:
        # The reference is the straightforward model: Keras' own layers, trained by fit.
        reference = build_model(config, seed=1, stock_layers=True)
        fast = build_model(config, seed=1)
        fit_keras(
            reference, make_optimizer("adam", 1e-3), x, y, epochs=2, batch_size=32, shuffle=False
        )
        fit_fast(
            fast, make_optimizer("adam", 1e-3), x, y, epochs=2, batch_size=32, seed=0, shuffle=False
        )
        # Convolutions summed in another order differ in the last bits; Adam turns a gradient
        # that is nearly 0 into a step of up to lr = 1e-3 either way, so a few weights of the
        # conv models differ by ~2e-5 after 16 steps: within a tenth of one step.
        atol = 1e-5 if config.arch == "mlp" else 1e-4
        for a, b in zip(_weights(reference), _weights(fast), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=atol)


def test_cache_hit_loads_instead_of_training(synthetic_data, tmp_path):
    spec = RunSpec("fashion-mnist", ModelConfig(hidden_units=(16,)), SMALL, seed=0)
    first = train(spec)
    again = train(spec)
    assert again.from_cache and again.meta["test/acc"] == first.meta["test/acc"]
    for a, b in zip(_weights(first.model), _weights(again.model), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not train(spec, retrain=True).from_cache


def test_synthetic_data_is_learned(synthetic_data):
    spec = RunSpec("mnist", ModelConfig(hidden_units=(32,)), TrainConfig(epochs=3), seed=0)
    trained = train(spec)
    meta = trained.meta
    assert meta["train/acc"] > 0.9 and meta["test/acc"] > 0.8
    # The shared jitted evaluation agrees with Keras' own predict.
    from mnistlab.data import load_split
    from mnistlab.training import accuracy_of

    assert meta["test/acc"] == accuracy_of(trained.model, *load_split("mnist", "test"))
    assert meta["train/size"] == 600 and len(meta["history"]) == 3


def test_validation_split_is_held_out(synthetic_data):
    from mnistlab.training import training_arrays

    spec = RunSpec("mnist", train=TrainConfig(validation_size=100))
    x, y, x_val, y_val = training_arrays(spec)
    assert len(x) == 500 and len(x_val) == 100
    with pytest.raises(ConfigError, match="validation size"):
        training_arrays(RunSpec("mnist", train=TrainConfig(validation_size=600)))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ModelConfig(activation="nope"), "unknown activation"),
        (lambda: ModelConfig(hidden_units=(0,)), "hidden units must be >= 1"),
        (lambda: ModelConfig(dropout=1.0), "dropout rate"),
        (lambda: TrainConfig(learning_rate=0), "learning rate must be a finite number > 0"),
        (lambda: TrainConfig(epochs=0), "epochs must be between 1 and 1,000"),
        (lambda: TrainConfig(optimizer="lbfgs"), "unknown optimizer"),
    ],
)
def test_invalid_config_names_the_value(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_models_trained_together_equal_models_trained_alone(synthetic_data, tmp_path):
    """The parallel path (threads, one compiled epoch per architecture) changes nothing in the result."""
    from mnistlab.training import train_many

    specs = [RunSpec("mnist", ModelConfig(hidden_units=(16,)), SMALL, seed=s) for s in range(3)]
    specs.append(RunSpec("mnist", ModelConfig(hidden_units=(8,), activation="tanh"), SMALL, seed=0))
    specs.append(specs[0])  # a duplicate is trained once
    together = train_many(specs, cache_dir=tmp_path / "together", workers=2)
    alone = [train(spec, cache_dir=tmp_path / "alone") for spec in specs]
    assert [t.from_cache for t in together] == [False] * 4 + [True]
    for a, b in zip(together, alone, strict=True):
        assert a.spec == b.spec
        for wa, wb in zip(_weights(a.model), _weights(b.model), strict=True):
            np.testing.assert_array_equal(wa, wb)
    assert together[0].meta["trained_in_parallel_with"] == 1


def test_one_compiled_epoch_serves_every_learning_rate(synthetic_data):
    """The learning rate travels in the optimizer's state, so the epoch compiled for one rate
    trains a model with another exactly as that model's own compiled epoch does."""
    from mnistlab.data import load_split
    from mnistlab.training.fast import shared_runner

    x, y = load_split("mnist", "train")
    x, y = x[:250], y[:250]
    config = ModelConfig(hidden_units=(16,))
    shared = shared_runner(config, "adam")

    def trained(learning_rate, runner):
        model = build_model(config, seed=1)
        fit_fast(
            model,
            make_optimizer("adam", learning_rate),
            x,
            y,
            epochs=2,
            batch_size=32,
            seed=0,
            runner=runner,
        )
        return _weights(model)

    own = trained(0.01, None)  # compiled from this model's own optimizer (rate 0.01)
    for a, b in zip(own, trained(0.01, shared), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(own[0], trained(1e-3, shared)[0])  # the rate did change the training


def test_workers_train_while_the_next_models_are_built(synthetic_data, tmp_path, monkeypatch):
    """train_many builds each model in this thread and hands it to a worker at once: the
    first models train while the later ones are built (building compiles initializers), and
    a model that finished is cached between two builds, not after the last (so a Ctrl-C
    while models are still being built keeps it)."""
    import threading

    from mnistlab.training import many

    events, fit_started, fit_finished = [], threading.Event(), threading.Event()
    prepare, fit, store = many.prepare, many.fit, many.store

    def recorded_prepare(job, *args):
        built = sum(1 for event in events if event[0] == "built")
        if built:  # from the second model on, wait until a worker has begun to train
            assert fit_started.wait(timeout=60), "no model trained while others were built"
        if built == 2:  # the third: wait until a model has finished training
            assert fit_finished.wait(timeout=60)
        prepare(job, *args)
        events.append(("built", threading.current_thread() is threading.main_thread()))

    def recorded_fit(job, bar):
        events.append(("fit", threading.current_thread() is threading.main_thread()))
        fit_started.set()
        fit(job, bar)
        fit_finished.set()

    def recorded_store(*args):
        events.append(("stored", threading.current_thread() is threading.main_thread()))
        store(*args)

    monkeypatch.setattr(many, "prepare", recorded_prepare)
    monkeypatch.setattr(many, "fit", recorded_fit)
    monkeypatch.setattr(many, "store", recorded_store)
    specs = [RunSpec("mnist", ModelConfig(hidden_units=(16,)), SMALL, seed=s) for s in range(4)]
    trained = many.train_many(specs, cache_dir=tmp_path, workers=2)
    assert [t.from_cache for t in trained] == [False] * 4
    assert events[:2] == [("built", True), ("fit", False)]  # built here, trained in a worker
    assert sorted(events) == [("built", True)] * 4 + [("fit", False)] * 4 + [("stored", True)] * 4
    fourth_built = [i for i, event in enumerate(events) if event[0] == "built"][3]
    assert events.index(("stored", True)) < fourth_built


def test_the_reference_accuracy_is_the_share_of_right_argmaxes(trained_data):
    from mnistlab.config import profile
    from mnistlab.data import load_split
    from mnistlab.models.predict import predict_logits
    from mnistlab.training.reference import accuracy_of

    trained = train(RunSpec(dataset="mnist", train=profile(True).apply(TrainConfig())))
    images, labels = load_split("mnist", "test")
    images, labels = images[:200], labels[:200]
    right = predict_logits(trained.model, images).argmax(axis=1) == labels
    assert accuracy_of(trained.model, images, labels) == float(np.mean(right))
    assert np.isnan(accuracy_of(trained.model, images[:0], labels[:0]))
