"""Compare two lab reports' results.json, number by number, leaving out timings and provenance.

    python tools/compare_results.py OLD/report/results.json NEW/report/results.json

Prints how many values are shared and equal, every shared value that differs, and the keys only
one side has; exits 1 if a shared value differs. Used to check that a refactor changed no result.
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
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def compared_values(path: str) -> dict:
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    return {k: v for k, v in flatten(document).items() if not IGNORED.search(k)}


def main(old_path: str, new_path: str) -> int:
    old, new = compared_values(old_path), compared_values(new_path)
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
    sys.exit(main(*sys.argv[1:3]))
