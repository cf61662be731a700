"""The 报表 page: pick a region and a period, download the tables and the briefing, read the briefing's
preview and its trust check. Thin: parse, call selectors / services, render."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from dixian.indicators import selectors as figures
from dixian.indicators.compute import default_since
from dixian.indicators.views import _date
from dixian.reports import briefing, selectors, services, tables

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _params(request, data) -> tuple:
    """(region, since, as_of, errors) from GET or POST data; NotFound for a region out of scope."""
    errors: list[str] = []
    code = (data.get("region") or "").strip() or figures.home_region(request.user)
    if code.isdigit() and len(code) == 6:
        code = code.ljust(12, "0")
    region = figures.region_for(user=request.user, region_code=code)  # NotFound → 404
    as_of = _date(data.get("as_of", ""), "统计日期", errors) or timezone.localdate()
    since = _date(data.get("since", ""), "起始日期", errors) or default_since(as_of)
    if since > as_of:
        errors.append(f"起始日期 {since.isoformat()} 晚于统计日期 {as_of.isoformat()}，已改为当年 1 月 1 日")
        since = default_since(as_of)
    return region, since, as_of, errors


@login_required
def reports(request):
    region, since, as_of, errors = _params(request, request.GET)
    preview = selectors.briefing_preview(user=request.user, region_code=region.code, as_of=as_of, since=since)
    return render(
        request,
        "reports/reports.html",
        {
            "region": region,
            "since": since,
            "as_of": as_of,
            "errors": errors,
            "choices": figures.region_choices(user=request.user, selected=region.code),
            "tables": tables.TABLES,
            "preview": preview,
            "preview_html": preview.html,
            "check": preview.check,
        },
    )


@login_required
@require_POST
def tables_download(request):
    region, since, as_of, _ = _params(request, request.POST)
    tmp = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)
    tmp.close()
    try:
        built = services.export_tables(
            actor=request.user, region_code=region.code, as_of=as_of, since=since, out=Path(tmp.name)
        )
        response = FileResponse(
            open(tmp.name, "rb"),
            as_attachment=True,
            filename=f"{built.region_name}统计报表（截至{as_of:%Y%m%d}）.xlsx",
        )
    finally:
        Path(tmp.name).unlink(missing_ok=True)  # the open handle keeps the data until sent
    return response


@login_required
@require_POST
def briefing_download(request):
    region, since, as_of, _ = _params(request, request.POST)
    b = services.generate_briefing(actor=request.user, region_code=region.code, as_of=as_of, since=since)
    response = HttpResponse(b.docx, content_type=DOCX)
    response["Content-Disposition"] = _attachment(b.file_name)
    response["X-Dixian-Check"] = "ok" if b.check.ok else "findings"
    return response


@login_required
def template_download(request):
    """The built-in template, for a county to edit into its own."""
    response = HttpResponse(briefing.default_template(), content_type=DOCX)
    response["Content-Disposition"] = _attachment("工作信息模板（内置）.docx")
    return response


def _attachment(name: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename=\"briefing.docx\"; filename*=UTF-8''{quote(name)}"
