"""Loading departments' data files: validation figures, header mapping, duplicates, refusals, audit."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from dixian.core.audit import Actor
from dixian.core.errors import PermissionDenied, ValidationError
from dixian.core.models import AuditEvent
from dixian.core.parsing import date_expr
from dixian.registry.models import Person
from dixian.registry.services import import_ledger
from dixian.screening import services
from dixian.screening.models import FeedFile, HeaderMapping
from dixian.screening.services import load_feed, save_mapping

from ledgers import basic_rows, make_id, write_csv

pytestmark = pytest.mark.django_db
CLI = Actor.cli()
HEAD = ["证件号码", "姓名", "结算日期", "就诊类型", "医疗总费用", "个人自付", "参保地区划代码"]


def medical_file(path: Path, rows: list[list], header=HEAD, encoding="utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def registry(tmp_path):
    import_ledger(actor=CLI, path=write_csv(basic_rows(), tmp_path / "ledger.csv"))
    return {p.name: p.id_number for p in Person.objects.all()}


def test_load_medical_feed(tmp_path, registry, settings):
    stranger_local = make_id(date(1980, 1, 1), 101)  # 140724…, not registered
    outsider = make_id(date(1980, 1, 1), 103, county="140702")  # another county
    rows = [
        [registry["万永强"], "万永强", "2026-03-01", "住院", "30000", "8,000.50", "140724"],
        [registry["王桂兰"].lower(), "王桂兰", "2026/4/2", "门诊慢特病", "2000", "600", "140724"],
        [stranger_local, "某甲", "20260105", "住院", "90000", "25000", "140724"],
        [outsider, "某乙", "2026年1月5日", "住院", "9000", "2000", "140702"],
        ["123", "坏号", "2026-01-05", "住院", "1", "1", "140724"],
        [registry["刘福"], "刘福", "上周", "住院", "1", "1", "140724"],
        [registry["赵丽"], "赵丽", "2026-02-01", "住院", "1", "一千", "140724"],
        ["", "无号", "2026-02-01", "住院", "1", "1", "140724"],
    ]
    feed = load_feed(actor=CLI, feed_type="medical", path=medical_file(tmp_path / "yibao.csv", rows))
    assert (feed.rows_read, feed.rows_refused, feed.ids_invalid) == (8, 4, 1)
    assert feed.refusals == {
        "证件号码无效": 1,
        "结算日期不是日期": 1,
        "个人自付不是有效金额": 1,
        "证件号码为空": 1,
    }
    assert feed.rows_registered == 2 and feed.rows_unregistered_local == 1
    stored = pl.read_parquet(feed.stored_path)
    assert stored.height == 4 and stored["证件号码_规范"].to_list()[1] == registry["王桂兰"]
    assert stored["结算日期"].to_list()[:3] == [date(2026, 3, 1), date(2026, 4, 2), date(2026, 1, 5)]
    assert str(stored["个人自付"][0]) == "8000.50"
    assert Path(feed.original_path).read_bytes() == (tmp_path / "yibao.csv").read_bytes()
    assert feed.samples[0]["line"] == 6 and feed.samples[0]["reason"] == "证件号码无效"
    event = AuditEvent.objects.get(action="feed.load")
    assert event.details["rows"] == 8 and event.object_id == str(feed.pk)


def test_same_file_twice_is_refused(tmp_path, registry):
    path = medical_file(
        tmp_path / "a.csv", [[registry["万永强"], "万永强", "2026-03-01", "住院", "1", "1", ""]]
    )
    load_feed(actor=CLI, feed_type="medical", path=path)
    with pytest.raises(ValidationError, match="已于.*加载过"):
        load_feed(actor=CLI, feed_type="medical", path=path)
    assert FeedFile.objects.count() == 1


def test_same_file_is_refused_before_the_pass(tmp_path, registry, monkeypatch):
    """A kept original of the same size and ends: the checksum first, and no pass over the file. A file
    that only looks the same (one byte differs in the middle) is loaded; a duplicate whose kept
    original is gone is still refused, after the pass."""
    rows = [[registry["万永强"], "万永强", f"2026-03-{d:02d}", "住院", "1", "1", ""] for d in range(1, 29)]
    path = medical_file(tmp_path / "a.csv", rows)
    first = load_feed(actor=CLI, feed_type="medical", path=path)

    def no_pass(*args, **kwargs):
        raise AssertionError("the pass ran")

    with monkeypatch.context() as m:
        m.setattr(services, "_run", no_pass)
        with pytest.raises(ValidationError, match="已于.*加载过"):
            load_feed(actor=CLI, feed_type="medical", path=path)
    data = bytearray(path.read_bytes())
    middle = next(i for i in range(len(data) // 2, len(data)) if chr(data[i]) in "12345678")
    data[middle] += 1  # another digit
    look_alike = tmp_path / "b.csv"
    look_alike.write_bytes(bytes(data))
    assert look_alike.stat().st_size == path.stat().st_size
    monkeypatch.setattr(services, "SAME_BYTES", 16)
    second = load_feed(actor=CLI, feed_type="medical", path=look_alike)
    assert second.sha256 != first.sha256
    Path(first.original_path).unlink()
    with pytest.raises(ValidationError, match="已于.*加载过"):
        load_feed(actor=CLI, feed_type="medical", path=path)
    assert FeedFile.objects.count() == 2


def test_header_mapping_once_per_department(tmp_path, registry):
    header = ["身份证号", "姓名", "结算时间", "自付金额"]
    path = medical_file(
        tmp_path / "b.csv", [[registry["万永强"], "万永强", "2026-03-01", "100"]], header=header
    )
    with pytest.raises(ValidationError, match="缺少必填列：证件号码、结算日期、个人自付"):
        load_feed(actor=CLI, feed_type="medical", path=path, department="某市医保局")
    save_mapping(
        actor=CLI,
        feed_type="medical",
        department="某市医保局",
        mapping={"身份证号": "证件号码", "结算时间": "结算日期", "自付金额": "个人自付"},
    )
    feed = load_feed(actor=CLI, feed_type="medical", path=path, department="某市医保局")
    assert feed.rows_read == 1 and feed.rows_registered == 1
    assert HeaderMapping.objects.get().mapping["身份证号"] == "证件号码"
    assert AuditEvent.objects.filter(action="feed.mapping").exists()
    with pytest.raises(ValidationError, match="不是医保结算数据的列"):
        save_mapping(actor=CLI, feed_type="medical", department="某市医保局", mapping={"x": "血型"})


def test_refusals(tmp_path, leader, village_cadre):
    with pytest.raises(ValidationError, match="未知的数据类型"):
        load_feed(actor=CLI, feed_type="weather", path=tmp_path / "x.csv")
    with pytest.raises(ValidationError, match="不存在或是空的"):
        load_feed(actor=CLI, feed_type="medical", path=tmp_path / "none.csv")
    odd = tmp_path / "x.docx"
    odd.write_bytes(b"PK")
    with pytest.raises(ValidationError, match="不支持的文件类型"):
        load_feed(actor=CLI, feed_type="medical", path=odd)
    path = medical_file(tmp_path / "c.csv", [["1", "x", "2026-01-01", "住院", "1", "1", ""]])
    for who in (leader, village_cadre):
        with pytest.raises(PermissionDenied, match="县直部门人员"):
            load_feed(actor=who, feed_type="medical", path=path)
    assert not FeedFile.objects.exists()


def test_gb18030_xlsx_parquet_and_water(tmp_path, registry):
    path = medical_file(
        tmp_path / "gbk.csv",
        [[registry["万永强"], "万永强", "2026-03-01", "住院", "1", "1", ""]],
        encoding="gb18030",
    )
    assert load_feed(actor=CLI, feed_type="medical", path=path).rows_registered == 1
    water = pl.DataFrame(
        {
            "区划代码": ["140724100204", "140702100001"],
            "断水开始日期": ["2026-05-01", "45000"],
            "断水结束日期": [None, None],
            "原因": ["管道冻裂", "水源干涸"],
        }
    )
    water.write_parquet(tmp_path / "water.parquet")
    feed = load_feed(actor=CLI, feed_type="water", path=tmp_path / "water.parquet")
    assert feed.rows_read == 2 and feed.rows_refused == 0 and feed.rows_registered == 1
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(tmp_path / "dis.xlsx"))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["证件号码", "姓名", "残疾类别", "残疾等级", "发证日期"])
    ws.write_row(1, 0, [registry["刘福"], "刘福", "肢体", "二级", "2026-06-01"])
    wb.close()
    assert load_feed(actor=CLI, feed_type="disability", path=tmp_path / "dis.xlsx").rows_registered == 1


def test_date_expr():
    frame = pl.DataFrame(
        {
            "d": [
                "2024-05-01",
                "2024/5/1",
                "20240501",
                "2024年5月1日",
                "45413",
                "45413.0",
                "2024-05-01 00:00:00",
                "昨天",
                None,
                "2024-13-01",
            ]
        }
    )
    got = frame.select(date_expr("d"))["d"].to_list()
    assert got[:7] == [date(2024, 5, 1)] * 7 and got[7:] == [None, None, None]


def test_cli_feed_load(tmp_path):
    dixian = str(Path(sys.executable).with_name("dixian"))
    env = dict(
        os.environ,
        DIXIAN_DATA_DIR=str(tmp_path / "d"),
        DATABASE_URL=f"sqlite:///{tmp_path}/f.sqlite3",
        COLUMNS="200",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([dixian, "init", "--region", "140724"], env=env, check=True, capture_output=True)
    path = medical_file(
        tmp_path / "m.csv", [[make_id(date(1980, 1, 1), 101), "某", "2026-01-05", "住院", "1", "5", ""]]
    )
    ok = subprocess.run(
        [dixian, "feed", "load", "--type", "medical", str(path)], env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0 and "已加载" in ok.stdout and "本县未在册人员 1 行" in ok.stdout
    again = subprocess.run(
        [dixian, "feed", "load", "--type", "medical", str(path)], env=env, capture_output=True, text=True
    )
    assert again.returncode != 0 and "加载过" in again.stderr
