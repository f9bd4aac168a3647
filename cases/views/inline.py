"""The workspace's side panel (issue 16). A step's URL answers the full page, or for an htmx
request (HX-Request) the panel fragment; after the step the workspace's main column is
rendered again and swapped in place. Without JavaScript the same URLs work as full pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_htmx.http import reselect, reswap, retarget, trigger_client_event

from cases.views.base import get_case_or_404

PAGE_TEMPLATE = "cases/workspace/action.html"
PANEL_TEMPLATE = "cases/workspace/_action_panel.html"
MAIN_TEMPLATE = "cases/workspace/_main.html"
MAIN_SELECTOR = "#case-main"
DONE_EVENT = "deskActionDone"  # desk's inline.js closes the panel on it


def form_response(request: HttpRequest, context: dict[str, Any], *,
                  status: int = 200) -> HttpResponse:
    """A step's form (``context``: ``case``, ``step_body``, ``step_title``, ``step_icon``) as
    a page, or as the panel for htmx, where a form with errors answers 422 (swapped into the
    panel, as the desk's htmx configuration says)."""
    if request.htmx:
        return render(request, PANEL_TEMPLATE, {**context, "panel": True},
                      status=422 if status == 400 else status)
    return render(request, PAGE_TEMPLATE, context, status=status)


def back_to_case(request: HttpRequest, case_pk: int, anchor: str = "") -> HttpResponse:
    """After a step (done, refused or stale): a redirect to the workspace, or for htmx the
    workspace's main column rendered again with its messages, retargeted to replace the
    page's, and the event that closes the panel."""
    if not request.htmx:
        return redirect(f"{reverse('desk:case', args=[case_pk])}{anchor}")
    # Imported here: the workspace view imports the action registry, which imports this module.
    from cases.views.workspace import CaseWorkspaceView

    case = get_case_or_404(request, case_pk)
    # The main column alone (the page around it is unchanged); the agent saw the customer's
    # contact data when the page loaded, and that view was recorded then.
    response = render(request, MAIN_TEMPLATE,
                      CaseWorkspaceView.context(request, case, record_view=False))
    retarget(response, MAIN_SELECTOR)
    reswap(response, "outerHTML")
    reselect(response, MAIN_SELECTOR)
    return trigger_client_event(response, DONE_EVENT, {}, after="settle")
