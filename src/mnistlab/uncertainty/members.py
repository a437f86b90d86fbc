"""Where an ensemble's member outputs go, chunk by chunk, as the runner produces them.

MemberSummary keeps what the studies use (vote counts, summed probabilities, each member's
correct answers): O(images x classes) memory whatever the number of members K. MemberLogits
keeps every member's logits, O(K x images x classes), for the few callers that need them;
it checks that size against the memory budget before any work starts.

Both receive `add(first_member, logits, first_image)` with logits of shape
(members in the chunk, images in the batch, classes), members in increasing order.
"""

from __future__ import annotations

import numpy as np

from mnistlab.errors import ConfigError
from mnistlab.models.predict import softmax
from mnistlab.uncertainty import scores


class MemberSummary:
    """Vote counts, mean probability and per-member accuracy of K members on N images.

    The float32 probabilities are summed member after member in float64 (each one converts
    exactly), and the mean is rounded to float32 once at the end: it equals
    `stacked.mean(axis=0, dtype=np.float64).astype(np.float32)` bit for bit (tested) without
    ever holding the stacked array. In float64 the sum of K probabilities is exact unless
    they span more than 2^29 in size, so the order of the additions, and the split of the
    members into parts on several workers (merged), does not change the float32 mean: a
    float32 sum would differ in its last bits, enough to break ties of saturated
    probabilities and move a threshold metric such as FPR95 by several points.
    """

    def __init__(self, members: int, n_images: int, classes: int = 10, *, labels=None):
        self.members = members
        self.counts = np.zeros((n_images, classes), np.int32)
        self.probability_sum = np.zeros((n_images, classes), np.float64)
        # Each member's predictive entropy, summed: the expected entropy (aleatoric part), and
        # with the mean probability's entropy the mutual information (epistemic part)
        self.entropy_sum = np.zeros(n_images, np.float64)
        self.labels = None if labels is None else np.asarray(labels)
        self.member_correct = np.zeros(members, np.int64)  # right answers of each member
        self._added = np.zeros(n_images, np.int64)  # members added per image (a check)

    @classmethod
    def from_logits(cls, member_logits: np.ndarray, *, labels=None) -> MemberSummary:
        """The summary of logits already in memory: float32 (K, N, C)."""
        members, n, classes = member_logits.shape
        summary = cls(members, n, classes, labels=labels)
        summary.add(0, member_logits, 0)
        return summary

    @classmethod
    def merged(cls, parts: list[MemberSummary]) -> MemberSummary:
        """One summary of K members from parts that each summarized some of them (in member
        order) on the same images: what evaluating an ensemble in parts, on several workers,
        comes back as. Votes, vote shares and member accuracies equal one pass exactly
        (integer counts); the probability sums are float64 sums of the parts' float64 sums,
        exact in the cases the class docstring names, so the float32 mean probability
        equals one pass's (tested bit for bit); so do the entropy sums (of float32 terms)."""
        if not parts:
            raise ValueError("merge needs at least one part")
        for part in parts:
            part._complete()
        first = parts[0]
        if any(p.counts.shape != first.counts.shape for p in parts):
            raise ValueError("merged parts must summarize the same images and classes")
        labels = [p.labels for p in parts]
        whole = cls(sum(p.members for p in parts), *first.counts.shape, labels=labels[0])
        for part in parts:
            whole.counts += part.counts
            whole.probability_sum += part.probability_sum
            whole.entropy_sum += part.entropy_sum
        whole.member_correct = np.concatenate([p.member_correct for p in parts])
        whole._added[:] = whole.members
        return whole

    def add(self, first_member: int, logits: np.ndarray, first_image: int) -> None:
        images = slice(first_image, first_image + logits.shape[1])
        rows = np.arange(logits.shape[1])
        predictions = logits.argmax(axis=-1)  # (k, n)
        for prediction in predictions:
            self.counts[images][rows, prediction] += 1
        probabilities = softmax(logits)
        for member in probabilities:  # one member at a time: the order of np.mean
            self.probability_sum[images] += member
        # Each member's entropy rounded to float32, then summed in float64: float32 values
        # add up exactly there, in any order, so parts merged give one pass's sums bit for bit
        # (a float64 entropy would differ in its last bit with the order of the additions).
        for member in probabilities:
            self.entropy_sum[images] += scores.entropy(member).astype(np.float32)
        if self.labels is not None:
            right = (predictions == self.labels[images]).sum(axis=1)
            self.member_correct[first_member : first_member + len(logits)] += right
        self._added[images] += len(logits)

    def _complete(self) -> None:
        if not np.all(self._added == self.members):
            raise RuntimeError("the ensemble summary is missing members for some images")

    def vote(self) -> tuple[np.ndarray, np.ndarray]:
        """(N,) majority class (ties -> lower class index) and (N,) its vote share."""
        self._complete()
        return self.counts.argmax(axis=1), self.counts.max(axis=1) / self.members

    def vote_shares(self) -> np.ndarray:
        """(N, C) share of members voting for each class."""
        self._complete()
        return self.counts / self.members

    def mean_probability(self) -> np.ndarray:
        """(N, C) the members' softmax probabilities averaged: the ensemble's prediction."""
        self._complete()
        return (self.probability_sum / self.members).astype(np.float32)

    def expected_entropy(self) -> np.ndarray:
        """(N,) the members' entropies averaged: what every member is unsure of (aleatoric)."""
        self._complete()
        return self.entropy_sum / self.members

    def mutual_information(self) -> np.ndarray:
        """(N,) entropy of the mean probability minus the expected entropy: where the members
        disagree (epistemic; torch-uncertainty's split). Never below 0 (Jensen)."""
        return np.maximum(scores.entropy(self.mean_probability()) - self.expected_entropy(), 0.0)

    def member_accuracy(self) -> np.ndarray:
        """(K,) accuracy of each member (needs labels)."""
        if self.labels is None:
            raise ValueError("member accuracy needs labels: MemberSummary(..., labels=...)")
        self._complete()
        return self.member_correct / len(self.labels)

    def split(self, bounds) -> list[MemberSummary]:
        """Summaries of consecutive image ranges (the sets that were stacked into one run)."""
        self._complete()
        parts = []
        for counts, sums, entropies in zip(
            np.split(self.counts, bounds),
            np.split(self.probability_sum, bounds),
            np.split(self.entropy_sum, bounds),
            strict=True,
        ):
            part = MemberSummary(self.members, len(counts), counts.shape[1])
            part.counts, part.probability_sum, part.entropy_sum = counts, sums, entropies
            part._added[:] = self.members
            parts.append(part)
        return parts


class MemberLogits:
    """Every member's logits: float32 (K, N, C), checked against the memory budget first."""

    def __init__(self, members: int, n_images: int, classes: int = 10, *, memory_budget: int):
        needed = members * n_images * classes * 4
        if needed > memory_budget:
            raise ConfigError(
                f"keeping the logits of {members} members on {n_images} images needs "
                f"{needed / 2**20:.0f} MiB, over the memory budget of {memory_budget / 2**20:.0f} "
                "MiB: raise --memory-budget, or use fewer members or images"
            )
        self.logits = np.empty((members, n_images, classes), np.float32)

    def add(self, first_member: int, logits: np.ndarray, first_image: int) -> None:
        members = slice(first_member, first_member + logits.shape[0])
        self.logits[members, first_image : first_image + logits.shape[1]] = logits
