"""Static files survive the production storage: no reference to a missing source map (or any
other missing file), and ``collectstatic`` with WhiteNoise's manifest storage succeeds."""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management import call_command
from django.test import override_settings

STATIC = Path(__file__).resolve().parent.parent / "static"
SOURCE_MAP = re.compile(rb"[#@]\s*sourceMappingURL=([^\s*'\"]+)")
MANIFEST_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def _missing_source_maps(root: Path) -> list[str]:
    missing = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in {".js", ".css", ".mjs"}:
            continue
        for match in SOURCE_MAP.finditer(path.read_bytes()):
            target = match.group(1).decode()
            if target.startswith("data:"):
                continue
            if not (path.parent / target.split("?")[0]).is_file():
                missing.append(f"{path.relative_to(root)} -> {target}")
    return missing


def test_no_static_file_references_a_missing_source_map():
    assert _missing_source_maps(STATIC) == []


def test_the_check_finds_a_dangling_source_map(tmp_path):
    (tmp_path / "lib.min.js").write_text("var a=1;\n//# sourceMappingURL=lib.min.js.map\n")
    (tmp_path / "ok.min.css").write_text("a{}\n/*# sourceMappingURL=ok.min.css.map */\n")
    (tmp_path / "ok.min.css.map").write_text("{}")
    assert _missing_source_maps(tmp_path) == ["lib.min.js -> lib.min.js.map"]


def test_collectstatic_succeeds_with_the_manifest_storage(tmp_path):
    with override_settings(STORAGES=MANIFEST_STORAGES, STATIC_ROOT=str(tmp_path)):
        call_command("collectstatic", "--noinput", verbosity=0)
    assert (tmp_path / "staticfiles.json").is_file()
    assert list((tmp_path / "vendor" / "bootstrap").glob("bootstrap.min.*.css.gz"))
