"""The one-way rule, read from the source: every dashboard app depends only on apps below it.

A dependency is a Python import (anywhere in the module, relative ones resolved), a template's
`{% load %}` of a tag library another app defines, or a template's `{% include %}`/`{% extends %}`
of a template kept in another app's templates folder. No Django, no database: the files are parsed.
"""

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard"

# Bottom to top. Apps on one level are independent of each other: none may use another.
LAYERS: list[set[str]] = [
    {"services"},
    {"accounts"},
    {"audit"},
    {"core"},
    {"notifications"},
    {"channels"},
    {"connections", "tracking", "nexustoken", "security"},
    {"orchestrator"},
    {"home"},
]
LEVEL = {app: level for level, apps in enumerate(LAYERS) for app in apps}

_LOAD = re.compile(r"{%\s*load\s+(.+?)\s*%}")
_TEMPLATE_NAME = re.compile(r"""{%\s*(?:include|extends)\s+["']([^"'/]+)/[^"']*["']""")


@dataclass(frozen=True)
class Use:
    """One place where `app` depends on `target`."""

    app: str
    target: str
    where: str  # file:line
    what: str  # the import or tag, as written

    def __str__(self) -> str:
        return f"{self.where}: {self.what} ({self.app} uses {self.target})"


def _apps() -> list[str]:
    return sorted(p.name for p in DASHBOARD.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path, tree: ast.AST) -> Iterator[tuple[int, str, str]]:
    """(line, absolute module, the statement) for every import in the file, relative ones resolved."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            statement = f"from {module} import {', '.join(alias.name for alias in node.names)}"
            # `from dashboard import tracking` names the app in the imported name, not the module.
            names = [f"{module}.{alias.name}" for alias in node.names] if module == "dashboard" else [module]
            for name in names:
                yield node.lineno, name, statement


def _app_of_module(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "dashboard" and parts[1] in LEVEL else None


def _tag_libraries() -> dict[str, str]:
    """Template tag library name -> the app that defines it."""
    return {
        library.stem: library.parent.parent.name
        for library in DASHBOARD.glob("*/templatetags/*.py")
        if library.stem != "__init__"
    }


def _template_folders() -> dict[str, str]:
    """Template folder (the first part of a template name) -> the app that keeps it."""
    return {
        folder.name: folder.parent.parent.name
        for folder in DASHBOARD.glob("*/templates/*")
        if folder.is_dir()
    }


def python_uses() -> Iterator[Use]:
    for app in _apps():
        for path in sorted((DASHBOARD / app).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for line, module, statement in _imported(path, tree):
                target = _app_of_module(module)
                if target and target != app:
                    yield Use(app, target, f"{path.relative_to(ROOT)}:{line}", statement)


def template_uses() -> Iterator[Use]:
    libraries, folders = _tag_libraries(), _template_folders()
    for app in _apps():
        for path in sorted((DASHBOARD / app).glob("templates/**/*.html")):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                where = f"{path.relative_to(ROOT)}:{number}"
                for load in _LOAD.finditer(line):
                    words = load.group(1).split()
                    # `{% load a b %}` loads libraries a and b; `{% load x y from lib %}` loads from lib.
                    names = words[-1:] if "from" in words else words
                    for name in names:
                        target = libraries.get(name)
                        if target and target != app:
                            yield Use(app, target, where, load.group(0))
                for named in _TEMPLATE_NAME.finditer(line):
                    target = folders.get(named.group(1))
                    if target and target != app:
                        yield Use(app, target, where, named.group(0))


def all_uses() -> list[Use]:
    return [*python_uses(), *template_uses()]


def upward(uses: list[Use]) -> list[Use]:
    """Uses of an app on the same level or above: each one breaks the rule."""
    return [use for use in uses if LEVEL[use.target] >= LEVEL[use.app]]


def cycle(uses: list[Use]) -> list[str]:
    """One cycle in the app graph, as [a, b, ..., a]; [] when there is none."""
    graph: dict[str, set[str]] = {}
    for use in uses:
        graph.setdefault(use.app, set()).add(use.target)
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(app: str) -> list[str]:
        state[app] = "open"
        path.append(app)
        for target in sorted(graph.get(app, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        state[app] = "done"
        path.pop()
        return []

    for app in sorted(graph):
        if app not in state and (found := visit(app)):
            return found
    return []


def _order() -> str:
    return " -> ".join(", ".join(sorted(apps)) for apps in LAYERS)


def test_every_app_has_a_place_in_the_order():
    unplaced = sorted(set(_apps()) - set(LEVEL))
    assert not unplaced, f"dashboard apps missing from LAYERS in {__file__}: {unplaced}"


def test_every_app_depends_only_on_apps_below_it():
    wrong = upward(all_uses())
    lines = "\n".join(
        f"  {use}: {use.target} is {'beside' if LEVEL[use.target] == LEVEL[use.app] else 'above'} {use.app}"
        for use in wrong
    )
    assert not wrong, f"Apps may only use apps below them ({_order()}):\n{lines}"


def test_no_two_apps_depend_on_each_other():
    found = cycle(all_uses())
    assert not found, "The apps depend on each other in a cycle: " + " -> ".join(found)


# --- the checker itself ---------------------------------------------------------------------------------


def test_it_sees_python_and_template_dependencies():
    uses = all_uses()
    assert any(use.app == "orchestrator" and use.target == "tracking" for use in python_uses())
    assert any(
        use.app == "tracking" and use.target == "core" and "load" in use.what for use in template_uses()
    )
    assert any(
        use.app == "orchestrator" and use.target == "tracking" and "include" in use.what for use in uses
    )


def test_it_finds_a_cycle():
    core_uses_tracking = Use("core", "tracking", "a.py:1", "import dashboard.tracking")
    tracking_uses_core = Use("tracking", "core", "b.py:1", "import dashboard.core")
    assert cycle([tracking_uses_core]) == []
    assert cycle([core_uses_tracking, tracking_uses_core]) == ["core", "tracking", "core"]
