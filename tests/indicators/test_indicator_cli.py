"""`dixian stats`, run as a user runs it: in a subprocess, on its own database (SQLite; PostgreSQL too
when DATABASE_URL points to one, in a database of its own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from dixian.indicators.catalogue import CATALOGUE, CODES

from ledgers import basic_rows, write_csv

DIXIAN = str(Path(sys.executable).with_name("dixian"))


def _pg_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def _admin_url() -> str:
    """The server's maintenance database, to create and drop our own (DATABASE_URL's may not exist)."""
    return _pg_url().rsplit("/", 1)[0] + "/postgres"


BACKENDS = ["sqlite"] + (["postgres"] if _pg_url() else [])


def run(env, *args, check=True):
    proc = subprocess.run([DIXIAN, *args], env=env, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"dixian {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


@pytest.fixture(scope="module", params=BACKENDS)
def env(request, tmp_path_factory):
    data = tmp_path_factory.mktemp(f"stats-{request.param}")
    e = dict(os.environ, DIXIAN_DATA_DIR=str(data), COLUMNS="200", NO_COLOR="1")
    e.pop("DJANGO_SETTINGS_MODULE", None)
    dbname = None
    if request.param == "sqlite":
        e["DATABASE_URL"] = f"sqlite:///{data}/stats.sqlite3"
    else:
        import psycopg

        dbname = f"dixian_stats_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(_admin_url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {dbname}")
        e["DATABASE_URL"] = _pg_url().rsplit("/", 1)[0] + "/" + dbname
    run(e, "init", "--region", "140724")
    run(e, "ledger", "import", str(write_csv(basic_rows(), data / "basic.csv")))
    yield e
    if dbname:
        import psycopg

        with psycopg.connect(_admin_url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


def test_json_has_every_indicator(env):
    proc = run(env, "stats", "--region", "140724", "--as-of", "2023-12-31", "--since", "2023-01-01", "--json")
    out = json.loads(proc.stdout)  # exactly one JSON document on stdout
    assert list(out) == ["indicators"]
    values = out["indicators"]
    assert list(values) == list(CODES)
    for indicator in CATALOGUE:
        value = values[indicator.code]
        if indicator.kind == "count":
            assert type(value) is int, indicator.code
        else:
            assert value is None or type(value) is float, indicator.code
    # basic_rows: lifted H001 (2), H002 (3, monitored from 202305), H004 (1); H003 ordinary (1),
    # eliminated 202301.
    assert values["lifted.households"] == 3 and values["lifted.persons"] == 6
    assert values["monitored.households"] == 2 and values["monitored.persons"] == 4
    assert values["monitored.open.persons"] == 3 and values["monitored.eliminated.households"] == 1
    assert values["identified.households"] == 1 and values["identified.risk.illness.persons"] == 3
    assert values["eliminated.households"] == 1
    assert values["monitoring_ratio"] == 66.67 and values["elimination_rate.persons"] == 25.0
    assert values["elimination_rate.households"] == 50.0
    assert values["income.lifted.per_capita"] == 4240.1 and values["income.lifted.property.per_capita"] == 0.0
    village = run(env, "stats", "--region", "140724100205", "--as-of", "2023-12-31", "--json")
    values = json.loads(village.stdout)["indicators"]
    assert values["lifted.persons"] == 1 and values["elimination_rate.persons"] is None


def test_defaults_and_the_human_table(env):
    values = json.loads(run(env, "stats", "--json").stdout)["indicators"]
    assert values["lifted.persons"] == 6  # the jurisdiction, today
    proc = run(env, "stats", "--region", "140724100000", "--as-of", "2023-12-31")
    assert "乐平镇" in proc.stdout and "监测人口占脱贫人口比例" in proc.stdout and "66.67" in proc.stdout
    assert "elimination_rate.persons" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2023-13-01"], "统计日期“2023-13-01”无效"),
        (["--as-of", "yesterday"], "无效"),
        (["--since", "2023/01/01"], "起始日期“2023/01/01”无效"),
        (["--as-of", "2023-01-01", "--since", "2023-06-01"], "晚于统计日期"),
        (["--region", "1407241"], "区划代码“1407241”无效"),
        (["--region", "abcdef"], "无效"),
        (["--region", "999999"], "不存在"),
    ],
)
def test_bad_arguments_fail_in_chinese(env, args, message):
    proc = run(env, "stats", "--json", *args, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr and proc.stdout == ""
