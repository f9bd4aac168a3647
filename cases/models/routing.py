"""Automatic routing: the rules an admin defines, and each agent's routing profile."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.choices import Category, Role, Tier


class RoutingMethod(models.TextChoices):
    LEAST_LOADED = "least_loaded", _("Least loaded")
    ROUND_ROBIN = "round_robin", _("Round robin")


# Roles that can be a routing pool (agents only).
POOL_ROLES = [(Role.FRONTLINE.value, Role.FRONTLINE.label),
              (Role.SENIOR.value, Role.SENIOR.label),
              (Role.SUPERVISOR.value, Role.SUPERVISOR.label)]


class RoutingRule(models.Model):
    """Who a triaged case goes to. A rule matches a tier and a category (either may be
    "any"); the most specific active rule wins (tier and category, then tier, then category,
    then neither), then the lowest order. The pool is every active agent with the role (or
    any agent role), the skill (the case's category among their skill categories, when the
    rule asks for it) and the department (when set)."""

    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(_("order"), default=100)
    tier = models.PositiveSmallIntegerField(
        _("tier"), choices=[(0, _("Any tier")), *[c for c in Tier.choices if c[0]]], default=0)
    category = models.CharField(
        _("category"), max_length=30, blank=True,
        choices=[("", _("Any category")), *Category.choices])
    pool_role = models.CharField(
        _("pool: role"), max_length=30, blank=True,
        choices=[("", _("Any agent role")), *POOL_ROLES])
    pool_department = models.ForeignKey(
        "cases.Department", verbose_name=_("pool: department"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        help_text=_("Empty: agents of any department."))
    require_skill = models.BooleanField(
        _("pool: skilled in the category"), default=False,
        help_text=_("Only agents whose skill categories include the case's category."))
    method = models.CharField(_("method"), max_length=20, choices=RoutingMethod.choices,
                              default=RoutingMethod.LEAST_LOADED)
    max_load = models.PositiveIntegerField(
        _("maximum load"), default=20,
        help_text=_("An agent whose weighted open cases reach this gets no more."))
    weight_tier1 = models.PositiveSmallIntegerField(_("weight of a tier 1 case"), default=3)
    weight_tier2 = models.PositiveSmallIntegerField(_("weight of a tier 2 case"), default=2)
    weight_tier3 = models.PositiveSmallIntegerField(_("weight of a tier 3 case"), default=1)
    # Round robin: the agent who got the last case (the next goes to the one after).
    last_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", editable=False)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return self.name

    def weights(self) -> dict[int, int]:
        return {Tier.URGENT: self.weight_tier1, Tier.IMPORTANT: self.weight_tier2,
                Tier.ROUTINE: self.weight_tier3}


class AgentProfile(models.Model):
    """An agent's routing profile: away or not, and the categories they are skilled in."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="routing_profile", verbose_name=_("agent"))
    away = models.BooleanField(_("away"), default=False,
                               help_text=_("Away agents get no routed cases."))
    away_since = models.DateTimeField(_("away since"), null=True, blank=True)
    skills = models.JSONField(_("skill categories"), default=list, blank=True)

    class Meta:
        verbose_name = _("agent routing profile")
        verbose_name_plural = _("agent routing profiles")

    def __str__(self) -> str:
        return str(self.user)
