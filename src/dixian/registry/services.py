"""Writes to the registry. Every function here validates, writes and audits in one transaction."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dixian.accounts import permissions
from dixian.accounts.scoping import covers, user_region
from dixian.core import audit
from dixian.core.audit import as_actor
from dixian.core.audit import canonical_text as _canon
from dixian.core.bulk import fast_insert
from dixian.core.deployment import jurisdiction_code
from dixian.core.errors import NotFound, ValidationError
from dixian.core.files import file_sha256
from dixian.registry.choices import MEASURE_COLUMNS
from dixian.registry.ledger import RawLedger, read_ledger, validate_ledger
from dixian.registry.models import Household, LedgerImport, Person
from dixian.registry.reports import write_problem_report

Progress = Callable[[str, float], None]

HOUSEHOLD_TRACKED = [
    "township_code",
    "village_code",
    "hamlet",
    "household_type",
    "lifted_year",
    "phone",
    "head_name",
    "size",
    "declared_size",
    "monitoring_category",
    "channel",
    "identified_month",
    "risks",
    "risk_eliminated",
    "elimination_mode",
    "eliminated_month",
    "risk_status",
    "wage_income",
    "business_income",
    "property_income",
    "transfer_income",
    "business_expense",
    "declared_per_capita_income",
    "measures",
    "flags",
]
HOUSEHOLD_QUIET = ["search_text"]  # derived; updated without a history entry
PERSON_TRACKED = [
    "household_id",
    "township_code",
    "village_code",
    "position",
    "active",
    "person_no",
    "name",
    "id_is_resident",
    "sex",
    "birth_date",
    "relation_to_head",
    "ethnicity",
    "education",
    "student_status",
    "health",
    "labour_skill",
    "work_months",
    "medical_insurance",
    "dibao",
    "tekun",
    "flags",
    "extra",
]
PERSON_QUIET = ["name_pinyin", "name_initials"]


class LedgerRefused(ValidationError):
    """The file has errors: nothing was imported. ``ledger_import`` holds the problem report."""

    code = "ledger_refused"

    def __init__(self, message: str, *, ledger_import: LedgerImport, problems: list[dict]):
        super().__init__(message)
        self.ledger_import = ledger_import
        self.problems = problems


@dataclass
class ImportOutcome:
    ledger_import: LedgerImport
    summary: dict
    warnings: list[dict]


def _money(v):
    if v is None:
        return None
    return Decimal(str(v)).quantize(Decimal("0.01"))


def _checkpoint(name: str) -> None:
    """Test hook: pause inside the import transaction so a test can kill the process there."""
    marker = os.environ.get("DIXIAN_TEST_IMPORT_PAUSE")
    if marker:
        Path(marker).write_text(name)
        time.sleep(float(os.environ.get("DIXIAN_TEST_IMPORT_PAUSE_SECONDS", "30")))


def _scope_codes(user) -> dict:
    code = user_region(user) or jurisdiction_code()
    from dixian.regions.selectors import code_level

    level = code_level(code)
    return {
        "county_code": code[:6] + "000000" if level in ("county", "township", "village") else "",
        "township_code": code[:9] + "000" if level in ("township", "village") else "",
        "village_code": code if level == "village" else "",
    }


def import_ledger(
    *,
    actor,
    path: Path | str,
    file_name: str | None = None,
    sheet: str | int | None = None,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Import a household ledger: validate the whole file, then write all of it or nothing.

    Raises ``ValidationError`` for a file that cannot be read at all and ``LedgerRefused`` (with a
    problem report) when any row has an error.
    """
    actor = as_actor(actor)
    user = actor.user
    permissions.require(user, permissions.IMPORT_LEDGER)
    path = Path(path)
    file_name = file_name or path.name
    step = progress or (lambda stage, fraction: None)

    step("读取文件", 0.0)
    raw = read_ledger(path, sheet=sheet)
    step("校验", 0.25)
    from dixian.regions.matching import RegionMatcher

    matcher = RegionMatcher.for_jurisdiction(jurisdiction_code())
    existing_ids = _existing_ids()
    from dixian.monitoring.models import Channel

    channels = list(Channel.objects.filter(active=True).values_list("label", flat=True))
    validated = validate_ledger(
        raw,
        channels=channels or None,
        resolve_places=matcher.resolve_many,
        existing_ids=existing_ids,
        in_scope=(lambda code: covers(user, code)) if user is not None else None,
    )
    sha = file_sha256(path)
    scope = _scope_codes(user)
    if validated.errors:
        step("生成问题报告", 0.8)
        return _refuse(actor, raw, validated.problems, validated.data_rows, file_name, sha, scope, path)

    del raw  # the file's text is not needed any more: free it before the write
    step("写入数据库", 0.5)
    with transaction.atomic():
        summary, changes = _write(validated.households, validated.persons, step)
        from dixian.monitoring.ledger_sync import sync_cases

        summary.update(
            sync_cases(
                validated.households["county_code"].unique().to_list(),
                validated.households["household_no"].to_list(),
            )
        )
        li = LedgerImport.objects.create(
            created_by=user,
            actor_name=actor.name,
            file_name=file_name,
            sha256=sha,
            status=LedgerImport.Status.IMPORTED,
            rows=validated.data_rows,
            summary=summary,
            problems=validated.problems[:2000],
            problem_count=len(validated.problems),
            error_count=0,
            **scope,
        )
        audit.record(
            actor=actor,
            action="ledger.import",
            object_type="ledger_import",
            object_id=li.pk,
            object_label=file_name,
            details={"sha256": sha, "rows": validated.data_rows, **summary},
            changes=changes,
            **scope,
        )
    _refresh_statistics(summary)
    step("完成", 1.0)
    return ImportOutcome(ledger_import=li, summary=summary, warnings=validated.warnings)


def _refresh_statistics(summary: dict) -> None:
    """After a large import, let the query planner see the new sizes (PostgreSQL's autovacuum may be
    off or late; SQLite has no statistics until ANALYZE). On PostgreSQL outside a transaction also
    VACUUM, which sets the new rows' hint bits and marks their pages all-visible, so that the first
    reads after the import (a screening reads every person of the county) do not dirty and write
    every page again. (SQLite reads the screening's persons from ``person_screening_idx`` alone;
    PostgreSQL's planner prefers a sequential scan for a whole county, which costs its server the
    same as the index-only scan: 1.05–1.10 against 1.04–1.07 s for 3M persons.)"""
    if summary.get("persons_added", 0) + summary.get("persons_changed", 0) < 10000:
        return
    from django.db import connection

    tables = ["registry_household", "registry_person", "monitoring_monitoringcase"]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            vacuum = "VACUUM (ANALYZE) " if not connection.in_atomic_block else "ANALYZE "
            cur.execute(vacuum + ", ".join(tables))
        elif connection.vendor == "sqlite":
            for t in tables:
                cur.execute(f"ANALYZE {t}")


def _existing_ids() -> pl.DataFrame:
    rows = list(
        Person.objects.filter(active=True)
        .values_list("id_number", "household__household_no")
        .iterator(chunk_size=20000)
    )
    return pl.DataFrame(rows, schema={"id_number": pl.Utf8, "household_no": pl.Utf8}, orient="row")


def _refuse(actor, raw: RawLedger, problems, data_rows, file_name, sha, scope, path) -> ImportOutcome:
    errors = [p for p in problems if p["level"] == "error"]
    with transaction.atomic():
        li = LedgerImport.objects.create(
            created_by=actor.user,
            actor_name=actor.name,
            file_name=file_name,
            sha256=sha,
            status=LedgerImport.Status.REFUSED,
            rows=data_rows,
            problems=problems[:2000],
            problem_count=len(problems),
            error_count=len(errors),
            **scope,
        )
        audit.record(
            actor=actor,
            action="ledger.import_refused",
            object_type="ledger_import",
            object_id=li.pk,
            object_label=file_name,
            details={"sha256": sha, "errors": len(errors), "rows": data_rows},
            **scope,
        )
    out_dir = Path(settings.DATA_DIR) / "reports" / "imports"
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / f"import-{li.pk}-problems.xlsx"
    write_problem_report(path=path, raw=raw, problems=problems, out=report, file_name=file_name)
    LedgerImport.objects.filter(pk=li.pk).update(report_path=str(report))
    li.report_path = str(report)
    raise LedgerRefused(
        f"台账有{len(errors)}处错误，未导入任何数据。请下载问题报告，改正后重新导入。",
        ledger_import=li,
        problems=problems,
    )


def _household_values(row: dict) -> dict:
    measures = {k: v for k, v in (row["measures"] or {}).items() if v}
    measures = {k: measures[k] for k in MEASURE_COLUMNS if k in measures}
    flags = []
    for f in row.get("flags") or []:
        flags.extend(json.loads(f))
    return {
        "county_code": row["county_code"],
        "township_code": row["township_code"],
        "village_code": row["village_code"],
        "household_no": row["household_no"],
        "hamlet": row["hamlet"],
        "household_type": row["household_type"],
        "lifted_year": row["lifted_year"],
        "phone": row["phone"],
        "head_name": row["head_name"] or "",
        "size": row["size"],
        "declared_size": row["declared_size"],
        "search_text": row["search_text"] or "",
        "monitoring_category": row["monitoring_category"] or "",
        "channel": row["channel"],
        "identified_month": row["identified_month"],
        "risks": list(row["risks"] or []),
        "risk_eliminated": row["risk_eliminated"],
        "elimination_mode": row["elimination_mode"] or "",
        "eliminated_month": row["eliminated_month"],
        "risk_status": row["risk_status"],
        "wage_income": _money(row["wage_income"]),
        "business_income": _money(row["business_income"]),
        "property_income": _money(row["property_income"]),
        "transfer_income": _money(row["transfer_income"]),
        "business_expense": _money(row["business_expense"]),
        "declared_per_capita_income": _money(row["declared_per_capita_income"]),
        "measures": measures,
        "flags": flags,
    }


def _person_values(row: dict, household_id: int, hh: dict) -> dict:
    extra = {k: v for k, v in (row.get("extra") or {}).items() if v is not None}
    return {
        "household_id": household_id,
        "county_code": hh["county_code"],
        "township_code": hh["township_code"],
        "village_code": hh["village_code"],
        "position": row["position"],
        "active": True,
        "person_no": row["person_no"],
        "name": row["name"],
        "name_pinyin": row["name_pinyin"] or "",
        "name_initials": row["name_initials"] or "",
        "id_number": row["id_number"],
        "id_is_resident": row["id_is_resident"],
        "sex": row["sex"],
        "birth_date": row["birth_date"],
        "relation_to_head": row["relation_to_head"],
        "ethnicity": row["ethnicity"],
        "education": row["education"],
        "student_status": row["student_status"],
        "health": row["health"],
        "labour_skill": row["labour_skill"],
        "work_months": row["work_months"],
        "medical_insurance": row["medical_insurance"],
        "dibao": row["dibao"],
        "tekun": row["tekun"],
        "flags": json.loads(row["flags"]) if row["flags"] and row["flags"] != "[]" else [],
        "extra": extra,
    }


def _write(households: pl.DataFrame, persons: pl.DataFrame, step: Progress):
    """Set-based write, one county at a time so that memory follows the largest county, not the file:
    create what is new, update what changed (with field history), keep the rest."""
    now = timezone.now()
    changes: list[tuple] = []
    summary = dict.fromkeys(
        (
            "households_added",
            "households_changed",
            "households_unchanged",
            "persons_added",
            "persons_changed",
            "persons_unchanged",
            "persons_removed",
        ),
        0,
    )
    persons = persons.join(households.select("household_no", "county_code"), on="household_no", how="left")
    counties = households["county_code"].unique(maintain_order=True).to_list()
    for i, county in enumerate(counties):
        part = _write_county(
            households.filter(pl.col("county_code") == county),
            persons.filter(pl.col("county_code") == county).drop("county_code"),
            county,
            now,
            changes,
        )
        for k, v in part.items():
            summary[k] += v
        if i == 0:
            _checkpoint("households_written")
        step("写入数据库", 0.5 + 0.45 * (i + 1) / len(counties))
    return summary, changes


def _write_county(households: pl.DataFrame, persons: pl.DataFrame, county: str, now, changes: list) -> dict:
    """The households and persons of one county (see ``_write``)."""
    counties = [county]
    summary = {
        k: 0
        for k in (
            "households_added",
            "households_changed",
            "households_unchanged",
            "persons_added",
            "persons_changed",
            "persons_unchanged",
            "persons_removed",
        )
    }

    # Households.
    file_hh = {r["household_no"]: _household_values(r) for r in households.iter_rows(named=True)}
    existing = {
        (h["county_code"], h["household_no"]): h
        for h in Household.objects.filter(county_code__in=counties)
        .values("id", "county_code", "household_no", "search_text", *HOUSEHOLD_TRACKED)
        .iterator(chunk_size=20000)
    }
    new_hh, changed_hh, touched_fields = [], [], set()
    for no, vals in file_hh.items():
        cur = existing.get((vals["county_code"], no))
        if cur is None:
            vals["created_at"] = vals["updated_at"] = now
            new_hh.append(vals)
            continue
        diff = [
            (f, cur[f], vals[f])
            for f in HOUSEHOLD_TRACKED
            if not (cur[f] == vals[f] and type(cur[f]) is type(vals[f])) and _canon(cur[f]) != _canon(vals[f])
        ]
        if diff or cur["search_text"] != vals["search_text"]:
            cur = Household(**cur)
        if diff:
            for f, old, new in diff:
                setattr(cur, f, new)
                touched_fields.add(f)
                changes.append(("household", cur.pk, f, _canon(old), _canon(new)))
            cur.search_text = vals["search_text"]
            cur.updated_at = now
            changed_hh.append(cur)
        elif isinstance(cur, Household):  # only search_text differs
            cur.search_text = vals["search_text"]
            changed_hh.append(cur)
            touched_fields.add("search_text")
    fast_insert(Household, new_hh)
    if changed_hh:
        Household.objects.bulk_update(
            changed_hh, [*touched_fields, "search_text", "updated_at"], batch_size=500
        )
    summary["households_added"] = len(new_hh)
    summary["households_changed"] = sum(1 for h in changed_hh if h.updated_at == now)

    ids = dict(
        Household.objects.filter(county_code__in=counties)
        .values_list("household_no", "id")
        .iterator(chunk_size=50000)
    )

    # Persons.
    file_p = {}
    for r in persons.iter_rows(named=True):
        hh = file_hh[r["household_no"]]
        file_p[(hh["county_code"], r["id_number"])] = _person_values(r, ids[r["household_no"]], hh)
    household_ids = set(ids[no] for no in file_hh)
    cur_persons = {}
    for p in (
        Person.objects.filter(county_code__in=counties)
        .values("id", "county_code", "id_number", *PERSON_TRACKED, *PERSON_QUIET)
        .iterator(chunk_size=20000)
    ):
        cur_persons[(p["county_code"], p["id_number"])] = p
    new_p, changed_p, p_fields = [], [], set()
    for key, vals in file_p.items():
        cur = cur_persons.get(key)
        if cur is None:
            vals["created_at"] = vals["updated_at"] = now
            new_p.append(vals)
            continue
        diff = [
            (f, cur[f], vals[f])
            for f in PERSON_TRACKED
            if not (cur[f] == vals[f] and type(cur[f]) is type(vals[f])) and _canon(cur[f]) != _canon(vals[f])
        ]
        if diff:
            cur = Person(**cur)
            for f, old, new in diff:
                setattr(cur, f, new)
                p_fields.add(f)
                changes.append(("person", cur.pk, f, _canon(old), _canon(new)))
            for f in PERSON_QUIET:
                setattr(cur, f, vals[f])
            cur.updated_at = now
            changed_p.append(cur)
        else:
            summary["persons_unchanged"] += 1
    # Members of a household in the file who are no longer listed leave the register (kept, inactive).
    removed = [
        Person(id=p["id"], household_id=p["household_id"], active=p["active"])
        for key, p in cur_persons.items()
        if key not in file_p and p["household_id"] in household_ids and p["active"]
    ]
    for p in removed:
        p.active = False
        p.updated_at = now
        changes.append(("person", p.pk, "active", "1", "0"))
    fast_insert(Person, new_p)
    if changed_p:
        Person.objects.bulk_update(changed_p, [*p_fields, *PERSON_QUIET, "updated_at"], batch_size=500)
    if removed:
        Person.objects.bulk_update(removed, ["active", "updated_at"], batch_size=500)
    summary["persons_added"] = len(new_p)
    summary["persons_changed"] = len(changed_p)
    summary["persons_removed"] = len(removed)
    changed_households = {h.pk for h in changed_hh if h.updated_at == now}
    changed_households |= {p.household_id for p in changed_p} | {p.household_id for p in removed}
    changed_households -= {None}
    summary["households_changed"] = len(
        changed_households & {ids[n] for n in file_hh} - {ids[h["household_no"]] for h in new_hh}
    )
    summary["households_unchanged"] = (
        len(file_hh) - summary["households_added"] - summary["households_changed"]
    )
    return summary


# ---------------------------------------------------------------------------------------------
# Small writes from the pages.


def reveal_personal(
    *, actor, person: Person | None = None, household: Household | None = None, field: str
) -> str:
    """Return an unmasked ID number or phone; the look itself is an audited event."""
    actor = as_actor(actor)
    permissions.require(actor.user, permissions.REVEAL_PERSONAL)
    if person is not None:
        target, otype, label = person, "person", person.name
        value = person.id_number if field == "id_number" else ""
    elif household is not None:
        target, otype, label = household, "household", str(household)
        value = household.phone if field == "phone" else ""
    else:
        raise NotFound("对象不存在")
    if field not in ("id_number", "phone"):
        raise ValidationError("只能查看证件号码或电话")
    if not covers(actor.user, target.village_code or target.township_code or target.county_code):
        raise NotFound("对象不存在或不在您的管辖范围内")
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=f"{otype}.reveal_{field}",
            object_type=otype,
            object_id=target.pk,
            object_label=label,
            county_code=target.county_code,
            township_code=target.township_code,
            village_code=target.village_code,
            details={"field": field},
        )
    return value


@transaction.atomic
def register_household(
    *,
    actor,
    village_code: str,
    household_type: str,
    members: list[dict],
    household_no: str = "",
    hamlet: str = "",
    phone: str = "",
    lifted_year: int | None = None,
) -> Household:
    """Enter a household on the spot (e.g. with a lead): it joins the registry as 一般农户 or 脱贫户."""
    from dixian.core import idcard
    from dixian.core.errors import IdNumberError
    from dixian.core.text import pinyin_full, pinyin_initials
    from dixian.regions.models import Region
    from dixian.registry.choices import HouseholdType

    actor = as_actor(actor)
    user = actor.user
    region = Region.objects.filter(code=village_code, level="village").first()
    if region is None:
        raise ValidationError("请选择户所在的行政村")
    if not covers(user, village_code):
        raise NotFound("该村不在您的管辖范围内")
    if household_type not in HouseholdType.values:
        raise ValidationError("户类型只能是脱贫户或一般农户")
    if household_type == HouseholdType.LIFTED and not lifted_year:
        raise ValidationError("脱贫户请填写脱贫年度")
    if not members:
        raise ValidationError("请录入家庭成员")
    heads = [m for m in members if m.get("relation_to_head") == "户主"]
    if len(heads) != 1:
        raise ValidationError("每户有且只有一个户主")
    county = village_code[:6] + "000000"
    household_no = (household_no or "").strip()
    if not household_no:
        seq = Household.objects.filter(village_code=village_code, household_no__startswith="DX").count() + 1
        household_no = f"DX{village_code}{seq:04d}"
    if Household.objects.filter(county_code=county, household_no=household_no).exists():
        raise ValidationError(f"户编号 {household_no} 已存在")
    people = []
    seen = set()
    for i, m in enumerate(members, start=1):
        name = (m.get("name") or "").strip()
        if not name:
            raise ValidationError(f"第{i}位成员没有姓名")
        try:
            info = idcard.parse(m.get("id_number") or "")
        except IdNumberError as exc:
            raise ValidationError(f"{name}：{exc.message}") from None
        if info.number in seen:
            raise ValidationError(f"{name}：证件号码重复")
        seen.add(info.number)
        other = (
            Person.objects.filter(county_code=county, id_number=info.number, active=True)
            .select_related("household")
            .first()
        )
        if other is not None:
            raise ValidationError(f"{name}已登记在另一户（户编号 {other.household.household_no}）")
        if not (m.get("relation_to_head") or "").strip():
            raise ValidationError(f"{name}：请填写与户主关系")
        people.append((i - 1, name, info, m))
    now = timezone.now()
    head = heads[0]["name"].strip()
    household = Household.objects.create(
        county_code=county,
        township_code=village_code[:9] + "000",
        village_code=village_code,
        household_no=household_no,
        hamlet=hamlet,
        household_type=household_type,
        lifted_year=lifted_year,
        phone=phone,
        head_name=head,
        size=len(people),
        search_text=" ".join(f"{n} {pinyin_initials(n)}" for _, n, _, _ in people),
        created_at=now,
        updated_at=now,
    )
    Person.objects.bulk_create(
        [
            Person(
                household=household,
                county_code=county,
                township_code=household.township_code,
                village_code=village_code,
                position=pos,
                name=name,
                name_pinyin=pinyin_full(name),
                name_initials=pinyin_initials(name),
                id_number=info.number,
                sex=info.sex,
                birth_date=info.birth_date,
                relation_to_head=m["relation_to_head"].strip(),
                labour_skill=m.get("labour_skill", ""),
                health=m.get("health", ""),
                ethnicity=m.get("ethnicity", ""),
                created_at=now,
                updated_at=now,
            )
            for pos, name, info, m in people
        ]
    )
    audit.record(
        actor=actor,
        action="household.register",
        object_type="household",
        object_id=household.pk,
        object_label=str(household),
        county_code=county,
        township_code=household.township_code,
        village_code=village_code,
        details={"members": len(people), "household_type": household_type},
    )
    return household
