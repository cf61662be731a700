"""Helpers shared by the import and page benchmarks (not a benchmark itself).

Every measured command runs as a child process with its own ``DIXIAN_DATA_DIR`` (and, for
PostgreSQL, its own ``DATABASE_URL``); its wall time is taken around the process and its peak
memory is the child's ``ru_maxrss`` from ``os.wait4`` (the rusage of that one child, so an earlier,
bigger child cannot hide in the figure as it can with ``RUSAGE_CHILDREN``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
VENV_BIN = ROOT / ".venv" / "bin"
DIXIAN = str(VENV_BIN / "dixian")
PYTHON = str(VENV_BIN / "python")
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
GIB = 1024**3
MIB = 1024**2


@dataclass
class Run:
    args: list[str]
    seconds: float
    peak_rss: int  # bytes
    cpu: float  # user + system seconds of the child (its own CPU: what another load cannot inflate much)
    returncode: int
    stdout: str
    stderr: str

    def check(self, what: str) -> Run:
        if self.returncode != 0:
            print(f"!! {what} failed (exit {self.returncode}): {' '.join(self.args)}", file=sys.stderr)
            print(self.stdout[-4000:], file=sys.stderr)
            print(self.stderr[-4000:], file=sys.stderr)
            raise SystemExit(1)
        return self


def run_measured(args: list[str], env: dict[str, str], *, timeout: float | None = None) -> Run:
    """Run ``args``; return wall seconds, the child's peak RSS, exit code and output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, text=True)
        deadline = None if timeout is None else t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG if deadline else 0)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        return Run(args, seconds, usage.ru_maxrss * 1024, cpu, proc.returncode, out.read(), err.read())


def dixian_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["DIXIAN_DATA_DIR"] = str(data_dir)
    if database_url:
        env["DATABASE_URL"] = database_url
    else:
        env.pop("DATABASE_URL", None)  # SQLite under DIXIAN_DATA_DIR
    env["COLUMNS"] = "250"  # rich: keep the summary on one line
    env.setdefault("DJANGO_SETTINGS_MODULE", "dixian.settings")
    return env


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def recreate_pg_database(name: str) -> str:
    """Drop and create database ``name`` on the local PostgreSQL; return its DATABASE_URL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"postgres://postgres@127.0.0.1:5432/{name}"


_SUMMARY = re.compile(
    r"户 新增 (\d+)、变更 (\d+)、未变 (\d+)；人 新增 (\d+)、变更 (\d+)、未变 (\d+)、移出 (\d+)"
)
SUMMARY_KEYS = (
    "households_added",
    "households_changed",
    "households_unchanged",
    "persons_added",
    "persons_changed",
    "persons_unchanged",
    "persons_removed",
)


def parse_summary(stdout: str) -> dict[str, int] | None:
    """The counts printed by ``dixian ledger import`` (None when the line is not there)."""
    m = _SUMMARY.search(re.sub(r"\s+", " ", stdout))
    return dict(zip(SUMMARY_KEYS, map(int, m.groups()), strict=True)) if m else None


# For a child process's code: its resident memory now (``rss()``) and a thread keeping the peak in
# ``peak[0]`` (sampling /proc/self/statm every 20 ms), which the code may reset per stage.
RSS_SAMPLER = r"""
import os, threading, time
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
peak = [rss()]
def sample():
    while True:
        peak[0] = max(peak[0], rss())
        time.sleep(0.02)
threading.Thread(target=sample, daemon=True).start()
"""

# An import in a child process with the service's progress callback timed: where the time goes, and
# the peak RSS within each stage.
_STAGES_CODE = r"""
import json, os, sys, threading, time
t_start = time.perf_counter()
import django
django.setup()
from dixian.core.audit import Actor
from dixian.registry.services import import_ledger
t_setup = time.perf_counter()
marks = []
def step(stage, fraction):
    now = rss()
    marks.append((stage, fraction, time.perf_counter() - t_setup, max(peak[0], now)))
    peak[0] = now
outcome = import_ledger(actor=Actor.cli(), path=sys.argv[1], progress=step)
step("end", 1.0)
print(json.dumps({"setup": t_setup - t_start, "marks": marks, "summary": outcome.summary}))
"""

STAGE_LABELS = {
    0.0: "read file (read_ledger)",
    0.25: "validate (matcher, existing IDs, validate_ledger, sha256)",
    0.5: "write households (diff + bulk_create/update)",
    0.6: "write persons (diff + bulk_create/update)",
    0.95: "ledger_import row + audit + commit",
}


def run_stages(path: Path, env: dict[str, str]) -> tuple[Run, list[tuple[str, float, int]]]:
    """Import ``path`` in a child process with the progress callback timed; return the run and the
    stages as ``(label, seconds, peak RSS bytes within the stage)``, ``django.setup()`` first."""
    run = run_measured([PYTHON, "-c", RSS_SAMPLER + _STAGES_CODE, str(path)], env).check("staged import")
    data = json.loads(run.stdout.strip().splitlines()[-1])
    marks = data["marks"]
    stages: dict[str, list] = {"django.setup()": [data["setup"], marks[0][3]]}
    for (_, f0, t0, _), (_, _, t1, peak) in zip(marks, marks[1:], strict=False):
        if f0 >= 1.0:
            continue
        label = STAGE_LABELS.get(f0, f"from {f0:.2f}")
        entry = stages.setdefault(label, [0.0, 0])
        entry[0] += t1 - t0
        entry[1] = max(entry[1], peak)
    return run, [(label, seconds, peak) for label, (seconds, peak) in stages.items()]


def load_note() -> str:
    """The machine's load average and core count: other processes slow the wall-clock figures."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} (1 / 5 min) on {os.cpu_count()} cores"


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def fmt_bytes(n: int) -> str:
    return f"{n / MIB:,.0f} MiB"


def print_table(rows: list[tuple], headers: tuple) -> None:
    cells = [tuple(str(c) for c in headers), *[tuple(str(c) for c in r) for r in rows]]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(headers))]
    for n, r in enumerate(cells):
        print("  " + "  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths, strict=True)))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _width(text: str) -> int:
    """Terminal width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
