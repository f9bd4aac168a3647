"""The live desk's two endpoints: the change check the pages poll, and the workspace's
presence heartbeat (which also says whether the case changed since the page loaded)."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views import View

from cases.ids import parse_id
from cases.selectors.workspace import last_change_of
from cases.services import live
from cases.views.base import AgentRequiredMixin, get_case_or_404


class LiveCheckView(LoginRequiredMixin, View):
    """``GET ?t=<watch token>`` -> ``{"stamp": ...}``: the counters the page watches. Reads
    the session and the user, nothing else (with a per-process cache, also the newest ids
    every ``live.PROBE_SECONDS``); a token of another user or a forged one is 403."""

    raise_exception = True  # a poll gets 403, not the login page

    def get(self, request: HttpRequest) -> HttpResponse:
        keys = live.live_token_keys(request.GET.get("t", ""), request.user)
        if keys is None:
            return JsonResponse({"error": _("This page is out of date: reload it.")},
                                status=403)
        body = {"stamp": live.live_stamp(keys)}
        other = live.other_process_stamp()
        if other is not None:
            body["other"] = other  # the page refreshes when this moves after its first poll
        return JsonResponse(body, headers={"Cache-Control": "no-store"})


class PresenceView(AgentRequiredMixin, View):
    """``POST version=<n>`` every ~20 s while the workspace or an action form is open
    (``leave=1`` when it closes): who else has the case open, and, when the case changed
    since version ``n`` (by somebody else), who changed it and when."""

    raise_exception = True

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        case = get_case_or_404(request, pk)
        others = live.presence_beat(case_id=case.pk, user=request.user,
                                    leaving=request.POST.get("leave") == "1")
        seen = parse_id(request.POST.get("version"), minimum=0)
        body: dict = {"others": others, "version": case.version, "changed": None}
        stale = seen is not None and case.version != seen
        last = last_change_of(case) if stale else None
        if stale and not (last is not None and last.actor_id == request.user.pk):
            # (the user's own save, an inline action say, is nothing to warn about)
            at = timezone.localtime(last.at if last else case.updated_at)
            who = str(last.actor) if last and last.actor else _("Someone")
            body["changed"] = _("%(who)s changed this case at %(time)s: reload to see it "
                                "before you save.") % {
                "who": who, "time": formats.time_format(at, "H:i")}
        return JsonResponse(body, headers={"Cache-Control": "no-store"})

