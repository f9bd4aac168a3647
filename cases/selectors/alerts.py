"""A user's in-app alerts, and where each one's link leads."""

from __future__ import annotations

from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

from cases import permissions as perms
from cases.models import Alert, User

from .board import requests_visible_to


def alerts_for(user: User, *, unread_only: bool = False) -> QuerySet[Alert]:
    qs = (
        Alert.objects.filter(recipient=user).select_related("case")
        .only("id", "kind", "message", "link", "created_at", "read_at", "case__id",
              "case__reference", "recipient_id")
        .annotate(request_id=F("deadline__request_id"))
    )
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def alert_links(user: User, alerts: list[Alert]) -> list[Alert]:
    """Give each alert (read by ``alerts_for``) the ``url`` its case link opens: the case
    workspace for agents; for anyone else (a department liaison, a manager) the page of their
    department's request on that case -- or the board -- since the desk is 403 for them.
    An alert about one place (a mention: the note's anchor) leads there (``Alert.link``).
    At most one query, whatever the number of alerts."""
    if perms.is_agent(user):
        for alert in alerts:
            alert.url = alert.link or (
                reverse("desk:case", args=[alert.case_id]) if alert.case_id else "")
        return alerts
    missing = {a.case_id for a in alerts if a.case_id and not a.request_id and not a.link}
    by_case: dict[int, int] = {}
    if missing:
        # The latest request the user may see on each case.
        by_case = dict(
            requests_visible_to(user).filter(case_id__in=missing)
            .order_by("created_at", "id").values_list("case_id", "pk")
        )
    for alert in alerts:
        request_id = alert.request_id or by_case.get(alert.case_id)
        alert.url = alert.link or (reverse("board:request", args=[request_id]) if request_id
                                   else reverse("board:index"))
    return alerts


def navbar_state_for(user: User) -> dict[str, object]:
    """What every page's navigation shows about ``user``, in one query: the unread alert
    count, and whether they marked themselves away from automatic routing (``away``,
    ``away_since``; false and None without a routing profile)."""
    # A subquery over the (recipient, read_at) index counts the unread ones only; a join
    # would read every alert the user ever had.
    unread = (Alert.objects.filter(recipient=OuterRef("pk"), read_at__isnull=True).order_by()
              .values("recipient").annotate(n=Count("pk")).values("n"))
    row = (User.objects.filter(pk=user.pk)
           .annotate(unread=Coalesce(Subquery(unread), 0))
           .values("unread", "routing_profile__away", "routing_profile__away_since").first())
    if row is None:
        return {"unread": 0, "away": False, "away_since": None}
    return {"unread": row["unread"], "away": bool(row["routing_profile__away"]),
            "away_since": row["routing_profile__away_since"]}
