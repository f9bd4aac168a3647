"""The sign-in backend: Django's model backend, reading the user's desk roles with the user
on every request (one query instead of two)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Exists, OuterRef

from cases.choices import Role


def _role_flags() -> dict[str, Exists]:
    membership = get_user_model().groups.through.objects
    return {f"in_role_{i}": Exists(membership.filter(user_id=OuterRef("pk"), group__name=role))
            for i, role in enumerate(Role.values)}


class RoleModelBackend(ModelBackend):
    """``get_user`` fills ``User.role_names`` (the desk roles the user holds, the only
    group names the desk asks about) from the same query as the user."""

    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        user = model.objects.annotate(**_role_flags()).filter(pk=user_id).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        user.role_names = frozenset(
            role for i, role in enumerate(Role.values) if getattr(user, f"in_role_{i}"))
        return user
