"""Query sets: the one place that decides which cases a user may see."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from cases.choices import OPEN_STAGES, Role

if TYPE_CHECKING:
    from cases.models import User


class CaseQuerySet(models.QuerySet):
    def for_user(self, user: User) -> CaseQuerySet:
        """Agents see every case; a liaison sees only cases with a collaboration request to
        their department; anyone else sees nothing. Lists, detail pages and actions all use
        this, so what a list shows and what a URL opens never disagree. (The one wider read:
        an admin's report export, ``reporting.selectors.exportable_cases``, holds every case,
        as the Django admin shows them every case.)"""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.has_role(Role.FRONTLINE, Role.SENIOR, Role.SUPERVISOR):
            return self
        if Role.LIAISON in user.role_names:
            return self.filter(
                collaboration_requests__department__liaison=user
            ).distinct()
        return self.none()

    def open(self) -> CaseQuerySet:
        return self.filter(stage__in=OPEN_STAGES)
