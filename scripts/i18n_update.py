#!/usr/bin/env python
"""Keep the Simplified Chinese and English catalogues complete and compiled.

    python scripts/i18n_update.py                 # makemessages (zh_Hans, en) + compile
    python scripts/i18n_update.py --untranslated  # print zh_Hans entries still to translate (JSON)
    python scripts/i18n_update.py --apply FILE    # merge {"msgid": "译文", ...} into zh_Hans
                                                  # (plural entries: {"msgid": ["译文"]};
                                                  # with a context: {"ctxt\u0004msgid": ...})
    python scripts/i18n_update.py --compile       # only recompile .mo from .po

Extracting strings needs GNU gettext (xgettext, msguniq, msgmerge: ``apt-get install gettext``).
Compiling does not: the .mo files are written with polib, and both .po and .mo are committed, so
a fresh machine runs translated without gettext. tests/test_i18n_catalogues.py fails when a
catalogue is incomplete, fuzzy, or its .mo does not match its .po.

English is the source language: its catalogue maps every msgid to itself, so it is "complete"
by construction and can carry copy-edits later.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LOCALES = ("zh_Hans", "en")
# Folders whose strings are not shown to users (or are not ours).
IGNORE = ["tests", "tests/*", "bench", "bench/*", "scripts", "scripts/*", "var", "var/*",
          "static", "static/*", "test-artifacts", "test-artifacts/*", "locale", "locale/*"]


def po_path(locale: str) -> Path:
    return BASE_DIR / "locale" / locale / "LC_MESSAGES" / "django.po"


def _setup_django() -> None:
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.test")
    import django

    django.setup()


def extract() -> None:
    from django.core.management import call_command

    os.chdir(BASE_DIR)
    call_command("makemessages", locale=list(LOCALES), ignore_patterns=IGNORE,
                 no_obsolete=True, verbosity=1)


def fill_english() -> None:
    import polib

    po = polib.pofile(str(po_path("en")), wrapwidth=100)
    for entry in po:
        if entry.msgid_plural:
            entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
        else:
            entry.msgstr = entry.msgid
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    po.metadata["Language"] = "en"
    po.metadata["Plural-Forms"] = "nplurals=2; plural=(n != 1);"
    po.save()


def set_chinese_header() -> None:
    import polib

    po = polib.pofile(str(po_path("zh_Hans")), wrapwidth=100)
    po.metadata["Language"] = "zh_Hans"
    po.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    po.save()


def compile_all() -> None:
    import polib

    for locale in LOCALES:
        path = po_path(locale)
        if path.exists():
            polib.pofile(str(path)).save_as_mofile(str(path.with_suffix(".mo")))
            print(f"compiled {path.with_suffix('.mo').relative_to(BASE_DIR)}")


def untranslated() -> list[dict[str, object]]:
    import polib

    po = polib.pofile(str(po_path("zh_Hans")))
    out = []
    for entry in po:
        if entry.obsolete:
            continue
        done = (all(entry.msgstr_plural.values()) if entry.msgid_plural else bool(entry.msgstr))
        if not done or "fuzzy" in entry.flags:
            item: dict[str, object] = {"msgid": entry.msgid}
            if entry.msgid_plural:
                item["msgid_plural"] = entry.msgid_plural
            if entry.msgctxt:
                item["msgctxt"] = entry.msgctxt
            out.append(item)
    return out


def apply(path: Path) -> int:
    import polib

    translations = json.loads(path.read_text(encoding="utf-8"))
    po = polib.pofile(str(po_path("zh_Hans")), wrapwidth=100)
    changed = 0
    for entry in po:
        # An entry with a context is keyed "context\u0004msgid" (gettext's own joining).
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        value = translations.get(key)
        if value is None:
            continue
        if entry.msgid_plural:
            entry.msgstr_plural = {0: value[0] if isinstance(value, list) else value}
        else:
            entry.msgstr = value[0] if isinstance(value, list) else value
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        changed += 1
    po.save()
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--untranslated", action="store_true")
    parser.add_argument("--apply", type=Path)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    _setup_django()
    if args.untranslated:
        print(json.dumps(untranslated(), ensure_ascii=False, indent=1))
        return
    if args.apply:
        print(f"{apply(args.apply)} entries updated")
    elif not args.compile:
        extract()
        fill_english()
        set_chinese_header()
    compile_all()
    left = untranslated()
    if left:
        print(f"{len(left)} zh_Hans entries still need a translation "
              f"(see --untranslated)", file=sys.stderr)


if __name__ == "__main__":
    main()
