"""The package's shape: no import cycle, no module importing from a layer above it, small modules.

Imports are read with `ast`, including those inside functions: a lazy import still ties two
modules together, so hiding a cycle inside a function does not make it go away.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mnistlab"
MAX_LINES = 300

# Bottom to top. A module may import from its own layer or any layer below, never above.
# The longest matching prefix decides a module's layer.
LAYERS = [
    (
        "foundation",
        [
            "mnistlab.version",
            "mnistlab.errors",
            "mnistlab.progress",
            "mnistlab.interrupt",
            "mnistlab.runs",
            "mnistlab.flops",
            "mnistlab.plots",
            "mnistlab.legibility",
            "mnistlab.envvars",
            "mnistlab.keras_import",
            "mnistlab.seeds",
        ],
    ),
    ("data", ["mnistlab.data"]),
    ("config", ["mnistlab.config", "mnistlab.parse"]),
    ("report (document model and renderers)", ["mnistlab.report"]),
    ("networks and training", ["mnistlab.models", "mnistlab.training"]),
    ("uncertainty", ["mnistlab.uncertainty"]),
    ("study framework", ["mnistlab.studies.framework"]),
    ("studies", ["mnistlab.studies"]),
    (
        "entry points",
        [
            "mnistlab.pipeline",
            "mnistlab.bench",
            "mnistlab.api",
            "mnistlab.cli",
            "mnistlab.commands",
            "mnistlab.explore",
            "mnistlab",
        ],
    ),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    best, best_length = None, -1
    for level, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = level, len(prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best


def imports_of(path: Path, modules: set[str]) -> set[str]:
    return imports_from_source(path.read_text(), path, modules)


def imports_from_source(source: str, path: Path, modules: set[str]) -> set[str]:
    """The project modules the module at `path` imports (a package's __init__ counts, as
    Python runs it)."""
    me = module_name(path)
    # A module's own packages are loaded before it, whatever it imports: not a dependency.
    ancestors = {".".join(me.split(".")[:k]) for k in range(1, me.count(".") + 1)}
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name in modules:
                found.add(name)
            # `import mnistlab.a.b` runs mnistlab/a/__init__.py too (the root is the API facade,
            # which imports everything and is imported by everything: it is left out).
            parts = name.split(".")
            found.update(
                ".".join(parts[:k])
                for k in range(2, len(parts))
                if ".".join(parts[:k]) in modules and ".".join(parts[:k]) not in ancestors
            )
    return found - {me} - ancestors


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    raw = {module_name(p): imports_of(p, modules) - {"mnistlab"} for p in paths}
    # A package __init__ that imports nothing of the project (a docstring, like report/) can
    # neither close a cycle nor pull a higher layer in: importing through it is neutral.
    neutral = {m for p in paths if p.name == "__init__.py" and not raw[(m := module_name(p))]}
    return {module: targets - neutral for module, targets in raw.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle(graph):
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_module_imports_from_a_layer_above(graph):
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in graph.items()
        for target in targets
        if layer_of(target) > layer_of(module)
    ]
    assert not upward, "\n".join(upward)


def test_the_layer_check_sees_lazy_imports(tmp_path):
    module = PACKAGE / "data" / "lazy_example.py"  # never written: only its name is used
    source = "def f():\n    from mnistlab.studies.registry import STUDIES\n"
    modules = {"mnistlab.studies", "mnistlab.studies.registry"}
    assert imports_from_source(source, module, modules) == modules


def test_modules_stay_small():
    sizes = {module_name(p): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    large = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not large, f"modules over {MAX_LINES} lines: {large}"
