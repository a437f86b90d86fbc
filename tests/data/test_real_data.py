"""Integration test on the real MNIST (skips where ../shared/data is absent)."""

from mnistlab.config import ModelConfig, RunSpec, TrainConfig
from mnistlab.training import train


def test_short_training_on_real_mnist(real_data_dir, tmp_path):
    spec = RunSpec("mnist", ModelConfig(), TrainConfig(epochs=1, train_size=6000), seed=0)
    meta = train(spec, data_dir=real_data_dir, cache_dir=tmp_path).meta
    # 6,000 images, one epoch: the tutorial MLP already gets most digits right.
    assert meta["test/acc"] > 0.85, meta["test/acc"]
    assert meta["train/size"] == 6000
