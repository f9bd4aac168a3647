"""Benchmark of the agent desk over a million cases on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres cd_desk_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cd_desk_bench \\
        python bench/bench_desk.py --cases 1000000 --runs 40

Migrates the database and seeds it with COPY unless it already holds that many cases
(``--reseed`` adds more): customers (a third as many as cases, 2 % key customers), agents,
departments, group complaints, cases over two years (about 5 % open, recent, spread over the
stages and deadline states; the rest closed), a running deadline, transitions and notes for
every open case. The trigram indexes are dropped during the load and rebuilt after it (the
Chinese bigram vector, a generated column, is computed by PostgreSQL as rows arrive).

Then it requests each page through Django's test client as a supervisor (the whole server
side: middleware, session, queries, template) and prints, per page: median and p95 time, and
the number of SQL queries. Pages: the desk home, the default desk list (open cases, nearest
due first), filtered lists, the supervision queues and the deadline-state filter, a saved
filter applied (its redirect and the list), the text search (several kinds of query) and the
case page. ``--per-kind`` adds a line per kind of filtered list.
Prints figures; asserts nothing (see bench/ in STYLE.md). Targets from the issue: p95 <= 50 ms
with <= 15 queries; text search p95 <= 200 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "complaints_project.settings.test")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases.choices import (  # noqa: E402
    Category,
    ChannelKind,
    ContactChannel,
    NoteKind,
    Role,
    SlaState,
    Stage,
)
from cases.models import (  # noqa: E402
    Case,
    CaseDeadline,
    CaseNote,
    CaseTransition,
    ComplaintGroup,
    Customer,
    Department,
    SavedFilter,
    User,
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
         "明", "超", "秀英", "华", "慧", "建国", "晓峰", "雪梅", "志强", "海燕", "俊杰"]
SUBJECTS = [
    "订单未按时送达", "收到的商品有破损", "电热水壶底座冒烟", "手机屏幕出现裂痕", "退款迟迟未到账",
    "客服电话无人接听", "宣传的功能与实际不符", "重复扣费", "安装师傅未按约上门", "赠品没有发放",
    "快递员态度恶劣", "发票抬头开错", "会员积分被清零", "维修后问题依旧", "商品与描述不一致",
    "优惠券无法使用", "配送地址被改错", "冰箱制冷效果差", "洗衣机噪音过大", "充电器发热严重",
]
DETAILS = [
    "下单五天仍未收到货，物流信息一直没有更新。", "打开包装发现外壳有明显裂痕。",
    "使用第二天底座冒烟并有焦味，担心安全。", "客服多次承诺回电但一直没有联系我。",
    "已经申请退款两周，仍然显示处理中。", "同一笔订单被扣款两次，请尽快退回。",
    "商品页面写着支持快充，实际充电很慢。", "师傅约好周六上午上门，结果没有来也没有通知。",
    "购买时承诺的赠品至今没有收到。", "维修后使用三天又出现同样的故障。",
]
CATEGORIES = [c.value for c in Category]
CHANNELS = [ChannelKind.WEB, ChannelKind.HOTLINE, ChannelKind.APP, ChannelKind.EMAIL,
            ChannelKind.WECHAT, ChannelKind.WALK_IN, ChannelKind.CALL_CENTRE]
OPEN_MIX = [  # stage, share of the open cases
    (Stage.RECEIVED, 10), (Stage.TRIAGED, 8), (Stage.ASSIGNED, 10), (Stage.IN_PROGRESS, 40),
    (Stage.WAITING_DEPARTMENT, 8), (Stage.RESOLVED, 8), (Stage.FEEDBACK_GIVEN, 8),
    (Stage.REVISIT, 4), (Stage.FOLLOW_UP, 4),
]
OPEN_SHARE = 0.05
TRIGRAM_INDEXES = {
    "case_reference_trgm": ("cases_case", "USING gin (UPPER(reference::text) gin_trgm_ops)"),
    "case_subject_trgm": ("cases_case", "USING gin (UPPER(subject::text) gin_trgm_ops)"),
    "case_description_trgm": ("cases_case", "USING gin (UPPER(description) gin_trgm_ops)"),
    "customer_name_trgm": ("cases_customer", "USING gin (UPPER(name::text) gin_trgm_ops)"),
    "customer_phone_trgm": ("cases_customer", "USING gin (UPPER(phone::text) gin_trgm_ops)"),
    "customer_email_trgm": ("cases_customer", "USING gin (UPPER(email::text) gin_trgm_ops)"),
}


# --- seeding -----------------------------------------------------------------------------------
def copy_rows(model: type, rows: Iterable[dict], with_id: bool = True) -> int:
    """COPY rows (dicts of column values) into ``model``'s table; a column a row lacks gets
    the field's default, so fields added to the model later do not break the seed."""
    concrete = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
    columns = [f.column for f in concrete]
    defaults = {f.column: f.get_default() for f in concrete}
    sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    n = 0
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([row.get(c, defaults[c]) for c in columns])
            n += 1
    return n


def _next_id(model: type) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {model._meta.db_table}")
        return int(cursor.fetchone()[0])


def _reset_sequence(model: type) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                       f"(SELECT MAX(id) FROM {table}))")


def _people() -> tuple[User, list[User], list[Department], list[ComplaintGroup]]:
    boss, _created = User.objects.get_or_create(username="bench-desk-boss",
                                                defaults={"display_name": "主管 王"})
    boss.set_password("pass12345")
    boss.save()
    boss.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    agents = []
    for i in range(40):
        agent, _created = User.objects.get_or_create(
            username=f"bench-desk-agent{i}", defaults={"display_name": f"客服{i:02d}"})
        agent.groups.add(Group.objects.get(name=Role.SENIOR if i % 4 == 0 else Role.FRONTLINE))
        agents.append(agent)
    departments = [
        Department.objects.get_or_create(code=f"bench-desk-{i}", defaults={
            "name": f"业务部{i}", "name_en": f"Business unit {i}"})[0]
        for i in range(10)
    ]
    now = timezone.now()
    groups = [
        ComplaintGroup.objects.get_or_create(key=f"bench:{i}", defaults={
            "category": CATEGORIES[i % len(CATEGORIES)], "matter": f"SO-{i:05d}",
            "first_received_at": now, "last_received_at": now, "case_count": 6})[0]
        for i in range(50)
    ]
    return boss, agents, departments, groups


def seed(n_cases: int, seed_value: int = 11) -> None:
    rnd = random.Random(seed_value)
    now = timezone.now()
    boss, agents, departments, groups = _people()
    agent_ids = [a.pk for a in agents] + [boss.pk]
    with connection.cursor() as cursor:
        for name in TRIGRAM_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")

    n_customers = max(1, n_cases // 3)
    first_customer = _next_id(Customer)
    t0 = time.perf_counter()

    def customers() -> Iterable[dict]:
        for k in range(n_customers):
            i = first_customer + k
            yield {
                "id": i,
                "name": rnd.choice(SURNAMES) + rnd.choice(GIVEN),
                "phone": f"13{(i * 7919) % 1_000_000_000:09d}",
                "email": f"c{i}@example.com" if i % 3 else "",
                "preferred_channel": rnd.choice(ContactChannel.values),
                "is_key_customer": i % 50 == 0, "language": "zh-hans", "created_at": now,
                "wechat_openid": "",
            }

    copy_rows(Customer, customers())
    print(f"  {n_customers:,} customers in {time.perf_counter() - t0:.0f} s", flush=True)

    first_case = _next_id(Case)
    open_ids: list[tuple[int, datetime, datetime | None, str, str]] = []
    stages = [s for s, share in OPEN_MIX for _ in range(share)]

    def cases() -> Iterable[dict]:
        for k in range(n_cases):
            i = first_case + k
            is_open = rnd.random() < OPEN_SHARE
            if is_open:
                stage = rnd.choice(stages)
                received = now - timedelta(minutes=rnd.randint(10, 7 * 24 * 60))
                due = now + timedelta(minutes=rnd.randint(-8 * 60, 48 * 60))
                # What the sweep leaves: at risk from 75 % of the allowed time.
                state = (SlaState.BREACHED if due < now else
                         SlaState.AT_RISK if due - (due - received) / 4 <= now
                         else SlaState.ON_TIME)
            else:
                stage = Stage.INVALID if rnd.random() < 0.01 else Stage.CLOSED
                received = now - timedelta(minutes=rnd.randint(7 * 24 * 60, 730 * 24 * 60))
                due, state = None, SlaState.ON_TIME
            tier = 0 if stage == Stage.RECEIVED else rnd.choice([1, 2, 2, 3, 3, 3, 3, 3, 3, 3])
            handled = stage not in (Stage.RECEIVED, Stage.TRIAGED)
            subject = rnd.choice(SUBJECTS)
            if is_open:
                open_ids.append((i, received, due, stage, state))
            yield {
                "id": i,
                "reference": f"TS-{timezone.localtime(received).year}-{i:06d}",
                "tracking_code": f"{i:010d}"[-10:], "customer_id": first_customer + rnd.randrange(
                    n_customers),
                "channel": rnd.choice(CHANNELS), "received_at": received,
                "category": rnd.choice(CATEGORIES), "subject": subject,
                "description": (f"{rnd.choice(DETAILS)}{rnd.choice(DETAILS)}"
                                f"订单号 SO-{i % 999983:06d}。"),
                "order_ref": f"SO-{i % 999983:06d}", "tier": tier, "suggested_tier": tier or 3,
                "stage": stage, "sla_state": state, "next_due_at": due,
                "next_risk_at": due - (due - received) / 4 if due is not None else None,
                "owner_id": rnd.choice(agent_ids) if tier or rnd.random() < 0.3 else None,
                "handler_id": rnd.choice(agent_ids) if handled else None,
                "department_id": rnd.choice(departments).pk if rnd.random() < 0.3 else None,
                "group_id": rnd.choice(groups).pk if rnd.random() < 0.01 else None,
                "closed_at": None if is_open else received + timedelta(days=3),
                "created_at": received, "updated_at": received if not is_open else now,
                "urgency": "emergency" if tier == 1 else "routine", "scope": "individual",
                "difficulty": "frontline",
            }

    t0 = time.perf_counter()
    copy_rows(Case, cases())
    print(f"  {n_cases:,} cases ({len(open_ids):,} open) in {time.perf_counter() - t0:.0f} s",
          flush=True)

    t0 = time.perf_counter()
    copy_rows(CaseDeadline, (
        {"case_id": i, "clock": "solution", "started_at": received,
         "risk_at": due - (due - received) / 4, "due_at": due, "state": state,
         "breached_at": due if state == SlaState.BREACHED else None}
        for i, received, due, _stage, state in open_ids if due is not None
    ), with_id=False)
    copy_rows(CaseTransition, (
        {"case_id": i, "field": "stage", "name": name, "source": src, "target": dst,
         "actor_id": rnd.choice(agent_ids), "note": "", "at": received + timedelta(minutes=m)}
        for i, received, _due, _stage, _state in open_ids
        for name, src, dst, m in (("receive", "", "received", 0),
                                  ("triage", "received", "triaged", 20),
                                  ("assign", "triaged", "assigned", 45))
    ), with_id=False)
    copy_rows(CaseNote, (
        {"case_id": i, "kind": kind, "author_id": rnd.choice(agent_ids), "body": body,
         "created_at": received + timedelta(minutes=m), "visible_to_customer": False,
         "external_message_id": ""}
        for i, received, _due, _stage, _state in open_ids
        for kind, body, m in ((NoteKind.CONTACT, "已致电客户，说明处理流程。", 30),
                              (NoteKind.PROGRESS, "已联系相关部门核实。", 90))
    ), with_id=False)
    print(f"  deadlines, transitions and notes in {time.perf_counter() - t0:.0f} s", flush=True)
    for model in (Customer, Case):
        _reset_sequence(model)
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, (table, definition) in TRIGRAM_INDEXES.items():
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {definition}")
        # What autovacuum does in a running system: statistics and the visibility map (so
        # counts are index-only scans).
        for model in (Case, Customer, CaseDeadline, CaseTransition, CaseNote):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    print(f"  trigram indexes and VACUUM ANALYZE in {time.perf_counter() - t0:.0f} s", flush=True)


# --- measuring ---------------------------------------------------------------------------------
def measure(client: Client, name: str, urls: Callable[[int], str], runs: int,
            follow: bool = False) -> dict:
    for k in range(3):  # warm caches and connections
        client.get(urls(k), follow=follow)
    times, sql_times, queries, statuses = [], [], [], set()
    for k in range(runs):
        url = urls(k + 3)
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url, follow=follow)
            times.append((time.perf_counter() - start) * 1000)
        statuses.add(response.status_code)
        queries.append(len(ctx.captured_queries))
        sql_times.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return {"page": name, "median": statistics.median(times), "p95": p95,
            "sql": statistics.median(sql_times), "max_q": max(queries),
            "statuses": sorted(statuses)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--reseed", action="store_true", help="add --cases more cases")
    parser.add_argument("--per-kind", action="store_true",
                        help="also time each kind of filtered list on its own")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench_desk measures PostgreSQL: set DATABASE_URL=postgres://...")

    call_command("migrate", verbosity=0)
    have = Case.objects.count()
    if args.reseed or have < args.cases:
        print(f"seeding {args.cases - (0 if args.reseed else have):,} cases ...", flush=True)
        seed(args.cases if args.reseed else args.cases - have)
    total = Case.objects.count()
    print(f"{total:,} cases, {Customer.objects.count():,} customers; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    client = Client()
    client.force_login(User.objects.get(username="bench-desk-boss"))
    print(f"load average before measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    rnd = random.Random(5)
    open_cases = list(Case.objects.filter(stage=Stage.IN_PROGRESS).values_list("pk", flat=True)
                      .order_by("?")[:200])
    customers = list(Customer.objects.order_by("?").values_list("name", "phone")[:200])
    refs = list(Case.objects.order_by("?").values_list("reference", flat=True)[:200])
    departments = list(Department.objects.filter(code__startswith="bench-desk-")
                       .values_list("pk", flat=True))
    filtered = [
        "?category=delivery&channel=web",
        "?deadline=breached",
        "?tier=1&sort=-received",
        "?queue=all&stage=closed&received_after=2025-01-01&received_before=2025-03-31",
        "?queue=all&key_customer=true",
        "?queue=all&group=true&sort=-received",
        "?queue=mine",
        "?queue=team",
        "?queue=revisits",
    ] + [f"?department={d}" for d in departments[:3]]
    searches = {
        "search: phone fragment": lambda k: f"?q={customers[k % 200][1][3:11]}",
        "search: customer name": lambda k: f"?q={customers[k % 200][0]}",
        "search: subject words": lambda k: f"?q={SUBJECTS[k % len(SUBJECTS)][1:5]}",
        "search: description words": lambda k: f"?q={DETAILS[k % len(DETAILS)][2:7]}",
        "search: order number": lambda k: f"?q=SO-{rnd.randrange(999983):06d}",
        "search: reference fragment": lambda k: f"?q={refs[k % 200][3:12]}",
        "search: 2-character word": lambda k: f"?q={['物流', '退款', '屏幕', '客服'][k % 4]}",
    }
    base = "/desk/cases/"
    boss = User.objects.get(username="bench-desk-boss")
    saved = [
        SavedFilter.objects.update_or_create(owner=boss, name=name, defaults={"query": query})[0]
        for name, query in (("bench: urgent web", "channel=web&queue=open&sort=due&tier=1"),
                            ("bench: breached tier 3", "deadline=breached&queue=open&tier=3"),
                            ("bench: key customers", "key_customer=true&queue=open&sort=due"))
    ]
    results = [
        measure(client, "desk home", lambda k: "/desk/", args.runs),
        measure(client, "desk list (open, nearest due)", lambda k: base, args.runs),
        measure(client, "desk list, page 40", lambda k: f"{base}?page=40", args.runs),
        measure(client, f"filtered lists ({len(filtered)} kinds)",
                lambda k: base + filtered[k % len(filtered)], args.runs * 2),
        measure(client, "supervision: at risk, breached",
                lambda k: base + ("?queue=at_risk", "?queue=breached")[k % 2], args.runs),
        measure(client, "deadline filter (3 states)",
                lambda k: base + ("?deadline=breached", "?deadline=at_risk",
                                  "?deadline=on_time")[k % 3], args.runs),
        measure(client, "saved filter applied (redirect+list)",
                lambda k: f"/desk/filters/{saved[k % len(saved)].pk}/", args.runs, follow=True),
    ]
    if args.per_kind:
        for url in filtered:
            results.append(measure(client, f"  {url[:36]}", lambda k, url=url: base + url,
                                   max(10, args.runs // 4)))
    for name, fn in searches.items():
        results.append(measure(client, name, lambda k, fn=fn: base + fn(k), args.runs))
    results.append(measure(client, "case page", lambda k: f"/desk/cases/"
                           f"{open_cases[k % len(open_cases)]}/", args.runs))
    results.append(measure(client, "action form (resolve)", lambda k: f"/desk/cases/"
                           f"{open_cases[k % len(open_cases)]}/do/resolve/", args.runs))

    print(f"\n{'page':38} {'median ms':>10} {'p95 ms':>8} {'SQL ms':>7} {'queries':>8}  status")
    for r in results:
        print(f"{r['page']:38} {r['median']:10.1f} {r['p95']:8.1f} {r['sql']:7.1f} "
              f"{r['max_q']:8d}  {','.join(map(str, r['statuses']))}")
    print(f"(median and p95: whole request in Django's test client; SQL ms: median time in the "
          f"database; load average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
