"""Deterministic generator of a synthetic household ledger (demo and load-test data).

The ledger is a polars DataFrame in the exchange format of ``shared/formats/household-ledger.md``:
one row per person, household columns repeated on every row, every cell a string exactly as it
would be written into the Excel file (``None`` for an empty cell). Nothing here touches the
database; the application imports the generated ledger through its normal import path.

The default is a county the size of 昔阳县 (140724): about 16,800 脱贫户 with about 36,700 persons,
about 1,850 monitored households over the three categories, and the 一般农户 those categories need.
``persons=N`` scales everything to about N persons; above 200,000 persons the households are
spread over every county of the province in the region file.

Everything is drawn from one ``numpy.random.Generator(PCG64(seed))`` in a fixed order, vectorised
over households and persons, so that the same arguments always give the same frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from dixian.regions.names import RESIDENT_RE, short_name_of
from dixian.registry.choices import MEASURE_COLUMNS
from dixian.registry.ledger import EXPORT_HEADERS

__all__ = [
    "COLUMNS",
    "DEFAULT_REGIONS_CSV",
    "HOUSEHOLD_COLUMNS",
    "MEASURE_COLUMNS",
    "RISK_COLUMNS",
    "generate_ledger",
    "write_ledger",
]

DEFAULT_REGIONS_CSV = Path(__file__).resolve().parents[1] / "regions" / "data" / "regions-shanxi-2023.csv"

# ---------------------------------------------------------------------------------------------
# Columns of the exchange format (names are the contract)
# ---------------------------------------------------------------------------------------------

RISK_COLUMNS = [f"致贫/返贫风险{i}" for i in range(1, 6)]
INCOME_COLUMNS = ["工资性收入", "生产经营性收入", "财产性收入", "转移性收入", "生产经营性支出"]
PER_CAPITA_COLUMN = "人均纯收入（元）"
PLACE_COLUMNS = ["县(市、区、旗)", "乡(镇)", "行政村", "自然村", "区划代码"]
# The ledger's columns in the order of the format page: the same list the import reads and the
# export writes (``registry.ledger``), so that a generated file and an exported one agree.
COLUMNS = list(EXPORT_HEADERS)
# Columns that hold the same value on every row of a household (in this generator 低保 and 特困
# are household-level too, although the format allows them per person).
HOUSEHOLD_COLUMNS = [
    *PLACE_COLUMNS,
    "户编号",
    "人数",
    "民族",
    "是否享受低保",
    "是否特困供养",
    "户联系电话",
    "户类型",
    "脱贫年度",
    "监测对象类别",
    "识别途径",
    "识别监测时间",
    *RISK_COLUMNS,
    "风险是否已消除",
    "风险消除方式",
    "消除监测时间",
    *INCOME_COLUMNS,
    PER_CAPITA_COLUMN,
    *MEASURE_COLUMNS,
]
# Written as numbers into .xlsx; every other column is written as a text cell.
_NUMERIC_COLUMNS = {"序号", "人数", "务工时间（月）", "脱贫年度", *INCOME_COLUMNS, PER_CAPITA_COLUMN}
_MONEY_COLUMNS = {*INCOME_COLUMNS, PER_CAPITA_COLUMN}

XLSX_MAX_ROWS = 1_048_000

# ---------------------------------------------------------------------------------------------
# Sizes and calendar
# ---------------------------------------------------------------------------------------------

DEFAULT_LIFTED_HOUSEHOLDS = 16_800
DEFAULT_MONITORED_HOUSEHOLDS = 1_850
PROVINCE_WIDE_PERSONS = 200_000
MONITORING_LINE = 7100  # 山西 2023, yuan per person per year

# Months are counted as year * 12 + (month - 1).
FIRST_MONTH = 2021 * 12 + 6  # 202107
LAST_MONTH = 2026 * 12 + 9  # 202610: the ledger's "as of" month
AS_OF = np.datetime64("2026-10-31")
MIN_MONITORED_MONTHS = 6

# Shares of the monitored households.
SHARE_UNSTABLE = 0.44  # 脱贫不稳定户
SHARE_MARGINAL = 0.41  # 边缘易致贫户
SHARE_SUDDEN = 0.15  # 突发严重困难户
SUDDEN_LIFTED = 0.55  # share of 突发严重困难户 that are 脱贫户
ELIMINATED_SHARE = 0.60
ASSISTED_SHARE = 0.86  # 帮扶消除 among the eliminated

# ---------------------------------------------------------------------------------------------
# Vocabularies
# ---------------------------------------------------------------------------------------------

RELATIONS = [
    "户主",
    "配偶",
    "之子",
    "之女",
    "之儿媳",
    "之女婿",
    "之孙子",
    "之孙女",
    "之外孙子",
    "之外孙女",
    "之父",
    "之母",
    "之兄弟姐妹",
    "其他",
]
_REL = {name: i for i, name in enumerate(RELATIONS)}

HEALTH = ["健康", "长期慢性病", "患有大病", "残疾"]
H_HEALTHY, H_CHRONIC, H_MAJOR, H_DISABLED = range(4)

LABOUR = ["普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动力"]
L_ORDINARY, L_SKILLED, L_WEAK, L_LOST, L_NONE = range(5)

EDUCATION = ["学龄前儿童", "文盲或半文盲", "小学", "初中", "高中", "中专", "大专及以上"]
E_PRESCHOOL, E_ILLITERATE, E_PRIMARY, E_JUNIOR, E_SENIOR, E_VOCATIONAL, E_COLLEGE = range(7)

_GRADES = "一二三四五六"
SCHOOL = [
    "非在校生",
    "学前教育",
    *[f"小学{g}年级" for g in _GRADES],
    "七年级",
    "八年级",
    "九年级",
    *[f"高中{g}年级" for g in _GRADES[:3]],
    *[f"中职{g}年级" for g in _GRADES[:3]],
    *[f"高职{g}年级" for g in _GRADES[:3]],
    *[f"本科{g}年级" for g in _GRADES[:4]],
]
_S = {name: i for i, name in enumerate(SCHOOL)}
S_NONE = _S["非在校生"]

ETHNIC = ["汉族", "回族", "满族", "蒙古族"]
ETHNIC_P = [0.9955, 0.003, 0.001, 0.0005]

CATEGORIES = ["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"]
C_UNSTABLE, C_MARGINAL, C_SUDDEN = range(3)

CHANNELS = ["农户自主申报", "干部日常排查", "集中排查", "部门筛查预警", "社会监督", "关联监测"]
CHANNEL_P = [0.15, 0.36, 0.24, 0.15, 0.03, 0.07]
CHANNEL_P_SUDDEN = [0.30, 0.30, 0.05, 0.25, 0.05, 0.05]

RISKS = [
    "因病",
    "因残",
    "缺劳动力",
    "因学",
    "因灾",
    "因意外事故",
    "因务工就业不稳",
    "因产业项目失败",
    "住房出现安全问题",
    "饮水安全问题",
    "其他",
]
R = {name: i for i, name in enumerate(RISKS)}
# Weights where a risk is possible at all (因学 needs a student, 因务工就业不稳 a worker ...).
RISK_W = np.array([0.34, 0.17, 0.20, 0.90, 0.045, 0.04, 0.12, 0.03, 0.015, 0.005, 0.025])
RISK_W_SUDDEN = RISK_W * np.array([1.3, 0.6, 0.3, 0.5, 4.0, 4.0, 1.0, 1.0, 2.0, 1.0, 1.0])
RISK_COUNT_P = [0.40, 0.40, 0.20]

M = {name: i for i, name in enumerate(MEASURE_COLUMNS)}

# What people write into each measure column. 综合保障 and 教育帮扶 are chosen by rule below.
MEASURE_TEXTS: dict[str, list[str]] = {
    "产业帮扶": [
        "发展特色种植(谷子)",
        "发展特色种植(玉米)",
        "发展特色种植(中药材)",
        "发展特色种植(核桃)",
        "发展特色种植(红芸豆)",
        "发展养殖(肉牛)",
        "发展养殖(羊)",
        "发展养殖(生猪)",
        "发展养殖(蛋鸡)",
        "产业奖补",
        "土地流转入股分红",
    ],
    "就业帮扶": [
        "务工一次性交通补贴",
        "稳岗补贴",
        "职业技能培训",
        "帮扶车间就业",
        "劳务输出",
        "推荐就近就业",
    ],
    "公益岗位帮扶": [
        "村级保洁员",
        "护林员",
        "道路养护员",
        "光伏电站管护员",
        "水管员",
        "孤寡老人照料员",
        "乡村公益性岗位",
    ],
    "金融帮扶": ["脱贫人口小额信贷"],
    "健康帮扶": [
        "城乡居民基本医疗保险个人缴费补贴",
        "家庭医生签约服务",
        "大病专项救治",
        "慢病签约服务",
        "医疗救助",
        "先诊疗后付费",
    ],
    "教育帮扶": ["雨露计划", "普通高中国家助学金", "生源地信用助学贷款", "新生入学补助"],
    "义务教育保障": ["义务教育“两免一补”", "控辍保学", "农村义务教育学生营养改善计划"],
    "住房安全保障": ["农村危房改造", "住房安全鉴定", "危房维修加固"],
    "饮水安全保障": ["农村饮水安全巩固提升", "供水管网入户"],
    "综合保障": ["纳入农村低保", "临时救助", "残疾人两项补贴", "特困供养", "高龄补贴"],
    "社会帮扶": ["社会捐赠", "慈善救助", "消费帮扶", "结对帮扶"],
    "搬迁": ["易地扶贫搬迁"],
    "其他帮扶": ["防贫保险", "公益林生态补偿", "村集体经济分红"],
}
MONEY_LOAN_ORDINARY = "监测对象小额信贷"

# Risk -> weights over the measure columns for the measure that answers that risk.
_RISK_MEASURES: dict[str, dict[str, float]] = {
    "因病": {"健康帮扶": 0.7, "综合保障": 0.3},
    "因残": {"综合保障": 0.6, "健康帮扶": 0.15, "公益岗位帮扶": 0.1, "就业帮扶": 0.05, "产业帮扶": 0.1},
    "缺劳动力": {"综合保障": 0.6, "公益岗位帮扶": 0.25, "产业帮扶": 0.15},
    "因学": {"教育帮扶": 0.6, "义务教育保障": 0.3, "社会帮扶": 0.1},
    "因灾": {"住房安全保障": 0.3, "产业帮扶": 0.3, "综合保障": 0.2, "其他帮扶": 0.2},
    "因意外事故": {"综合保障": 0.4, "社会帮扶": 0.3, "健康帮扶": 0.2, "其他帮扶": 0.1},
    "因务工就业不稳": {"就业帮扶": 0.7, "公益岗位帮扶": 0.2, "金融帮扶": 0.1},
    "因产业项目失败": {"产业帮扶": 0.5, "金融帮扶": 0.4, "就业帮扶": 0.1},
    "住房出现安全问题": {"住房安全保障": 1.0},
    "饮水安全问题": {"饮水安全保障": 1.0},
    "其他": {"综合保障": 0.3, "产业帮扶": 0.2, "就业帮扶": 0.2, "社会帮扶": 0.2, "其他帮扶": 0.1},
}
_EXTRA_MEASURE_W = {
    "产业帮扶": 0.20,
    "就业帮扶": 0.15,
    "公益岗位帮扶": 0.10,
    "金融帮扶": 0.05,
    "健康帮扶": 0.20,
    "教育帮扶": 0.03,
    "义务教育保障": 0.02,
    "住房安全保障": 0.03,
    "饮水安全保障": 0.01,
    "综合保障": 0.12,
    "社会帮扶": 0.05,
    "搬迁": 0.01,
    "其他帮扶": 0.03,
}

# Labour capacity by age band (<60, 60-69, 70+) x health (healthy, chronic, major illness or
# disability); columns 普通, 技能, 弱, 丧失, 无.
LABOUR_TABLE = np.array(
    [
        [0.76, 0.16, 0.06, 0.02, 0.00],
        [0.45, 0.05, 0.40, 0.10, 0.00],
        [0.10, 0.02, 0.38, 0.50, 0.00],
        [0.35, 0.00, 0.50, 0.05, 0.10],
        [0.10, 0.00, 0.55, 0.15, 0.20],
        [0.00, 0.00, 0.25, 0.55, 0.20],
        [0.05, 0.00, 0.45, 0.00, 0.50],
        [0.00, 0.00, 0.30, 0.20, 0.50],
        [0.00, 0.00, 0.10, 0.50, 0.40],
    ]
)

# Common surnames of 山西 with rough weights. 万 is appended last with weight 0: only the one
# household whose head is 万永强 carries it (tests search for the initials "wyq").
_SURNAMES = (
    "王9 李7.5 张7 刘6 赵4 郭4 杨3.5 武2.5 梁2 高2 陈2 韩1.8 宋1.5 田1.5 贾1.5 任1.5 马1.5 孙1.5 "
    "阎1.2 孟1.2 白1.2 冯1.2 范1 史1 薛1 侯1 吴1 周1 曹1 郝1 闫1 董1 胡1 牛0.8 乔0.8 许0.8 程0.8 "
    "段0.8 秦0.8 崔0.8 常0.8 苏0.8 魏0.8 徐0.8 霍0.6 温0.6 申0.6 安0.6 石0.6 翟0.5 尹0.5 殷0.4 "
    "弓0.3 晋0.3 巩0.4 左0.4 皇甫0.1"
)
SURNAMES = [re.sub(r"[0-9.]+$", "", tok) for tok in _SURNAMES.split()]
SURNAME_W = np.array([float(re.search(r"[0-9.]+$", tok).group()) for tok in _SURNAMES.split()])
SURNAMES.append("万")
WAN = len(SURNAMES) - 1
N_SURNAMES = WAN  # drawable surnames

# Given-name characters by sex and generation (born before 1960, 1960-1989, 1990 on):
# first character, second character (a one-character name uses the second pool).
_GIVEN = {
    (True, 0): ("建国永志德福保金明文玉天双守存有长树来宝", "国明华平林生成山福才贵全喜旺忠义堂海亮元"),
    (True, 1): ("建俊志海红晓永文国小宏利卫军伟东鹏瑞", "军平强伟斌刚峰明华勇东杰龙兵亮飞涛"),
    (True, 2): ("浩子宇俊博一梓晨思嘉天佳昊家泽雨", "轩豪宇杰博涵阳鑫泽辰铭航睿凯文然"),
    (False, 0): ("秀桂玉凤金兰淑素月爱翠巧润改", "英兰梅珍花芳莲娥香琴叶枝仙女"),
    (False, 1): ("丽红晓海春美艳俊燕小利建彩慧", "娟霞丽燕芳萍红敏静婷琴英华平"),
    (False, 2): ("子欣雨佳思梓一诗语可紫若心晓", "涵萱怡琪彤妍悦琳瑶宁冉雪菲然"),
}

HAMLETS = [
    "东沟",
    "西沟",
    "后沟",
    "前庄",
    "后庄",
    "南坪",
    "北坡",
    "阳坡",
    "阴坡",
    "小庄",
    "石门",
    "柳树湾",
    "羊圈沟",
    "寺坪",
    "上岩",
    "下庄",
    "南岭",
    "枣树坪",
    "红岩",
    "龙王庙",
]

PHONE_PREFIXES = np.array(
    [*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, *range(180, 190)], dtype=np.int64
)

# Household size distribution (mean ≈ 2.18): many 1-2 person elderly households, some 4-6.
SIZE_P = np.array([0.335, 0.38, 0.13, 0.10, 0.04, 0.015])
MEAN_SIZE = float((np.arange(1, 7) * SIZE_P).sum())

LIFTED_YEARS = np.arange(2014, 2021)
LIFTED_YEAR_P = [0.05, 0.08, 0.18, 0.22, 0.25, 0.15, 0.07]

_NOT_RESIDENTIAL = re.compile(r"虚拟|开发区|园区|农场|林场|牧场|戒毒|监狱|生活区|原种场")


def village_short_name(name: str) -> str:
    """梁家沟村村委会 → 梁家沟村, 南庄村委会 → 南庄村, 松溪路社区居民委员会 → 松溪路社区."""
    return short_name_of(name, "village")


# ---------------------------------------------------------------------------------------------
# Household templates: who lives with the head and how old they are
# ---------------------------------------------------------------------------------------------
# A member is (kind, age rule). Kinds "child", "grandchild", "outer_grandchild" and "parent" get
# their sex at random and their relation from it; the others have a fixed relation. Age rules:
# ("head", lo, hi) = head's age + U[lo, hi]; ("m", j, lo, hi) = member j's age + U[lo, hi];
# ("spouse",) = head's age ± a few years.


@dataclass(frozen=True)
class _Template:
    name: str
    size: int
    weight: float
    head_age: tuple[int, int, int]  # triangular lo, mode, hi
    head_male: float
    members: tuple = ()


_SP = ("配偶", ("spouse",))


def _child(lo=-34, hi=-21, ref=None, kind="child"):
    return (kind, ("head", lo, hi) if ref is None else ("m", ref, lo, hi))


TEMPLATES = [
    _Template("alone_elderly", 1, 0.75, (58, 72, 93), 0.45),
    _Template("alone_single", 1, 0.25, (32, 52, 66), 0.88),
    _Template("couple_elderly", 2, 0.62, (55, 69, 90), 0.96, (_SP,)),
    _Template("with_parent", 2, 0.12, (35, 50, 64), 0.85, (("parent", ("head", 22, 32)),)),
    _Template("with_child", 2, 0.22, (38, 62, 85), 0.55, (_child(-36, -21),)),
    _Template("with_sibling", 2, 0.04, (45, 62, 82), 0.7, (("之兄弟姐妹", ("head", -8, 8)),)),
    _Template("couple_child", 3, 0.58, (32, 50, 75), 0.95, (_SP, _child())),
    _Template("couple_parent", 3, 0.12, (35, 50, 62), 0.95, (_SP, ("parent", ("head", 22, 32)))),
    _Template(
        "son_grandchild",
        3,
        0.12,
        (55, 70, 88),
        0.5,
        (_child(-32, -22, kind="之子"), _child(-32, -20, ref=1, kind="grandchild")),
    ),
    _Template(
        "son_dil", 3, 0.12, (58, 72, 90), 0.4, (_child(-32, -22, kind="之子"), ("之儿媳", ("m", 1, -4, 2)))
    ),
    _Template("parent_two_children", 3, 0.06, (33, 44, 58), 0.45, (_child(), _child(-8, -1, ref=1))),
    _Template("couple_two_children", 4, 0.55, (32, 44, 58), 0.95, (_SP, _child(-34, -22), _child(-8, -1, 2))),
    _Template(
        "couple_son_dil",
        4,
        0.15,
        (50, 62, 80),
        0.95,
        (_SP, _child(-32, -22, kind="之子"), ("之儿媳", ("m", 2, -4, 2))),
    ),
    _Template(
        "couple_child_parent", 4, 0.15, (33, 46, 60), 0.95, (_SP, _child(), ("parent", ("head", 22, 32)))
    ),
    _Template(
        "son_dil_grandchild",
        4,
        0.10,
        (55, 70, 88),
        0.45,
        (_child(-32, -22, kind="之子"), ("之儿媳", ("m", 1, -4, 2)), _child(-32, -20, 1, "grandchild")),
    ),
    _Template(
        "daughter_sil_grandchild",
        4,
        0.05,
        (55, 68, 85),
        0.5,
        (
            _child(-32, -22, kind="之女"),
            ("之女婿", ("m", 1, -1, 4)),
            _child(-32, -20, 1, "outer_grandchild"),
        ),
    ),
    _Template(
        "couple_son_dil_grandchild",
        5,
        0.5,
        (50, 62, 78),
        0.95,
        (_SP, _child(-32, -22, kind="之子"), ("之儿媳", ("m", 2, -4, 2)), _child(-32, -20, 2, "grandchild")),
    ),
    _Template(
        "couple_three_children",
        5,
        0.25,
        (35, 45, 58),
        0.95,
        (_SP, _child(-34, -22), _child(-6, -1, 2), _child(-6, -1, 3)),
    ),
    _Template(
        "couple_two_children_parent",
        5,
        0.25,
        (33, 45, 58),
        0.95,
        (_SP, _child(), _child(-8, -1, 2), ("parent", ("head", 22, 32))),
    ),
    _Template(
        "three_generations",
        6,
        0.6,
        (50, 62, 78),
        0.95,
        (
            _SP,
            _child(-32, -22, kind="之子"),
            ("之儿媳", ("m", 2, -4, 2)),
            _child(-32, -20, 2, "grandchild"),
            _child(-8, -1, 4, "grandchild"),
        ),
    ),
    _Template(
        "couple_two_children_parents",
        6,
        0.25,
        (33, 44, 55),
        0.95,
        (_SP, _child(), _child(-8, -1, 2), ("之父", ("head", 22, 32)), ("之母", ("m", 4, -6, 2))),
    ),
    _Template(
        "couple_three_children_other",
        6,
        0.15,
        (38, 48, 58),
        0.95,
        (_SP, _child(-34, -22), _child(-6, -1, 2), _child(-6, -1, 3), ("其他", ("head", -30, 20))),
    ),
]

# ---------------------------------------------------------------------------------------------
# Small vectorised helpers
# ---------------------------------------------------------------------------------------------


def _pick(rng: np.random.Generator, n: int, p) -> np.ndarray:
    """n draws of an index with probabilities p."""
    cum = np.cumsum(np.asarray(p, dtype=float))
    cum /= cum[-1]
    return np.searchsorted(cum, rng.random(n), side="right").astype(np.int16)


def _pick_by_group(rng: np.random.Generator, group: np.ndarray, table: np.ndarray) -> np.ndarray:
    """One draw per element, with the probabilities of row ``group[i]`` of ``table``."""
    u = rng.random(len(group))
    out = np.zeros(len(group), dtype=np.int16)
    cum = np.cumsum(table, axis=1)
    cum /= cum[:, -1:]
    for g in range(table.shape[0]):
        mask = group == g
        if mask.any():
            out[mask] = np.searchsorted(cum[g], u[mask], side="right")
    return out


def _uniform_int(rng: np.random.Generator, lo, hi) -> np.ndarray:
    """Integers uniform on [lo, hi] (arrays allowed)."""
    lo = np.asarray(lo)
    hi = np.asarray(hi)
    return (lo + np.floor(rng.random(np.broadcast(lo, hi).shape) * (hi - lo + 1))).astype(np.int64)


def _gumbel_keys(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """Keys whose descending order is a weighted sample without replacement (zero weight: -inf)."""
    with np.errstate(divide="ignore"):
        logw = np.log(weights)
    return logw - np.log(-np.log(rng.random(weights.shape)))


def _top_k(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Indices of a weighted sample of k elements without replacement, sorted ascending."""
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    keys = _gumbel_keys(rng, weights)
    if k >= len(weights):
        return np.arange(len(weights))
    return np.sort(np.argpartition(-keys, k - 1)[:k])


def _other_surname(rng: np.random.Generator, avoid: np.ndarray) -> np.ndarray:
    """A drawable surname different from ``avoid`` (weighted)."""
    s = _pick(rng, len(avoid), SURNAME_W).astype(np.int64)
    same = s == avoid
    s[same] = (s[same] + 1 + rng.integers(0, N_SURNAMES - 1, same.sum())) % N_SURNAMES
    return s


def _lookup(values: list, idx: np.ndarray) -> pl.Series:
    return pl.Series(values, dtype=pl.Utf8).gather(np.asarray(idx, dtype=np.int64))


def _lookup_opt(values: list, idx: np.ndarray) -> pl.Series:
    """Like ``_lookup``; index -1 gives an empty cell."""
    return pl.Series([None, *values], dtype=pl.Utf8).gather(np.asarray(idx, dtype=np.int64) + 1)


def _yes_no(flag: np.ndarray) -> pl.Series:
    return _lookup(["否", "是"], flag.astype(np.int64))


def _money(v: np.ndarray) -> pl.Series:
    """Whole yuan -> "12345.00"."""
    return pl.Series(v, dtype=pl.Int64).cast(pl.Utf8) + ".00"


def _month_str(m: np.ndarray) -> pl.Series:
    """Month numbers (year * 12 + month - 1) -> "YYYYMM"; -1 -> empty."""
    m = np.asarray(m, dtype=np.int64)
    s = pl.Series((m // 12) * 100 + m % 12 + 1, dtype=pl.Int64).cast(pl.Utf8)
    return s.set(pl.Series(m < 0), None)


# ---------------------------------------------------------------------------------------------
# Regions
# ---------------------------------------------------------------------------------------------


@dataclass
class _Villages:
    code: list[str]
    short: list[str]
    stem: list[str]  # the village's own hamlet: 梁家沟村 -> 梁家沟
    township: list[str]
    county: list[str]
    county_code: np.ndarray  # 6-digit int
    community: np.ndarray  # bool
    weight: np.ndarray


def _load_villages(path: Path) -> tuple[pl.DataFrame, _Villages]:
    regions = pl.read_csv(
        path,
        schema_overrides={"code": pl.Utf8, "name": pl.Utf8, "level": pl.Utf8, "parent_code": pl.Utf8},
        encoding="utf8-lossy",
    ).with_columns(pl.col("code").str.strip_chars(), pl.col("name").str.strip_chars())
    names = dict(zip(regions["code"].to_list(), regions["name"].to_list(), strict=True))
    v = regions.filter(pl.col("level") == "village").sort("code")
    codes = v["code"].to_list()
    vnames = v["name"].to_list()
    short = [village_short_name(n) for n in vnames]
    township = [names.get(c[:9] + "000", "") for c in codes]
    county = [names.get(c[:6] + "000000", "") for c in codes]
    community = np.array(
        [s.endswith("社区") or bool(RESIDENT_RE.search(n)) for s, n in zip(short, vnames, strict=True)]
    )
    odd = np.array([bool(_NOT_RESIDENTIAL.search(n)) for n in vnames])
    villages = _Villages(
        code=codes,
        short=short,
        stem=[n[:-1] if n.endswith("村") and len(n) > 2 else n for n in short],
        township=township,
        county=county,
        county_code=np.array([int(c[:6]) for c in codes], dtype=np.int64),
        community=community,
        weight=np.where(odd, 0.002, np.where(community, 0.04, 1.0)),
    )
    return regions, villages


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------


def _plan(persons: int | None) -> dict[str, int]:
    """Household counts: lifted, monitored per category, ordinary."""
    if persons is None:
        lifted = DEFAULT_LIFTED_HOUSEHOLDS
    else:
        if persons < 20:
            raise ValueError("persons 至少为 20")
        per_lifted = 1 + DEFAULT_MONITORED_HOUSEHOLDS / DEFAULT_LIFTED_HOUSEHOLDS * (
            SHARE_MARGINAL + SHARE_SUDDEN * (1 - SUDDEN_LIFTED)
        )
        lifted = max(10, round(persons / MEAN_SIZE / per_lifted))
    monitored = max(3, round(lifted * DEFAULT_MONITORED_HOUSEHOLDS / DEFAULT_LIFTED_HOUSEHOLDS))
    marginal = max(1, round(monitored * SHARE_MARGINAL))
    sudden = max(1, round(monitored * SHARE_SUDDEN))
    unstable = max(1, monitored - marginal - sudden)
    sudden_lifted = round(sudden * SUDDEN_LIFTED)
    return {
        "lifted": lifted,
        "unstable": unstable,
        "marginal": marginal,
        "sudden": sudden,
        "sudden_lifted": sudden_lifted,
        "ordinary": marginal + sudden - sudden_lifted,
    }


def generate_ledger(
    *,
    county_code: str = "140724",
    seed: int = 20231,
    persons: int | None = None,
    regions_csv: Path | None = None,
) -> pl.DataFrame:
    """A synthetic household ledger, one row per person, every column Utf8 (see module doc).

    ``persons=None`` gives a county the size of 昔阳县; ``persons=N`` about N persons, spread over
    every county of the province when N > 200,000 (``county_code`` then only places the sample
    household 万永强). The same arguments always give the same frame.
    """
    county_code = str(county_code).strip()[:6]
    _, villages = _load_villages(Path(regions_csv) if regions_csv else DEFAULT_REGIONS_CSV)
    rng = np.random.Generator(np.random.PCG64(seed))
    province_wide = persons is not None and persons > PROVINCE_WIDE_PERSONS
    # The simulation returns the person columns already as a frame, so that its many per-person
    # arrays are freed before the household columns are built and spread over the persons.
    people, p_hh, arrays = _simulate(rng, villages, _plan(persons), county_code, province_wide)
    households = _household_frame(villages, **arrays)
    frame = pl.concat([households[p_hh], people], how="horizontal").select(
        [
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).cast(pl.Utf8).alias(name)
            if name == "序号"
            else (pl.col("户编号") + pl.col("_pos")).alias(name)
            if name == "人编号"
            else pl.col(name)
            for name in COLUMNS
        ]
    )
    return frame


def _simulate(
    rng: np.random.Generator, villages: _Villages, plan: dict[str, int], county_code: str, province_wide: bool
) -> tuple[pl.DataFrame, np.ndarray, dict[str, np.ndarray | int]]:
    """Draw households and persons; return the person columns, each person's household, and the
    household-level arrays for :func:`_household_frame`."""
    # -- where the households live ---------------------------------------------------------------
    if province_wide:
        pool = np.arange(len(villages.code))
    else:
        pool = np.flatnonzero(villages.county_code == int(county_code)) if county_code.isdigit() else []
        if len(pool) == 0:
            raise ValueError(f"区划文件中没有县级代码 {county_code} 下的行政村（社区）")
    size_factor = rng.lognormal(0.0, 0.6, len(villages.code))
    vweight = (villages.weight * size_factor)[pool]
    n_lifted, n_ordinary = plan["lifted"], plan["ordinary"]
    n_hh = n_lifted + n_ordinary
    hh_village = np.sort(pool[_pick(rng, n_hh, vweight).astype(np.int64)])
    ordinary = np.zeros(n_hh, dtype=bool)
    ordinary[rng.permutation(n_hh)[:n_ordinary]] = True
    hh_county = villages.county_code[hh_village]

    # -- household composition --------------------------------------------------------------------
    size_by_template = np.array([t.size for t in TEMPLATES])
    hh_size = _pick(rng, n_hh, SIZE_P).astype(np.int64) + 1
    template_p = np.array([[t.weight if t.size == s else 0.0 for t in TEMPLATES] for s in range(1, 7)])
    hh_template = _pick_by_group(rng, hh_size - 1, template_p).astype(np.int64)
    assert (size_by_template[hh_template] == hh_size).all()
    lo, mode, hi = (np.array([t.head_age[i] for t in TEMPLATES])[hh_template] for i in range(3))
    head_age = np.rint(rng.triangular(lo - 0.49, mode, hi + 0.49)).astype(np.int64)
    head_male = rng.random(n_hh) < np.array([t.head_male for t in TEMPLATES])[hh_template]

    # The sample household 万永强: a lifted household of ``county_code`` with a male head.
    candidates = np.flatnonzero(
        ~ordinary & (hh_county == int(county_code) if county_code.isdigit() else True)
    )
    if len(candidates) == 0:
        candidates = np.flatnonzero(~ordinary)
    wan_hh = int(candidates[rng.integers(len(candidates))])
    head_male[wan_hh] = True

    # -- persons -----------------------------------------------------------------------------------
    start = np.cumsum(hh_size) - hh_size
    n_p = int(hh_size.sum())
    p_hh = np.repeat(np.arange(n_hh), hh_size)
    p_pos = np.arange(n_p) - start[p_hh]
    p_rel = np.zeros(n_p, dtype=np.int64)
    p_male = np.zeros(n_p, dtype=bool)
    p_age = np.zeros(n_p, dtype=np.int64)
    p_surname = np.zeros(n_p, dtype=np.int64)

    hh_surname = _pick(rng, n_hh, SURNAME_W).astype(np.int64)
    hh_surname[wan_hh] = WAN
    # The children's line: the head's surname, or a late husband's when the head is a woman.
    line = np.where(head_male, hh_surname, _other_surname(rng, hh_surname))

    for ti, tpl in enumerate(TEMPLATES):
        hhs = np.flatnonzero(hh_template == ti)
        if len(hhs) == 0:
            continue
        rows = [start[hhs]]
        ages = [head_age[hhs]]
        hm = head_male[hhs]
        p_rel[rows[0]] = _REL["户主"]
        p_male[rows[0]] = hm
        p_age[rows[0]] = ages[0]
        p_surname[rows[0]] = hh_surname[hhs]
        for j, (kind, rule) in enumerate(tpl.members, start=1):
            r = start[hhs] + j
            n = len(hhs)
            if rule[0] == "spouse":
                age = ages[0] + np.rint(rng.normal(np.where(hm, -2.5, 2.5), 3.0)).astype(np.int64)
                age = np.maximum(age, 20)
            elif rule[0] == "head":
                age = ages[0] + _uniform_int(rng, rule[1], rule[2])
            else:
                age = ages[rule[1]] + _uniform_int(rng, rule[2], rule[3])
            if kind in ("之子", "之儿媳", "之女", "之女婿"):
                age = np.maximum(age, 20)
            age = np.clip(age, 0, 101)
            if kind == "配偶":
                male, rel, sur = (
                    ~hm,
                    np.full(n, _REL["配偶"]),
                    np.where(hm, _other_surname(rng, hh_surname[hhs]), line[hhs]),
                )
            elif kind in ("child", "grandchild", "outer_grandchild"):
                male = rng.random(n) < 0.52
                base = {"child": "之子", "grandchild": "之孙子", "outer_grandchild": "之外孙子"}[kind]
                rel = np.where(male, _REL[base], _REL[base] + 1)  # 之子/之女, 之孙子/之孙女 ...
                sur = line[hhs] if kind != "outer_grandchild" else _other_surname(rng, line[hhs])
            elif kind == "parent":
                male = rng.random(n) < 0.35
                rel = np.where(male, _REL["之父"], _REL["之母"])
                sur = np.where(male, hh_surname[hhs], _other_surname(rng, hh_surname[hhs]))
            else:
                male = {
                    "之子": np.ones(n, bool),
                    "之女": np.zeros(n, bool),
                    "之儿媳": np.zeros(n, bool),
                    "之女婿": np.ones(n, bool),
                    "之父": np.ones(n, bool),
                    "之母": np.zeros(n, bool),
                }.get(kind)
                if male is None:
                    male = rng.random(n) < 0.5
                rel = np.full(n, _REL[kind])
                if kind in ("之子", "之女"):
                    sur = line[hhs]
                elif kind in ("之父", "之兄弟姐妹"):
                    sur = hh_surname[hhs]
                else:
                    sur = _other_surname(rng, line[hhs])
            p_rel[r], p_male[r], p_age[r], p_surname[r] = rel, male, age, sur
            ages.append(age)

    # -- given names by sex and generation ---------------------------------------------------------
    birth_year = 2026 - p_age
    generation = np.where(birth_year < 1960, 0, np.where(birth_year < 1990, 1, 2))
    pools1: list[str | None] = [None]
    pools2: list[str] = []
    off1, len1, off2, len2 = {}, {}, {}, {}
    for key, (c1, c2) in _GIVEN.items():
        off1[key], len1[key] = len(pools1), len(c1)
        pools1.extend(c1)
        off2[key], len2[key] = len(pools2), len(c2)
        pools2.extend(c2)
    group = generation + 3 * p_male  # 0..5
    o1 = np.zeros(6, np.int64)
    l1 = np.zeros(6, np.int64)
    o2 = np.zeros(6, np.int64)
    l2 = np.zeros(6, np.int64)
    for (male, gen), _ in _GIVEN.items():
        g = gen + 3 * int(male)
        o1[g], l1[g], o2[g], l2[g] = (
            off1[(male, gen)],
            len1[(male, gen)],
            off2[(male, gen)],
            len2[(male, gen)],
        )
    i1 = o1[group] + (rng.random(n_p) * l1[group]).astype(np.int64)
    i2 = o2[group] + (rng.random(n_p) * l2[group]).astype(np.int64)
    # Mostly no repeated character (赵博博 exists, but rarely): redraw the second once.
    codes1 = np.array([0, *(ord(c) for c in pools1[1:])])
    codes2 = np.array([ord(c) for c in pools2])
    same = (codes1[i1] == codes2[i2]) & (rng.random(n_p) < 0.9)
    i2[same] = o2[group[same]] + (i2[same] - o2[group[same]] + 1) % l2[group[same]]
    one_char = rng.random(n_p) < np.where(generation == 2, 0.15, 0.22)
    i1[one_char] = 0
    # The sample head is 万永强; nobody else in his household gets the same given name.
    wan_row = int(start[wan_hh])
    i1[wan_row] = pools1.index("永")
    i2[wan_row] = pools2.index("强")
    clash = (p_hh == wan_hh) & (codes1[i1] == ord("永")) & (codes2[i2] == ord("强"))
    clash[wan_row] = False
    g = group[clash]
    i2[clash] = o2[g] + (i2[clash] - o2[g] + 1) % l2[g]

    # -- health, schooling, labour ----------------------------------------------------------------
    age_band = np.digitize(p_age, [16, 45, 60, 75])  # 0:<16 1:16-44 2:45-59 3:60-74 4:75+
    health = _pick_by_group(
        rng,
        age_band,
        np.array(
            [
                [0.970, 0.010, 0.005, 0.015],
                [0.880, 0.050, 0.020, 0.050],
                [0.720, 0.150, 0.040, 0.090],
                [0.550, 0.300, 0.050, 0.100],
                [0.420, 0.400, 0.060, 0.120],
            ]
        ),
    )
    school = np.full(n_p, S_NONE, dtype=np.int64)
    edu = np.zeros(n_p, dtype=np.int64)
    u = rng.random(n_p)
    u2 = rng.random(n_p)
    a = p_age
    pre = (a >= 3) & (a <= 5) & (u < 0.85)
    school[pre] = _S["学前教育"]
    edu[a <= 5] = E_PRESCHOOL
    prim = (a >= 6) & (a <= 11) & (u < 0.995)
    school[prim] = _S["小学一年级"] + (a[prim] - 6)
    edu[(a >= 6) & (a <= 11)] = E_PRIMARY
    jun = (a >= 12) & (a <= 14) & (u < 0.99)
    school[jun] = _S["七年级"] + (a[jun] - 12)
    edu[(a >= 12) & (a <= 14)] = E_JUNIOR
    sen = (a >= 15) & (a <= 17) & (u < 0.85)
    high = sen & (u2 < 0.6)
    voc = sen & ~high
    school[high] = _S["高中一年级"] + (a[high] - 15)
    school[voc] = _S["中职一年级"] + (a[voc] - 15)
    edu[(a >= 15) & (a <= 17)] = E_JUNIOR
    edu[high] = E_SENIOR
    edu[voc] = E_VOCATIONAL
    uni = (a >= 18) & (a <= 21) & (u < np.where(a == 21, 0.22, 0.4))
    coll = uni & (u2 < 0.45) & (a <= 20)
    bach = uni & ~coll
    school[coll] = _S["高职一年级"] + (a[coll] - 18)
    school[bach] = _S["本科一年级"] + (a[bach] - 18)
    edu[uni] = E_COLLEGE
    adult = (a >= 15) & (school == S_NONE)
    adult_band = np.digitize(a, [23, 30, 50, 70])  # 0:15-22 1:23-29 2:30-49 3:50-69 4:70+
    edu_adult = _pick_by_group(
        rng,
        adult_band,
        np.array(
            [
                [0.00, 0.02, 0.45, 0.30, 0.15, 0.08],
                [0.00, 0.03, 0.45, 0.22, 0.10, 0.20],
                [0.02, 0.13, 0.60, 0.15, 0.05, 0.05],
                [0.10, 0.40, 0.42, 0.07, 0.01, 0.00],
                [0.40, 0.45, 0.13, 0.02, 0.00, 0.00],
            ]
        ),
    )
    edu[adult] = E_ILLITERATE + edu_adult[adult]
    edu[(p_age < 3)] = E_PRESCHOOL

    student = (school != S_NONE) & (school != _S["学前教育"])
    labour_band = np.where(p_age < 60, 0, np.where(p_age < 70, 1, 2))
    no_labour_age = (p_age < 16) | student

    def draw_labour(h: np.ndarray, band: np.ndarray, young: np.ndarray) -> np.ndarray:
        group = band * 3 + np.where(h == H_HEALTHY, 0, np.where(h == H_CHRONIC, 1, 2))
        out = _pick_by_group(rng, group, LABOUR_TABLE).astype(np.int64)
        out[young] = L_NONE
        return out

    labour = draw_labour(health, labour_band, no_labour_age)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(p_hh, weights=mask, minlength=n_hh).astype(np.int64)

    def is_full(lab: np.ndarray) -> np.ndarray:
        return (lab == L_ORDINARY) | (lab == L_SKILLED)

    def is_labour(lab: np.ndarray) -> np.ndarray:
        return is_full(lab) | (lab == L_WEAK) & (p_age <= 70)

    n_compulsory = count((school >= _S["小学一年级"]) & (school <= _S["九年级"]))
    n_high = count((school >= _S["高中一年级"]) & (school <= _S["高中三年级"]))
    n_voc = count(
        ((school >= _S["中职一年级"]) & (school <= _S["中职三年级"]))
        | ((school >= _S["高职一年级"]) & (school <= _S["高职三年级"]))
    )
    n_bach = count(school >= _S["本科一年级"])
    n_student = n_compulsory + n_high + n_voc + n_bach
    n_old = count(p_age >= 60)
    n_80 = count(p_age >= 80)

    # -- monitoring --------------------------------------------------------------------------------
    # The lifted households taken into monitoring are the more vulnerable ones.
    n_full = count(is_full(labour))
    ill = (health == H_MAJOR) | (health == H_CHRONIC)
    vulnerable = (
        1.0
        + 2.5 * (count(health == H_MAJOR) > 0)
        + 1.2 * (count(health == H_CHRONIC) > 0)
        + 2.0 * (count(health == H_DISABLED) > 0)
        + 1.0 * (n_full == 0)
        + 0.8 * (n_student > 0)
    )
    lifted_idx = np.flatnonzero(~ordinary)
    n_lifted_monitored = plan["unstable"] + plan["sudden_lifted"]
    monitored_lifted = lifted_idx[_top_k(rng, vulnerable[lifted_idx], n_lifted_monitored)]
    category = np.full(n_hh, -1, dtype=np.int64)
    perm = rng.permutation(monitored_lifted)
    category[perm[: plan["sudden_lifted"]]] = C_SUDDEN
    category[perm[plan["sudden_lifted"] :]] = C_UNSTABLE
    ord_idx = rng.permutation(np.flatnonzero(ordinary))
    category[ord_idx[: plan["marginal"]]] = C_MARGINAL
    category[ord_idx[plan["marginal"] :]] = C_SUDDEN
    mon = np.flatnonzero(category >= 0)
    n_mon = len(mon)
    cat_m = category[mon]

    # Risks: 1-3 draws with replacement, repeats dropped, so each risk keeps its weight's share.
    # Risks that depend on who lives in the household are drawn only where they can be true.
    n_labour = count(is_labour(labour))
    eligible = np.ones((n_mon, len(RISKS)), dtype=bool)
    eligible[:, R["缺劳动力"]] = (n_full[mon] == 0) | ((n_full[mon] == 1) & (hh_size[mon] >= 3))
    eligible[:, R["因学"]] = n_student[mon] > 0
    eligible[:, R["因务工就业不稳"]] = n_full[mon] > 0
    eligible[:, R["因产业项目失败"]] = n_labour[mon] > 0
    base_w = np.where((cat_m == C_SUDDEN)[:, None], RISK_W_SUDDEN[None, :], RISK_W[None, :])
    cum = np.cumsum(base_w * eligible, axis=1)
    cum /= cum[:, -1:]
    risks = (rng.random((n_mon, 3))[:, :, None] >= cum[:, None, :]).sum(axis=2)
    n_draws = _pick(rng, n_mon, RISK_COUNT_P).astype(np.int64) + 1
    risks[np.arange(3)[None, :] >= n_draws[:, None]] = -1
    # A one-person household keeps only the first of 因病 / 因残 (one person, one health status).
    alone = hh_size[mon] == 1
    health_risk = np.isin(risks, [R["因病"], R["因残"]])
    for j in (1, 2):
        earlier = (health_risk[:, :j] & (risks[:, :j] != risks[:, j : j + 1])).any(axis=1)
        risks[alone & health_risk[:, j] & earlier, j] = -1

    # The members make the health risks true: an ill member for 因病, a disabled one for 因残.
    def has_risk(r: str) -> np.ndarray:
        out = np.zeros(n_hh, dtype=bool)
        out[mon] = (risks == R[r]).any(axis=1)
        return out

    def pick_member(households: np.ndarray, key: np.ndarray) -> np.ndarray:
        """The member with the highest key in each selected household."""
        persons = np.flatnonzero(households[p_hh])
        ordered = persons[np.lexsort((key[persons], p_hh[persons]))]
        last = np.r_[p_hh[ordered][1:] != p_hh[ordered][:-1], True] if len(ordered) else np.zeros(0, bool)
        return ordered[last]

    need_ill = has_risk("因病") & (count(ill) == 0)
    target = pick_member(need_ill, rng.random(n_p) + 2.0 * ~is_full(labour) + p_age / 200)
    health[target] = np.where(rng.random(len(target)) < 0.45, H_MAJOR, H_CHRONIC)
    changed = [target]
    ill = (health == H_MAJOR) | (health == H_CHRONIC)
    need_dis = has_risk("因残") & (count(health == H_DISABLED) == 0)
    target = pick_member(need_dis, rng.random(n_p) + 2.0 * ~ill + 1.0 * ~is_full(labour))
    health[target] = H_DISABLED
    changed = np.concatenate([*changed, target])
    labour[changed] = draw_labour(health[changed], labour_band[changed], no_labour_age[changed])

    full = is_full(labour)
    n_full = count(full)
    n_labour = count(is_labour(labour))
    n_major = count(health == H_MAJOR)
    n_chronic = count(health == H_CHRONIC)
    n_disabled = count(health == H_DISABLED)
    # Whatever the redraws undid is dropped, so that every risk stays true of the household.
    m_full, m_size = n_full[mon], hh_size[mon]
    still = {
        R["因病"]: (n_major + n_chronic)[mon] > 0,
        R["因残"]: n_disabled[mon] > 0,
        R["缺劳动力"]: (m_full == 0) | ((m_full == 1) & (m_size >= 3)),
        R["因务工就业不稳"]: m_full > 0,
        R["因产业项目失败"]: n_labour[mon] > 0,
    }
    for r_i, ok in still.items():
        risks[(risks == r_i) & ~ok[:, None]] = -1
    risks[:, 1] = np.where(risks[:, 1] == risks[:, 0], -1, risks[:, 1])
    risks[:, 2] = np.where((risks[:, 2] == risks[:, 0]) | (risks[:, 2] == risks[:, 1]), -1, risks[:, 2])
    risks = np.take_along_axis(risks, np.argsort(risks < 0, axis=1, kind="stable"), axis=1)
    risks[risks[:, 0] < 0, 0] = R["其他"]

    months = np.zeros(n_p, dtype=np.int64)
    works = full & (p_age <= 64) & (rng.random(n_p) < 0.65)
    months[works] = _pick(rng, int(works.sum()), [1, 1, 2, 3, 3, 4, 5, 6, 8, 10]) + 3
    weak_works = (labour == L_WEAK) & (p_age <= 64) & (rng.random(n_p) < 0.2)
    months[weak_works] = _uniform_int(rng, np.full(int(weak_works.sum()), 2), 8)
    insured = rng.random(n_p) < 0.995
    wage_months = np.bincount(p_hh, weights=months * full, minlength=n_hh)
    weak_months = np.bincount(p_hh, weights=months * (labour == L_WEAK), minlength=n_hh)

    # Elimination: about 60 %, less often without labour (policy keeps those under monitoring).
    n_elim = round(n_mon * ELIMINATED_SHARE)
    elim_w = np.where(n_labour[mon] > 0, 1.0, 0.35) * np.where(cat_m == C_SUDDEN, 1.2, 1.0)
    eliminated = np.zeros(n_mon, dtype=bool)
    eliminated[_top_k(rng, elim_w, n_elim)] = True
    assisted = eliminated & (rng.random(n_mon) < ASSISTED_SHARE)

    span_e = (LAST_MONTH - MIN_MONITORED_MONTHS) - FIRST_MONTH + 1
    w_early = np.linspace(2.0, 0.5, span_e)
    span_a = LAST_MONTH - FIRST_MONTH + 1
    w_late = np.linspace(0.6, 1.6, span_a)
    ident = np.where(
        eliminated,
        FIRST_MONTH + _pick(rng, n_mon, w_early).astype(np.int64),
        FIRST_MONTH + _pick(rng, n_mon, w_late).astype(np.int64),
    )
    delay = MIN_MONITORED_MONTHS + np.floor(rng.exponential(np.where(assisted, 6.0, 9.0))).astype(np.int64)
    elim_month = np.minimum(ident + delay, LAST_MONTH)
    channel = np.where(
        cat_m == C_SUDDEN, _pick(rng, n_mon, CHANNEL_P_SUDDEN), _pick(rng, n_mon, CHANNEL_P)
    ).astype(np.int64)

    # -- measures ----------------------------------------------------------------------------------
    # Monitored households get 1-4 measures (the 自然消除 ones sometimes none); about a quarter
    # of the other lifted households get 1-2.
    others = lifted_idx[category[lifted_idx] < 0]
    helped_others = others[rng.random(len(others)) < 0.25]
    mh = np.concatenate([mon, helped_others])  # households that get measures
    n_mh = len(mh)
    is_mon = np.arange(n_mh) < n_mon
    allowed = np.ones((n_mh, len(MEASURE_COLUMNS)), dtype=bool)
    allowed[:, M["产业帮扶"]] = n_labour[mh] > 0
    allowed[:, M["就业帮扶"]] = n_full[mh] > 0
    allowed[:, M["公益岗位帮扶"]] = n_labour[mh] > 0
    allowed[:, M["金融帮扶"]] = n_full[mh] > 0
    allowed[:, M["教育帮扶"]] = (n_high + n_voc + n_bach)[mh] > 0
    allowed[:, M["义务教育保障"]] = n_compulsory[mh] > 0
    allowed[:, M["搬迁"]] = ~ordinary[mh]
    chosen = np.zeros_like(allowed)
    risk_tables = {
        R[r]: np.array([w.get(c, 0.0) for c in MEASURE_COLUMNS]) for r, w in _RISK_MEASURES.items()
    }
    for slot in range(3):
        rk = np.full(n_mh, -1)
        rk[:n_mon] = risks[:, slot]
        for r_i, table in risk_tables.items():
            rows = np.flatnonzero(rk == r_i)
            if len(rows) == 0:
                continue
            w = table[None, :] * allowed[rows]
            col = np.argmax(_gumbel_keys(rng, w), axis=1)
            col[w.sum(axis=1) == 0] = M["综合保障"]
            chosen[rows, col] = True
    extra_w = np.array([_EXTRA_MEASURE_W[c] for c in MEASURE_COLUMNS])
    n_extra = np.where(is_mon, _pick(rng, n_mh, [0.35, 0.45, 0.20]), _pick(rng, n_mh, [0.0, 0.7, 0.3]))
    natural = np.zeros(n_mh, dtype=bool)
    natural[:n_mon] = eliminated & ~assisted
    n_extra[natural & (rng.random(n_mh) < 0.3)] = 0
    for e in range(2):
        rows = np.flatnonzero((n_extra > e) & (chosen.sum(axis=1) < 4))
        w = extra_w[None, :] * allowed[rows] * ~chosen[rows]
        col = np.argmax(_gumbel_keys(rng, w), axis=1)
        ok = w.sum(axis=1) > 0
        chosen[rows[ok], col[ok]] = True
    # Monitored, not eliminated, with labour, and only 综合保障: add development-type help.
    only_safety = (
        is_mon
        & (chosen.sum(axis=1) == 1)
        & chosen[:, M["综合保障"]]
        & (n_full[mh] > 0)
        & np.concatenate([~eliminated, np.zeros(n_mh - n_mon, bool)])
    )
    rows = np.flatnonzero(only_safety)
    chosen[rows, np.array([M["产业帮扶"], M["就业帮扶"]])[rng.integers(0, 2, len(rows))]] = True

    # Texts. 综合保障 and 教育帮扶 follow the household; the others are drawn from their lists.
    text_idx = np.zeros((n_mh, len(MEASURE_COLUMNS)), dtype=np.int64)
    for c, col in enumerate(MEASURE_COLUMNS):
        text_idx[:, c] = (rng.random(n_mh) * len(MEASURE_TEXTS[col])).astype(np.int64)
    single_old = (hh_size[mh] == 1) & (n_labour[mh] == 0) & (n_old[mh] > 0)
    safety_w = np.column_stack(
        [
            np.full(n_mh, 0.60),
            np.full(n_mh, 0.20),
            0.25 * (n_disabled[mh] > 0),
            0.30 * single_old,
            0.08 * (n_80[mh] > 0),
        ]
    )
    text_idx[:, M["综合保障"]] = np.argmax(_gumbel_keys(rng, safety_w), axis=1)
    edu_w = np.column_stack(
        [
            1.0 * (n_voc[mh] > 0),
            1.0 * (n_high[mh] > 0),
            0.6 * (n_bach[mh] > 0),
            0.4 * (n_bach[mh] > 0),
        ]
    )
    text_idx[:, M["教育帮扶"]] = np.where(
        edu_w.sum(axis=1) > 0, np.argmax(_gumbel_keys(rng, edu_w + 1e-12), axis=1), 0
    )

    # -- 低保 / 特困 -----------------------------------------------------------------------------
    safety_text = np.full(n_hh, -1)
    safety_text[mh[chosen[:, M["综合保障"]]]] = text_idx[chosen[:, M["综合保障"]], M["综合保障"]]
    dibao = safety_text == 0
    tekun = safety_text == 3
    # Other lifted households: 特困 for some lone elderly without labour, 低保 for some more.
    free = np.ones(n_hh, dtype=bool)
    free[mh] = False
    free &= ~ordinary
    lone = free & (hh_size == 1) & (n_labour == 0) & (n_old > 0)
    tekun |= lone & (rng.random(n_hh) < 0.25)
    dibao |= free & ~tekun & (rng.random(n_hh) < np.where(n_labour == 0, 0.35, 0.08))

    # -- income ------------------------------------------------------------------------------------
    has_post = np.zeros(n_hh, dtype=bool)
    has_post[mh[chosen[:, M["公益岗位帮扶"]]]] = True
    has_job = np.zeros(n_hh, dtype=bool)
    has_job[mh[chosen[:, M["就业帮扶"]]]] = True
    wage_n = (
        wage_months * rng.uniform(2600, 4200, n_hh)
        + weak_months * rng.uniform(1200, 1800, n_hh)
        + 6000 * has_post
        + 8000 * has_job
    )
    biz_n = np.where(n_labour > 0, rng.uniform(1500, 7000, n_hh), rng.uniform(0, 500, n_hh))
    prop_n = np.where(rng.random(n_hh) < 0.55, rng.uniform(100, 1500, n_hh), 0.0)
    trans_n = (
        n_old * rng.uniform(1800, 2400, n_hh)
        + dibao * hh_size * 4800
        + tekun * 9600
        + n_disabled * 960
        + rng.uniform(200, 1500, n_hh)
    )
    pc = np.exp(rng.normal(np.log(np.where(dibao | tekun, 9800, 12500)), np.where(dibao | tekun, 0.2, 0.3)))
    pc = np.where(pc < 7800, 7800 + rng.uniform(0, 1500, n_hh), np.minimum(pc, 45000))
    elim_all = np.zeros(n_hh, dtype=bool)
    elim_all[mon] = eliminated
    low = (category == C_UNSTABLE) | (category == C_MARGINAL)
    floor = rng.uniform(3600, 4800, n_hh)
    pc = np.where(low & ~elim_all, np.clip(rng.normal(6300, 1000, n_hh), floor, 8800), pc)
    pc = np.where((category == C_SUDDEN) & ~elim_all, np.clip(rng.normal(8000, 2200, n_hh), floor, 16000), pc)
    pc = np.where(elim_all, np.minimum(8000 + rng.gamma(2.0, 1800, n_hh), 30000), pc)
    target = pc * hh_size
    fixed = trans_n + prop_n
    market = wage_n + biz_n
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(market > 0, np.clip((target - fixed) / market, 0.3, 3.0), 1.0)
    market_s = market * s
    total = market_s + fixed
    k = target / total
    wage = np.rint(wage_n * s * k).astype(np.int64)
    biz_net = np.rint(biz_n * s * k).astype(np.int64)
    prop = np.rint(prop_n * k).astype(np.int64)
    trans = np.rint(trans_n * k).astype(np.int64)
    wage = np.where((has_post | has_job) & (wage <= 0), 3000, wage)
    cost_share = rng.uniform(0.2, 0.45, n_hh)
    biz_gross = np.rint(biz_net / (1 - cost_share)).astype(np.int64)
    biz_cost = biz_gross - biz_net
    net = wage + biz_gross + prop + trans - biz_cost
    cents = (net * 200 + hh_size) // (2 * hh_size)  # round half up; net > 0

    # -- household-level identifiers and odds and ends ---------------------------------------------
    first_of_village = np.r_[True, hh_village[1:] != hh_village[:-1]]
    group_start = np.maximum.accumulate(np.where(first_of_village, np.arange(n_hh), 0))
    seq = np.arange(n_hh) - group_start + 1
    width = max(4, len(str(int(seq.max()))))
    phone = PHONE_PREFIXES[rng.integers(0, len(PHONE_PREFIXES), n_hh)] * 10**8 + rng.integers(0, 10**8, n_hh)
    lifted_year_i = _pick(rng, n_hh, LIFTED_YEAR_P).astype(np.int64)
    ethnic = _pick(rng, n_hh, ETHNIC_P)
    hamlets = rng.integers(1, 5, len(villages.code))
    hamlet_i = (rng.random(n_hh) * hamlets[hh_village]).astype(np.int64)
    hamlet_off = rng.integers(0, len(HAMLETS), len(villages.code))

    # -- identity numbers --------------------------------------------------------------------------
    days = np.rint(p_age * 365.2425 + rng.uniform(1, 364, n_p)).astype(np.int64)
    birth = AS_OF - days.astype("timedelta64[D]")
    year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    month = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    p_county = hh_county[p_hh]
    base17 = p_county * 10**11 + year * 10**7 + month * 10**5 + day * 10**3
    seq3 = rng.integers(0, 500, n_p) * 2 + p_male
    for _ in range(100):
        first17 = base17 + seq3
        _, first_idx, counts = np.unique(first17, return_index=True, return_counts=True)
        dup = np.ones(n_p, dtype=bool)
        dup[first_idx] = False  # every later occurrence of a value is a duplicate
        if not dup.any():
            break
        seq3[dup] = rng.integers(0, 500, int(dup.sum())) * 2 + p_male[dup]
    else:  # pragma: no cover - would need ~500 people of one sex born on one day in one county
        raise RuntimeError("无法生成不重复的证件号码")
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
    total_w = np.zeros(n_p, dtype=np.int64)
    rest = first17.copy()
    for pos in range(16, -1, -1):
        total_w += (rest % 10) * weights[pos]
        rest //= 10
    check = total_w % 11

    # -- the person columns ------------------------------------------------------------------------
    people = pl.DataFrame(
        {
            "_surname": _lookup(SURNAMES, p_surname),
            "_g1": _lookup(pools1, i1),
            "_g2": _lookup(pools2, i2),
            "_first17": pl.Series(first17, dtype=pl.Int64).cast(pl.Utf8),
            "_check": _lookup(list("10X98765432"), check),
            "_pos": pl.Series(p_pos + 1, dtype=pl.Int64),
        }
    ).select(
        pl.concat_str(["_surname", "_g1", "_g2"], ignore_nulls=True).alias("姓名"),
        (pl.col("_first17") + pl.col("_check")).alias("证件号码"),
        pl.col("_pos").cast(pl.Utf8).str.zfill(2).alias("_pos"),
        _lookup(RELATIONS, p_rel).alias("与户主关系"),
        _lookup(["女", "男"], p_male.astype(np.int64)).alias("性别"),
        _lookup(EDUCATION, edu).alias("文化程度"),
        _lookup_opt(SCHOOL, np.where(p_age >= 3, school, -1)).alias("在校生状况"),
        _lookup(HEALTH, health).alias("健康状况"),
        _lookup(LABOUR, labour).alias("劳动技能"),
        _lookup_opt([str(m) for m in range(13)], np.where(p_age >= 16, months, -1)).alias("务工时间（月）"),
        _yes_no(insured).alias("是否参加城乡居民基本医疗保险"),
    )
    arrays = {
        "n_hh": n_hh,
        "hh_village": hh_village,
        "hamlet_i": hamlet_i,
        "hamlet_off": hamlet_off,
        "seq": seq,
        "width": width,
        "hh_size": hh_size,
        "ethnic": ethnic,
        "dibao": dibao,
        "tekun": tekun,
        "phone": phone,
        "ordinary": ordinary,
        "lifted_year_i": lifted_year_i,
        "category": category,
        "mon": mon,
        "channel": channel,
        "ident": ident,
        "risks": risks,
        "eliminated": eliminated,
        "assisted": assisted,
        "elim_month": elim_month,
        "wage": wage,
        "biz_gross": biz_gross,
        "prop": prop,
        "trans": trans,
        "biz_cost": biz_cost,
        "cents": cents,
        "chosen": chosen,
        "text_idx": text_idx,
        "mh": mh,
    }
    return people, p_hh, arrays


def _household_frame(
    villages: _Villages,
    *,
    n_hh,
    hh_village,
    hamlet_i,
    hamlet_off,
    seq,
    width,
    hh_size,
    ethnic,
    dibao,
    tekun,
    phone,
    ordinary,
    lifted_year_i,
    category,
    mon,
    channel,
    ident,
    risks,
    eliminated,
    assisted,
    elim_month,
    wage,
    biz_gross,
    prop,
    trans,
    biz_cost,
    cents,
    chosen,
    text_idx,
    mh,
) -> pl.DataFrame:
    """The household columns, one row per household."""

    def on_households(where: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per-household index array: ``values`` at ``where``, -1 (empty cell) elsewhere."""
        out = np.full(n_hh, -1, dtype=np.int64)
        out[where] = values
        return out

    measure_cells = []
    for c, col in enumerate(MEASURE_COLUMNS):
        sel = chosen[:, c]
        idx = text_idx[sel, c]
        if col == "金融帮扶":  # the loan for ordinary households has its own name
            idx = np.where(ordinary[mh[sel]], len(MEASURE_TEXTS[col]), idx)
        measure_cells.append(on_households(mh[sel], idx))
    hamlet_cell = np.where(
        villages.community[hh_village],
        -1,
        np.where(
            hamlet_i == 0,
            len(HAMLETS) + hh_village,
            (hamlet_off[hh_village] + hamlet_i) % len(HAMLETS),
        ),
    )
    yuan = {
        "工资性收入": wage,
        "生产经营性收入": biz_gross,
        "财产性收入": prop,
        "转移性收入": trans,
        "生产经营性支出": biz_cost,
    }
    households = pl.DataFrame(
        {
            "县(市、区、旗)": _lookup(villages.county, hh_village),
            "乡(镇)": _lookup(villages.township, hh_village),
            "行政村": _lookup(villages.short, hh_village),
            "自然村": _lookup_opt([*HAMLETS, *villages.stem], hamlet_cell),
            "区划代码": _lookup(villages.code, hh_village),
            "_seq": pl.Series(seq, dtype=pl.Int64),
            "人数": pl.Series(hh_size, dtype=pl.Int64).cast(pl.Utf8),
            "民族": _lookup(ETHNIC, ethnic),
            "是否享受低保": _yes_no(dibao),
            "是否特困供养": _yes_no(tekun),
            "户联系电话": pl.Series(phone, dtype=pl.Int64).cast(pl.Utf8),
            "户类型": _lookup(["脱贫户", "一般农户"], ordinary.astype(np.int64)),
            "脱贫年度": _lookup_opt([str(y) for y in LIFTED_YEARS], np.where(ordinary, -1, lifted_year_i)),
            "监测对象类别": _lookup_opt(CATEGORIES, category),
            "识别途径": _lookup_opt(CHANNELS, on_households(mon, channel)),
            "识别监测时间": _month_str(on_households(mon, ident)),
            **{
                name: _lookup_opt(
                    RISKS, on_households(mon, risks[:, slot]) if slot < 3 else np.full(n_hh, -1)
                )
                for slot, name in enumerate(RISK_COLUMNS)
            },
            "风险是否已消除": _lookup_opt(["否", "是"], on_households(mon, eliminated.astype(np.int64))),
            "风险消除方式": _lookup_opt(
                ["自然消除", "帮扶消除"],
                on_households(mon[eliminated], assisted[eliminated].astype(np.int64)),
            ),
            "消除监测时间": _month_str(on_households(mon[eliminated], elim_month[eliminated])),
            **{name: _money(values) for name, values in yuan.items()},
            PER_CAPITA_COLUMN: pl.Series(cents // 100, dtype=pl.Int64).cast(pl.Utf8)
            + "."
            + pl.Series(cents % 100, dtype=pl.Int64).cast(pl.Utf8).str.zfill(2),
            **{
                name: _lookup_opt([*MEASURE_TEXTS[name], MONEY_LOAN_ORDINARY], cells)
                for name, cells in zip(MEASURE_COLUMNS, measure_cells, strict=True)
            },
        }
    ).with_columns((pl.col("区划代码") + pl.col("_seq").cast(pl.Utf8).str.zfill(width)).alias("户编号"))
    households = households.drop("_seq")

    return households


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _title(df: pl.DataFrame) -> str:
    counties = df.get_column("县(市、区、旗)").unique().drop_nulls().to_list() if df.height else []
    place = counties[0] if len(counties) == 1 else "山西省"
    return f"{place}防返贫监测对象及脱贫户台账"


def write_ledger(df: pl.DataFrame, path: Path, *, title: str | None = None) -> Path:
    """Write the ledger to ``.xlsx`` (title row above the header) or ``.csv`` (UTF-8 with BOM).

    In the workbook, identifiers (证件号码, 户编号, 人编号, 户联系电话, 区划代码, months) are text cells;
    counts and money are numbers. The title defaults to "<county>防返贫监测对象及脱贫户台账".
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df.write_csv(path, include_bom=True)
        return path
    if suffix != ".xlsx":
        raise ValueError(f"不支持的文件类型「{path.suffix}」，请使用 .xlsx 或 .csv")
    if df.height > XLSX_MAX_ROWS:
        raise ValueError(
            f"台账共 {df.height:,} 行，超过 Excel 工作表的上限（{XLSX_MAX_ROWS:,} 行），请改为导出 .csv 文件"
        )
    import xlsxwriter

    columns = df.columns
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        sheet = workbook.add_worksheet("台账")
        title_fmt = workbook.add_format({"bold": True, "font_size": 14})
        header_fmt = workbook.add_format({"bold": True, "text_wrap": True, "valign": "vcenter"})
        text_fmt = workbook.add_format({"num_format": "@"})
        money_fmt = workbook.add_format({"num_format": "0.00"})
        widths = {"证件号码": 20, "户编号": 18, "人编号": 20, "户联系电话": 13, "区划代码": 14}
        for c, name in enumerate(columns):
            fmt = None if name in _NUMERIC_COLUMNS else text_fmt
            sheet.set_column(c, c, widths.get(name, max(6, min(16, 2 * len(name) + 2))), fmt)
        sheet.freeze_panes(2, 0)
        sheet.write_string(0, 0, title or _title(df), title_fmt)
        for c, name in enumerate(columns):
            sheet.write_string(1, c, name, header_fmt)
        money = {c for c, name in enumerate(columns) if name in _MONEY_COLUMNS}
        integer = {c for c, name in enumerate(columns) if name in _NUMERIC_COLUMNS} - money
        write_string, write_number = sheet.write_string, sheet.write_number
        row = 2
        for batch in df.iter_slices(20_000):
            for values in batch.iter_rows():
                for c, value in enumerate(values):
                    if not value:
                        continue
                    if c in money:
                        write_number(row, c, float(value), money_fmt)
                    elif c in integer:
                        write_number(row, c, int(value))
                    else:
                        write_string(row, c, value, text_fmt)
                row += 1
    finally:
        workbook.close()
    return path
