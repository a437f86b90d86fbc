"""A study's results folder: figures saved as they are drawn, then results.json with provenance.

A study's saved results are reused when they were made from the same inputs (fingerprint of
study, options, seed, profile, version and data checksums) and every figure is on disk: this is
what makes an interrupted report resume and a warm report take seconds.
"""

from __future__ import annotations

import hashlib
import json
import time

from mnistlab import flops
from mnistlab.data import data_checksum, file_checksums
from mnistlab.runs import clean_temporaries, environment, read_json, write_json
from mnistlab.studies.framework.context import StudyContext
from mnistlab.studies.framework.drawing import FigureSaver
from mnistlab.version import __version__


class StudyWriter:
    """Collects a study's figures and writes results.json with its provenance and wall time."""

    def __init__(self, ctx: StudyContext, study: str, options: dict, datasets: tuple[str, ...]):
        self.ctx, self.study, self.options, self.datasets = ctx, study, options, datasets
        self.folder = ctx.folder(study)
        clean_temporaries(self.folder)  # leftovers of a run killed mid-write
        self.figures: dict[str, str] = {}
        self.saver = FigureSaver()  # on other cores where it can (drawing.py)
        self.start, self.flop_start = time.perf_counter(), flops.total()
        self.fingerprint = hashlib.sha256(
            json.dumps(
                [
                    study,
                    options,
                    ctx.seed,
                    ctx.seeds,
                    ctx.quick,
                    ctx.arch,
                    __version__,
                    [data_checksum(d) for d in datasets],
                ],
                sort_keys=True,
                default=str,
            ).encode()
        ).hexdigest()[:16]

    def reusable(self) -> dict | None:
        """The saved results, if made from the same inputs and all figures are there (resume, warm runs)."""
        path = self.folder / "results.json"
        if not self.ctx.reuse or self.ctx.retrain or not path.is_file():
            return None
        try:
            document = read_json(path)
        except (ValueError, OSError):
            return None
        if not isinstance(document, dict):  # damaged or foreign: recompute
            return None
        if document.get("fingerprint") != self.fingerprint:
            return None
        if not all((self.folder / name).is_file() for name in document.get("figures", {})):
            return None
        document["reused"] = True
        return document

    def figure(self, name: str, fig, caption: str) -> None:
        self.saver.save(fig, self.folder / f"{name}.png")
        self.figures[f"{name}.png"] = caption

    def finish(self, results: dict, summary: list[str]) -> dict:
        self.saver.wait()  # every figure on disk before results.json says they are
        document = {
            "study": self.study,
            "fingerprint": self.fingerprint,
            "reused": False,
            "options": self.options,
            "seed": self.ctx.seed,
            "seeds": self.ctx.seed_list,
            "quick": self.ctx.quick,
            **results,
            "summary": summary,
            "figures": self.figures,
            "seconds": time.perf_counter() - self.start,
            # FLOPs computed while the study ran (its models' training too, unless trained
            # before it as the report does): the benchmark's floor for a study command.
            "flop": flops.total() - self.flop_start,
            "data_sha256": {name: file_checksums(name) for name in self.datasets},
            "environment": environment(),
        }
        write_json(self.folder / "results.json", document)
        return document
