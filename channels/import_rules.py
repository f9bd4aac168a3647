"""Evaluating an import mapping's rules on one CSV row.

Templates: ``{Column}`` is the column's cell; ``[...]`` is an optional part, left out when
any placeholder directly inside it is empty (parts nest: ``[{Incident Address}[, {City}]]``
is empty without an address and leaves out the city when only the city is missing);
``\\[ \\] \\{ \\}`` are the literal characters. A template whose placeholders are all empty
gives nothing, so the field's next rule (or its ``default``) is used.

A map (``map``, ``prefix``, ``regex``) translates a rule's value: exact, then in any letter
case, then the longest matching prefix (any letter case), then the first matching regular
expression (a text result may use its groups, ``"\\1"``). A value no table matches falls
through to the next rule (or ``map_default``): the row *fell back*, and the source value is
counted (``Fallbacks``) with the value the field got in the end; so is a constant
(``value`` after other rules, ``default``) taken because the rules before it gave nothing.
Nothing lands in "other" unseen.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.services.intake import clean_text

_TOKEN = re.compile(r"\\([\[\]{}])|\{([^{}]*)\}|(\[)|(\])")


class TemplateError(ValueError):
    """A template that cannot be read (unbalanced brackets, an empty placeholder)."""


@dataclass
class Part:
    """A template, or an optional part of one: text, column names and nested parts."""

    items: list[str | tuple[str] | Part] = field(default_factory=list)
    optional: bool = False

    def columns(self) -> set[str]:
        found: set[str] = set()
        for item in self.items:
            if isinstance(item, tuple):
                found.add(item[0])
            elif isinstance(item, Part):
                found |= item.columns()
        return found


def parse_template(text: str) -> Part:
    stack = [Part()]
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() > position:
            stack[-1].items.append(text[position:match.start()])
        position = match.end()
        literal, column, opening, closing = match.groups()
        if literal:
            stack[-1].items.append(literal)
        elif column is not None:
            if not column.strip():
                raise TemplateError(_("an empty placeholder {} in %(template)r")
                                    % {"template": text})
            stack[-1].items.append((column,))
        elif opening:
            part = Part(optional=True)
            stack[-1].items.append(part)
            stack.append(part)
        elif closing:
            if len(stack) == 1:
                raise TemplateError(_("a ] without its [ in %(template)r") % {"template": text})
            stack.pop()
    if len(stack) > 1:
        raise TemplateError(_("a [ without its ] in %(template)r") % {"template": text})
    if position < len(text):
        stack[0].items.append(text[position:])
    return stack[0]


def render(part: Part, cell: Callable[[str], str]) -> tuple[str, bool]:
    """(text, whether any placeholder had a value); an optional part with an empty direct
    placeholder, or with none and no kept nested part, renders as ""."""
    out: list[str] = []
    any_value = False
    direct = 0
    for item in part.items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, tuple):
            direct += 1
            value = cell(item[0])
            if not value and part.optional:
                return "", False
            any_value = any_value or bool(value)
            out.append(value)
        else:
            text, nested = render(item, cell)
            any_value = any_value or nested
            out.append(text)
    if part.optional and not direct and not any_value:
        return "", False
    return "".join(out), any_value


# --- rules --------------------------------------------------------------------------------------
class RowProblem(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass
class Fallbacks:
    """Per field: how many rows fell back to which value, and from which source values."""

    counts: dict[str, Counter[tuple[str, str]]] = field(default_factory=dict)

    def add(self, name: str, value: Any, source: str) -> None:
        self.counts.setdefault(name, Counter())[(str(value), source)] += 1

    def merge(self, other: Fallbacks) -> None:
        for name, counter in other.counts.items():
            self.counts.setdefault(name, Counter()).update(counter)

    def summary(self, limit: int = 10) -> list[str]:
        """One line per field and fallen-to value, the most frequent source values first:
        "category: 121 rows fell back to 'other': 'Struggling to pay your loan' x40, ..."."""
        lines = []
        for name in sorted(self.counts):
            by_value: dict[str, Counter[str]] = {}
            for (value, source), n in self.counts[name].items():
                by_value.setdefault(value, Counter())[source] += n
            for value, sources in sorted(by_value.items()):
                shown = ", ".join(
                    (repr(src) if src else _("(empty)")) + f" x{n}"
                    for src, n in sources.most_common(limit))
                more = len(sources) - limit
                if more > 0:
                    shown += ", " + _("%(count)d more") % {"count": more}
                rows = sum(sources.values())
                lines.append(ngettext("%(field)s: %(rows)d row fell back to %(value)r: "
                                      "%(sources)s",
                                      "%(field)s: %(rows)d rows fell back to %(value)r: "
                                      "%(sources)s", rows)
                             % {"field": name, "rows": rows, "value": value, "sources": shown})
        return lines


@dataclass
class RowContext:
    """One row as the rules see it: its cells, the mapping's empty values."""

    row: dict[str, str]
    empty_values: frozenset[str]

    def cell(self, column: str) -> str:
        value = clean_text(self.row.get(column) or "").strip()
        return "" if value in self.empty_values else value


def _translate(rule: dict[str, Any], value: Any) -> tuple[bool, Any]:
    """(matched, translated value) through the rule's map, prefix and regex tables."""
    text = str(value)
    folded = text.casefold()
    table: dict[str, Any] = rule.get("map") or {}
    if text in table:
        return True, table[text]
    for key, result in table.items():
        if str(key).casefold() == folded:
            return True, result
    prefixes: dict[str, Any] = rule.get("prefix") or {}
    best = max((k for k in prefixes if folded.startswith(str(k).casefold())), key=len,
               default=None)
    if best is not None:
        return True, prefixes[best]
    for pattern, result in rule.get("_regex", ()):
        found = pattern.search(text)
        if found:  # a text result may take the match's groups: "\\1", "\\g<name>"
            return True, found.expand(result) if isinstance(result, str) else result
    return False, value


def has_table(rule: dict[str, Any]) -> bool:
    return any(key in rule for key in ("map", "prefix", "regex"))


def apply_rule(rule: dict[str, Any], ctx: RowContext) -> tuple[Any, str]:
    """(value, unmatched source value) of one rule on the row."""
    if "value" in rule:
        value: Any = rule["value"]
    elif "column" in rule:
        value = ctx.cell(rule["column"])
    elif "template" in rule:
        text, any_value = render(rule["_template"], ctx.cell)
        value = " ".join(text.split()) if any_value else ""
    else:
        lines = []
        for part in rule["_lines"]:
            text, any_value = render(part, ctx.cell)
            if any_value or not part.columns():
                lines.append(text.rstrip())
        value = "\n".join(lines).strip()
    missed = ""
    if has_table(rule) and value not in ("", None):
        matched, translated = _translate(rule, value)
        if matched:
            value = translated
        else:
            missed = str(value)
            value = rule.get("map_default", "")
    if isinstance(value, str) and rule.get("max_length"):
        limit = int(rule["max_length"])
        if len(value) > limit:
            value = value[: max(1, limit - 1)].rstrip() + "…"
    return value, missed


@dataclass(frozen=True)
class FieldResult:
    value: Any
    rule: dict[str, Any]
    fell_back_from: str | None  # the source value that no map took, "" for empty (default)


def evaluate(rules: list[dict[str, Any]], ctx: RowContext, default: Any = None) -> FieldResult:
    """The first rule giving a value wins; else the field's ``default`` (or "")."""
    missed: str | None = None
    for index, rule in enumerate(rules):
        value, unmatched = apply_rule(rule, ctx)
        if unmatched and missed is None:
            missed = unmatched
        if value not in ("", None):
            # An earlier map that did not know the value, or a constant reached after other
            # rules gave nothing: a fallback.
            if missed is not None:
                return FieldResult(value, rule, missed)
            return FieldResult(value, rule, "" if "value" in rule and index > 0 else None)
    if default is not None:
        return FieldResult(default, rules[-1], missed if missed is not None else "")
    return FieldResult("", rules[-1], None)
