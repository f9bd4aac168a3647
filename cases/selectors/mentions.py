"""Mentions in notes and board messages: who ``@name`` means, and whom an author may name.

``@`` followed by a staff member's username, or a department's code, Chinese or English
name, names them (letter case ignored; the longest name wins, so "@物流部请处理" finds 物流部
without a space). The directory of names is two small reads, shared through the cache for
``DIRECTORY_SECONDS`` so pages render mentions without a query per note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Q

from cases.choices import Role
from cases.models import Case, CollaborationRequest, Department, User
from complaints_project.cache_outage import CACHE_DOWN_ERRORS

DIRECTORY_SECONDS = 60
MAX_MENTIONS = 10  # names per note alerted at most; a longer list is a broadcast, not a mention
STAFF_ROLES = (Role.FRONTLINE, Role.SENIOR, Role.SUPERVISOR, Role.LIAISON)
AGENT_ROLES = (Role.FRONTLINE, Role.SENIOR, Role.SUPERVISOR)
_AT = re.compile(r"(?<![A-Za-z0-9_.@])@")
_WORD = re.compile(r"[A-Za-z0-9_]")


@dataclass(frozen=True)
class Mentionable:
    """A name ``@`` may be followed by: a user or a department."""

    kind: str  # "user" or "department"
    pk: int
    label: str  # shown in autocomplete and as the badge's title


@dataclass(frozen=True)
class Mention:
    start: int  # index of the "@"
    end: int
    target: Mentionable


def _directory_rows() -> dict[str, Mentionable]:
    names: dict[str, Mentionable] = {}
    for pk, code, name, name_en in Department.objects.filter(is_active=True).values_list(
            "pk", "code", "name", "name_en"):
        for key in (code, name, name_en):
            if key:
                names[key.casefold()] = Mentionable("department", pk, name)
    users = (User.objects.filter(is_active=True, groups__name__in=STAFF_ROLES).distinct()
             .values_list("pk", "username", "display_name"))
    for pk, username, display in users:  # a user wins over a department of the same name
        names[username.casefold()] = Mentionable("user", pk, display or username)
    return names


def mention_directory() -> dict[str, Mentionable]:
    """Every mentionable name (case-folded) -> what it names. Cached for DIRECTORY_SECONDS
    (a new user can be mentioned within a minute); read from the database while the cache
    is down."""
    try:
        names = cache.get("mentions:directory")
    except CACHE_DOWN_ERRORS:
        return _directory_rows()
    if names is None:
        names = _directory_rows()
        try:
            cache.set("mentions:directory", names, DIRECTORY_SECONDS)
        except CACHE_DOWN_ERRORS:
            pass
    return names


def _ends_name(text: str, end: int) -> bool:
    """Whether a name may end at ``end``: not inside a longer Latin word (Chinese text may
    follow a name directly; a sentence's full stop may too)."""
    rest = text[end:end + 2]
    if not rest:
        return True
    if _WORD.match(rest[0]):
        return False
    return not (rest[0] in ".-" and len(rest) > 1 and _WORD.match(rest[1]))


def find_mentions(text: str, directory: dict[str, Mentionable] | None = None) -> list[Mention]:
    """The mentions in ``text``, in order (an ``@`` in an e-mail address is none)."""
    if "@" not in (text or ""):
        return []
    directory = mention_directory() if directory is None else directory
    by_first: dict[str, list[str]] = {}
    for key in directory:
        by_first.setdefault(key[:1], []).append(key)
    found = []
    for at in _AT.finditer(text):
        start = at.end()
        window = text[start:start + 101].casefold()
        for key in sorted(by_first.get(window[:1], ()), key=len, reverse=True):
            if window.startswith(key) and _ends_name(text, start + len(key)):
                found.append(Mention(at.start(), start + len(key), directory[key]))
                break
    return found


# --- whom an author may mention (autocomplete) --------------------------------------------------
def _candidates(users: Q, departments: Q, query: str, limit: int) -> list[dict[str, str]]:
    query = query.strip().lstrip("@")
    user_rows = (User.objects.filter(users, is_active=True).distinct()
                 .order_by("username").values_list("username", "display_name"))
    dept_rows = (Department.objects.filter(departments, is_active=True)
                 .order_by("code").values_list("code", "name"))
    if query:
        user_rows = user_rows.filter(Q(username__istartswith=query)
                                     | Q(display_name__icontains=query))
        dept_rows = dept_rows.filter(Q(code__istartswith=query) | Q(name__icontains=query)
                                     | Q(name_en__istartswith=query))
    out = [{"kind": "user", "value": u, "label": d or u} for u, d in user_rows[:limit]]
    out += [{"kind": "department", "value": c, "label": n} for c, n in dept_rows[:limit]]
    return out[:limit]


def mention_candidates_for_case(case: Case, query: str = "", limit: int = 8) -> list[dict]:
    """Who may be named in a note on ``case``: those who may see the case -- agents, and the
    liaisons (and departments) with a request on it. Two queries."""
    on_case = Q(collaboration_requests__case=case)
    return _candidates(Q(groups__name__in=AGENT_ROLES) | Q(liaison_for__in=Department.objects
                                                          .filter(on_case)),
                       on_case, query, limit)


def mention_candidates_for_request(request: CollaborationRequest, query: str = "",
                                   limit: int = 8) -> list[dict]:
    """Who may be named in a message on the board request: agents, and the request's
    department (its liaison). Two queries."""
    return _candidates(Q(groups__name__in=AGENT_ROLES) | Q(liaison_for=request.department_id),
                       Q(pk=request.department_id), query, limit)
