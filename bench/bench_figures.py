"""All catalogue figures at one date, on the demo county and on a 1,000,000-person registry, on SQLite
and PostgreSQL; and the ``/figures/`` page's server time for the county.

Run: ``.venv/bin/python bench/bench_figures.py [--scale county,million] [--db sqlite,pg] [--persons N]
[--reuse] [--runs 7]`` (``--scale county`` is quick; ``million`` generates and imports a province-wide
ledger of ``--persons`` persons, default 1,000,000, which takes several minutes per database).

1. Builds each database with the product's own commands as child processes, in
   ``bench/out/figures/<scale>-<db>/`` (PostgreSQL: database ``dixian_figures_<scale>``, dropped and
   created): ``dixian init --region 140724`` + ``dixian demo`` for the county; ``dixian init --region
   140000`` + ``dixian ledger import`` of a generated ``.csv`` for the million. ``--reuse`` keeps a
   database built earlier with the same arguments.
2. Measures in a child process bound to that database (``--measure``): ``compute()`` of every
   indicator for the whole registry (county, or province) and for one county / township, cold (first
   call) and warm (median of ``--runs``), the breakdown by the next level down, the SQL of one warm
   call with each query's time; for the county the page ``/figures/`` as the county admin through
   Django's test ``Client`` (time inside the handler: middleware, view, queries, template).

``--analyze`` runs ``ANALYZE`` before measuring (planner statistics). It matters: autovacuum is off on
the PostgreSQL here, so a freshly imported registry has no statistics and PostgreSQL then plans
nested loops everywhere (the whole province took 4-6 s instead of 1.5 s); SQLite has statistics
only after an ``ANALYZE`` (2-3 s instead of 2.2 s). Once analysed, a database stays analysed, so
``--reuse`` after ``--analyze`` measures the analysed state.

Targets: all figures for the county ≤ 1 s; for the 1,000,000-person registry ≤ 5 s; page ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from _common import (
    DIXIAN,
    OUT,
    PYTHON,
    dixian_env,
    fmt_bytes,
    fresh_dir,
    parse_summary,
    print_table,
    recreate_pg_database,
    run_measured,
    verdict,
)

AS_OF = date(2026, 10, 31)  # the generated ledger's "as of" month
SINCE = date(2026, 1, 1)
TARGETS = {"county": 1.0, "million": 5.0}
TARGET_PAGE_MS = 300.0
COUNTY = "140724"
SHOWN = (
    "lifted.households",
    "lifted.persons",
    "monitored.households",
    "monitored.persons",
    "monitored.open.households",
    "identified.households",
    "eliminated.households",
    "monitoring_ratio",
    "elimination_rate.persons",
    "income.lifted.per_capita",
)


# -- building the databases (child processes) ------------------------------------------------------


def build(scale: str, db: str, args) -> dict[str, str]:
    data_dir = OUT / "figures" / f"{scale}-{db}"
    wanted = {
        "scale": scale,
        "db": db,
        "persons": args.persons if scale == "million" else None,
        "seed": args.seed,
    }
    marker = data_dir / "bench-built.json"
    pg_name = f"dixian_figures_{scale}"
    url = f"postgres://postgres@127.0.0.1:5432/{pg_name}" if db == "pg" else None
    if args.reuse and marker.exists() and json.loads(marker.read_text()) == wanted:
        print(f"[{scale}/{db}] reusing the database built earlier")
        return dixian_env(data_dir, url)
    fresh_dir(data_dir)
    if db == "pg":
        url = recreate_pg_database(pg_name)
    env = dixian_env(data_dir, url)
    if scale == "county":
        init = run_measured([DIXIAN, "init", "--region", COUNTY], env).check("dixian init")
        demo = run_measured([DIXIAN, "demo", "--seed", str(args.seed)], env).check("dixian demo")
        print(f"[{scale}/{db}] built: init {init.seconds:.1f} s, demo county {demo.seconds:.1f} s")
    else:
        ledger = ledger_file(args.persons, args.seed)
        init = run_measured([DIXIAN, "init", "--region", "140000"], env).check("dixian init")
        imp = run_measured([DIXIAN, "ledger", "import", str(ledger)], env).check("dixian ledger import")
        print(
            f"[{scale}/{db}] built: init {init.seconds:.1f} s, import {imp.seconds:.1f} s "
            f"(peak RSS {fmt_bytes(imp.peak_rss)}) — {parse_summary(imp.stdout)}"
        )
    marker.write_text(json.dumps(wanted))
    return env


def ledger_file(persons: int, seed: int) -> Path:
    path = OUT / "figures" / f"ledger-{persons}-{seed}.csv"
    if not path.exists():
        from dixian.registry.demo import generate_ledger, write_ledger

        t0 = time.perf_counter()
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = generate_ledger(county_code=COUNTY, seed=seed, persons=persons)
        write_ledger(frame, path)
        print(f"ledger: {frame.height:,} rows generated and written in {time.perf_counter() - t0:.1f} s")
    return path


# -- measuring (in a child process bound to one database) -------------------------------------------


def measure(scale: str, runs: int, analyze: bool) -> dict:
    import django

    django.setup()
    from django.db import connection

    analyzed = None
    if analyze:  # planner statistics, as autovacuum (PostgreSQL) or PRAGMA optimize (SQLite) would
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        analyzed = time.perf_counter() - t0
    from django.test.utils import CaptureQueriesContext

    from dixian.core.deployment import jurisdiction_code
    from dixian.indicators.compute import compute, compute_with_breakdown
    from dixian.monitoring.models import MonitoringCase
    from dixian.registry.models import Household, Person

    def timed(fn, n: int) -> tuple[float, float, object]:
        t0 = time.perf_counter()
        result = fn()
        cold = time.perf_counter() - t0
        warm = []
        for _ in range(n):
            t0 = time.perf_counter()
            result = fn()
            warm.append(time.perf_counter() - t0)
        return cold, statistics.median(warm), result

    root = jurisdiction_code()
    out: dict = {
        "vendor": connection.vendor,
        "rows": {
            "households": Household.objects.count(),
            "persons": Person.objects.count(),
            "spells": MonitoringCase.objects.count(),
        },
        "load": os.getloadavg(),
        "analyzed": analyzed,
        "timings": [],
    }
    township = Household.objects.filter(county_code=COUNTY + "000000").values_list("township_code", flat=True)
    township = township.order_by("township_code").first()
    targets = [("whole registry", root), ("county 昔阳县", COUNTY + "000000"), ("township", township)]
    if root == COUNTY + "000000":
        targets = [targets[0], targets[2]]
    for label, code in targets:
        cold, warm, values = timed(lambda c=code: compute(region_code=c, as_of=AS_OF, since=SINCE), runs)
        out["timings"].append({"what": f"compute(all) {label} {code}", "cold": cold, "warm": warm})
        if label == "whole registry":
            out["values"] = values
    cold, warm, parts = timed(
        lambda: compute_with_breakdown(region_code=root, as_of=AS_OF, since=SINCE)[1], max(1, runs // 2)
    )
    out["timings"].append(
        {
            "what": f"compute_with_breakdown(all) {root}: whole + {len(parts)} parts",
            "cold": cold,
            "warm": warm,
        }
    )
    with CaptureQueriesContext(connection) as ctx:
        compute(region_code=root, as_of=AS_OF, since=SINCE)
    out["queries"] = [{"time": float(q["time"]), "sql": q["sql"][:160]} for q in ctx.captured_queries]

    if scale == "county":
        out["page"] = measure_page(runs * 3)
    return out


def measure_page(n: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dixian.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username="admin"))
    timings: list[float] = []
    inner = client.handler.get_response

    def timed(request):
        t0 = time.perf_counter()
        response = inner(request)
        timings.append(time.perf_counter() - t0)
        return response

    client.handler.get_response = timed
    url = f"/figures/?as_of={AS_OF.isoformat()}&since={SINCE.isoformat()}"
    urls = [url, url + "&region=140724100000", url + "&region=140724100204"]
    r = client.get(url)
    assert r.status_code == 200, r.status_code
    cold = timings[-1]
    timings.clear()
    per_url: dict[str, list[float]] = {u: [] for u in urls}
    for i in range(n):
        u = urls[i % len(urls)] if i % 3 else url
        client.get(u)
        per_url[u].append(timings[-1] * 1000)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    county = sorted(per_url[url])
    return {
        "cold_ms": cold * 1000,
        "county_p50_ms": statistics.median(county),
        "county_max_ms": county[-1],
        "township_p50_ms": statistics.median(per_url[urls[1]]) if per_url[urls[1]] else None,
        "village_p50_ms": statistics.median(per_url[urls[2]]) if per_url[urls[2]] else None,
        "queries": len(ctx.captured_queries),
        "n": len(county),
    }


# -- the report ------------------------------------------------------------------------------------


def report(scale: str, db: str, m: dict, results: list) -> None:
    rows = m["rows"]
    print(
        f"\n[{scale}/{db}] {m['vendor']}: {rows['households']:,} households, {rows['persons']:,} persons, "
        f"{rows['spells']:,} spells; load average {', '.join(f'{x:.1f}' for x in m['load'])}; "
        + (
            f"after ANALYZE ({m['analyzed']:.1f} s)"
            if m["analyzed"] is not None
            else "planner statistics as they are"
        )
    )
    print_table(
        [(t["what"], f"{t['cold'] * 1000:,.0f}", f"{t['warm'] * 1000:,.0f}") for t in m["timings"]],
        ("measure", "cold ms", "warm ms (median)"),
    )
    print("  SQL of one warm compute(all) for the whole registry:")
    for q in m["queries"]:
        print(f"    {q['time'] * 1000:8.1f} ms  {q['sql']}")
    print("  figures (whole registry, as of " + AS_OF.isoformat() + "):")
    print("    " + "; ".join(f"{c} = {m['values'][c]}" for c in SHOWN))
    target = TARGETS[scale]
    tag = f"{scale}/{db}" + (" +ANALYZE" if m["analyzed"] is not None else "")
    whole, parts = m["timings"][0], m["timings"][-1]
    results.append(
        (f"{tag} all figures (cold; warm median)", f"{whole['cold']:.3f} s; {whole['warm']:.3f} s",
         f"≤ {target:g} s", f"{whole['cold'] / target:.2f}", verdict(whole["cold"] <= target))
    )  # fmt: skip
    results.append(
        (f"{tag} all figures + breakdown (cold)", f"{parts['cold']:.3f} s", f"≤ {target:g} s",
         f"{parts['cold'] / target:.2f}", verdict(parts["cold"] <= target))
    )  # fmt: skip
    page = m.get("page")
    if page:
        print(
            f"  page /figures/ ({page['n']} county requests, {page['queries']} SQL queries): cold "
            f"{page['cold_ms']:.0f} ms, county p50 {page['county_p50_ms']:.0f} ms, max {page['county_max_ms']:.0f}"
            f" ms; township p50 {page['township_p50_ms']:.0f} ms; village p50 {page['village_p50_ms']:.0f} ms"
        )
        results.append(
            (f"{tag} page /figures/ (county)", f"{page['county_p50_ms']:.0f} ms (max {page['county_max_ms']:.0f})",
             f"≤ {TARGET_PAGE_MS:.0f} ms", f"{page['county_p50_ms'] / TARGET_PAGE_MS:.2f}",
             verdict(page["county_p50_ms"] <= TARGET_PAGE_MS))
        )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", default="county", help="county, million or both: county,million")
    ap.add_argument("--db", default="sqlite,pg", help="sqlite, pg or both: sqlite,pg")
    ap.add_argument("--persons", type=int, default=1_000_000, help="size of the large registry")
    ap.add_argument("--seed", type=int, default=20231)
    ap.add_argument("--runs", type=int, default=7, help="warm runs per measure")
    ap.add_argument(
        "--reuse", action="store_true", help="reuse databases built earlier with the same arguments"
    )
    ap.add_argument("--analyze", action="store_true", help="run ANALYZE on the database before measuring")
    ap.add_argument("--measure", help=argparse.SUPPRESS)  # internal: measure the scale in this process
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.runs, args.analyze)))
        return

    results: list = []
    for scale in [s.strip() for s in args.scale.split(",") if s.strip()]:
        for db in [d.strip() for d in args.db.split(",") if d.strip()]:
            env = build(scale, db, args)
            proc = subprocess.run(
                [PYTHON, __file__, "--measure", scale, "--runs", str(args.runs)]
                + ["--analyze"] * args.analyze,
                env=env,
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                print(proc.stdout[-3000:], proc.stderr[-5000:], file=sys.stderr)
                raise SystemExit(f"!! measuring {scale}/{db} failed")
            report(scale, db, json.loads(proc.stdout.strip().splitlines()[-1]), results)
    print("\nResults")
    print_table(results, ("measure", "value", "target", "value/target", ""))


if __name__ == "__main__":
    main()
