"""The package's import graph as Python runs it: modules, the layer each is in, cycles, upward
imports and module sizes. tests/test_architecture.py holds the package to it.

    python tools/import_graph.py [--package src/mnistlab] [--json FILE]

Imports are read with `ast`, those inside functions too: a lazy import still ties two modules
together. An edge is what a statement makes Python run:
- `import a.b.c` and `from a.b import c` run a, a.b and a.b.c (each package's __init__);
- `from a.b import name`, where name is not a module, runs a.b: the edge goes to the package's
  __init__, whatever the package is to the importer.
The one thing left out is a module's own packages on the way to a module it names: Python has
already started them before the module runs (importing mnistlab.data.idx from mnistlab.data.files
runs nothing of mnistlab or mnistlab.data anew). Naming the package itself, `import mnistlab` or
`from mnistlab import train`, is an edge like any other: the cycle it makes is real.
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mnistlab"
MAX_LINES = 300

# Bottom to top. A module may import from its own layer or any layer below, never above.
# The longest matching prefix decides a module's layer.
LAYERS = [
    (
        "foundation",
        [
            "mnistlab.version",
            "mnistlab.backend",
            "mnistlab.errors",
            "mnistlab.progress",
            "mnistlab.interrupt",
            "mnistlab.session",
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
    ("study framework", ["mnistlab.studies.framework", "mnistlab.settings"]),
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
            "mnistlab.examples",
            "mnistlab",
        ],
    ),
]


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    best, best_length = None, -1
    for level, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = level, len(prefix)
    if best is None:
        raise LookupError(f"{module} is in no layer: add it to LAYERS in tools/import_graph.py")
    return best


def _packages_on_the_way(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:k]) for k in range(1, len(parts))]


def imports_from_source(source: str, me: str, modules: set[str]) -> set[str]:
    """The project modules that module `me` (its source given) makes Python run."""
    own_packages = set(_packages_on_the_way(me))
    found: set[str] = set()

    def reach(name: str) -> None:
        # A package on the way to `name` runs too, unless it is one of `me`'s own packages.
        found.update(
            p for p in _packages_on_the_way(name) if p in modules and p not in own_packages
        )
        if name in modules:
            found.add(name)

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                reach(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from a.b import c`: a.b runs as a package on the way to a.b.c (left out when it
            # is one of mine), but taking a name its __init__ defines is an edge to a.b itself.
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            if node.module not in own_packages or any(n not in modules for n in names):
                reach(node.module)
            else:
                found.update(p for p in _packages_on_the_way(node.module) if p not in own_packages)
            found.update(n for n in names if n in modules)
    return found - {me}


def graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """{module: the project modules it imports}, for every module of the package."""
    paths = sorted(package.rglob("*.py"))
    modules = {module_name(p, package) for p in paths}
    return {
        module_name(p, package): imports_from_source(
            p.read_text(), module_name(p, package), modules
        )
        for p in paths
    }


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or not (Tarjan): cycles' members."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in edges.get(node, ()):
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in sorted(edges.items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]


def around_the_face(package: Path = PACKAGE) -> list[str]:
    """Imports, from outside a package, of a name its face (__init__'s __all__) offers but taken
    from one of its modules instead: `from mnistlab.uncertainty.method import Method` where
    `from mnistlab.uncertainty import Method` is the door."""
    faces = {}
    for init in package.rglob("__init__.py"):
        for node in ast.parse(init.read_text()).body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
            ):
                faces[module_name(init, package)] = set(ast.literal_eval(node.value))
    found = []
    for path in sorted(package.rglob("*.py")):
        me = module_name(path, package)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            face = node.module.rpartition(".")[0]
            if face in faces and face != "mnistlab" and not (me + ".").startswith(face + "."):
                offered = [a.name for a in node.names if a.name in faces[face]]
                if offered:
                    found.append(f"{me}: from {node.module} import {', '.join(offered)}")
    return found


def sizes(package: Path = PACKAGE) -> dict[str, int]:
    return {module_name(p, package): len(p.read_text().splitlines()) for p in package.rglob("*.py")}


def summary(package: Path = PACKAGE) -> dict:
    edges = graph(package)
    lines = sizes(package)
    by_layer: dict[str, int] = {}
    for module in edges:
        try:
            name = LAYERS[layer_of(module)][0]
        except LookupError:
            name = "(no layer)"
        by_layer[name] = by_layer.get(name, 0) + 1
    try:
        upward = upward_imports(edges)
    except LookupError as error:
        upward = [str(error)]
    cycles = strongly_connected(edges)
    return {
        "modules": len(edges),
        "lines": sum(lines.values()),
        "edges": sum(map(len, edges.values())),
        "modules_by_layer": by_layer,
        "cycles": {"groups": len(cycles), "modules_in_cycles": sum(map(len, cycles))},
        "upward_imports": upward,
        "modules_over_270_lines": sorted(m for m, n in lines.items() if n > 270),
        "largest": sorted(lines.items(), key=lambda item: -item[1])[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, default=PACKAGE, help="the mnistlab folder")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args()
    result = summary(args.package.resolve())
    for key, value in result.items():
        if isinstance(value, list) and value and key == "upward_imports":
            print(f"{key}: {len(value)}")
            for line in value:
                print(f"  {line}")
        else:
            print(f"{key}: {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
