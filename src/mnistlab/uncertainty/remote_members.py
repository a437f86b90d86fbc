"""Weight dropout's K members (and MC dropout's K passes) on a Ray cluster (`--executor
ray`): the ensemble is split into parts of consecutive members, each part one Ray task, and
the parts' summaries are merged.

The model's weights and the images go into Ray's object store once per run, whatever the
number of parts, fractions and replicates. A worker rebuilds the network from its config and
runs its members into a MemberSummary, O(images) in size, which it sends back; the driver
merges the parts in member order (MemberSummary.merged).

The same numbers as one pass, bit for bit: member k's masks depend only on the seed, k and
the layer; the parts are whole chunks of the one pass's member chunks (the same members
evaluated together, in calls of the same shape, so the same float rounding), and the merged
summary's float64 sums make the float32 mean independent of the split. Failed tasks and lost
workers are retried by Ray; on Ctrl-C or an error the pending parts are cancelled.
"""

from __future__ import annotations

import numpy as np

from mnistlab import (
    backend,  # noqa: F401  (first: a Ray worker unpickles a task into Keras)
    flops,
    interrupt,
)
from mnistlab.models.networks import multiply_adds
from mnistlab.training.remote import RETRIES, connect
from mnistlab.uncertainty.ensemble import DEFAULT_MEMORY_BUDGET, chunk_sizes
from mnistlab.uncertainty.mc_dropout import member_chunk as mc_dropout_chunk
from mnistlab.uncertainty.members import MemberSummary
from mnistlab.uncertainty.remote_outputs import put_images, remember, traffic


def summary_on_worker(config, weights, images, p, first, count, seed, labels=None, **options):
    """The Ray task: members first ... first + count - 1 of the ensemble, summarized."""
    from mnistlab.models.networks import build_model
    from mnistlab.uncertainty.weight_dropout import ensemble_logits

    model = build_model(config, seed=0)
    model.set_weights(weights)
    sink = MemberSummary(count, len(images), labels=labels)
    if options.pop("mc_dropout", False):  # passes of MC dropout, not weight-dropout copies
        from mnistlab.uncertainty.mc_dropout import mc_dropout_logits

        return mc_dropout_logits(
            model, images, passes=count, first_member=first, seed=seed, sink=sink, **options
        )
    return ensemble_logits(
        model, images, p=p, members=count, first_member=first, seed=seed, sink=sink, **options
    )


def part_bounds(members: int, parts: int, chunk: int = 1) -> list[tuple[int, int]]:
    """(first, count) of each part: consecutive whole chunks of `chunk` members (the last
    chunk may be short), as evenly spread as the chunks allow."""
    chunks = -(-members // chunk)
    edges = np.linspace(0, chunks, min(parts, chunks) + 1).astype(int) * chunk
    edges = np.minimum(edges, members)
    return [(int(a), int(b - a)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def members_on_ray(
    config,
    model,
    images,
    *,
    p: float,
    members: int,
    seed: int,
    address=None,
    parts=None,
    labels=None,
    progress_task=None,
    retries: int = RETRIES,
    task=None,
    drop_biases=False,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    mc_dropout=False,
) -> MemberSummary:
    """The MemberSummary of `members` weight-dropout copies of `model` (built from `config`)
    on `images`, computed as Ray tasks (default: one part per CPU of the cluster), equal to
    ensemble_logits(..., memory_budget=memory_budget, sink=...); drop_biases as there.
    mc_dropout: `members` MC-dropout passes instead (mc_dropout_logits; p is not used)."""
    # The one pass's member chunk: every part runs whole chunks of it, in calls of its shape
    if mc_dropout:
        chunk = mc_dropout_chunk(model, len(images), members, memory_budget)
    else:
        chunk, _ = chunk_sizes(model, len(images), members, memory_budget)
    options = {"member_chunk": chunk, "memory_budget": memory_budget}
    options |= {"drop_biases": True} if drop_biases else {}
    options |= {"mc_dropout": True} if mc_dropout else {}
    ray = connect(address)
    remote = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=True)(
        task or summary_on_worker
    )
    parts = parts or max(1, int(ray.cluster_resources().get("CPU", 1)))
    # Into the object store once per run, whatever the number of fractions and replicates
    weights = remember(
        ("weights", id(model)), model, lambda: [np.asarray(w) for w in model.get_weights()]
    )[0]
    stacked = put_images(images)[0]
    pending = {}
    for index, (first, count) in enumerate(part_bounds(members, parts, chunk)):
        ref = remote.remote(config, weights, stacked, p, first, count, seed, labels, **options)
        pending[ref] = (index, count)
    traffic()["parts"] += len(pending)
    found = {}
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            interrupt.check()
            for ref in done:
                index, count = pending.pop(ref)
                found[index] = ray.get(ref)
                if progress_task is not None:
                    progress_task.advance(count)
    finally:
        for ref in pending:  # interrupted or failed: do not leave parts running
            ray.cancel(ref, force=True)
    # The workers' arithmetic, counted here as a local run counts it (the report's FLOP floor)
    flops.add(flops.forward(multiply_adds(model), len(images), members))
    return MemberSummary.merged([found[i] for i in sorted(found)])
