"""The tree's rule, checked from the source: the contract imports no service, shared packages
import no service, and services never import each other (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SHARED = {"city": set(), "influxv1": set(), "servicekit": {"city"}}
SERVICES = ("simulators", "ingest", "alerting", "api", "dashboards")
TOOLS = ("devstack", "bench")  # start or drive services as processes, never import them
PROJECT = {*SHARED, *SERVICES, *TOOLS}


def project_imports(package: str, root: Path = REPO) -> dict[str, set[str]]:
    """Every top-level project package a module of ``package`` imports, by module path."""
    found: dict[str, set[str]] = {}
    for path in sorted((root / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(root))] = (names & PROJECT) - {package}
    return found


def allowed_for(package: str) -> set[str]:
    if package in SHARED:
        return SHARED[package]
    if package == "bench":
        return set(SHARED) | {"devstack"}
    return set(SHARED)


@pytest.mark.parametrize("package", sorted(PROJECT))
def test_package_imports_only_what_its_layer_may(package: str) -> None:
    imports = project_imports(package)
    assert imports, f"{package} has no modules: the layout changed, update this test"
    wrong = {module: names - allowed_for(package) for module, names in imports.items()}
    assert not {m: n for m, n in wrong.items() if n}, wrong


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    (tmp_path / "ingest" / "sub").mkdir(parents=True)
    (tmp_path / "ingest" / "sub" / "m.py").write_text(
        "import api.routes\nfrom city.topics import parse_topic\nfrom . import x\n"
        "def f():\n    from alerting.app import Service\n"
    )
    assert project_imports("ingest", tmp_path) == {"ingest/sub/m.py": {"api", "alerting", "city"}}
