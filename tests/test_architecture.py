"""The package's shape: no import cycle, no module importing from a layer above it, small modules.

The graph is tools/import_graph.py's: what each import statement makes Python run, lazy imports
inside functions included, and an import of the package itself (`import mnistlab`) counted like
any other, so a worker module that imports the public face closes a cycle and fails here.
"""

import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "import_graph.py"
_spec = importlib.util.spec_from_file_location("import_graph", TOOL)
import_graph = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(import_graph)

PACKAGE, MAX_LINES, LAYERS = import_graph.PACKAGE, import_graph.MAX_LINES, import_graph.LAYERS


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph.graph()


def test_no_import_cycle(graph):
    cycle = import_graph.find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
    assert import_graph.strongly_connected(graph) == []


def test_the_cycle_finders_find_cycles():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_graph.find_cycle(edges) == ["a", "b", "c", "a"]
    assert import_graph.strongly_connected(edges) == [["a", "b", "c"]]
    assert import_graph.find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_module_imports_from_a_layer_above(graph):
    upward = import_graph.upward_imports(graph)
    assert not upward, "\n".join(upward)


def test_a_package_with_a_face_is_imported_through_it():
    around = import_graph.around_the_face()
    assert not around, "import these from the package itself:\n" + "\n".join(around)


def test_every_module_is_in_a_layer(graph):
    for module in graph:
        import_graph.layer_of(module)  # raises, naming the module


MODULES = {
    "mnistlab",
    "mnistlab.data",
    "mnistlab.data.files",
    "mnistlab.data.idx",
    "mnistlab.studies",
    "mnistlab.studies.registry",
    "mnistlab.uncertainty",
    "mnistlab.uncertainty.method",
}


@pytest.mark.parametrize(
    "me, source, expected",
    [
        # lazy imports count
        (
            "mnistlab.data.files",
            "def f():\n    from mnistlab.studies.registry import STUDIES\n",
            {"mnistlab.studies", "mnistlab.studies.registry"},
        ),
        # the package's own face, named: an edge (the worker modules' old `import mnistlab`)
        ("mnistlab.uncertainty.method", "def f():\n    import mnistlab\n", {"mnistlab"}),
        ("mnistlab.data.files", "from mnistlab import train\n", {"mnistlab"}),
        # a name from an own package's __init__: an edge to it
        (
            "mnistlab.uncertainty.method",
            "from mnistlab.uncertainty import Method\n",
            {"mnistlab.uncertainty"},
        ),
        # own packages on the way to a module: already running, no edge
        ("mnistlab.data.files", "from mnistlab.data.idx import parse_idx\n", {"mnistlab.data.idx"}),
        ("mnistlab.data.files", "from mnistlab.data import idx\n", {"mnistlab.data.idx"}),
        ("mnistlab.data.files", "import mnistlab.data.idx\n", {"mnistlab.data.idx"}),
        # another package on the way: its __init__ runs
        (
            "mnistlab.data.files",
            "from mnistlab.uncertainty.method import Method\n",
            {"mnistlab.uncertainty", "mnistlab.uncertainty.method"},
        ),
    ],
)
def test_the_graph_reads_imports_as_python_runs_them(me, source, expected):
    assert import_graph.imports_from_source(source, me, MODULES) == expected


def test_modules_stay_small():
    large = {name: n for name, n in import_graph.sizes().items() if n > MAX_LINES}
    assert not large, f"modules over {MAX_LINES} lines: {large}"


TESTS = Path(__file__).resolve().parent
# Run, not imported: importing it would run the command line.
RUN_NOT_IMPORTED = {"mnistlab.__main__": "python -m mnistlab"}


def test_every_module_is_imported_by_a_test(graph):
    """A module no test names can break with only a whole run to notice (30 did once)."""
    imported = set()
    for path in TESTS.rglob("*.py"):
        imported |= import_graph.imports_from_source(
            path.read_text(), "tests." + path.stem, set(graph)
        )
    missing = sorted(set(graph) - imported - set(RUN_NOT_IMPORTED))
    assert not missing, "imported by no test: " + ", ".join(missing)
    runs = "".join(p.read_text() for p in TESTS.glob("test_*.py"))
    for module, command in RUN_NOT_IMPORTED.items():
        assert '"-m", "mnistlab"' in runs, f"no test runs {module} ({command})"


def test_the_tests_mirror_the_package():
    """tests/<part>/ holds the tests of mnistlab/<part>/; the top holds the whole package's."""
    for folder in (p for p in TESTS.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        assert (PACKAGE / folder.name / "__init__.py").is_file(), (
            f"tests/{folder.name} mirrors nothing"
        )
        assert list(folder.glob("test_*.py")), f"tests/{folder.name} has no tests"
    names = [p.name for p in TESTS.rglob("test_*.py")]
    assert len(names) == len(set(names)), "two test files of one name (pytest imports both as one)"
