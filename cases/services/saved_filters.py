"""Saved filters of the desk list: a user names the filter set they are looking at, applies
it later, renames or deletes it. Private to each user: every action reads the row through
its owner, so somebody else's saved filter does not exist for the actor (views answer 404).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils.translation import gettext as _

from cases.models import SavedFilter, User
from cases.services.errors import InvalidInput
from cases.services.intake import clean_text

MAX_SAVED_FILTERS = 30
NAME_MAX = SavedFilter._meta.get_field("name").max_length
QUERY_MAX = SavedFilter._meta.get_field("query").max_length


def saved_filter_query(params: QueryDict, allowed: Iterable[str]) -> str:
    """The canonical query string of a filter set: only the ``allowed`` parameters (the
    list's filters), without empty values, in a fixed order. Two ways of writing the same
    filters give the same string, so the desk can tell which saved filter is being shown."""
    allowed = set(allowed)
    out = QueryDict(mutable=True)
    for key in sorted(allowed):
        values = [v.strip() for v in params.getlist(key) if v and v.strip()]
        if values:
            out.setlist(key, values)
    return out.urlencode()


def _clean_name(name: str) -> str:
    text = " ".join(clean_text(name).split())  # no NUL or lone surrogates: never stored
    if not text:
        raise InvalidInput(_("Give the saved filter a name."), field="name")
    if len(text) > NAME_MAX:
        raise InvalidInput(
            _("A name has at most %(n)d characters.") % {"n": NAME_MAX}, field="name")
    return text


def _taken_error(name: str) -> InvalidInput:
    return InvalidInput(
        _("You already have a saved filter named “%(name)s”.") % {"name": name}, field="name")


@transaction.atomic
def saved_filter_create(*, actor: User, name: str, query: str) -> SavedFilter:
    """Save ``query`` (a canonical query string, see ``saved_filter_query``) under ``name``
    for ``actor``. Refused: an empty filter set, a name that is empty, too long or already
    one of the actor's, and more than MAX_SAVED_FILTERS per user. No side effects."""
    text = _clean_name(name)
    if not query:
        raise InvalidInput(_("Choose some filters before saving them."), field="query")
    if len(query) > QUERY_MAX:
        raise InvalidInput(_("These filters are too long to save."), field="query")
    # Lock the user's row so two saves at once cannot both pass the limit check.
    User.objects.select_for_update().filter(pk=actor.pk).first()
    if SavedFilter.objects.filter(owner=actor).count() >= MAX_SAVED_FILTERS:
        raise InvalidInput(
            _("You have %(n)d saved filters, the most there can be: delete one first.")
            % {"n": MAX_SAVED_FILTERS}, field="name")
    try:
        with transaction.atomic():
            return SavedFilter.objects.create(owner=actor, name=text, query=query)
    except IntegrityError as exc:  # the name is one of theirs already (a unique constraint)
        raise _taken_error(text) from exc


@transaction.atomic
def saved_filter_rename(*, actor: User, saved_filter_id: int, name: str) -> SavedFilter:
    """Rename one of ``actor``'s saved filters. Raises SavedFilter.DoesNotExist when it is
    not theirs; InvalidInput for a bad or taken name. Unchanged name: nothing is written."""
    row = SavedFilter.objects.select_for_update().get(owner=actor, pk=saved_filter_id)
    text = _clean_name(name)
    if text == row.name:
        return row
    row.name = text
    try:
        with transaction.atomic():
            row.save(update_fields=["name", "updated_at"])
    except IntegrityError as exc:
        raise _taken_error(text) from exc
    return row


@transaction.atomic
def saved_filter_delete(*, actor: User, saved_filter_id: int) -> str:
    """Delete one of ``actor``'s saved filters; returns its name. Raises
    SavedFilter.DoesNotExist when it is not theirs."""
    row = SavedFilter.objects.select_for_update().get(owner=actor, pk=saved_filter_id)
    name = row.name
    row.delete()
    return name
