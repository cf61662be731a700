"""The `dixian` command line, run as a user runs it: in a subprocess, on its own database.

SQLite always; PostgreSQL too when DATABASE_URL points to it (a separate database is created).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import openpyxl
import pytest

from ledgers import basic_rows, write_csv, write_xlsx

DIXIAN = str(Path(sys.executable).with_name("dixian"))


def _pg_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


BACKENDS = ["sqlite"] + (["postgres"] if _pg_url() else [])


@pytest.fixture(scope="module", params=BACKENDS)
def env(request, tmp_path_factory):
    data = tmp_path_factory.mktemp(f"cli-{request.param}")
    e = dict(os.environ, DIXIAN_DATA_DIR=str(data), COLUMNS="200", NO_COLOR="1")
    e.pop("DJANGO_SETTINGS_MODULE", None)
    dbname = None
    if request.param == "sqlite":
        e["DATABASE_URL"] = f"sqlite:///{data}/cli.sqlite3"
    else:
        import psycopg

        base = _pg_url()
        dbname = f"dixian_cli_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {dbname}")
        e["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + dbname
    run(e, "init", "--region", "140724")
    yield {"env": e, "dir": data, "backend": request.param}
    if dbname:
        import psycopg

        with psycopg.connect(_pg_url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


def run(env, *args, check=True):
    proc = subprocess.run([DIXIAN, *args], env=env, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"dixian {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def count(env, table: str) -> int:
    return int(query(env, f"SELECT COUNT(*) FROM {table}")[0][0])


def query(env, sql: str):
    url = env["DATABASE_URL"]
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return conn.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_init_again_is_quick_and_keeps_data(env):
    before = count(env["env"], "regions_region")
    proc = run(env["env"], "init", "--region", "140724")
    assert "昔阳县" in proc.stdout and count(env["env"], "regions_region") == before == 23380


def test_init_refuses_a_bad_region(env):
    proc = run(env["env"], "init", "--region", "99", check=False)
    assert proc.returncode != 0 and "不存在" in proc.stderr
    proc = run(env["env"], "init", "--region", "abc", check=False)
    assert proc.returncode != 0 and "无效" in proc.stderr


def test_import_refused_prints_each_problem_and_writes_report(env, tmp_path):
    rows = basic_rows()
    rows[1]["证件号码"] = "14072419670809002"  # 17 digits
    rows[4]["识别监测时间"] = "2023-13"
    report = tmp_path / "report.xlsx"
    proc = run(
        env["env"],
        "ledger",
        "import",
        str(write_xlsx(rows, tmp_path / "bad.xlsx")),
        "--report",
        str(report),
        check=False,
    )
    assert proc.returncode != 0
    assert "第4行 [证件号码]" in proc.stderr and "第7行 [识别监测时间]" in proc.stderr
    assert "未导入任何数据" in proc.stderr
    assert "问题清单" in openpyxl.load_workbook(report).sheetnames
    assert count(env["env"], "registry_household") == 0


def test_import_export_and_reimport(env, tmp_path):
    path = write_csv(basic_rows(), tmp_path / "good.csv")
    proc = run(env["env"], "ledger", "import", str(path))
    assert "导入成功" in proc.stdout and "新增 4" in proc.stdout
    assert count(env["env"], "registry_household") == 4 and count(env["env"], "registry_person") == 7
    proc = run(env["env"], "ledger", "import", str(path))
    assert "未变 4" in proc.stdout
    out = tmp_path / "out.xlsx"
    proc = run(env["env"], "ledger", "export", str(out), "--region", "140724100204")
    assert "6 行" in proc.stdout
    rows = list(openpyxl.load_workbook(out).active.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 6
    proc = run(env["env"], "ledger", "export", str(tmp_path / "x.pdf"), check=False)
    assert proc.returncode != 0 and ".xlsx 或 .csv" in proc.stderr
    actions = {r[0] for r in query(env["env"], "SELECT action FROM core_auditevent")}
    assert {
        "ledger.import",
        "ledger.import_refused",
        "ledger.export",
        "deployment.set_jurisdiction",
    } <= actions


def test_user_add(env):
    proc = run(
        env["env"],
        "user",
        "add",
        "wang",
        "--role",
        "village_cadre",
        "--region",
        "140724100204",
        "--name",
        "王村干部",
        "--password",
        "pass-word-1",
    )
    assert "已创建" in proc.stdout
    proc = run(
        env["env"], "user", "add", "li", "--role", "village_cadre", "--region", "140724100000", check=False
    )
    assert proc.returncode != 0 and "应绑定到村（社区）级区划" in proc.stderr
    proc = run(env["env"], "user", "add", "wang", "--role", "leader", "--region", "140724", check=False)
    assert proc.returncode != 0 and "已存在" in proc.stderr
    proc = run(env["env"], "user", "add", "zhao", "--role", "boss", "--region", "140724", check=False)
    assert proc.returncode != 0 and "未知角色" in proc.stderr
    assert "wang" in run(env["env"], "user", "list").stdout


def test_import_killed_half_way_leaves_the_database_as_before(env, tmp_path):
    """kill -9 inside the import transaction: the database is exactly as before."""
    e = env["env"]
    run(e, "ledger", "import", str(write_csv(basic_rows(), tmp_path / "v1.csv")))
    snapshot = _snapshot(e)
    rows = basic_rows()
    for r in rows:
        r["工资性收入"] = "99999.00"
    rows.append(dict(rows[-1], **{"户编号": "H777", "姓名": "新人", "证件号码": "140724199901010011"}))
    from datetime import date

    from ledgers import make_id

    rows[-1]["证件号码"] = make_id(date(1999, 1, 1), 13)
    marker = tmp_path / "paused"
    e2 = dict(e, DIXIAN_TEST_IMPORT_PAUSE=str(marker), DIXIAN_TEST_IMPORT_PAUSE_SECONDS="60")
    proc = subprocess.Popen(
        [DIXIAN, "ledger", "import", str(write_csv(rows, tmp_path / "v2.csv"))],
        env=e2,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "the import never reached the pause"
        time.sleep(0.1)
    assert marker.read_text() == "households_written"  # households already written inside the transaction
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert _snapshot(e) == snapshot
    # and the database is usable afterwards
    run(e, "ledger", "import", str(tmp_path / "v2.csv"))
    assert count(e, "registry_household") == 5


def _snapshot(env):
    return {
        t: query(env, f"SELECT * FROM {t} ORDER BY id")
        for t in (
            "registry_household",
            "registry_person",
            "registry_ledgerimport",
            "core_auditevent",
            "core_fieldchange",
        )
    }
