"""Writes of the reports app: producing a file someone takes away is an audited event (rule 1)."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from django.db import transaction

from dixian.core import audit
from dixian.indicators.selectors import region_for
from dixian.reports import briefing as briefing_mod
from dixian.reports import tables as tables_mod


def _scope_columns(code: str) -> dict:
    from dixian.regions.selectors import code_level

    level = code_level(code)
    out = {"county_code": code[:6] + "000000" if level in ("county", "township", "village") else ""}
    if level in ("township", "village"):
        out["township_code"] = code[:9] + "000"
    if level == "village":
        out["village_code"] = code
    return out


@transaction.atomic
def generate_briefing(
    *, actor, region_code: str, as_of: date, since: date, template: bytes | Path | None = None
) -> briefing_mod.Briefing:
    """The briefing of a region in the actor's scope (``NotFound`` otherwise), rendered, checked and
    recorded as generated for download (the check's outcome and the file's checksum in the event)."""
    actor = audit.as_actor(actor)
    region = region_for(user=actor.user, region_code=region_code)
    b = briefing_mod.render(region_code=region.code, as_of=as_of, since=since, template=template)
    audit.record(
        actor=actor,
        action="briefing.generate",
        object_type="briefing",
        object_id=region.code,
        object_label=b.file_name,
        details={
            "region": region.code,
            "since": since.isoformat(),
            "as_of": as_of.isoformat(),
            "template": b.template_source,
            "check": b.check.status,
            "disagreements": len(b.check.disagreements),
            "unverified": len(b.check.unverified),
            "sha256": hashlib.sha256(b.docx).hexdigest(),
        },
        **_scope_columns(region.code),
    )
    return b


@transaction.atomic
def export_tables(*, actor, region_code: str, as_of: date, since: date, out: Path) -> tables_mod.Built:
    """The statistical tables of a region in the actor's scope, written to ``out`` (.xlsx); audited."""
    actor = audit.as_actor(actor)
    region = region_for(user=actor.user, region_code=region_code)
    built = tables_mod.build(region_code=region.code, as_of=as_of, since=since)
    tables_mod.write_workbook(built, Path(out))
    audit.record(
        actor=actor,
        action="tables.export",
        object_type="tables",
        object_id=region.code,
        object_label=f"{built.region_name}统计报表",
        details={
            "region": region.code,
            "since": since.isoformat(),
            "as_of": as_of.isoformat(),
            "tables": [t.key for t in built.tables],
            "rows": len(built.rows),
        },
        **_scope_columns(region.code),
    )
    return built
