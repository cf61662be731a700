"""`dixian tables` and `dixian briefing`, run as a user runs them (subprocess, own SQLite database)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import docx
import openpyxl
import pytest

from ledgers import basic_rows, write_csv

DIXIAN = str(Path(sys.executable).with_name("dixian"))


def run(env, *args):
    return subprocess.run([DIXIAN, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    data = tmp_path_factory.mktemp("reports-cli")
    e = dict(os.environ, DIXIAN_DATA_DIR=str(data), COLUMNS="200", NO_COLOR="1")
    e.pop("DJANGO_SETTINGS_MODULE", None)
    e["DATABASE_URL"] = f"sqlite:///{data}/cli.sqlite3"
    assert run(e, "init", "--region", "140724").returncode == 0
    assert run(e, "ledger", "import", str(write_csv(basic_rows(), data / "basic.csv"))).returncode == 0
    return e


def test_tables_and_briefing_commands(env, tmp_path):
    period = ["--since", "2023-01-01", "--as-of", "2023-12-31"]
    out = tmp_path / "t.xlsx"
    proc = run(env, "tables", "--region", "140724", *period, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "4 张表" in proc.stdout
    ws = openpyxl.load_workbook(out)["监测对象"]
    assert ws["B5"].value == "合计" and ws["C5"].value == 2  # two monitored households
    out = tmp_path / "b.docx"
    proc = run(env, "briefing", "--region", "140724100000", *period, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "数字核对通过" in proc.stdout
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(out.read_bytes())).paragraphs)
    assert "乐平镇共有脱贫户3户6人" in text
    # A county template with a number typed by hand: the file is marked and the exit code says so.
    tpl = tmp_path / "county.docx"
    assert run(env, "briefing", "--write-template", "--out", str(tpl)).returncode == 0
    d = docx.Document(str(tpl))
    d.add_paragraph("另有返贫风险户15户。")
    d.save(str(tpl))
    proc = run(env, "briefing", "--region", "140724", *period, "--template", str(tpl), "--out", str(out))
    assert proc.returncode == 3 and "“15户”不是由占位符生成的" in proc.stderr
    assert docx.Document(str(out)).paragraphs[0].text.startswith("【数字核对未通过")


def test_bad_arguments(env, tmp_path):
    out, docx_out = str(tmp_path / "t.xlsx"), str(tmp_path / "x.docx")
    proc = run(
        env, "tables", "--region", "1407", "--since", "2023-01-01", "--as-of", "2023-12-31", "--out", out
    )
    assert proc.returncode == 1 and "区划代码“1407”无效" in proc.stderr
    proc = run(
        env, "tables", "--region", "140724", "--since", "2023-13-01", "--as-of", "2023-12-31", "--out", out
    )
    assert proc.returncode == 1 and "起始日期“2023-13-01”无效" in proc.stderr
    proc = run(
        env,
        "briefing",
        "--region",
        "140724",
        "--since",
        "2024-01-01",
        "--as-of",
        "2023-12-31",
        "--out",
        "x.docx",
    )
    assert proc.returncode == 1 and "晚于统计日期" in proc.stderr
    proc = run(
        env,
        "briefing",
        "--region",
        "149999",
        "--since",
        "2023-01-01",
        "--as-of",
        "2023-12-31",
        "--out",
        docx_out,
    )
    assert proc.returncode == 1 and "区划代码“149999000000”不存在" in proc.stderr
