"""Peak memory and time of `mnistlab dropout --p 0.2 --members K` for growing K.

    python benchmarks/ensemble_memory.py [--members 100,400,1600,10000] [--out mnistlab-out]

Each K runs in a fresh process (warm model cache: the model is trained once, first), so the
peak resident memory of that process is the study's own. Prints a table and writes
OUT/bench/ensemble_memory.json. Streaming the members should keep memory flat in K and time
linear in K.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

# Runs one command and prints the peak resident memory (KiB, Linux) of that child process.
CHILD = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)"
)


def measure(argv: list[str]) -> tuple[float, float]:
    """(seconds, peak MiB) of one run of `mnistlab ARGV` in its own process."""
    command = [sys.executable, "-m", "mnistlab", *argv]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *command], capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - start
    peak_kib, code = done.stdout.split()[-2:]
    if code != "0":
        raise SystemExit(f"mnistlab {' '.join(argv)} failed with exit code {code}")
    return seconds, int(peak_kib) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", default="100,400,1600,10000")
    parser.add_argument("--out", default="mnistlab-out")
    args = parser.parse_args()
    counts = [int(k) for k in args.members.split(",")]
    out = Path(args.out) / "bench"
    common = ["--quiet", "dropout", "--p", "0.2", "--out", str(out / "ensemble_memory_runs")]
    measure([*common, "--members", "1"])  # trains (or loads) the model: not timed below
    rows = []
    for k in counts:
        seconds, peak = measure([*common, "--members", str(k)])
        rows.append({"members": k, "seconds": seconds, "peak_mib": peak})
        print(f"K = {k:6d}: {seconds:7.1f} s, peak memory {peak:7.0f} MiB", flush=True)
    base = rows[0]
    print(
        f"\n{'members K':>10s} {'time':>9s} {'s / 100 members':>16s} {'peak memory':>12s} {'vs first':>9s}"
    )
    for row in rows:
        per_100 = 100 * row["seconds"] / row["members"]
        ratio = row["peak_mib"] / base["peak_mib"]
        print(
            f"{row['members']:10d} {row['seconds']:8.1f}s {per_100:15.2f}s "
            f"{row['peak_mib']:10.0f} MiB {ratio:8.2f}x"
        )
    out.mkdir(parents=True, exist_ok=True)
    path = out / "ensemble_memory.json"
    path.write_text(json.dumps({"command": common, "rows": rows}, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
