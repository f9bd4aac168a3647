"""Staff users, the department tree and customers."""

from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.choices import ContactChannel, Role


class User(AbstractUser):
    """A staff member. Roles are Django groups (see ``cases.choices.Role``)."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True,
        help_text=_("Empty: the browser's language."),
    )
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    department = models.ForeignKey(
        "cases.Department", verbose_name=_("department"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="members",
    )

    class Meta:
        verbose_name = _("staff user")
        verbose_name_plural = _("staff users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @cached_property
    def role_names(self) -> frozenset[str]:
        """Group names, read once per request (the user object lives for one request)."""
        if not self.pk:
            return frozenset()
        return frozenset(self.groups.values_list("name", flat=True))

    def has_role(self, *roles: str) -> bool:
        """True when the user is in one of these role groups. Superuser status grants no
        desk role (separation of duties): a superuser administers in the Django admin and
        acts on cases only through the roles they hold."""
        return bool(self.role_names.intersection(roles))

    @property
    def is_agent(self) -> bool:
        return self.has_role(Role.FRONTLINE, Role.SENIOR, Role.SUPERVISOR)

    @property
    def is_senior(self) -> bool:
        return self.has_role(Role.SENIOR, Role.SUPERVISOR)

    @property
    def is_supervisor(self) -> bool:
        return self.has_role(Role.SUPERVISOR)

    @property
    def is_liaison(self) -> bool:
        return Role.LIAISON in self.role_names


class Department(models.Model):
    """A business department. A tree: disputes go to the lowest common parent's manager."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent department"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="children",
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("manager"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="managed_departments",
    )
    # Exactly one liaison per department, and one department per liaison.
    liaison = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("liaison"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="liaison_for",
    )
    is_active = models.BooleanField(_("active"), default=True)
    calendar = models.ForeignKey(
        "cases.WorkCalendar", verbose_name=_("working calendar"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
        help_text=_("Empty: the desk's default calendar."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name

    def ancestors(self) -> list[Department]:
        """Self first, then each parent up to the root (departments are a shallow tree)."""
        chain: list[Department] = []
        node: Department | None = self
        seen: set[int] = set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            chain.append(node)
            node = node.parent
        return chain


class Customer(models.Model):
    """A complainant. Contact data is personal data: masked for liaisons, never logged."""

    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=32, blank=True, db_index=True)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    preferred_channel = models.CharField(
        _("preferred contact channel"), max_length=10, choices=ContactChannel.choices,
        default=ContactChannel.SMS,
    )
    wechat_openid = models.CharField(_("WeChat id"), max_length=64, blank=True)
    is_key_customer = models.BooleanField(_("key customer"), default=False)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Set when the contact data was removed (all their cases anonymised, or erasure).
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return self.name
