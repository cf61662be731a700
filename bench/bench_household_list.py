"""The household list page ``/households/`` on the demo county: server time per request and SQL queries.

Run: ``.venv/bin/python bench/bench_household_list.py [--pg] [--requests 200] [--reuse] [--persons N]``

1. Builds a demo county database (``dixian init --region 140724`` + ``dixian demo``, as child processes)
   in ``bench/out/household_list/`` (SQLite; ``--pg``: PostgreSQL database ``dixian_bench_web``,
   dropped and created). ``--reuse`` keeps a database built earlier with the same arguments.
2. In this process, Django's test ``Client`` logged in as the county admin (``admin``) sends
   ``--requests`` GETs with varied searches: full names, part of a name, pinyin initials (wyq …),
   full ID numbers, 户编号, filters by township / category / risk / type, combinations, sorts and
   later pages. The time measured is the time inside the request (the handler's ``get_response``:
   middleware, view, queries, template), after a few warm-up requests.
3. The number of SQL queries per request (``CaptureQueriesContext``) for page sizes 20, 50 and 100:
   they should be equal (no query per row).

Target: p95 ≤ 150 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import time
from urllib.parse import urlencode

from _common import (
    DIXIAN,
    OUT,
    dixian_env,
    fresh_dir,
    load_note,
    print_table,
    recreate_pg_database,
    run_measured,
    verdict,
)

TARGET_P95_MS = 150.0
COUNTY = "140724"
PG_DATABASE = "dixian_bench_web"
PAGE_SIZES = (20, 50, 100)

# How many of each kind in a run of 200 (scaled for other counts).
MIX = [
    ("name", 30),
    ("name part", 10),
    ("initials", 30),
    ("id number", 25),
    ("household no", 25),
    ("township", 25),
    ("category", 20),
    ("risk", 15),
    ("combined", 10),
    ("list / sort / page", 10),
]


def build_database(args) -> tuple[dict[str, str], str]:
    backend = "pg" if args.pg else "sqlite"
    data_dir = OUT / "household_list" / backend
    marker = data_dir / "bench-built.json"
    wanted = {"backend": backend, "persons": args.persons, "seed": args.seed}
    url = f"postgres://postgres@127.0.0.1:5432/{PG_DATABASE}" if args.pg else None
    if args.reuse and marker.exists() and json.loads(marker.read_text()) == wanted:
        print(f"database: reusing {backend} demo county built earlier ({data_dir.relative_to(OUT.parent)})")
        return dixian_env(data_dir, url), backend
    fresh_dir(data_dir)
    if args.pg:
        url = recreate_pg_database(PG_DATABASE)
    env = dixian_env(data_dir, url)
    init = run_measured([DIXIAN, "init", "--region", COUNTY], env).check("dixian init")
    demo_args = [DIXIAN, "demo", "--seed", str(args.seed)]
    if args.persons:
        demo_args += ["--persons", str(args.persons)]
    demo = run_measured(demo_args, env).check("dixian demo")
    print(f"database: {backend} demo county built (init {init.seconds:.1f} s, demo {demo.seconds:.1f} s)")
    marker.write_text(json.dumps(wanted))
    return env, backend


def make_urls(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` (kind, url) pairs drawn from the database, in a fixed order for a given seed."""
    from dixian.registry.choices import HouseholdType, MonitoringCategory, RiskStatus
    from dixian.registry.models import Household, Person

    rng = random.Random(seed)
    persons = list(
        Person.objects.filter(active=True).order_by("id").values_list("name", "name_initials", "id_number")
    )
    households = list(Household.objects.order_by("id").values_list("household_no", "township_code"))
    townships = sorted({t for _, t in households})
    categories = [*MonitoringCategory.values, "any"]
    risks = [RiskStatus.OPEN.value, RiskStatus.ELIMINATED.value]
    types = HouseholdType.values
    sorts = ["", "head_name", "-size", "village", "-identified", "income", "-household_no"]

    def size() -> dict:
        return {"size": rng.choice(PAGE_SIZES)} if rng.random() < 0.3 else {}

    def params(kind: str) -> dict:
        if kind == "name":
            return {"q": rng.choice(persons)[0], **size()}
        if kind == "name part":
            return {"q": rng.choice(persons)[0][:2]}
        if kind == "initials":
            initials = "wyq" if rng.random() < 0.2 else rng.choice(persons)[1]
            return {"q": initials, **size()}
        if kind == "id number":
            return {"q": rng.choice(persons)[2]}
        if kind == "household no":
            return {"q": rng.choice(households)[0]}
        if kind == "township":
            return {"township": rng.choice(townships), "page": rng.choice([1, 1, 2, 5]), **size()}
        if kind == "category":
            return {"category": rng.choice(categories), **size()}
        if kind == "risk":
            return {"risk": rng.choice(risks), "category": rng.choice(["", "any"]), **size()}
        if kind == "combined":
            return {
                "township": rng.choice(townships),
                "type": rng.choice(types),
                "category": rng.choice(["", "any"]),
                "q": rng.choice(persons)[1][:1],
                "sort": rng.choice(sorts),
            }
        return {"sort": rng.choice(sorts), "page": rng.choice([1, 2, 50, 500]), **size()}

    total = sum(w for _, w in MIX)
    schedule = [kind for kind, w in MIX for _ in range(max(1, round(w * n / total)))]
    rng.shuffle(schedule)
    schedule = (schedule * (n // len(schedule) + 1))[:n]
    return [
        (kind, "/households/?" + urlencode({k: v for k, v in params(kind).items() if v})) for kind in schedule
    ]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


_COUNT = re.compile(r"共 (\d+) 户")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--persons", type=int, default=0, help="demo of about N persons (default: the county)")
    ap.add_argument("--seed", type=int, default=20231)
    ap.add_argument("--reuse", action="store_true", help="reuse the database of an earlier run")
    args = ap.parse_args()

    env, backend = build_database(args)
    for key in ("DIXIAN_DATA_DIR", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"):
        if key in env:
            os.environ[key] = env[key]
        else:
            os.environ.pop(key, None)
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dixian.accounts.models import User
    from dixian.registry.models import Household, Person

    admin = User.objects.get(username="admin")
    print(
        f"data: {Household.objects.count():,} households, {Person.objects.count():,} persons;"
        f" user {admin.username} ({admin.role}, {admin.region_code}); {connection.vendor}"
    )
    client = Client()
    client.force_login(admin)
    timings: list[float] = []
    inner = client.handler.get_response

    def timed(request):
        t0 = time.perf_counter()
        response = inner(request)
        timings.append(time.perf_counter() - t0)
        return response

    client.handler.get_response = timed

    def get(url: str):
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"!! {url}: HTTP {response.status_code}")
        return response

    urls = make_urls(args.requests, args.seed)
    get(urls[0][1])
    cold = timings[-1]
    for _, url in urls[1:6]:  # warm-up: templates, region caches, connection
        get(url)
    timings.clear()

    cpu_start = time.process_time()
    per_kind: dict[str, list[float]] = {}
    hits: dict[str, list[int]] = {}
    slowest: list[tuple[float, str]] = []
    for kind, url in urls:
        response = get(url)
        ms = timings[-1] * 1000
        per_kind.setdefault(kind, []).append(ms)
        m = _COUNT.search(response.content.decode())
        hits.setdefault(kind, []).append(int(m.group(1)) if m else 0)
        slowest.append((ms, url))
    cpu_used = time.process_time() - cpu_start
    all_ms = [ms for values in per_kind.values() for ms in values]
    p50, p95, worst = percentile(all_ms, 50), percentile(all_ms, 95), max(all_ms)

    print()
    print(
        f"Server time per request ({len(all_ms)} requests, {backend}; first cold request {cold * 1000:.0f} ms)"
    )
    print(f"  ({load_note()}; CPU time of this process over the timed requests {cpu_used:.2f} s)")
    rows = [
        (kind, len(v), f"{percentile(v, 50):.1f}", f"{percentile(v, 95):.1f}", f"{max(v):.1f}",
         f"{statistics.median(hits[kind]):,.0f}")
        for kind, v in per_kind.items()
    ]  # fmt: skip
    rows.append(("all", len(all_ms), f"{p50:.1f}", f"{p95:.1f}", f"{worst:.1f}", ""))
    print_table(rows, ("kind", "n", "p50 ms", "p95 ms", "max ms", "median matches"))
    print()
    print("Slowest requests:")
    for ms, url in sorted(slowest, reverse=True)[:5]:
        print(f"  {ms:7.1f} ms  {url}")

    # Queries per request for each page size.
    person = Person.objects.filter(active=True).order_by("id").first()
    household = Household.objects.order_by("id").first()
    probes = [
        ("list", {}),
        ("name", {"q": person.name}),
        ("initials", {"q": "wyq"}),
        ("id number", {"q": person.id_number}),
        ("household no", {"q": household.household_no}),
        ("township", {"township": household.township_code}),
        ("category any", {"category": "any"}),
        ("risk open", {"risk": "open"}),
    ]
    print()
    print("SQL queries per request by page size")
    qrows, equal = [], True
    for label, extra in probes:
        counts = []
        for size in PAGE_SIZES:
            with CaptureQueriesContext(connection) as ctx:
                get("/households/?" + urlencode({**extra, "size": size}))
            counts.append(len(ctx.captured_queries))
        same = len(set(counts)) == 1
        equal &= same
        qrows.append((label, *counts, "equal" if same else "DIFFERENT"))
    print_table(qrows, ("search", *[f"size {s}" for s in PAGE_SIZES], ""))
    with CaptureQueriesContext(connection) as ctx:
        get("/households/?" + urlencode({"q": person.name, "size": 20}))
    print("  queries of one request (name search, size 20):")
    for q in ctx.captured_queries:
        print(f"    {q['time']:>6}s  {q['sql'][:150]}")

    print()
    print("Results")
    print_table(
        [
            ("p50", f"{p50:.1f} ms", "", "", ""),
            ("p95", f"{p95:.1f} ms", f"≤ {TARGET_P95_MS:.0f} ms", f"{p95 / TARGET_P95_MS:.2f}",
             verdict(p95 <= TARGET_P95_MS)),
            ("max", f"{worst:.1f} ms", "", "", ""),
            ("queries equal for sizes 20/50/100", "yes" if equal else "no", "yes", "", verdict(equal)),
        ],
        ("measure", "value", "target", "value/target", ""),
    )  # fmt: skip


if __name__ == "__main__":
    main()
