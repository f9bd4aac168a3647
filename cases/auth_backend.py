"""The sign-in backend: Django's model backend, with the user's role (group) names kept in the
cache, so a signed-in request reads the user row alone. Any change of group membership or of a
group bumps a generation counter that every cached entry is checked against, so a granted or
removed role counts from the next request."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from complaints_project.cache_outage import CACHE_DOWN_ERRORS, bump_counter, warn_cache_down

logger = logging.getLogger(__name__)

GENERATION = "auth:roles:generation"
ROLES_TTL = 3600


def _key(user_id: Any) -> str:
    return f"auth:roles:{user_id}"


class RoleModelBackend(ModelBackend):
    """``get_user`` gives the user ``role_names`` from the cache when its entry is of the
    current generation; otherwise ``User.role_names`` reads the groups (one query) and the
    entry is written. Without a reachable cache, or without ``AUTH_ROLES_CACHED`` (a cache
    per process of several), it behaves as Django's backend."""

    def get_user(self, user_id: Any) -> Any:
        user = super().get_user(user_id)
        if user is None or not settings.AUTH_ROLES_CACHED:
            return user
        key = _key(user.pk)
        try:
            found = cache.get_many([GENERATION, key])
        except CACHE_DOWN_ERRORS as exc:
            warn_cache_down(logger, "roles read from the database (%s)", exc)
            return user
        generation, entry = found.get(GENERATION, 0), found.get(key)
        if entry is not None and entry[0] == generation:
            user.role_names = frozenset(entry[1])
            return user
        try:
            cache.set(key, (generation, tuple(sorted(user.role_names))), ROLES_TTL)
        except CACHE_DOWN_ERRORS as exc:
            warn_cache_down(logger, "roles not cached (%s)", exc)
        return user


def _bump() -> None:
    try:
        bump_counter(GENERATION)  # (a missing counter reads as 0, which it never restarts at)
    except CACHE_DOWN_ERRORS as exc:
        warn_cache_down(logger, "role cache not invalidated (%s)", exc)


def _forget(user_ids: set[Any]) -> None:
    try:
        cache.delete_many([_key(pk) for pk in user_ids])
    except CACHE_DOWN_ERRORS as exc:
        warn_cache_down(logger, "role cache not invalidated (%s)", exc)


def _now_and_after_commit(action) -> None:
    # Again after commit: a request reading the groups before the commit may have cached
    # the old ones in between.
    action()
    transaction.on_commit(action)


def membership_changed(*, instance: Any, action: str, reverse: bool, pk_set: Any,
                       **kwargs: Any) -> None:
    """Signal receiver (a user's groups): forget those users' entries; all of them when a
    group was emptied (``clear`` names no users)."""
    if not action.startswith("post_"):
        return
    users = set(pk_set) if reverse and pk_set is not None else None if reverse else {instance.pk}
    _now_and_after_commit(_bump if users is None else lambda: _forget(users))


def roles_changed(**kwargs: Any) -> None:
    """Signal receiver (a group saved or deleted): every entry is out of date."""
    _now_and_after_commit(_bump)


def connect_signals() -> None:
    m2m_changed.connect(membership_changed, sender=get_user_model().groups.through,
                        dispatch_uid="auth_roles_membership")
    post_save.connect(roles_changed, sender=Group, dispatch_uid="auth_roles_group_saved")
    post_delete.connect(roles_changed, sender=Group, dispatch_uid="auth_roles_group_deleted")
