"""Reading and checking an import mapping (JSON): unknown keys are refused with the nearest
valid name, every template and regular expression is compiled, and every code a map or a
constant gives a choice target is checked against the valid codes (``TARGET_CODES``), so a
mapping mistake stops the import before the first row instead of failing every row.
channels/README.md documents the language.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from cases.choices import Category, ChannelKind, ContactChannel, Difficulty, Scope, Urgency
from channels.import_outcomes import OUTCOME_TARGETS, DepartmentTable
from channels.import_rules import TemplateError, parse_template
from channels.import_times import zone_named

TARGETS = {
    "external_id", "received_at", "occurred_at", "category", "subject", "description",
    "order_ref", "location", "desired_outcome", "urgency", "scope", "difficulty",
    "customer.name", "customer.phone", "customer.email", "customer.preferred_channel",
    "customer.is_key_customer",
    # a regulator's forward (cases.services.statutory)
    "regime", "regulator_reference", "regulator_due_at",
    # the legacy case's outcome: read by channels.import_outcomes
    *OUTCOME_TARGETS,
}
REQUIRED_TARGETS = {"external_id", "category", "subject", "description", "customer.name"}
# The codes a choice target takes: a map's values and constants are checked against them.
TARGET_CODES: dict[str, tuple[str, ...]] = {
    "category": tuple(Category.values),
    "urgency": tuple(Urgency.values),
    "scope": tuple(Scope.values),
    "difficulty": tuple(Difficulty.values),
    "customer.preferred_channel": tuple(ContactChannel.values),
    "channel": tuple(ChannelKind.values),
    "stage": ("received", "in_progress", "resolved", "closed", "invalid"),
    "tier": ("1", "2", "3"),
}
TOP_LEVEL_KEYS = ("description", "channel", "encoding", "delimiter", "empty_values", "timezone",
                  "fields", "notes")
RULE_KINDS = ("column", "template", "lines", "value")
RULE_KEYS = (*RULE_KINDS, "map", "prefix", "regex", "map_default", "default", "max_length",
             "formats", "timezone")


class MappingError(ValueError):
    """The mapping file (or the CSV file against it) is unusable: nothing is imported."""


@dataclass
class Mapping:
    fields: dict[str, list[dict[str, Any]]]
    notes: list[list[dict[str, Any]]]
    channel_code: str = "import"
    encoding: str = ""  # "" = detect (UTF-8 with or without a BOM, UTF-16 with a BOM)
    delimiter: str = ","
    empty_values: frozenset[str] = frozenset({""})
    timezone: ZoneInfo | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    departments: DepartmentTable = field(default_factory=DepartmentTable, repr=False,
                                         compare=False)

    def columns(self) -> set[str]:
        used: set[str] = set()
        for rules in [*self.fields.values(), *self.notes]:
            for rule in rules:
                if "column" in rule:
                    used.add(rule["column"])
                if "_template" in rule:
                    used |= rule["_template"].columns()
                for part in rule.get("_lines", ()):
                    used |= part.columns()
        return used


def nearest(name: str, valid: tuple[str, ...] | set[str]) -> str:
    """' (did you mean "x"?)' for the closest valid name, or ""."""
    close = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.6)
    return _(' (did you mean "%(name)s"?)') % {"name": close[0]} if close else ""


def _unknown(keys: Any, valid: tuple[str, ...] | set[str], where: str) -> None:
    for key in keys:
        if key not in valid:
            raise MappingError(
                _('%(where)s: unknown key "%(key)s"%(hint)s; valid keys: %(valid)s')
                % {"where": where, "key": key, "hint": nearest(str(key), valid),
                   "valid": ", ".join(sorted(valid))})


def expected_codes(target: str) -> str:
    return ", ".join(TARGET_CODES[target])


def check_code(target: str, value: Any) -> str | None:
    """None when ``value`` is a valid code of the choice target, else the error message."""
    if target not in TARGET_CODES or str(value) in TARGET_CODES[target]:
        return None
    return (_("Unknown %(field)s %(value)r: expected one of %(codes)s")
            % {"field": target, "value": str(value), "codes": expected_codes(target)})


def _check_rule(rule: Any, where: str, target: str) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise MappingError(_("%(where)s: a rule must be an object") % {"where": where})
    _unknown(rule, RULE_KEYS, where)
    kinds = [k for k in RULE_KINDS if k in rule]
    if len(kinds) != 1:
        raise MappingError(_("%(where)s: give exactly one of column, template, lines, value")
                           % {"where": where})
    rule = dict(rule)
    try:
        if "template" in rule:
            rule["_template"] = parse_template(str(rule["template"]))
        if "lines" in rule:
            if not (isinstance(rule["lines"], list)
                    and all(isinstance(x, str) for x in rule["lines"])):
                raise MappingError(_("%(where)s: lines must be a list of strings")
                                   % {"where": where})
            rule["_lines"] = [parse_template(line) for line in rule["lines"]]
    except TemplateError as exc:
        raise MappingError(f"{where}: {exc}") from exc
    for key in ("map", "prefix", "regex"):
        if key in rule and not isinstance(rule[key], dict):
            raise MappingError(_('%(where)s: "%(key)s" must be an object')
                               % {"where": where, "key": key})
    compiled = []
    for pattern, result in (rule.get("regex") or {}).items():
        try:
            compiled.append((re.compile(pattern), result))
        except re.error as exc:
            raise MappingError(_("%(where)s: the regular expression %(pattern)r is not valid: "
                                 "%(error)s") % {"where": where, "pattern": pattern,
                                                 "error": exc}) from exc
    rule["_regex"] = compiled
    if "timezone" in rule:  # read once (the caller's mapping is left as it was)
        try:
            rule["zone"] = zone_named(rule["timezone"], f"{where}.timezone")
        except ValueError as exc:
            raise MappingError(str(exc)) from exc
    if "formats" in rule and not isinstance(rule["formats"], list):
        raise MappingError(_("%(where)s: formats must be a list") % {"where": where})
    if "max_length" in rule and not (isinstance(rule["max_length"], int)
                                     and rule["max_length"] > 0):
        raise MappingError(_("%(where)s: max_length must be a positive whole number")
                           % {"where": where})
    if target in TARGET_CODES:
        given = [*(rule.get("map") or {}).values(), *(rule.get("prefix") or {}).values(),
                 *(rule.get("regex") or {}).values()]
        given += [rule[k] for k in ("value", "map_default", "default") if k in rule]
        for value in given:
            problem = check_code(target, value)
            if problem:
                raise MappingError(f"{where}: {problem}")
    return rule


def _rules(spec: Any, where: str, target: str) -> tuple[list[dict[str, Any]], Any]:
    """The field's rules and its default (given on any one of its rules)."""
    rules = [_check_rule(rule, f"{where}[{i}]" if isinstance(spec, list) else where, target)
             for i, rule in enumerate(spec if isinstance(spec, list) else [spec])]
    if not rules:
        raise MappingError(_("%(where)s: give at least one rule") % {"where": where})
    defaults = [rule["default"] for rule in rules if "default" in rule]
    if len(defaults) > 1:
        raise MappingError(_("%(where)s: give the default once") % {"where": where})
    return rules, (defaults[0] if defaults else None)


def load_mapping(path: str | Path) -> Mapping:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise MappingError(_("cannot read the mapping %(path)s: %(error)s")
                           % {"path": path, "error": exc.strerror or exc}) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise MappingError(_("the mapping %(path)s is not valid JSON: %(error)s")
                           % {"path": path, "error": exc}) from exc
    return parse_mapping(raw)


def parse_mapping(raw: Any) -> Mapping:
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), dict):
        raise MappingError(_('the mapping needs a "fields" object'))
    _unknown(raw, TOP_LEVEL_KEYS, _("the mapping"))
    for name in raw["fields"]:
        if name not in TARGETS:
            raise MappingError(
                _('unknown target field "%(name)s"%(hint)s; the targets are: %(valid)s')
                % {"name": name, "hint": nearest(name, TARGETS),
                   "valid": ", ".join(sorted(TARGETS))})
    missing = REQUIRED_TARGETS - set(raw["fields"])
    if missing:
        raise MappingError(_("the mapping must fill: %(fields)s")
                           % {"fields": ", ".join(sorted(missing))})
    fields, defaults = {}, {}
    for name, spec in raw["fields"].items():
        fields[name], default = _rules(spec, f"fields.{name}", name)
        if default is not None:
            defaults[name] = default
    notes_spec = raw.get("notes", [])
    if not isinstance(notes_spec, list):
        raise MappingError(_('"notes" must be a list'))
    notes = [_rules(spec, f"notes[{i}]", "")[0] for i, spec in enumerate(notes_spec)]
    encoding = raw.get("encoding", "")
    try:
        if encoding:
            "".encode(str(encoding))
    except LookupError as exc:
        raise MappingError(_("unknown encoding %(encoding)r") % {"encoding": encoding}) from exc
    try:
        zone = zone_named(raw["timezone"], "timezone") if "timezone" in raw else None
    except ValueError as exc:
        raise MappingError(str(exc)) from exc
    delimiter = raw.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise MappingError(_("delimiter must be one character"))
    empty = raw.get("empty_values", [""])
    if not isinstance(empty, list):
        raise MappingError(_('"empty_values" must be a list'))
    return Mapping(
        fields=fields, notes=notes, channel_code=str(raw.get("channel", "import")),
        encoding=str(encoding), delimiter=delimiter,
        empty_values=frozenset(str(v) for v in empty) | {""},
        timezone=zone, defaults=defaults,
    )
