"""Loading departments' files in one streaming pass: a generated file's figures against a plain-Python
count, encodings (GB18030 transcoded chunk by chunk, a UTF-8 character cut at the 64 KiB sniff, a GB18030
file that starts with ASCII), header mapping, the stored schema, progress, clean-up after a failure."""

from __future__ import annotations

import csv
import random
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from dixian.core import idcard
from dixian.core.audit import Actor
from dixian.core.errors import IdNumberError, MoneyError, ValidationError
from dixian.core.parsing import parse_money
from dixian.registry.models import Person
from dixian.registry.services import import_ledger
from dixian.screening import evidence, feedpass, services
from dixian.screening.feeds import SPECS
from dixian.screening.models import FeedFile
from dixian.screening.services import load_feed, save_mapping

from ledgers import basic_rows, make_id, write_csv

pytestmark = pytest.mark.django_db
CLI = Actor.cli()
SPEC = SPECS["medical"]
HEAD = [
    "证件号码",
    "姓名",
    "结算日期",
    "就诊类型",
    "医疗总费用",
    "基本医保支付",
    "个人自付",
    "参保地区划代码",
]
# a department's own headers, mapped once (结算日期 and 个人自付 under other names)
MAPPED = {"身份证号码": "证件号码", "结算时间": "结算日期", "自付金额": "个人自付", "总费用": "医疗总费用"}
NAMES = ["万永强", "王桂兰", "𠀀𠀁", "李　梅", "赵丽", "Zhang San"]  # 𠀀: a 4-byte GB18030 character
DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S"]
LOCAL_PREFIX = "140724"


@pytest.fixture
def registry(tmp_path):
    import_ledger(actor=CLI, path=write_csv(basic_rows(), tmp_path / "ledger.csv"))
    return sorted(Person.objects.values_list("id_number", flat=True))


def _id_cell(rng: random.Random, registered: list[str]) -> str:
    kind = rng.random()
    if kind < 0.3:
        number = rng.choice(registered)
    else:
        county = LOCAL_PREFIX if kind < 0.45 else rng.choice(["140702", "110105", "530102"])
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(33000))
        number = make_id(birth, rng.randrange(1000), county=county)
    roll = rng.random()
    if roll < 0.03:
        return number[:-1] + ("0" if number[-1] != "0" else "1")  # wrong check character
    if roll < 0.05:
        return number[:6] + number[8:17]  # a legacy 15-digit number: valid, upgraded
    if roll < 0.06:
        return rng.choice(["", "  ", "123", "1.40724199001011E+17", "14072419900101123"])
    if roll < 0.08:
        return f" {number.lower()}\t"
    return number


def _date_cell(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(["", " ", "上周", "2026-02-30", "2026-13-01", "待定"])
    if roll < 0.08:
        return rng.choice(["45413", "45413.0", "46000"])
    day = date(2025, 1, 1) + timedelta(days=rng.randrange(540))
    fmt = rng.choice([*DATE_FORMATS, "%Y-%m-%d", "%Y-%m-%d"])
    text = datetime(day.year, day.month, day.day, 8, 30).strftime(fmt)
    if fmt == "%Y/%m/%d":
        text = f"{day.year}/{day.month}/{day.day}"
    return f" {text} " if rng.random() < 0.02 else text


def _money_cell(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.04:
        return rng.choice(["", " ", "一千", "-3", "12..5", "N/A"])
    if roll < 0.1:
        return rng.choice(["1,200.50", "￥300", " 5 元", "１２.５", "1.005", ".5", "−0"])
    return (
        f"{rng.randrange(0, 10**6)}.{rng.randrange(100):02d}"
        if rng.random() < 0.8
        else str(rng.randrange(10**5))
    )


def generated_rows(n: int, registered: list[str], seed: int = 7) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        number = _id_cell(rng, registered)
        rows.append(
            [
                number,
                rng.choice(NAMES),
                _date_cell(rng),
                rng.choice(["住院", "门诊慢特病", "普通门诊", ""]),
                _money_cell(rng),
                _money_cell(rng) if rng.random() < 0.5 else "",
                _money_cell(rng),
                number.strip()[:6],
            ]
        )
    return rows


# ------------------------------------------------------------------ the plain-Python count


def _py_date(text: str) -> date | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    m = re.fullmatch(r"([0-9]+)(?:\.0+)?", text)
    if m and 20000 <= int(m[1]) <= 80000:
        return date(1899, 12, 30) + timedelta(days=int(m[1]))
    return None


def expected(rows: list[list[str]], registered: set[str]) -> dict:
    """What the load must find, row by row in Python (first failing check wins, in the load's order)."""
    columns = dict.fromkeys(SPEC.columns)
    refusals: dict[str, int] = {}
    accepted, samples = [], []
    hits = local = 0
    for line, raw in enumerate(rows, start=2):
        cell = {**columns, **{c: (v.strip() or None) for c, v in zip(HEAD, raw, strict=True)}}
        reason = next((f"{c}为空" for c in SPEC.required if cell[c] is None), None)
        number = None
        if reason is None:
            try:
                number = idcard.parse(cell["证件号码"]).number
            except IdNumberError:
                reason = "证件号码无效"
        settled = _py_date(cell["结算日期"]) if cell["结算日期"] else None
        if reason is None and settled is None:
            reason = "结算日期不是日期"
        amounts = {}
        for c in SPEC.money:
            try:
                amounts[c] = parse_money(cell[c]) if cell[c] else None
            except MoneyError:
                reason = reason or f"{c}不是有效金额"
        if reason:
            refusals[reason] = refusals.get(reason, 0) + 1
            if len(samples) < feedpass.SAMPLES:
                samples.append({"line": line, "reason": reason, **{c: cell[c] for c in SPEC.required}})
            continue
        accepted.append((line, number, settled, amounts, cell))
        hits += number in registered
        local += number.startswith(LOCAL_PREFIX) and number not in registered
    return {"refusals": refusals, "accepted": accepted, "samples": samples, "hits": hits, "local": local}


def write_feed(path: Path, rows, header=HEAD, encoding="utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.mark.parametrize(
    ("encoding", "mapped"),
    [("utf-8", False), ("utf-8-sig", False), ("gb18030", True)],
)
def test_generated_file_matches_a_plain_python_count(tmp_path, registry, monkeypatch, encoding, mapped):
    # small transcoding chunks (an odd size): many GB18030 characters are cut between two chunks
    monkeypatch.setattr(services, "TRANSCODE_CHUNK", 4099, raising=False)
    rows = generated_rows(30_000, registry)
    header = HEAD
    if mapped:
        inverse = {v: k for k, v in MAPPED.items()}
        header = [inverse.get(c, c) for c in HEAD]
        save_mapping(actor=CLI, feed_type="medical", department="医保局", mapping=MAPPED)
    path = write_feed(tmp_path / "feed.csv", rows, header, encoding)
    want = expected(rows, set(registry))
    assert 500 < sum(want["refusals"].values()) < 10_000 and want["hits"] > 1000 and want["local"] > 1000

    fractions = []
    feed = load_feed(actor=CLI, feed_type="medical", path=path, progress=lambda stage, f: fractions.append(f))

    assert feed.rows_read == len(rows)
    assert feed.refusals == want["refusals"]
    assert feed.rows_refused == sum(want["refusals"].values())
    assert feed.ids_invalid == want["refusals"].get("证件号码无效", 0)
    assert (feed.rows_registered, feed.rows_unregistered_local) == (want["hits"], want["local"])
    assert feed.samples == want["samples"]
    stored = pl.read_parquet(feed.stored_path)
    assert stored.schema == pl.Schema(
        {
            "行号": pl.UInt32,
            "证件号码_规范": pl.String,
            **{
                c: pl.Date if c in SPEC.dates else pl.Decimal(18, 2) if c in SPEC.money else pl.String
                for c in SPEC.columns
            },
        }
    )
    accepted = want["accepted"]
    assert stored["行号"].to_list() == [a[0] for a in accepted]
    assert stored["证件号码_规范"].to_list() == [a[1] for a in accepted]
    assert stored["结算日期"].to_list() == [a[2] for a in accepted]
    for c in SPEC.money:
        assert stored[c].to_list() == [a[3][c] for a in accepted], c
    assert stored["姓名"].to_list() == [a[4]["姓名"] for a in accepted]
    assert stored["大病保险支付"].null_count() == stored.height  # not in the file: an empty column
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_inactive_persons_are_not_matched(tmp_path, registry):
    person = Person.objects.get(id_number=registry[0])
    rows = [[registry[0], "某", "2026-03-01", "住院", "1", "", "1", ""]] * 3
    rows += [[registry[1], "某", "2026-03-01", "住院", "1", "", "1", ""]]
    Person.objects.filter(pk=person.pk).update(active=False)
    feed = load_feed(actor=CLI, feed_type="medical", path=write_feed(tmp_path / "a.csv", rows))
    assert feed.rows_registered == 1
    assert feed.rows_unregistered_local == (3 if registry[0].startswith(LOCAL_PREFIX) else 0)


def test_utf8_character_cut_by_the_64k_sniff(tmp_path, registry):
    """The encoding is sniffed on the first 64 KiB: a UTF-8 character cut there is still UTF-8."""
    row = [registry[0], "Wan", "2026-03-01", "ZY", "1", "", "1", ""]
    path = write_feed(tmp_path / "big.csv", [row] * 1200)
    start = len(path.read_bytes()) + len(registry[0]) + 1  # where the next row's name begins
    name = "x" * (65535 - start) + "万永强"  # 万 is bytes 65,535-65,537: cut by the 64 KiB sniff
    write_feed(path, [row] * 1200 + [[registry[0], name, *row[2:]]])
    assert path.read_bytes()[65535:65538].decode() == "万"
    feed = load_feed(actor=CLI, feed_type="medical", path=path)
    assert feed.rows_read == 1201 and feed.rows_refused == 0
    assert pl.read_parquet(feed.stored_path)["姓名"].to_list()[-1] == name


def test_gb18030_file_that_starts_in_ascii(tmp_path, registry):
    """The first 64 KiB read as UTF-8, a Chinese name further on does not: the file is read again as
    GB18030."""
    ascii_header = ["sfzh", "xm", "jsrq", "jzlx", "zfy", "jbyb", "grzf", "dq"]
    save_mapping(
        actor=CLI,
        feed_type="medical",
        department="医保局",
        mapping=dict(zip(ascii_header, HEAD, strict=True)),
    )
    plain = [registry[0], "Wan", "2026-03-01", "ZY", "1", "", "1", ""]
    chinese = [registry[1], "王桂兰", "2026-03-01", "住院", "1", "", "1", ""]
    path = write_feed(tmp_path / "gbk.csv", [plain] * 3000 + [chinese], ascii_header, "gb18030")
    assert path.read_bytes()[:65536].decode("ascii")
    feed = load_feed(actor=CLI, feed_type="medical", path=path)
    assert feed.rows_read == 3001 and feed.rows_refused == 0
    assert pl.read_parquet(feed.stored_path)["姓名"].to_list()[-1] == "王桂兰"
    assert not list(Path(feed.stored_path).parent.glob("*.part"))


def test_unreadable_files_are_refused_and_leave_nothing(tmp_path, registry, settings):
    header = ",".join(HEAD).encode()
    garbage = tmp_path / "bad.csv"
    garbage.write_bytes(header + b"\n" + b"\xff\xfe\xfd,x,2026-01-01,,1,,1,\n")
    with pytest.raises(ValidationError, match="无法识别文件的编码"):
        load_feed(actor=CLI, feed_type="medical", path=garbage)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(",".join(HEAD) + "\n1,2,3,4,5,6,7,8,9,10\n" + '"x\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="无法读取该文件"):
        load_feed(actor=CLI, feed_type="medical", path=ragged)
    assert not FeedFile.objects.exists()
    feeds = Path(settings.DATA_DIR) / "feeds" / "medical"
    assert not [p for p in feeds.iterdir()]  # no Parquet, no copy of the original, no scratch file


def test_stored_rows_of_a_parquet_feed(tmp_path, registry):
    """A Parquet feed with typed columns (dates, numbers) is read as text like the others. The ID
    number as written is stored only where it differs from the normalised one; the evidence shows it
    as written either way."""
    legacy = next(n for n in registry if n[6:8] == "19")
    n15 = legacy[:6] + legacy[8:17]
    frame = pl.DataFrame(
        {
            "证件号码": [registry[0], "bad", n15],
            "结算日期": [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)],
            "个人自付": [Decimal("12.50"), Decimal("1"), Decimal("2")],
            "医疗总费用": [100, 200, 300],
        }
    )
    frame.write_parquet(tmp_path / "m.parquet")
    feed = load_feed(actor=CLI, feed_type="medical", path=tmp_path / "m.parquet")
    assert (feed.rows_read, feed.rows_refused, feed.refusals) == (3, 1, {"证件号码无效": 1})
    stored = pl.read_parquet(feed.stored_path)
    assert stored.row(0, named=True) == {
        "行号": 2,
        "证件号码_规范": registry[0],
        **dict.fromkeys(SPEC.columns),
        "证件号码": None,  # the same as 证件号码_规范
        "结算日期": date(2026, 3, 1),
        "个人自付": Decimal("12.50"),
        "医疗总费用": Decimal("100.00"),
    }
    assert stored.row(1, named=True)["证件号码_规范"] == legacy
    assert stored.row(1, named=True)["证件号码"] == n15
    shown = evidence.rows_of(feed, [4, 2])
    assert [(r["行号"], r["证件号码"]) for r in shown] == [("4", n15), ("2", registry[0])]


def test_small_batches_and_row_groups_keep_every_row_and_its_line(tmp_path, registry, monkeypatch):
    """The pass reads, checks and writes the file a batch at a time (memory bounded by a few batches):
    with batches of a few kilobytes and row groups of 1,000 rows, every row keeps its line number,
    the figures are those of a plain count, and the stored file has many row groups."""
    monkeypatch.setattr(feedpass, "CSV_BLOCK", 1 << 12)
    monkeypatch.setattr(feedpass, "ROW_GROUP", 1000)
    rows = generated_rows(6_000, registry)
    path = write_feed(tmp_path / "f.csv", rows)
    want = expected(rows, set(registry))
    batches = [task() for task in feedpass.csv_batches(path, HEAD)]
    assert len(batches) > 50 and sum(b.num_rows for b in batches) == len(rows)
    feed = load_feed(actor=CLI, feed_type="medical", path=path)
    assert feed.refusals == want["refusals"] and feed.samples == want["samples"]
    assert (feed.rows_registered, feed.rows_unregistered_local) == (want["hits"], want["local"])
    stored = pq.ParquetFile(feed.stored_path)
    assert stored.metadata.num_row_groups == -(-len(want["accepted"]) // 1000)
    assert pl.read_parquet(feed.stored_path)["行号"].to_list() == [a[0] for a in want["accepted"]]


@pytest.mark.parametrize("where", ["progress", "audit"])
def test_a_failure_midway_leaves_nothing(tmp_path, registry, settings, monkeypatch, where):
    """An error before the pass (here the caller's progress callback) or once the files have their
    final names (here the audit record) removes what the load wrote, and the file can be loaded again."""
    path = write_feed(tmp_path / "f.csv", generated_rows(100, registry))

    def fail(*args, **kwargs):
        raise RuntimeError("stop")

    if where == "audit":
        monkeypatch.setattr(services.audit, "record", fail)
    with pytest.raises(RuntimeError, match="stop"):
        load_feed(actor=CLI, feed_type="medical", path=path, progress=fail if where == "progress" else None)
    assert not FeedFile.objects.exists()
    assert not list((Path(settings.DATA_DIR) / "feeds" / "medical").iterdir())
    monkeypatch.undo()
    feed = load_feed(actor=CLI, feed_type="medical", path=path)
    assert feed.rows_read == 100 and Path(feed.stored_path).exists() and Path(feed.original_path).exists()
