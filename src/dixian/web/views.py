"""Pages. Thin: parse the request, call a selector or a service, render."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from dixian.accounts import permissions
from dixian.accounts.scoping import covers, user_region
from dixian.core import idcard
from dixian.core.errors import DixianError, ValidationError
from dixian.regions import selectors as regions
from dixian.registry import selectors
from dixian.registry.choices import HouseholdType, MonitoringCategory, RiskStatus, RiskType
from dixian.registry.exports import export_ledger, mask_phone
from dixian.registry.services import LedgerRefused, import_ledger, reveal_personal

PAGE_SIZES = (20, 50, 100)


def _scope_code(user) -> str:
    from dixian.core.deployment import jurisdiction_code

    return user_region(user) or jurisdiction_code()


def _townships(user) -> list:
    code = _scope_code(user)
    level = regions.code_level(code)
    if level == "county":
        return list(regions.townships_of(code))
    if level in ("township", "village"):
        return [regions.region_by_code(regions.township_of(code))]
    return []


def _villages(user, township: str) -> list:
    code = _scope_code(user)
    if regions.code_level(code) == "village":
        return [regions.region_by_code(code)]
    if township and covers(user, township):
        return list(regions.villages_of(township))
    return []


@login_required
def home(request):
    """Key figures of the user's region, from the indicator catalogue (one number, one definition)."""
    from dixian.indicators.selectors import figures_for

    code = _scope_code(request.user)
    f = figures_for(user=request.user, region_code=code, as_of=timezone.localdate())
    totals = {
        "lifted": f["lifted.households"],
        "lifted_persons": f["lifted.persons"],
        "monitored": f["monitored.households"],
        "monitored_persons": f["monitored.persons"],
        "open": f["monitored.open.households"],
        "open_persons": f["monitored.open.persons"],
        "eliminated": f["monitored.eliminated.households"],
        "eliminated_persons": f["monitored.eliminated.persons"],
        "monitoring_ratio": f["monitoring_ratio"],
        "elimination_rate": f["elimination_rate.persons"],
    }
    categories = [
        {
            "code": c.value,
            "label": c.label,
            "households": f[f"monitored.{c.value}.households"],
            "persons": f[f"monitored.{c.value}.persons"],
        }
        for c in MonitoringCategory
    ]
    imports = selectors.ledger_imports(user=request.user)[:5]
    from dixian.monitoring import selectors as monitoring

    return render(
        request,
        "web/home.html",
        {
            "inbox": monitoring.inbox_counts(request.user),
            "totals": totals,
            "categories": categories,
            "imports": imports,
            "region": regions.region_by_code(_scope_code(request.user)),
        },
    )


@login_required
def household_list(request):
    g = request.GET
    township = g.get("township", "")
    if township and not covers(request.user, township):
        township = ""
    qs = selectors.household_search(
        user=request.user,
        q=g.get("q", ""),
        township=township,
        village=g.get("village", ""),
        household_type=g.get("type", ""),
        category=g.get("category", ""),
        risk_status=g.get("risk", ""),
        sort=g.get("sort", ""),
    )
    try:
        per_page = int(g.get("size", 20))
    except ValueError:
        per_page = 20
    per_page = per_page if per_page in PAGE_SIZES else 20
    page = Paginator(
        qs.only(
            "id",
            "household_no",
            "head_name",
            "size",
            "household_type",
            "monitoring_category",
            "risk_status",
            "village_code",
            "township_code",
            "identified_month",
            "declared_per_capita_income",
            "phone",
            "wage_income",
            "business_income",
            "property_income",
            "transfer_income",
            "business_expense",
            "declared_size",
        ),
        per_page,
    ).get_page(g.get("page"))
    names = regions.names_for({h.village_code for h in page} | {h.township_code for h in page})
    matches = selectors.matched_members(households=list(page), q=g.get("q", ""))
    rows = [
        {
            "h": h,
            "village": names.get(h.village_code, h.village_code),
            "township": names.get(h.township_code, h.township_code),
            "phone": mask_phone(h.phone),
            "matches": matches.get(h.pk, []),
        }
        for h in page
    ]
    params = g.copy()
    params.pop("page", None)
    sel_township = township or (g.get("village", "")[:9] + "000" if g.get("village") else "")
    context = {
        "page": page,
        "rows": rows,
        "params": params.urlencode(),
        "filters": g,
        "townships": _townships(request.user),
        "villages": _villages(request.user, sel_township),
        "sel_township": sel_township,
        "types": HouseholdType.choices,
        "categories": MonitoringCategory.choices,
        "risk_statuses": RiskStatus.choices,
        "sort": g.get("sort", ""),
        "page_sizes": PAGE_SIZES,
        "per_page": per_page,
    }
    template = (
        "web/_household_table.html"
        if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "results"
        else "web/household_list.html"
    )
    return render(request, template, context)


@login_required
def village_options(request):
    township = request.GET.get("township", "")
    villages = _villages(request.user, township) if township else []
    return render(request, "web/_village_options.html", {"villages": villages, "selected": ""})


@login_required
def household_detail(request, pk: int):
    household = selectors.household_get(user=request.user, pk=pk)
    members = list(selectors.household_members(household=household))
    former = list(
        selectors.household_members(household=household, include_inactive=True).filter(active=False)
    )
    names = regions.names_for([household.county_code, household.township_code, household.village_code])
    risks = [RiskType(r).label if r in RiskType.values else r for r in household.risks]
    history = selectors.household_history(household=household)
    from dixian.monitoring import selectors as monitoring

    return render(
        request,
        "web/household_detail.html",
        {
            "h": household,
            "members": members,
            "former": former,
            "risks": risks,
            "history": history,
            "place": " ".join(
                names.get(c, "")
                for c in (household.county_code, household.township_code, household.village_code)
            ),
            "masked_phone": mask_phone(household.phone),
            "can_reveal": permissions.has_perm(request.user, permissions.REVEAL_PERSONAL),
            "mask": idcard.mask,
            **monitoring.household_monitoring(request.user, household),
        },
    )


@login_required
@require_POST
def reveal(request, kind: str, pk: int):
    if kind == "person":
        person = selectors.person_get(user=request.user, pk=pk)
        value = reveal_personal(actor=request.user, person=person, field="id_number")
    elif kind == "household":
        household = selectors.household_get(user=request.user, pk=pk)
        value = reveal_personal(actor=request.user, household=household, field="phone")
    else:
        raise Http404
    return HttpResponse(f'<span class="revealed" title="已记录本次查看">{value or "（空）"}</span>')


@login_required
def ledger_import(request):
    permissions.require(request.user, permissions.IMPORT_LEDGER)
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "请选择要导入的台账文件")
            return redirect("web:ledger_import")
        suffix = Path(upload.name).suffix.lower()
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / f"upload{suffix}"
            with open(target, "wb") as f:
                for chunk in upload.chunks():
                    f.write(chunk)
            try:
                outcome = import_ledger(actor=request.user, path=target, file_name=upload.name)
            except LedgerRefused as exc:
                return _go(request, reverse("web:ledger_import_detail", args=[exc.ledger_import.pk]))
            except ValidationError as exc:
                messages.error(request, f"无法导入“{upload.name}”：{exc.message}")
                return _go(request, reverse("web:ledger_import"))
        return _go(request, reverse("web:ledger_import_detail", args=[outcome.ledger_import.pk]))
    imports = selectors.ledger_imports(user=request.user)[:20]
    return render(request, "web/ledger_import.html", {"imports": imports})


def _go(request, url: str):
    """Redirect; for an htmx request let the browser navigate (HX-Redirect)."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@login_required
def ledger_import_detail(request, pk: int):
    li = selectors.ledger_import_get(user=request.user, pk=pk)
    problems = li.problems[:500]
    return render(
        request,
        "web/ledger_import_detail.html",
        {
            "li": li,
            "problems": problems,
            "shown": len(problems),
            "errors": [p for p in li.problems if p["level"] == "error"][:1],
        },
    )


@login_required
def ledger_import_report(request, pk: int):
    li = selectors.ledger_import_get(user=request.user, pk=pk)
    if not li.report_path or not Path(li.report_path).exists():
        raise Http404("没有问题报告")
    return FileResponse(open(li.report_path, "rb"), as_attachment=True, filename=f"台账问题报告-{li.pk}.xlsx")


@login_required
def ledger_export(request):
    permissions.require(request.user, permissions.EXPORT_LEDGER)
    if request.method == "POST":
        region_code = request.POST.get("region", "")
        full = request.POST.get("full_ids") == "1"
        fmt = "csv" if request.POST.get("format") == "csv" else "xlsx"
        tmp = tempfile.NamedTemporaryFile(suffix=f".{fmt}", delete=False)
        tmp.close()
        try:
            result = export_ledger(actor=request.user, path=tmp.name, region_code=region_code, full_ids=full)
        except DixianError as exc:
            Path(tmp.name).unlink(missing_ok=True)
            messages.error(request, exc.message)
            return redirect("web:ledger_export")
        name = regions.region_by_code(region_code).short_name if region_code else "台账"
        stamp = timezone.localtime().strftime("%Y%m%d")
        response = FileResponse(
            open(result["path"], "rb"), as_attachment=True, filename=f"{name}-台账-{stamp}.{fmt}"
        )
        Path(result["path"]).unlink(missing_ok=True)  # the open handle keeps the data until sent
        return response
    code = _scope_code(request.user)
    options = [regions.region_by_code(code)]
    level = regions.code_level(code)
    if level == "county":
        for t in regions.townships_of(code):
            options.append(t)
    elif level == "township":
        options.extend(regions.villages_of(code))
    return render(
        request,
        "web/ledger_export.html",
        {
            "options": options,
            "can_full": permissions.has_perm(request.user, permissions.EXPORT_FULL_ID),
        },
    )


@login_required
def audit_log(request):
    permissions.require(request.user, permissions.VIEW_AUDIT)
    g = request.GET
    qs = selectors.audit_events(
        user=request.user,
        action=g.get("action", ""),
        actor=g.get("actor", ""),
        since=g.get("since") or None,
        until=g.get("until") or None,
    )
    page = Paginator(qs.annotate(n_changes=Count("changes")), 50).get_page(g.get("page"))
    params = g.copy()
    params.pop("page", None)
    return render(request, "web/audit_log.html", {"page": page, "filters": g, "params": params.urlencode()})


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


def go_household(request):
    """Jump from the search box to a household number."""
    return redirect(reverse("web:households") + "?q=" + request.GET.get("q", ""))


def not_found(request, exception=None):
    """The 404 page: the message of an ``Http404`` raised with one of Dixian's own Chinese texts,
    else the general one (Django's own page would show an unmatched address as ``Resolver404``)."""
    message = ""
    if exception is not None and exception.args and isinstance(exception.args[0], str):
        message = exception.args[0]
    return render(request, "404.html", {"exception": message}, status=404)
