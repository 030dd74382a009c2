"""Imports between top-level packages run one way: a test over the source (``ast``) of every module, counting
imports inside functions too (they hide a cycle from Python, not from a reader)."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_PACKAGES = {"tests", "bench"}  # test and benchmark code may import anything

# The one way imports run: a package imports only packages of a lower layer (never one beside it or above it).
# core -> accounts -> (messages) -> courses -> quizzes -> learning -> reports and classes; search beside courses'
# users (it imports core and courses; nobody imports search); the message center, where it exists, sits right
# above accounts (every domain may send a member a message).
LAYERS = {"core": 0, "accounts": 1, "messages": 1.5, "courses": 2, "search": 3, "quizzes": 3, "learning": 4,
          "reports": 5, "classes": 5}
# Search stands beside courses: it reads these packages, and no package imports it (app.py wires its blueprints and
# indexer, gunicorn.conf.py starts the indexer; both are outside the packages). A course change reaches the index
# through session events search.indexing registers (an index log row per change, applied after the commit), never
# through an import of search by courses.
SEARCH_READS = {"core", "courses"}
SEARCH_IMPORTERS: set[str] = set()
# Import edges that close a cycle. The package step of issue 15 removed every one; nothing may be added here.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()


def top_level_packages() -> set[str]:
    return {path.name for path in ROOT.iterdir()
            if (path / "__init__.py").is_file() and path.name not in NOT_PACKAGES}


def crossing_imports(package: str, node: ast.AST, packages: set[str]):
    """(import node, imported module) for each absolute import under ``node`` that reaches another package."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Import):
            names = [alias.name for alias in inner.names]
        elif isinstance(inner, ast.ImportFrom) and inner.level == 0 and inner.module:
            names = [inner.module]
        else:
            continue
        for name in names:
            if name.split(".")[0] in packages and name.split(".")[0] != package:
                yield inner, name


def modules():
    """(package, path, syntax tree) of every module of every top-level package."""
    for package in sorted(top_level_packages()):
        for path in sorted((ROOT / package).rglob("*.py")):
            yield package, path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def import_edges() -> dict[tuple[str, str], list[str]]:
    """(importing package, imported package) -> where, for every absolute import in every module."""
    packages = top_level_packages()
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for package, path, tree in modules():
        for node, name in crossing_imports(package, tree, packages):
            edges[(package, name.split(".")[0])].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return edges


def cycle_edges(edges) -> set[tuple[str, str]]:
    """The edges A -> B where B leads back to A."""
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                stack.extend(graph[node])
        return False

    return {(source, target) for source, target in edges if reaches(target, source)}


def test_the_scan_sees_the_packages_and_their_imports():
    edges = import_edges()
    assert {"core", "accounts", "courses", "quizzes", "learning", "search", "reports", "classes"} <= \
        top_level_packages()
    assert ("accounts", "core") in edges
    assert ("reports", "learning") in edges and ("learning", "courses") in edges
    assert cycle_edges({("a", "b"): [], ("b", "c"): [], ("c", "a"): [], ("c", "d"): []}) == {
        ("a", "b"), ("b", "c"), ("c", "a")}


def test_no_new_import_cycle_between_top_level_packages():
    edges = import_edges()
    new = sorted(cycle_edges(edges) - KNOWN_CYCLE_EDGES)
    assert not new, "new import cycle between packages: " + "; ".join(
        f"{source} -> {target} at {', '.join(edges[(source, target)][:3])}" for source, target in new)


def test_the_known_cycles_list_only_edges_that_still_close_one():
    gone = sorted(KNOWN_CYCLE_EDGES - cycle_edges(import_edges()))
    assert not gone, f"no longer part of a cycle, delete from KNOWN_CYCLE_EDGES: {gone}"


def test_imports_run_one_way_between_the_layers():
    packages = top_level_packages()
    assert packages <= set(LAYERS), f"place the new package in LAYERS: {sorted(packages - set(LAYERS))}"
    wrong = sorted((source, target) for source, target in import_edges() if LAYERS[target] >= LAYERS[source])
    edges = import_edges()
    assert not wrong, "imports against the one-way order: " + "; ".join(
        f"{source} -> {target} at {', '.join(edges[(source, target)][:3])}" for source, target in wrong)


def imports_inside_functions_across_packages() -> list[str]:
    """"path:line -> module" for each import inside a function that reaches another top-level package."""
    packages = top_level_packages()
    return sorted({f"{path.relative_to(ROOT)}:{node.lineno} -> {name}" for package, path, tree in modules()
                   for function in ast.walk(tree) if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for node, name in crossing_imports(package, function, packages)})


def test_imports_between_packages_stand_at_the_top_of_the_module():
    """An import of another package inside a function hides a dependency (and once hid the cycles): they stand at
    the top, where the one-way rule above reads them like any other."""
    assert not imports_inside_functions_across_packages()


def test_search_stands_beside_courses():
    edges = import_edges()
    assert ("search", "courses") in edges  # the scan sees search's imports
    reads = sorted((target, where[0]) for (source, target), where in edges.items()
                   if source == "search" and target not in SEARCH_READS)
    assert not reads, f"search imports beyond {sorted(SEARCH_READS)}: {reads}"
    importers = sorted(f"{source} at {', '.join(where[:3])}" for (source, target), where in edges.items()
                       if target == "search" and source not in SEARCH_IMPORTERS)
    assert not importers, f"packages importing search (a layer above may not lean on it): {importers}"


def test_each_blueprint_lives_in_one_module(app):
    """A blueprint's view functions are defined in the module that creates it: no blueprint is spread over two
    modules (which then import each other)."""
    modules: dict[str, list[str]] = defaultdict(list)
    for name, blueprint in app.blueprints.items():
        if blueprint.import_name.split(".")[0] in top_level_packages():
            modules[blueprint.import_name].append(name)
    elsewhere = sorted(f"{endpoint} in {view.__module__}" for endpoint, view in app.view_functions.items()
                       if "." in endpoint and endpoint.split(".")[0] in app.blueprints
                       and app.blueprints[endpoint.split(".")[0]].import_name in modules
                       and view.__module__ != app.blueprints[endpoint.split(".")[0]].import_name)
    assert not elsewhere
