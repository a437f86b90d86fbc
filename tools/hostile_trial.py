"""The hostile trial of issue 27, round two: folders that are files and environment variables
that cannot work, each run as the `mnistlab` command in its own process. Clean: exit 0 or 2,
no traceback, a code-2 error on one line. Prints one line per case and the count.

    python tools/hostile_trial.py      (with MNISTLAB_DATA_DIR set; about 2 minutes)

tests/test_hostile.py holds each kind of case found; this runs them all end to end."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PY = sys.executable
DATA = os.environ.get("MNISTLAB_DATA_DIR") or str(
    Path(__file__).resolve().parents[2] / "shared" / "data"
)
cases = []


def case(name, argv, env=None, setup=None):
    cases.append((name, argv, env or {}, setup))


T = tempfile.mkdtemp(prefix="hostile-")


def f(p, text="x"):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    Path(p).write_text(text)


Q = ["--quick"]
# folders
case("out is a file", ["tutorial", *Q, "--out", f"{T}/o1"], setup=lambda: f(f"{T}/o1"))
case(
    "out/study is a file", ["tutorial", *Q, "--out", f"{T}/o2"], setup=lambda: f(f"{T}/o2/tutorial")
)
case(
    "out/report is a file",
    ["report", *Q, "--seeds", "1", "--out", f"{T}/o3", "--cache-dir", f"{T}/c3"],
    setup=lambda: f(f"{T}/o3/report"),
)
case(
    "cache-dir is a file",
    ["train", *Q, "--out", f"{T}/o4", "--cache-dir", f"{T}/c4"],
    setup=lambda: f(f"{T}/c4"),
)
case(
    "cache/models is a file",
    ["train", *Q, "--out", f"{T}/o5", "--cache-dir", f"{T}/c5"],
    setup=lambda: f(f"{T}/c5/models"),
)
case(
    "cache/xla is a file",
    ["train", *Q, "--out", f"{T}/o6", "--cache-dir", f"{T}/c6"],
    setup=lambda: f(f"{T}/c6/xla"),
)
case(
    "cache/verified is a file",
    ["train", *Q, "--out", f"{T}/o7", "--cache-dir", f"{T}/c7"],
    setup=lambda: f(f"{T}/c7/verified"),
)
case(
    "data-dir is a file",
    ["train", *Q, "--data-dir", f"{T}/d8", "--out", f"{T}/o8"],
    setup=lambda: f(f"{T}/d8"),
)
case(
    "data-dir/mnist is a file",
    ["train", *Q, "--dataset", "mnist", "--data-dir", f"{T}/d9", "--out", f"{T}/o9"],
    setup=lambda: f(f"{T}/d9/mnist"),
)
case(
    "out/train is a file",
    ["train", *Q, "--out", f"{T}/o10", "--cache-dir", f"{T}/c10"],
    setup=lambda: f(f"{T}/o10/train"),
)
case("data cmd, data-dir file", ["data", "--data-dir", f"{T}/d11"], setup=lambda: f(f"{T}/d11"))
case("grid is a folder", ["variants", *Q, "--grid", T, "--out", f"{T}/o12"])
case("examples out is file", ["examples", "--out", f"{T}/o13"], setup=lambda: f(f"{T}/o13"))
# env vars
case("JAX_PLATFORMS=gpu", ["train", *Q, "--out", f"{T}/e1"], env={"JAX_PLATFORMS": "gpu"})
case("JAX_PLATFORMS=bogus", ["train", *Q, "--out", f"{T}/e2"], env={"JAX_PLATFORMS": "bogus"})
case("KERAS_BACKEND=bogus", ["train", *Q, "--out", f"{T}/e3"], env={"KERAS_BACKEND": "bogus"})
case("KERAS_BACKEND=torch", ["train", *Q, "--out", f"{T}/e4"], env={"KERAS_BACKEND": "torch"})
case(
    "MNISTLAB_DATA_DIR=file",
    ["train", *Q, "--out", f"{T}/e5"],
    env={"MNISTLAB_DATA_DIR": f"{T}/d8"},
)
case(
    "MNISTLAB_CACHE_DIR=file",
    ["train", *Q, "--out", f"{T}/e6"],
    env={"MNISTLAB_CACHE_DIR": f"{T}/c4"},
)
case(
    "MNISTLAB_MIRRORS=bogus",
    ["data", "--download", "--data-dir", f"{T}/e7"],
    env={"MNISTLAB_MIRRORS": "not a url,ftp://x"},
)
case("XLA_FLAGS=bogus", ["train", *Q, "--out", f"{T}/e8"], env={"XLA_FLAGS": "--not_a_flag=1"})
case("MPLBACKEND=bogus", ["confidence", *Q, "--out", f"{T}/e9"], env={"MPLBACKEND": "bogus"})
case("OMP_NUM_THREADS=abc", ["train", *Q, "--out", f"{T}/e10"], env={"OMP_NUM_THREADS": "abc"})
case("KERAS_HOME=file", ["train", *Q, "--out", f"{T}/e11"], env={"KERAS_HOME": f"{T}/d8"})
case("HOME=/nonexistent", ["train", *Q, "--out", f"{T}/e12"], env={"HOME": "/nonexistent"})
case("XDG_CACHE_HOME=file", ["data"], env={"XDG_CACHE_HOME": f"{T}/d8", "MNISTLAB_DATA_DIR": DATA})
case("JAX_ENABLE_X64=bogus", ["train", *Q, "--out", f"{T}/e13"], env={"JAX_ENABLE_X64": "bogus"})
case("MNISTLAB_CACHE_DIR empty", ["train", *Q, "--out", f"{T}/e14"], env={"MNISTLAB_CACHE_DIR": ""})
bad = []
clean = 0
for name, argv, env, setup in cases:
    if setup:
        setup()
    e = {**os.environ, "MNISTLAB_DATA_DIR": DATA, "MNISTLAB_CACHE_DIR": f"{T}/cache", **env}
    if "MNISTLAB_CACHE_DIR" in env and env["MNISTLAB_CACHE_DIR"] == "":
        e.pop("MNISTLAB_CACHE_DIR")
    p = subprocess.run(
        [PY, "-m", "mnistlab", "--quiet", *argv], env=e, capture_output=True, text=True, timeout=300
    )
    err = p.stderr.strip()
    ok = (
        p.returncode in (0, 2)
        and "Traceback" not in err
        and (p.returncode == 0 or len(err.splitlines()) == 1)
    )
    clean += ok
    print(
        f"{'ok ' if ok else 'BAD'} {p.returncode:4d} {name:28s} {err.splitlines()[-1][:150] if err else ''}",
        flush=True,
    )
print(f"{clean}/{len(cases)} clean")
shutil.rmtree(T, ignore_errors=True)
