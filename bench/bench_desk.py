"""Benchmark of the agent desk on the database DATABASE_URL names (seeded by seed_demo).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_seed \\
        python manage.py seed_demo --cases 1000000            # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_seed python bench/bench_desk.py

Reads only: requests each page through Django's test client as the demo supervisor (the
whole server side: middleware, session, queries, template) and prints, per page kind: median
and p95 time, the most SQL queries, and the target beside it. Pages: the desk home, the open
list at page 1 and page 1,000 (all cases when fewer are open; by ?page=N, an OFFSET, and by
the Next link of page 999, a keyset cursor), filtered lists, the supervision
queues, the deadline filter, search of every kind (reference, phone, customer name, subject,
order number, words of the description in Chinese and in English, a 2-character word) and the
case page of cases with a long timeline (30 entries and more). Targets from issue 18: pages
p95 <= 50 ms with <= 15 queries; search p95 <= 150 ms. ``--saved-filters`` also applies three
saved filters (it creates them for the supervisor: changes data, so --yes). Runs on SQLite too
(tests use a tiny database); the figures mean something on PostgreSQL only.
"""

from __future__ import annotations

import argparse
import html
import random
import re

try:
    from bench import harness
except ImportError:  # run as a script: bench/ is on sys.path, the project root is not yet
    import harness  # type: ignore[no-redef]

PAGE_MS, PAGE_QUERIES, SEARCH_MS = 50, 15, 150
BASE = "/desk/cases/"


def _samples(rng: random.Random) -> dict[str, list]:
    """What the searches look for, read from the database (a few cheap queries)."""
    from cases.choices import NoteKind
    from cases.demo import samples
    from cases.models import Case, CaseNote, Customer

    refs = list(Case.objects.order_by("-pk").values_list("reference", flat=True)[:2000:10])
    customers = list(Customer.objects.order_by("-pk").values_list("name", "phone")[:2000:10])
    orders = list(Case.objects.exclude(order_ref="").order_by("-pk")
                  .values_list("order_ref", flat=True)[:2000:10])
    long_ids = list(CaseNote.objects.filter(kind=NoteKind.CUSTOMER_MESSAGE).order_by()
                    .values_list("case_id", flat=True).distinct()[:40])
    open_ids = list(Case.objects.filter(stage="in_progress").order_by("-pk")
                    .values_list("pk", flat=True)[:40])
    latest = list(Case.objects.order_by("-pk").values_list("pk", flat=True)[:40])
    subjects = [zh for pairs in samples.SUBJECTS.values() for zh, _en in pairs]
    return {
        "refs": refs or ["TS-"], "customers": customers or [("王", "13")],
        "orders": orders or ["SO-"], "long": bool(long_ids),
        "case_ids": long_ids or open_ids or latest,
        "subjects": subjects, "zh_words": [d[2:7] for d in samples.DESCRIPTIONS_ZH],
        "en_words": [" ".join(d.split()[2:4]) for d in samples.DESCRIPTIONS_EN],
    }


def run(argv: list[str]) -> list[harness.Row]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="requests per page kind")
    parser.add_argument("--user", default="supervisor", help="demo user to request as")
    parser.add_argument("--saved-filters", action="store_true",
                        help="also apply saved filters (creates three: needs --yes)")
    parser.add_argument("--yes", action="store_true", help="allow the changes named above")
    args = parser.parse_args(argv)
    harness.setup()
    from django.test import Client

    from cases.models import Case, SavedFilter

    harness.require_cases()
    user = harness.demo_user(args.user)
    if args.saved_filters:
        harness.require_yes(args.yes, f"creates three saved filters for {args.user}")
    rng = random.Random(5)
    s = _samples(rng)
    client = Client()
    client.force_login(user)
    runs = args.runs
    open_count = Case.objects.exclude(stage__in=["closed", "invalid"]).order_by()[:25_001].count()
    deep = "?page=1000" if open_count > 25_000 else "?queue=all&page=1000"
    filtered = ["?category=delivery&channel=web", "?tier=1&sort=-received",
                "?queue=all&stage=closed&sort=-received", "?queue=all&key_customer=true",
                "?queue=all&group=true&sort=-received", "?queue=mine", "?queue=team",
                "?queue=waiting", "?queue=revisits"]

    def by_cursor(url: str) -> str:
        """The Next link of the page before ``url``'s (read once): the same page reached the
        way the list's own links reach it, by keyset cursor instead of OFFSET."""
        before = re.sub(r"page=(\d+)", lambda m: f"page={max(int(m.group(1)) - 1, 1)}", url)
        found = re.search(r'href="\?([^"]*)" rel="next"', client.get(before).content.decode())
        return f"{BASE}?{html.unescape(found.group(1))}" if found else url

    deep_cursor = by_cursor(BASE + deep)
    filtered_deep = (f"{BASE}?queue=all&category=delivery&page="
                     f"{1000 if open_count > 25_000 else 10}")
    filtered_cursor = by_cursor(filtered_deep)

    def page(name: str, urls, n: int = runs) -> harness.Row:
        return harness.measure_page(client, name, urls, n, target_ms=PAGE_MS,
                                    target_queries=PAGE_QUERIES)

    def search(name: str, values: list[str]) -> harness.Row:
        return harness.measure_page(client, f"search: {name}",
                                    lambda k: f"{BASE}?q={values[k % len(values)]}", runs,
                                    target_ms=SEARCH_MS, target_queries=PAGE_QUERIES)

    rows = [
        page("desk home", lambda k: "/desk/"),
        page("desk list, page 1", lambda k: BASE),
        page(f"desk list, page 1,000 ({deep[1:]})", lambda k: BASE + deep),
        page("desk list, page 1,000 by its Next link", lambda k: deep_cursor),
        page(f"filtered lists ({len(filtered)} kinds)", lambda k: BASE + filtered[k % 9], runs * 2),
        page("filtered list, page 1,000", lambda k: filtered_deep),
        page("filtered list, page 1,000 by its Next link", lambda k: filtered_cursor),
        page("supervision queues: at risk, breached",
             lambda k: BASE + ("?queue=at_risk", "?queue=breached")[k % 2]),
        page("deadline filter (3 states)", lambda k: BASE + ("?deadline=breached",
             "?deadline=at_risk", "?deadline=on_time")[k % 3]),
        search("reference fragment", [r[3:12] for r in s["refs"]]),
        search("phone fragment", [c[1][3:11] for c in s["customers"]]),
        search("customer name", [c[0] for c in s["customers"]]),
        search("subject words", [x[1:5] for x in s["subjects"]]),
        search("order number", s["orders"]),
        search("description words (Chinese)", s["zh_words"]),
        search("description words (English)", s["en_words"]),
        search("2-character word", ["物流", "退款", "屏幕", "客服"]),
    ]
    if s["case_ids"]:
        rows.append(page("case page (30+ timeline entries)" if s["long"] else "case page",
                         lambda k: f"{BASE}{s['case_ids'][k % len(s['case_ids'])]}/"))
    if args.saved_filters:
        saved = [SavedFilter.objects.update_or_create(owner=user, name=name,
                                                      defaults={"query": query})[0]
                 for name, query in (("bench: urgent web", "channel=web&queue=open&tier=1"),
                                     ("bench: breached", "deadline=breached&queue=open"),
                                     ("bench: key customers", "key_customer=true&queue=open"))]
        rows.append(harness.measure_page(
            client, "saved filter applied (redirect+list)",
            lambda k: f"/desk/filters/{saved[k % 3].pk}/", runs, target_ms=PAGE_MS,
            target_queries=PAGE_QUERIES, follow=True))
    return rows


if __name__ == "__main__":
    harness.main_for(run)
