"""Ctrl-C at random moments of `mnistlab report --quick`: is every exit clean, quick, and are
finished models kept?

    MNISTLAB_DATA_DIR=../shared/data python tools/interrupt_battery.py [--trials 20] [--seed 0]

Each trial starts from an empty cache and output folder, sends SIGINT after a seeded random
delay, and records the exit code, the seconds from SIGINT to exit, whether stderr holds a
traceback, "Exception ignored" or a crash, and how many models the cache kept. Then the same
command runs again and must finish the report. Prints a table and a summary line.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def trial(delay: float, folder: Path) -> dict:
    env = {**os.environ, "MNISTLAB_CACHE_DIR": str(folder / "cache")}
    command = [sys.executable, "-m", "mnistlab", "--quiet", "report", "--quick"]
    command += ["--out", str(folder / "out")]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    finished_first = process.poll() is not None
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, err = process.communicate(timeout=60)
    row = {
        "delay": delay,
        "code": process.returncode,
        "exit_seconds": time.monotonic() - sent,
        "finished_before_sigint": finished_first,
        "traceback": "Traceback" in err,
        "exception_ignored": "Exception ignored" in err,
        "crash": process.returncode < 0,  # killed by a signal, e.g. SIGSEGV
        "models_kept": len(list((folder / "cache" / "models").glob("*/meta.json"))),
    }
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    row["resumed"] = again.returncode == 0 and (folder / "out" / "report" / "index.html").is_file()
    row["clean"] = (
        (row["code"] == 130 or finished_first)
        and not (row["traceback"] or row["exception_ignored"] or row["crash"])
        and row["exit_seconds"] < 3
        and row["resumed"]
    )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--longest", type=float, default=20.0, help="latest SIGINT, seconds")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows = []
    print(f"{'delay':>6s} {'exit':>5s} {'stop s':>7s} {'models':>6s}  clean")
    for _ in range(args.trials):
        with tempfile.TemporaryDirectory() as folder:
            row = trial(rng.uniform(0.5, args.longest), Path(folder))
        rows.append(row)
        flags = [k for k in ("traceback", "exception_ignored", "crash") if row[k]]
        print(
            f"{row['delay']:6.1f} {row['code']:5d} {row['exit_seconds']:7.2f} "
            f"{row['models_kept']:6d}  {'yes' if row['clean'] else 'NO ' + ' '.join(flags)}",
            flush=True,
        )
    clean = sum(r["clean"] for r in rows)
    slowest = max(r["exit_seconds"] for r in rows)
    print(
        f"{len(rows)} interrupts: {clean} clean, exit 130 in {sum(r['code'] == 130 for r in rows)}, "
        f"slowest exit {slowest:.2f} s, models kept when interrupted mid-training: "
        f"{sum(r['models_kept'] > 0 for r in rows)} of {len(rows)} runs, all resumed: "
        f"{all(r['resumed'] for r in rows)}"
    )
    return 0 if clean == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
