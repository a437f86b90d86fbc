"""Compare two lab reports' results.json, number by number, leaving out timings and provenance.

    python tools/compare_results.py OLD/report/results.json NEW/report/results.json [--renamed]

Prints how many values are shared and equal, every shared value that differs, and the keys only
one side has; exits 1 if a shared value differs. Used to check that a refactor changed no result.

--renamed: OLD predates the method registry (issue 22): its methods are keyed by display name
and its numbers by the old names (test/acc, misclassification/auroc, ...). Its keys and its
method-name values are first translated to the registry's keys and the one vocabulary
(uncertainty/summary.py), with the name -> key pairs read from NEW.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

# Wall times, dates, machines, cache state, and the reuse fingerprint (it hashes the options'
# layout) differ between runs of the same computation.
IGNORED = re.compile(
    r"(seconds|_time|created|environment|versions|from_cache|reused|fingerprint|"
    r"trained_in_parallel_with|/cache$|^meta|^study_seconds)"
)


def flatten(value, prefix="") -> dict:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}/{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        out = {}
        # A table's rows by their first cell (a method, a variant), not their position: a
        # table that gained a row still compares row by row.
        by_name = prefix.endswith("/rows") and all(
            isinstance(row, list) and row and isinstance(row[0], str) for row in value
        )
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{item[0] if by_name else i}]"))
        return out
    return {prefix: value}


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def compared_values(path: str) -> dict:
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    return {k: v for k, v in flatten(document).items() if not IGNORED.search(k)}


def method_keys(document) -> dict:
    """{display name: key} of every method description in a results document."""
    found = {}
    if isinstance(document, dict):
        if isinstance(document.get("key"), str) and isinstance(document.get("name"), str):
            found[document["name"]] = document["key"]
        for value in document.values():
            found.update(method_keys(value))
    elif isinstance(document, list):
        for value in document:
            found.update(method_keys(value))
    return found


# The old vocabulary -> the new one, where each old name was used.
SCOREBOARD_RENAMES = [
    (r"(^|/)test/acc(?=_ci|_std|_seeds|$|\[)", r"\1cls/acc"),
    (r"(^|/)test/nll(?=_std|_seeds|$)", r"\1cal/nll"),
    (r"(^|/)test/brier(?=_std|_seeds|$)", r"\1cal/brier"),
    (r"(^|/)test/ece(?=_std|_seeds|$)", r"\1cal/ece"),
    (r"(^|/)test/aurc(?=_std|_seeds|$)", r"\1sc/aurc"),
    (r"(^|/)misclassification/aupr_error", r"\1err/aupr"),
    (r"(^|/)misclassification/", r"\1err/"),
]
SHIFT_NUMBER_RENAMES = [  # the per-level numbers had bare names
    (r"/(acc|confidence)(?=_std|_seeds|$)", r"/cls/\1"),
    (r"/(ece|brier|nll)(?=_std|_seeds|$)", r"/cal/\1"),
    (r"/misclassification/", r"/err/"),
]
CROSS_RENAMES = [  # the exercise's cross-dataset study
    (r"/acc(?=_std|_seeds|$)", "/cls/acc"),
    (r"/mean_conf_other_domain(?=_std|_seeds|$)", "/cls/confidence"),
    (r"/mean_conf_in_domain(?=_std|_seeds|$)", "/in_domain/cls/confidence"),
    (r"/misclassification/", "/err/"),
]
DROPOUT_RENAMES = [  # the exercise's weight-dropout study, per predictor
    (r"/(original|vote)/misclassification_auroc", r"/\1/err/auroc"),
    (r"/(original|vote|member)/acc", r"/\1/cls/acc"),
    (r"/mean_probability/acc", "/mean/cls/acc"),
]
RENAMES = [  # (which keys, their renames): the first matching path decides
    (re.compile(r"/models?(\[|/)"), []),  # a model's own summary kept its names
    (re.compile(r"^(studies|sections)/cross/"), CROSS_RENAMES),
    (re.compile(r"^(studies|sections)/dropout/"), DROPOUT_RENAMES),
    (re.compile(r"^studies/shift/datasets/[^/]+/numbers/"), SHIFT_NUMBER_RENAMES),
    (re.compile(r"^sections/shift/numbers/.+/rotation/\d+/(acc|ece)$"), SHIFT_NUMBER_RENAMES),
    (re.compile(r"^studies/conformal/datasets/[^/]+/methods/"), [(r"/methods/", "/numbers/")]),
    (re.compile(r"^(studies|sections)/(scoreboard|shift|conformal)/"), SCOREBOARD_RENAMES),
]
# Method names were values in the shift study's method list and its "excluded" lists.
NAME_VALUES = re.compile(r"^studies/shift/datasets/[^/]+/(methods|verdicts/excluded)\[\d+\]$")
METHOD_STUDY = re.compile(r"^(studies|sections)/(scoreboard|shift|conformal|cross|dropout)/")


def renamed(old: dict, names: dict) -> dict:
    """OLD's flattened values with method names and metric names as the registry has them."""
    out = {}
    for key, value in old.items():
        if NAME_VALUES.match(key):
            value = names.get(value, value)
        if METHOD_STUDY.match(key):
            rules = next((rules for where, rules in RENAMES if where.search(key)), [])
            parts = key.split("/")
            key = "/".join(names.get(part, part) for part in parts)
            for pattern, replacement in rules:
                key = re.sub(pattern, replacement, key)
        out[key] = value
    return out


def main(old_path: str, new_path: str, *flags: str) -> int:
    old, new = compared_values(old_path), compared_values(new_path)
    if "--renamed" in flags:
        names = method_keys(json.loads(Path(new_path).read_text(encoding="utf-8")))
        old = renamed(old, names)
    shared = sorted(set(old) & set(new))
    differ = [k for k in shared if not same(old[k], new[k])]
    print(
        f"shared values: {len(shared)}, equal: {len(shared) - len(differ)}, differ: {len(differ)}"
    )
    for key in differ[:50]:
        print(f"  DIFFERS {key}: {old[key]!r} -> {new[key]!r}")
    for name, keys in (("only in old", set(old) - set(new)), ("only in new", set(new) - set(old))):
        roots = sorted({re.sub(r"\[\d+\]", "[]", k) for k in keys})
        print(f"{name}: {len(keys)} values under {len(roots)} keys")
        for key in roots[:40]:
            print(f"  {key}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
