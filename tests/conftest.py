import fcntl
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

import mnistlab  # noqa: F401  (chooses the Keras backend before any test imports Keras)

from synthetic import patch_checksums, write_dataset

REAL_DATA = Path(
    os.environ.get("MNISTLAB_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data"
)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic-data")
    sums = {
        name: write_dataset(root, name, seed=i) for i, name in enumerate(("mnist", "fashion-mnist"))
    }
    return root, sums


@pytest.fixture
def synthetic_data(synthetic_root, monkeypatch, tmp_path):
    """Both data sets as tiny synthetic files; caches and outputs in tmp_path. Returns the data dir."""
    root, sums = synthetic_root
    for name, file_sums in sums.items():
        patch_checksums(monkeypatch, name, file_sums)
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(root))
    monkeypatch.setenv("MNISTLAB_CACHE_DIR", str(tmp_path / "cache"))
    return root


def _run_folder(tmp_path_factory, name: str) -> Path:
    """A folder for the whole test run: under pytest-xdist, shared by its worker processes."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own
    folder = root / name
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory):
    """One model cache for the tests that need trained models but not an empty cache: the
    synthetic data and seeds are the same, so a model is trained once per test run, by
    whichever test (or xdist worker) needs it first. The cache's writes are atomic and
    tolerate two processes storing the same model."""
    return _run_folder(tmp_path_factory, "shared-model-cache")


@pytest.fixture(scope="session")
def real_cache_dir(tmp_path_factory):
    """The same, for the tests that train on the real data (the quick report, the notebook)."""
    return _run_folder(tmp_path_factory, "real-model-cache")


@pytest.fixture(scope="session", autouse=True)
def shared_compilation_cache(tmp_path_factory):
    """One JAX compilation cache for the whole test run: its xdist workers and the processes
    tests start (a command in a subprocess, the notebook's kernel, Ray's workers) load the
    programs another one compiled, instead of compiling them again. JAX keys each entry on
    the program, the jaxlib version and the XLA flags; mnistlab's own setting (CACHE_DIR/xla)
    gives way to a JAX_COMPILATION_CACHE_DIR that is set, as it would for a user."""
    from mnistlab.training.compilation import use_folder

    use_folder(_run_folder(tmp_path_factory, "xla"), inherited=True)


@contextmanager
def _only_one_process(folder: Path):
    """Hold the run's lock on `folder` (the other xdist workers wait for it)."""
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def finished_quick_report(synthetic_root, shared_cache_dir, tmp_path_factory):
    """The output folder of `report --quick --seeds 1` on the synthetic data, computed once per
    test run (by whichever xdist worker asks first) for the tests that start from a finished
    report: a second run that reuses it, the API's write_report, Ray's run to compare with.
    Copy it (copy_of_finished_report) before writing into it."""
    from mnistlab.cli import main

    from synthetic import patch_checksums

    folder = _run_folder(tmp_path_factory, "finished-quick-report")
    out = folder / "out"
    with _only_one_process(folder):
        if not (folder / "done").is_file():
            shutil.rmtree(out, ignore_errors=True)
            root, sums = synthetic_root
            with pytest.MonkeyPatch.context() as patch:
                for name, file_sums in sums.items():
                    patch_checksums(patch, name, file_sums)
                patch.setenv("MNISTLAB_DATA_DIR", str(root))
                patch.setenv("MNISTLAB_CACHE_DIR", str(shared_cache_dir))
                argv = ["--quiet", "report", "--quick", "--seeds", "1", "--out", str(out)]
                assert main(argv) == 0
            (folder / "done").touch()
    return out


@pytest.fixture
def copy_of_finished_report(finished_quick_report, tmp_path):
    """A copy of finished_quick_report's output folder in tmp_path/out, to write into."""
    return Path(shutil.copytree(finished_quick_report, tmp_path / "out"))


@pytest.fixture(scope="session")
def real_report_folder(tmp_path_factory):
    """Where the notebook test leaves its output folder (a quick report on the real data,
    seeds 1) for the CLI's real-data report test to start from: share_folder, then
    copy_shared_folder."""
    return _run_folder(tmp_path_factory, "real-quick-report") / "out"


def share_folder(folder: Path, shared: Path) -> None:
    """Copy `folder` to `shared`, whole or not at all (another process may be reading it)."""
    staging = Path(shutil.copytree(folder, shared.with_name(f"{shared.name}.{os.getpid()}.tmp")))
    shutil.rmtree(shared, ignore_errors=True)
    staging.rename(shared)


def copy_shared_folder(shared: Path, folder: Path) -> bool:
    """Copy what share_folder left at `shared` into `folder`; False when there is none yet."""
    try:
        shutil.copytree(shared, folder)
    except (FileNotFoundError, shutil.Error):  # not shared (yet), or replaced meanwhile
        shutil.rmtree(folder, ignore_errors=True)
        return False
    return True


@pytest.fixture
def trained_data(synthetic_data, shared_cache_dir, monkeypatch):
    """synthetic_data with the session's shared model cache (see shared_cache_dir)."""
    monkeypatch.setenv("MNISTLAB_CACHE_DIR", str(shared_cache_dir))
    return synthetic_data


@pytest.fixture
def real_data_dir():
    if not (REAL_DATA / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"real data not found at {REAL_DATA} (set MNISTLAB_DATA_DIR to run this test)")
    return REAL_DATA


@pytest.fixture(autouse=True)
def _stamps_follow_the_environment():
    """Each test's stamps go where its MNISTLAB_CACHE_DIR says, not where an earlier test's
    --cache-dir pointed (stamps.use_cache_root is per process)."""
    from mnistlab.data import stamps

    stamps._ROOT.clear()
    yield
    stamps._ROOT.clear()


def pytest_collection_modifyitems(config, items):
    """The tests marked slow first (otherwise in order): with pytest-xdist a long test then
    starts at once instead of finishing alone at the end. Only tests that use no module-scoped
    fixture are marked, so moving them sets up nothing twice.

    The other tests that start from the shared finished report go last: the slow Ray test
    computes it first, and a worker that reached one of them early waited for it (20 s)."""
    items.sort(key=_place)


def _place(item) -> int:
    if item.get_closest_marker("slow") is not None:
        return 0
    if "finished_quick_report" in item.fixturenames and not _uses_module_fixtures(item):
        return 2
    return 1


def _uses_module_fixtures(item) -> bool:
    definitions = getattr(item, "_fixtureinfo", None)
    if definitions is None:
        return True  # unknown: leave it where it is
    return any(
        d.scope in ("module", "class", "package")
        for defs in definitions.name2fixturedefs.values()
        for d in defs
    )
