"""Where a signed-in user lands: the page of the work their roles give them."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases import permissions as perms


@dataclass(frozen=True)
class Home:
    url: str
    label: Promise


def home_for(user: object) -> Home:
    """The home of ``user``'s roles: the desk for agents (administrators with a desk role
    too), the board for department liaisons, the Django admin for an administrator without a
    desk role, the account page for a user with no role yet. Reads the user's roles
    (one query, cached on the user)."""
    if perms.is_agent(user):
        return Home(reverse("desk:home"), _("Desk"))
    if perms.is_liaison(user):
        return Home(reverse("board:index"), _("Board"))
    if getattr(user, "is_staff", False):
        return Home(reverse("admin:index"), _("Django admin"))
    if getattr(user, "is_authenticated", False):
        return Home(reverse("account_home"), _("Home"))
    return Home(reverse("login"), _("Sign in"))


@login_required
def landing(request: HttpRequest) -> HttpResponse:
    """Redirects to the home of the user's roles (``home_for``)."""
    return redirect(home_for(request.user).url)


@login_required
def account_home(request: HttpRequest) -> HttpResponse:
    """The page of a signed-in user without a desk or board role: who can give one (an
    administrator who opens it sees the admin's sections and the reports)."""
    user = request.user
    return render(request, "account_home.html", {
        "is_admin": user.is_staff,
        "home": home_for(user),
        "roles": user.role_names,
    })
