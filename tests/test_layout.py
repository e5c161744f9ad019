"""The package layout: which subpackage may import which (docs/layout.rst)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "astropy_radiounet"

#: What each part of the package may import (imports anywhere in a module count,
#: including those inside functions).  The order is the layering of docs/layout.rst.
ALLOWED = {
    "utils": set(),
    "simulation": {"utils"},
    "data": {"simulation"},  # the simulated example is made, not shipped
    "evaluation.metrics": set(),
    "backbones": set(),
    "image": {"utils"},
    "models": {"image", "backbones", "utils"},
    "visualization": {"image"},
    "segmentation": {"image", "models", "backbones", "utils"},
    "clusters": {"image", "utils"},
    "measure": {"image", "clusters", "utils"},
    "training": {"image", "models", "backbones", "segmentation", "simulation",
                 "evaluation.metrics", "visualization", "utils"},
    "evaluation.simulated": {"image", "models", "segmentation", "clusters", "simulation",
                             "training", "evaluation.metrics", "utils"},
    "survey": {"image", "models", "segmentation", "clusters", "measure", "visualization",
               "utils"},
    "cli": {"image", "models", "backbones", "segmentation", "clusters", "measure", "survey",
            "training", "evaluation.metrics", "evaluation.simulated", "simulation",
            "visualization", "data", "utils", "top"},
    "top": {"image", "models", "backbones", "segmentation", "clusters"},
    "main": {"cli"},
    "version": set(),
    "exceptions": set(),
}

#: Modules that every part may import: they import nothing of the package.
LEAVES = {"version", "exceptions"}


def _part(module):
    """The part of the package a dotted module name (relative to the package) is in."""
    parts = module.split(".")
    if parts[0] == "__main__":
        return "main"
    if parts[-1] in ("__version__", "_version"):
        return "version"  # the version string, which anything may record
    if parts[0] == "exceptions":
        return "exceptions"
    if not parts[0] or parts[0] == "__init__":
        return "top"
    if parts[0] == "evaluation":
        if len(parts) > 1 and parts[1] != "metrics":
            # simulated.py, confusers.py and their helpers: the measurements on
            # simulated data, one layer above training.
            return "evaluation.simulated"
        return "evaluation.metrics"  # its __init__ imports only the metrics
    return parts[0]


def _is_module(parts):
    path = PACKAGE.joinpath(*parts)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports():
    """(importing part, imported part, file) for every import inside the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).with_suffix("")
        here = list(relative.parts)
        package = here[:-1] if here[-1] != "__init__" else here[:-1]
        if here[-1] == "__init__":
            here = here[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[:len(package) - node.level + 1]
                module = [*base, *(node.module.split(".") if node.module else [])]
                if node.module:
                    targets.append(module)
                else:  # "from .. import name": a submodule, or a name of the package
                    targets.extend(
                        [*module, alias.name]
                        if _is_module([*module, alias.name]) or alias.name == "__version__"
                        else module
                        for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "astropy_radiounet"):
                targets.append(node.module.split(".")[1:])
            for target in targets:
                yield _part(".".join(here)), _part(".".join(target)), path.name


def test_parts_import_only_what_layout_allows():
    wrong = sorted({(a, b, f) for a, b, f in _imports()
                    if a != b and b not in LEAVES | ALLOWED[a]})
    assert not wrong, "imports against docs/layout.rst: " + ", ".join(
        f"{a} -> {b} ({f})" for a, b, f in wrong)


def test_no_import_cycle_between_parts():
    graph = {}
    for a, b, _ in _imports():
        if a != b:
            graph.setdefault(a, set()).add(b)
    done, active = set(), []

    def visit(node):
        if node in active:
            pytest.fail("import cycle: " + " -> ".join(active[active.index(node):] + [node]))
        if node in done:
            return
        active.append(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt)
        active.pop()
        done.add(node)

    for node in sorted(graph):
        visit(node)
