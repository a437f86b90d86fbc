"""The run's cost against its FLOP floor, as the report's header and `mnistlab report` say it."""

import math

import pytest

from mnistlab import pipeline
from mnistlab.report.cost import cost_row, cost_text


def test_the_cost_is_wall_time_over_the_floor_at_the_measured_peak(monkeypatch):
    monkeypatch.setattr("mnistlab.flops.matmul_peak", lambda size: 100.0)  # GFLOP/s
    cost = pipeline.measure_cost({"train": 3.0, "studies": 1.0}, {"train": 2e11, "studies": 0.0})
    assert cost["floor_seconds"] == pytest.approx(2.0) and cost["ratio"] == pytest.approx(2.0)
    assert cost["phases"]["train"]["ratio"] == pytest.approx(1.5)
    assert math.isnan(cost["phases"]["studies"]["ratio"])  # no work, no floor
    assert cost_text(cost).endswith("wall / floor = 2.00")
    assert "0.20 TFLOP" in cost_text(cost) and "100 GFLOP/s" in cost_text(cost)


def test_a_run_that_computed_nothing_measures_no_peak_and_says_so(monkeypatch):
    monkeypatch.setattr("mnistlab.flops.matmul_peak", lambda size: pytest.fail("measured"))
    cost = pipeline.measure_cost({"studies": 0.5}, {"studies": 0.0})
    assert cost["peak_gflops"] is None
    assert cost_text(cost) == "0.5 s wall; no model trained or evaluated (all reused)"
    meta = {
        "cost": {**cost, "wall_seconds": 9.0},
        "cost_this_run": cost,
        "cost_from_earlier_run": True,
        "cost_computed_at": "2026-12-07T10:00",
    }
    assert "the run of 2026-12-07T10:00" in cost_row(meta) and "in 0.5 s" in cost_row(meta)
