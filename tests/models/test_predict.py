"""models/predict.py: the softmax every method's probabilities go through."""

import numpy as np
import pytest

from mnistlab.models.predict import last_axis_max, softmax


def _textbook_softmax(logits, temperature=1.0):
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("shape", [(5, 2500, 10), (1000, 10), (7, 3), (50, 100)])
@pytest.mark.parametrize("temperature", [1.0, 0.37, 2.5])
def test_softmax_is_the_textbook_formula_bit_for_bit(shape, temperature):
    logits = (np.random.default_rng(0).standard_normal(shape) * 20).astype(np.float32)
    found = softmax(logits, temperature=temperature)
    assert found.dtype == np.float32
    assert np.array_equal(found, _textbook_softmax(logits, temperature))


def test_the_last_axis_maximum_keeps_nan_and_infinities():
    values = np.array([[1.0, np.nan, 3.0], [-np.inf, -np.inf, -5.0], [np.inf, 0.0, 1.0]])
    np.testing.assert_array_equal(last_axis_max(values), values.max(axis=-1, keepdims=True))
