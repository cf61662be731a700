"""The dashboard (驾驶舱, ``/figures/dashboard/``): server time for the demo county and for a
province-wide registry of 1,000,000 persons, on SQLite.

Run: ``.venv/bin/python bench/bench_dashboard.py [--scale county,million] [--persons N] [--reuse]
[--runs 7]``. It builds (or, with ``--reuse``, reuses) the same databases as ``bench_figures.py``
(``bench/out/figures/<scale>-sqlite/``: ``dixian demo`` for the county; ``dixian init --region 140000``
+ import of a generated province-wide ledger for the million).

Measured in a child process bound to that database, through Django's test ``Client`` (time inside the
handler: middleware, view, queries, template; see bench/README.md), after one cold request:

* county: the dashboard of the county (county admin), of a township (township cadre) and of a village,
  p50 / max of ``--runs × 3`` requests each, and the SQL queries of one request;
* million: the province's dashboard as the operator's superuser — the first request of a period has no
  precomputed figures and computes them (cold), then ``dixian figures refresh`` (the nightly job) is
  timed as a child process, then the page reading the precomputed figures (warm); and the live
  dashboard of one county and one township of that registry.

Targets: county ≤ 300 ms; province-sized registry ≤ 1.5 s (with the precomputed figures).
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

from _common import DIXIAN, PYTHON, print_table, verdict
from bench_figures import build

AS_OF = date(2026, 10, 31)
SINCE = date(2026, 1, 1)
TARGET_MS = {"county": 300.0, "million": 1500.0}


def measure(scale: str, runs: int) -> dict:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dixian.accounts.models import User
    from dixian.core.deployment import jurisdiction_code
    from dixian.indicators.models import FigureSnapshot
    from dixian.registry.models import Household, Person

    root = jurisdiction_code()
    timings: list[float] = []

    def client_for(user) -> Client:
        client = Client()
        client.force_login(user)
        inner = client.handler.get_response

        def timed(request):
            t0 = time.perf_counter()
            response = inner(request)
            timings.append(time.perf_counter() - t0)
            return response

        client.handler.get_response = timed
        return client

    def page(client: Client, region: str, n: int) -> dict:
        url = f"/figures/dashboard/?region={region}&as_of={AS_OF}&since={SINCE}"
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        cold = timings[-1]
        warm = []
        for _ in range(n):
            client.get(url)
            warm.append(timings[-1] * 1000)
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        warm.sort()
        return {"cold_ms": cold * 1000, "p50_ms": statistics.median(warm), "max_ms": warm[-1], "queries": len(ctx.captured_queries), "n": n}  # fmt: skip

    county = "140724000000"
    township = (
        Household.objects.filter(county_code=county).order_by("township_code").values_list("township_code", flat=True).first()
    )  # fmt: skip
    village = (
        Household.objects.filter(township_code=township).order_by("village_code").values_list("village_code", flat=True).first()
    )  # fmt: skip
    out: dict = {
        "rows": {"households": Household.objects.count(), "persons": Person.objects.count()},
        "load": os.getloadavg(),
        "pages": {},
    }
    if scale == "county":
        admin = User.objects.get(username="admin")
        out["pages"]["county (county admin)"] = page(client_for(admin), county, runs * 3)
        out["pages"]["township (county admin)"] = page(client_for(admin), township, runs * 3)
        out["pages"]["village (county admin)"] = page(client_for(admin), village, runs * 3)
        return out
    su = User.objects.filter(username="bench-su").first() or User.objects.create_superuser(
        "bench-su", "", "x"
    )
    client = client_for(su)
    FigureSnapshot.objects.filter(region_code=root).delete()
    url = f"/figures/dashboard/?region={root}&as_of={AS_OF}&since={SINCE}"
    t0 = time.perf_counter()
    assert client.get(url).status_code == 200
    out["province_first_request_ms"] = timings[-1] * 1000
    out["province_first_request_wall_ms"] = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    proc = subprocess.run(
        [DIXIAN, "figures", "refresh", "--region", root, "--since", SINCE.isoformat(), "--as-of", AS_OF.isoformat()],
        capture_output=True, text=True, env=os.environ.copy(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out["refresh_s"] = time.perf_counter() - t0
    out["refresh_output"] = proc.stdout.strip()
    out["pages"]["province (precomputed)"] = page(client, root, runs)
    out["pages"]["county 昔阳县 (live)"] = page(client, county, runs)
    out["pages"]["township (live)"] = page(client, township, runs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", default="county", help="county, million or both: county,million")
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20231)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument(
        "--reuse", action="store_true", help="reuse databases built earlier (bench_figures.py too)"
    )
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.runs)))
        return
    results = []
    for scale in [s.strip() for s in args.scale.split(",") if s.strip()]:
        env = build(scale, "sqlite", args)
        proc = subprocess.run(
            [PYTHON, __file__, "--measure", scale, "--runs", str(args.runs)],
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-5000:], file=sys.stderr)
            raise SystemExit(f"!! measuring {scale} failed")
        m = json.loads(proc.stdout.strip().splitlines()[-1])
        rows = m["rows"]
        print(
            f"\n[{scale}/sqlite] {rows['households']:,} households, {rows['persons']:,} persons; "
            f"load average {', '.join(f'{x:.1f}' for x in m['load'])}"
        )
        if scale == "million":
            print(
                f"  province, first request of a period (computes and keeps the figures): "
                f"{m['province_first_request_ms']:,.0f} ms"
            )
            print(
                f"  dixian figures refresh (child process, incl. start-up): {m['refresh_s']:.1f} s — {m['refresh_output']}"
            )
        table = []
        for what, p in m["pages"].items():
            table.append(
                (what, f"{p['cold_ms']:,.0f}", f"{p['p50_ms']:,.0f}", f"{p['max_ms']:,.0f}", p["queries"])
            )
        print_table(table, ("dashboard", "cold ms", "p50 ms", "max ms", "SQL queries"))
        target = TARGET_MS[scale]
        key = "county (county admin)" if scale == "county" else "province (precomputed)"
        p = m["pages"][key]
        results.append((f"{scale}: {key} p50", f"{p['p50_ms']:,.0f} ms", f"≤ {target:,.0f} ms", f"{p['p50_ms'] / target:.2f}", verdict(p["p50_ms"] <= target)))  # fmt: skip
        if scale == "million":
            for key in ("county 昔阳县 (live)", "township (live)"):
                p = m["pages"][key]
                results.append((f"{scale}: {key} p50", f"{p['p50_ms']:,.0f} ms", "≤ 1,500 ms", f"{p['p50_ms'] / target:.2f}", verdict(p["p50_ms"] <= target)))  # fmt: skip
    print("\nResults")
    print_table(results, ("measure", "value", "target", "value/target", ""))


if __name__ == "__main__":
    main()
