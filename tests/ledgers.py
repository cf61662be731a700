"""Hand-made ledgers for tests: small, exact, each row what the test says it is."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import xlsxwriter

from dixian.core.idcard import checksum_char

HEADERS = [
    "序号",
    "县(市、区、旗)",
    "乡(镇)",
    "行政村",
    "自然村",
    "户编号",
    "人编号",
    "姓名",
    "证件号码",
    "人数",
    "与户主关系",
    "性别",
    "民族",
    "文化程度",
    "在校生状况",
    "健康状况",
    "劳动技能",
    "务工时间（月）",
    "是否参加城乡居民基本医疗保险",
    "是否享受低保",
    "是否特困供养",
    "户联系电话",
    "户类型",
    "脱贫年度",
    "监测对象类别",
    "识别途径",
    "识别监测时间",
    "致贫/返贫风险1",
    "致贫/返贫风险2",
    "致贫/返贫风险3",
    "致贫/返贫风险4",
    "致贫/返贫风险5",
    "风险是否已消除",
    "风险消除方式",
    "消除监测时间",
    "工资性收入",
    "生产经营性收入",
    "财产性收入",
    "转移性收入",
    "生产经营性支出",
    "人均纯收入（元）",
    "健康帮扶",
    "综合保障",
]


def make_id(birth: date, seq: int, county: str = "140724") -> str:
    """A valid 18-digit ID; ``seq`` odd for a man, even for a woman."""
    first17 = f"{county}{birth:%Y%m%d}{seq:03d}"
    return first17 + checksum_char(first17)


def person(
    household_no, name, id_number, relation, *, sex="", village="梁家沟村", township="乐平镇", **extra
):
    row = {
        "县(市、区、旗)": "昔阳县",
        "乡(镇)": township,
        "行政村": village,
        "户编号": household_no,
        "姓名": name,
        "证件号码": id_number,
        "与户主关系": relation,
        "性别": sex,
        "户类型": "脱贫户",
        "脱贫年度": "2018",
        "民族": "汉族",
        "户联系电话": "13912345678",
    }
    row.update(extra)
    return row


def basic_rows() -> list[dict]:
    """Three households in 梁家沟村 and one in 李夫峪村; one monitored, one eliminated."""
    h1 = {"工资性收入": "12000.00", "转移性收入": "3000.00", "人均纯收入（元）": "7500.00", "人数": "2"}
    h2 = {
        "监测对象类别": "脱贫不稳定户",
        "识别途径": "干部日常排查",
        "识别监测时间": "202305",
        "致贫/返贫风险1": "因病",
        "风险是否已消除": "否",
        "健康帮扶": "城乡居民基本医疗保险个人缴费补贴",
        "工资性收入": "5000",
        "转移性收入": "1,200.50",
        "人数": "3",
    }
    h3 = {
        "户类型": "一般农户",
        "脱贫年度": "",
        "监测对象类别": "边缘易致贫户",
        "识别途径": "农户自主申报",
        "识别监测时间": "2022年3月",
        "致贫/返贫风险1": "因残",
        "致贫/返贫风险2": "缺劳动力",
        "风险是否已消除": "是",
        "风险消除方式": "帮扶消除",
        "消除监测时间": "2023-01",
        "综合保障": "纳入农村低保",
        "人数": "1",
    }
    h4 = {"人数": "1"}
    return [
        person("H001", "万永强", make_id(date(1965, 3, 2), 11), "户主", sex="男", **h1),
        person("H001", "李秀英", make_id(date(1967, 8, 9), 22), "配偶", sex="女", **h1),
        person("H002", "张建国", make_id(date(1958, 1, 1), 31), "户主", sex="男", **h2),
        person("H002", "王桂兰", make_id(date(1960, 5, 5), 42), "配偶", sex="女", **h2),
        person("H002", "张小明", make_id(date(2008, 9, 1), 51), "之子", sex="男", **h2),
        person("H003", "赵丽", make_id(date(1975, 12, 31), 62), "户主", sex="女", **h3),
        person("H004", "刘福", make_id(date(1950, 6, 6), 71), "户主", sex="男", village="李夫峪村", **h4),
    ]


def write_csv(rows: list[dict], path: Path, headers: list[str] | None = None, encoding="utf-8-sig") -> Path:
    headers = headers or HEADERS
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(headers)
        for i, row in enumerate(rows, start=1):
            w.writerow([str(i) if h == "序号" else row.get(h, "") for h in headers])
    return path


def write_xlsx(
    rows: list[dict],
    path: Path,
    headers: list[str] | None = None,
    *,
    title: str | None = "昔阳县台账",
    numeric_ids: set[int] = frozenset(),
    notes: str | None = None,
    blank_rows: int = 0,
    blank_cols: int = 0,
) -> Path:
    """An .xlsx like a county's: a title row, the header, data; IDs of rows in ``numeric_ids`` as numbers."""
    headers = headers or HEADERS
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("台账")
    r = blank_rows
    c0 = blank_cols
    if title:
        ws.write_string(r, c0, title)
        r += 1
    for c, h in enumerate(headers):
        ws.write_string(r, c0 + c, h)
    r += 1
    for i, row in enumerate(rows):
        for c, h in enumerate(headers):
            value = str(i + 1) if h == "序号" else row.get(h, "")
            if h == "证件号码" and i in numeric_ids:
                ws.write_number(r, c0 + c, float(value))
            elif value != "":
                ws.write_string(r, c0 + c, value)
        r += 1
    if notes:
        ws.write_string(r + 1, c0, notes)
    wb.close()
    return path
