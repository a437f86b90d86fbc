"""Temperature scaling (Guo et al. 2017): one scalar T fitted on held-out data, never on test data."""

from __future__ import annotations

import numpy as np

from mnistlab.models.predict import softmax
from mnistlab.uncertainty.metrics import negative_log_likelihood


class TemperatureScaler:
    """softmax(logits / T) with T minimising validation NLL. fit() returns self."""

    def __init__(self, *, bounds: tuple[float, float] = (0.05, 20.0)):
        self.bounds = bounds
        self.temperature_: float | None = None

    def fit(self, logits, y_true) -> TemperatureScaler:
        logits, y_true = np.asarray(logits, np.float64), np.asarray(y_true)
        if len(logits) == 0:
            raise ValueError("temperature scaling needs a non-empty validation split")

        def loss(log_t: float) -> float:
            return negative_log_likelihood(
                y_true, softmax(logits, temperature=float(np.exp(log_t)))
            )

        # NLL is unimodal in log T: golden-section search to 1e-4 in log T.
        low, high = np.log(self.bounds[0]), np.log(self.bounds[1])
        ratio = (np.sqrt(5) - 1) / 2
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        fa, fb = loss(a), loss(b)
        while high - low > 1e-4:
            if fa < fb:
                high, b, fb = b, a, fa
                a = high - ratio * (high - low)
                fa = loss(a)
            else:
                low, a, fa = a, b, fb
                b = low + ratio * (high - low)
                fb = loss(b)
        self.temperature_ = float(np.exp((low + high) / 2))
        return self

    def transform(self, logits) -> np.ndarray:
        if self.temperature_ is None:
            raise ValueError("call fit() on validation logits before transform()")
        return softmax(logits, temperature=self.temperature_)
