"""Where a signed-in user lands: the page of the work their roles give them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from cases import permissions as perms


@login_required
def landing(request: HttpRequest) -> HttpResponse:
    """Agents go to the desk, liaisons to the shared board, an administrator without a desk
    role (superuser status grants none) to the Django admin. Reads only."""
    user = request.user
    if perms.is_agent(user):
        return redirect("desk:home")
    if perms.is_liaison(user):
        return redirect("board:index")
    if user.is_staff:
        return redirect("admin:index")
    return redirect("desk:home")  # its 403 page says the desk is for agents
