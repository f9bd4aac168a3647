"""Server time of the workspace's inline steps (issue 16): for every step the desk registers
(cases/views/actions.py) and for pause/resume, the side panel's GET and the step's POST, sent
through Django's test client as htmx requests (HX-Request), on the database DATABASE_URL names.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_desk_bench \\
        python bench/bench_inline.py --runs 30 [--user supervisor] [--yes]

Seeds nothing and wipes nothing: it picks existing cases in the stages each step starts from
(newest first, among ``--sample`` per stage) that the user may act on. Without ``--yes`` the
whole run is one transaction rolled back at the end, each POST in a savepoint rolled back at
once (so the same cases serve every run, and the commit is not timed); with ``--yes`` each POST
commits and changes its case (one case per run). The inputs are the forms' own first valid
choices. Prints median, p95 and queries per step and the answers' status codes; asserts nothing.
``run(argv)`` returns the rows for bench/run_all.py. Target from the issue: p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.test")

import django  # noqa: E402

django.setup()

from django import forms  # noqa: E402
from django.db import connection, reset_queries, transaction  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from cases import permissions as perms  # noqa: E402
from cases.choices import Role, Stage  # noqa: E402
from cases.models import Case, User  # noqa: E402
from cases.services.desk_config import desk_config  # noqa: E402
from cases.views.actions import ACTIONS  # noqa: E402

TARGET_MS = 100.0
HX = {"HTTP_HX_REQUEST": "true"}


class Rollback(Exception):
    """Leaves a savepoint (or the whole run) without keeping what it wrote."""


def _value(field: forms.Field, initial: Any) -> Any:
    """A valid value for ``field``: its initial value, else its first choice, else text."""
    if initial not in (None, ""):
        return getattr(initial, "pk", initial)
    if isinstance(field, forms.ModelMultipleChoiceField):
        return [obj.pk for obj in field.queryset[:2]]
    if isinstance(field, forms.ModelChoiceField):
        first = field.queryset.first()
        return first.pk if first else ""
    if isinstance(field, forms.ChoiceField):
        values = [v for v, _label in field.choices if v not in ("", None)]
        return values[-1] if values else ""  # scores and tiers: the last is the mildest
    if isinstance(field, forms.BooleanField):
        return ""
    if isinstance(field, forms.DecimalField):
        return "10"
    if isinstance(field, forms.IntegerField):
        return ""
    return "bench: inline step"


def form_data(action: str, case: Case, user: User) -> dict[str, Any]:
    """The step's unbound form, filled with its initial values and first valid choices."""
    form = ACTIONS[action].form_class(case=case, user=user)
    data = {name: _value(field, form.initial.get(name, field.initial))
            for name, field in form.fields.items()}
    data["version"] = case.version
    return {k: v for k, v in data.items() if v not in ("", None)}


def candidates(user: User, sample: int) -> dict[str, list[int]]:
    """Per step, ids of existing cases ``user`` may take it on now (newest first)."""
    found: dict[str, list[int]] = {name: [] for name in [*ACTIONS, "pause", "resume"]}
    for stage in Stage.values:
        cases = (Case.objects.filter(stage=stage).select_related("owner", "handler")
                 .prefetch_related("task_force").order_by("-pk")[:sample])
        for case in cases:
            for name, spec in ACTIONS.items():
                if spec.available(case) and spec.permitted(case, user):
                    found[name].append(case.pk)
            if perms.can_pause(case, user):
                found["resume" if case.paused_since else "pause"].append(case.pk)
    return found


def _pause_data(case: Case, user: User) -> dict[str, Any]:
    reason = next((r.code for r in desk_config().pause_reasons if not r.requires_evidence), "")
    return {"reason": reason, "note": "bench: waiting for the customer"}


def _urls(name: str, pk: int) -> str:
    if name in ("pause", "resume"):
        return reverse(f"desk:case_{name}", args=[pk])
    return reverse("desk:case_action", args=[pk, name])


def _timed(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, int, int]:
    """(server ms, queries, status) of one request."""
    reset_queries()  # the log keeps 9,000 queries: a long run would count none
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        response = call(*args, **kwargs)
        elapsed = (time.perf_counter() - start) * 1000
    if response.status_code >= 400 and os.environ.get("BENCH_VERBOSE"):
        print(response.status_code, response.content.decode()[:3000], file=sys.stderr)
    return elapsed, len(ctx.captured_queries), response.status_code


def _row(name: str, times: list[float], queries: list[int], statuses: set[int]) -> dict:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return {"name": name, "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(p95, 1), "queries": max(queries), "target_ms": TARGET_MS,
            "statuses": sorted(statuses)}


def measure(client: Client, user: User, name: str, ids: list[int], runs: int,
            commit: bool) -> list[dict]:
    """The GET panel and the POST of step ``name`` over ``ids``."""
    get_t, get_q, get_s = [], [], set()
    for k in range(runs + 2):
        t, q, s = _timed(client.get, _urls(name, ids[k % len(ids)]), **HX)
        if k >= 2:  # the first two warm the caches
            get_t.append(t), get_q.append(q), get_s.add(s)
    rows = [_row(f"{name}: panel (GET)", get_t, get_q, get_s)]
    post_t, post_q, post_s = [], [], set()
    for k in range(min(runs, len(ids)) if commit else runs):
        case = Case.objects.get(pk=ids[k % len(ids)])
        if name == "resume":
            data: dict[str, Any] = {}
        elif name == "pause":
            data = _pause_data(case, user)
        else:
            data = form_data(name, case, user)
        url = _urls(name, case.pk)
        try:
            with transaction.atomic():
                t, q, s = _timed(client.post, url, data, **HX)
                if not commit:
                    raise Rollback
        except Rollback:
            pass
        post_t.append(t), post_q.append(q), post_s.add(s)
    if post_t:
        rows.append(_row(f"{name}: apply (POST)", post_t, post_q, post_s))
    return rows


def run(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sample", type=int, default=200,
                        help="cases looked at per stage to find ones to act on")
    parser.add_argument("--user", default="", help="a supervisor's username (default: the "
                        "first active supervisor)")
    parser.add_argument("--only", default="", help="comma-separated steps to measure")
    parser.add_argument("--yes", action="store_true",
                        help="commit each POST: changes the cases it acts on")
    args = parser.parse_args(argv)
    users = User.objects.filter(is_active=True, groups__name=Role.SUPERVISOR)
    user = (users.filter(username=args.user) if args.user else users.order_by("pk")).first()
    if user is None:
        sys.exit("no active supervisor to act as (seed_demo makes one; or pass --user)")
    rows: list[dict] = []
    # Signed-cookie sessions: signing in writes no session row.
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies"):
        try:
            with transaction.atomic():
                client = Client(raise_request_exception=False)
                client.force_login(user)
                found = candidates(user, args.sample)
                only = {s for s in args.only.split(",") if s}
                for name, ids in found.items():
                    if only and name not in only:
                        continue
                    if not ids:
                        print(f"{name}: no case in a stage it starts from; skipped",
                              file=sys.stderr)
                        continue
                    rows += measure(client, user, name, ids, args.runs, args.yes)
                if not args.yes:
                    raise Rollback
        except Rollback:
            pass
    return rows


def main() -> None:
    rows = run(sys.argv[1:])
    print(f"{connection.vendor}, {Case.objects.count():,} cases; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'step':<34} {'median ms':>10} {'p95 ms':>8} {'queries':>8}  status  target")
    for r in rows:
        flag = "ok" if r["p95_ms"] < r["target_ms"] else "OVER"
        print(f"{r['name']:<34} {r['median_ms']:>10.1f} {r['p95_ms']:>8.1f} {r['queries']:>8}"
              f"  {','.join(map(str, r['statuses'])):<7} {flag}")


if __name__ == "__main__":
    main()
