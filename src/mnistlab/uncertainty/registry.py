"""The method registry: every uncertainty method as one record, found by a stable key.

A method says what it is (key, display name, family, kind), which trained models it needs by
role, whether it fits anything on the held-out validation split, and one function that gives
its outputs for an Evaluation (uncertainty/evaluation.py): probabilities and a score (higher =
less trust) for every set of images. The scoreboard, shift and conformal studies iterate over
the registry; views, verdicts and plots select methods by key and kind, never by display name.

A researcher adds a method without forking mnistlab: `mnistlab.register_method(Method(...))`
in a notebook, or an entry point in the group `mnistlab.methods` of an installed package
(the entry point names a Method, or a function returning one or a list of them).
"""

from __future__ import annotations

from collections.abc import Iterable

from mnistlab.errors import ConfigError
from mnistlab.uncertainty.builtin_methods import BUILTIN
from mnistlab.uncertainty.method import Method

ENTRY_POINT_GROUP = "mnistlab.methods"

_REGISTRY: dict[str, Method] = {method.key: method for method in BUILTIN}
_ENTRY_POINTS_LOADED = False


def register_method(method: Method, *, replace_existing: bool = False) -> Method:
    """Add a method to the registry (every study that evaluates methods picks it up).

    A key already registered is an error unless replace_existing=True (re-running a notebook
    cell that registers the same method, for example)."""
    if not isinstance(method, Method):
        raise ConfigError(f"register_method takes a mnistlab Method, got {type(method).__name__}")
    if method.key in _REGISTRY and not replace_existing:
        raise ConfigError(
            f"a method with key {method.key!r} is already registered "
            f"(pass replace_existing=True to replace it)"
        )
    _REGISTRY[method.key] = method
    return method


def unregister_method(key: str) -> None:
    _REGISTRY.pop(key, None)


def _load_entry_points() -> None:
    """Methods of installed packages (entry point group `mnistlab.methods`), loaded once."""
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = point.load()
            methods = loaded() if callable(loaded) and not isinstance(loaded, Method) else loaded
            for method in [methods] if isinstance(methods, Method) else list(methods):
                register_method(method, replace_existing=True)
        except Exception as error:  # a broken plugin must name itself, not stop the run
            raise ConfigError(
                f"the method plugin {point.name!r} ({point.value}) failed to load: {error}; "
                f"fix or uninstall the package that provides it"
            ) from error


def registered() -> list[Method]:
    """Every registered method template, in registration order (built-ins first)."""
    _load_entry_points()
    return list(_REGISTRY.values())


def expand(templates: Iterable[Method], sizes: dict, fractions: tuple[float, ...]) -> list[Method]:
    """The method instances of one evaluation: each per-fraction run of templates once per p,
    p outermost (p=0.01 vote, p=0.01 mean, p=0.2 vote, ...), the others as they are."""
    out, group = [], []

    def flush():
        out.extend(m.instance(sizes, p) for p in fractions for m in group)
        group.clear()

    for method in templates:
        if method.per_fraction:
            group.append(method)
            continue
        flush()
        out.append(method.instance(sizes))
    flush()
    return out


def selected(keys: tuple[str, ...] | None, sizes: dict, fractions: tuple[float, ...]) -> list:
    """The instances chosen by --methods (None: all). A key names an instance
    ('wdrop-0.2-vote'), or a per-fraction family ('wdrop': every p, vote and mean)."""
    instances = expand(registered(), sizes, fractions)
    if keys is None:
        return instances
    check_keys(keys, fractions)
    return [m for m in instances if m.key in keys or m.family_key in keys]


def known_keys(fractions: tuple[float, ...]) -> list[str]:
    """Every key --methods accepts with these weight-dropout fractions."""
    sizes = {"members": 0, "ensemble_size": 0, "rate": 0}
    instances = expand(registered(), sizes, fractions)
    families = [m.family_key for m in instances if m.family_key != m.key]
    return list(dict.fromkeys([*(m.key for m in instances), *families]))


def check_keys(keys: tuple[str, ...], fractions: tuple[float, ...]) -> None:
    """Every key known (with these fractions), or a one-line ConfigError listing the known ones."""
    known = known_keys(fractions)
    unknown = [k for k in keys if k not in known]
    if not keys or unknown:
        raise ConfigError(
            f"--methods: unknown method key(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"known: {', '.join(known)}"
        )
