"""The shape of the application code the house style asks for (issue 13): modules short
enough to read in one sitting, one intake service on plain Django, no copies of library
internals and no private library names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("cases", "channels", "reporting", "complaints_project")
MODULES = sorted(p for app in APPS for p in (ROOT / app).rglob("*.py")
                 if "migrations" not in p.parts)
OURS = (*APPS, ".", "tests")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every import in the file (name "" for ``import module``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            out += [(node.module or "", alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, "") for alias in node.names]
    return out


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_no_app_module_is_over_500_lines(path):
    assert len(path.read_text().splitlines()) <= 500


def test_the_intake_service_is_under_350_lines():
    assert len((ROOT / "cases/services/intake.py").read_text().splitlines()) < 350


@pytest.mark.parametrize("gone", [
    "cases/services/rows.py", "cases/services/dispatch_batches.py",
    "complaints_project/api_handler.py", "complaints_project/cache.py",
    "complaints_project/kombu_redis.py",
])
def test_the_copies_of_library_internals_are_gone(gone):
    assert not (ROOT / gone).exists()


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_no_private_library_name_is_imported_subclassed_or_overridden(path):
    text = path.read_text()
    private = [f"{m}.{n}" for m, n in imports(path)
               if not m.startswith(OURS) and n != "annotations"
               and (n.startswith("_") or any(part.startswith("_") for part in m.split(".")))]
    tree = ast.parse(text)
    own = {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    bases = [ast.unparse(b) for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
             for b in node.bases
             if re.match(r"_[a-zA-Z]", ast.unparse(b).split(".")[-1]) and ast.unparse(b) not in own]
    # super()._x(...) overrides a library's private method; ._django_fsm is django-fsm's.
    reached = re.findall(r"super\(\)\._[a-zA-Z]\w*|\._django_fsm\b|\._errors\b", text)
    assert (private, bases, reached) == ([], [], [])


def test_the_kpi_definitions_do_not_import_the_reporting_models():
    """reporting.models imports the KPI definitions (a target's label); the way back would
    be a loop."""
    for path in (ROOT / "reporting" / "kpis").glob("*.py"):
        assert not [m for m, _name in imports(path) if m.startswith("reporting.models")], path
