"""The Simplified Chinese and English catalogues are complete, not fuzzy, compiled, and hold
every translatable string of the project.

The .po and .mo files are committed, so a fresh machine runs translated without gettext. The
comparison with the source (``makemessages`` into a temporary copy) needs GNU gettext's
xgettext; it is skipped with a reason where that is missing (CI installs gettext).
To bring the catalogues up to date: ``python scripts/i18n_update.py`` (see its docstring).
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test.utils import override_settings
from django.utils import translation

BASE_DIR = Path(__file__).resolve().parent.parent
LOCALE_DIR = BASE_DIR / "locale"
LOCALES = ("zh_Hans", "en")
# Top-level folders that hold no user-facing strings (kept in step with scripts/i18n_update.py).
NOT_SOURCE = {"tests", "bench", "scripts", "var", "static", "locale", "test-artifacts",
              "node_modules", "htmlcov"}
PLACEHOLDER = re.compile(r"%\([a-zA-Z_][a-zA-Z0-9_]*\)[sd]|\{[a-z_]+\}")


def _po(locale: str) -> polib.POFile:
    return polib.pofile(str(LOCALE_DIR / locale / "LC_MESSAGES" / "django.po"))


def _key(entry: polib.POEntry) -> str:
    return f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid


def _live(po: polib.POFile) -> list[polib.POEntry]:
    return [e for e in po if not e.obsolete and e.msgid]


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_and_compiled_file_exist(locale):
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    assert (folder / "django.po").is_file(), f"missing {folder / 'django.po'}"
    assert (folder / "django.mo").is_file(), (
        f"missing {folder / 'django.mo'}: run scripts/i18n_update.py --compile")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_entry_is_translated_and_none_is_fuzzy(locale):
    untranslated, fuzzy = [], []
    for entry in _live(_po(locale)):
        if "fuzzy" in entry.flags:
            fuzzy.append(entry.msgid)
        done = (all(v.strip() for v in entry.msgstr_plural.values()) and entry.msgstr_plural
                if entry.msgid_plural else entry.msgstr.strip())
        if not done:
            untranslated.append(entry.msgid)
    assert not fuzzy, f"{len(fuzzy)} fuzzy entries in {locale}, e.g. {fuzzy[:5]}"
    assert not untranslated, (
        f"{len(untranslated)} untranslated entries in {locale}, e.g. {untranslated[:10]}; "
        "run scripts/i18n_update.py --untranslated"
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_survive_translation(locale):
    broken = []
    for entry in _live(_po(locale)):
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        targets = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for target in targets:
            if target and sorted(PLACEHOLDER.findall(target)) != wanted:
                broken.append((entry.msgid, target))
    assert not broken, f"placeholders differ: {broken[:5]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogue_matches_the_po_file(locale):
    """Compared by content, not by file time (a git checkout does not keep mtimes)."""
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    with open(folder / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog  # noqa: SLF001
    expected: dict[object, str] = {}
    for entry in _live(_po(locale)):
        if entry.msgid_plural:
            for index, text in entry.msgstr_plural.items():
                expected[(_key(entry), int(index))] = text
        elif entry.msgstr:
            expected[_key(entry)] = entry.msgstr
    compiled = {k: v for k, v in compiled.items() if k != ""}  # "" is the header
    missing = [k for k in expected if k not in compiled]
    different = [k for k in expected if k in compiled and compiled[k] != expected[k]]
    extra = [k for k in compiled if k not in expected]
    assert not (missing or different or extra), (
        f"{locale} .mo is stale ({len(missing)} missing, {len(different)} different, "
        f"{len(extra)} extra, e.g. {(missing + different + extra)[:5]}): "
        "run scripts/i18n_update.py --compile"
    )


def test_the_desk_speaks_chinese():
    with translation.override("zh-hans"):
        assert translation.gettext("My cases") == "我的投诉"
        assert translation.gettext("Supervision") == "督办"
    with translation.override("en"):
        assert translation.gettext("My cases") == "My cases"


def _copy_sources(target: Path) -> None:
    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n == "__pycache__" or n.startswith(".")}

    for child in BASE_DIR.iterdir():
        if child.is_dir() and not child.name.startswith(".") and child.name not in NOT_SOURCE:
            shutil.copytree(child, target / child.name, ignore=ignore)


NEEDS_GETTEXT = pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msguniq") is None,
    reason="GNU gettext (xgettext) is not installed: cannot extract the project's strings "
           "to compare (apt-get install gettext)")
# The names makemessages passes to xgettext as keywords: a translation function imported
# under any other name (``gettext_lazy as _l``) is invisible to it, so its strings never
# reach the catalogues and show in English.
EXTRACTED = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy",
             "pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"}
TRANSLATION_IMPORT = re.compile(
    r"from django\.utils\.translation import ([^\n]*(?:\n[ \t]+[^\n]*)*)")


def _fresh_msgids(tmp_path: Path, extra: dict[str, str] | None = None) -> set[str]:
    """makemessages over a copy of the sources (plus ``extra`` files: relative path ->
    text), into a temporary locale folder; the msgids it found."""
    _copy_sources(tmp_path)
    for relative, text in (extra or {}).items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    (tmp_path / "locale").mkdir()
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        with override_settings(LOCALE_PATHS=[str(tmp_path / "locale")]):
            call_command("makemessages", locale=["zh_Hans"], verbosity=0, no_obsolete=True)
    finally:
        os.chdir(cwd)
    return {_key(e) for e in _live(polib.pofile(
        str(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")))}


@NEEDS_GETTEXT
def test_catalogues_hold_every_translatable_string_of_the_project(tmp_path):
    """makemessages over a copy of the sources, into a temporary locale folder, then compare
    the msgids with the committed catalogues: none missing, none left over."""
    fresh = _fresh_msgids(tmp_path)
    assert fresh, "makemessages found no strings at all"
    for locale in LOCALES:
        committed = {_key(e) for e in _live(_po(locale))}
        missing, leftover = sorted(fresh - committed), sorted(committed - fresh)
        assert not missing, (
            f"{len(missing)} strings missing from the {locale} catalogue, e.g. {missing[:10]}; "
            "run scripts/i18n_update.py and translate them"
        )
        assert not leftover, (
            f"{len(leftover)} strings in the {locale} catalogue no longer exist in the source, "
            f"e.g. {leftover[:10]}; run scripts/i18n_update.py"
        )


@NEEDS_GETTEXT
def test_the_comparison_sees_a_new_template_string_and_form_label(tmp_path):
    """The check above is only as good as the extraction: a new {% translate %} in a
    template, a form's label and help text, and a contextual string are all found (so the
    comparison fails until they are translated)."""
    template = ('{% load i18n %}<h1>{% translate "Zz new template heading" %}</h1>'
                '{% blocktranslate trimmed %}Zz new block {{ n }}{% endblocktranslate %}')
    form = ('from django import forms\n'
            'from django.utils.translation import gettext_lazy as _, pgettext_lazy\n\n\n'
            'class ZzForm(forms.Form):\n'
            '    name = forms.CharField(label=_("Zz new form label"),\n'
            '                           help_text=_("Zz new help text"))\n'
            '    owner = forms.CharField(label=pgettext_lazy("zz", "Zz owner"))\n')
    fresh = _fresh_msgids(tmp_path, {"templates/zz_probe.html": template,
                                     "reporting/zz_probe_forms.py": form})
    wanted = {"Zz new template heading", "Zz new block %(n)s", "Zz new form label",
              "Zz new help text", "zz\x04Zz owner"}
    assert wanted <= fresh, sorted(wanted - fresh)
    assert not wanted & {_key(e) for e in _live(_po("zh_Hans"))}


def test_translation_functions_are_imported_under_names_makemessages_extracts():
    """``from django.utils.translation import gettext_lazy as _l`` hides every ``_l("...")``
    from makemessages (the improvement-action help text stayed English that way)."""
    hidden = []
    for path in BASE_DIR.rglob("*.py"):
        parts = path.relative_to(BASE_DIR).parts
        if parts[0] in NOT_SOURCE or parts[0].startswith(".") or "migrations" in parts:
            continue
        for names in TRANSLATION_IMPORT.findall(path.read_text(encoding="utf-8")):
            for name in names.replace("(", "").replace(")", "").split(","):
                words = name.split("#")[0].split()
                alias = words[-1] if words else ""
                function = words[0] if words else ""
                if "gettext" in function and alias not in EXTRACTED:
                    hidden.append(f"{path.relative_to(BASE_DIR)}: {function} as {alias}")
    assert not hidden, f"strings makemessages cannot see: {hidden}"
