"""Choices shared by the reporting models and the KPI definitions (imported by both, so
neither imports the other for them)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    AT_LEAST = "at_least", _("at least")
    AT_MOST = "at_most", _("at most")
    FALLING = "falling", _("falling period over period")
