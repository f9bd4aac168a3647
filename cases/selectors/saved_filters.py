"""A user's saved desk filters."""

from __future__ import annotations

from cases.models import SavedFilter, User


def saved_filters_for(user: User) -> list[SavedFilter]:
    """The user's saved filters by name (at most MAX_SAVED_FILTERS rows: one query)."""
    return list(
        SavedFilter.objects.filter(owner_id=user.pk).only("id", "name", "query", "owner_id")
        .order_by("name", "id")
    )


def saved_filter_for(user: User, pk: int) -> SavedFilter:
    """One of the user's saved filters; SavedFilter.DoesNotExist for anybody else's."""
    return SavedFilter.objects.get(owner_id=user.pk, pk=pk)
