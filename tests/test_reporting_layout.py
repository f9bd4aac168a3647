"""The shape of ``reporting/`` the house style asks for: modules short enough to read in one
sitting, the KPI definitions below the models (no import loop), no library internals."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPORTING = Path(__file__).resolve().parent.parent / "reporting"
MODULES = sorted(p for p in REPORTING.rglob("*.py") if "migrations" not in p.parts)


def imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every import in the file (name "" for ``import module``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            out += [(node.module or "", alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, "") for alias in node.names]
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(REPORTING)))
def test_no_reporting_module_is_over_500_lines(path):
    assert len(path.read_text().splitlines()) <= 500


def test_the_kpi_definitions_do_not_import_the_reporting_models():
    """reporting.models imports the KPI definitions (a target's label); the way back would
    be a loop."""
    for path in (REPORTING / "kpis").glob("*.py"):
        assert not [m for m, _name in imports(path) if m.startswith("reporting.models")], path


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(REPORTING)))
def test_no_private_library_name_is_imported_or_subclassed(path):
    private = [f"{m}.{n}" for m, n in imports(path)
               if not m.startswith(("reporting", "cases", ".")) and
               (n.startswith("_") or any(part.startswith("_") for part in m.split(".")))
               and n != "annotations"]
    tree = ast.parse(path.read_text())
    bases = [ast.unparse(b) for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
             for b in node.bases if ast.unparse(b).split(".")[-1].startswith("_")]
    assert private == [] and bases == []
