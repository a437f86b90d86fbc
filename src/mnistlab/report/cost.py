"""The run's cost as the report's header and the report command state it: wall time against
the FLOP floor at the measured matmul peak, and whose run computed the results."""

from __future__ import annotations


def cost_text(cost: dict) -> str:
    """This run's wall time against its FLOP floor (flops.py)."""
    if not cost["floor_seconds"] > 0:
        return f"{cost['wall_seconds']:.1f} s wall; no model trained or evaluated (all reused)"
    return (
        f"{cost['wall_seconds']:.1f} s wall for {cost['flop'] / 1e12:.2f} TFLOP of training, prediction "
        f"and ensembles; at the measured float32 matmul peak of {cost['peak_gflops']:.0f} GFLOP/s that "
        f"work takes at least {cost['floor_seconds']:.1f} s: wall / floor = {cost['ratio']:.2f}"
    )


def cost_row(meta: dict) -> str:
    """The cost of the run that computed the results, and this run's when that was another."""
    text = cost_text(meta["cost"])
    this_run = meta.get("cost_this_run")
    if this_run is not None and meta.get("cost_from_earlier_run"):
        text += (
            f" (the run of {meta['cost_computed_at']}, which computed these results; this run "
            f"reused them all in {this_run['wall_seconds']:.1f} s)"
        )
    return text


def ray_text(sent: dict) -> str:
    """What a run sent to Ray besides training: its evaluation tasks and the objects put."""
    return (
        f"{sent['jobs']} evaluation jobs and {sent['parts']} parts of ensembles (weight "
        f"dropout's members, MC dropout's passes) as tasks; {sent['objects']} objects "
        f"({sent['bytes'] / 2**20:.0f} MiB) put into "
        "the object store"
    )
