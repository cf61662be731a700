"""Pages of early warning (部门筛查预警). Thin: parse the request (forms), call a selector or a service,
render.

Refusals of the services (ValidationError, PermissionDenied) are shown in red next to the form with the
user's input kept; objects outside the user's region are not found (404) through the selectors. Long
work (loading a file, running a screening) is done in the request itself: the page shows the upload's
progress, then an indeterminate bar until the server answers (a county's screening takes seconds)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from datetime import date
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from dixian.accounts import permissions
from dixian.accounts.scoping import covers, user_region
from dixian.core import idcard
from dixian.core.errors import IdNumberError, NotFound, PermissionDenied, ValidationError
from dixian.indicators.catalogue import BY_CODE
from dixian.indicators.compute import default_since
from dixian.monitoring import selectors as monitoring
from dixian.monitoring.forms import form_errors
from dixian.regions import selectors as regions
from dixian.registry import selectors as registry
from dixian.registry.choices import HouseholdType, RiskType
from dixian.screening import selectors
from dixian.screening.feeds import SPECS, FeedType
from dixian.screening.forms import (
    AlertFilterForm,
    AssignForm,
    FeedUploadForm,
    PeriodForm,
    ReplayForm,
    RunForm,
    VerifyForm,
    rule_choices,
    rule_fields,
    rule_state,
    state_from_post,
)
from dixian.screening.models import Aggregate, AlertRule, AlertStatus, HeaderMapping
from dixian.screening.rules import rules_in_force, save_rule
from dixian.screening.runs import replay, run_screening
from dixian.screening.services import load_feed, read_headers, save_mapping
from dixian.screening.verification import assign_alert, reveal_alert_ids, verify_alert

REFUSALS = (ValidationError, PermissionDenied)
PENDING = "screening_pending_feed"  # session key: a refused upload kept until its headers are mapped


def _is_htmx(request) -> bool:
    return bool(request.headers.get("HX-Request"))


def _go(request, url: str):
    """Redirect; for an htmx request let the browser navigate (HX-Redirect)."""
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _county_level(user) -> bool:
    code = user_region(user)
    return code is None or regions.code_level(code) in ("county", "city", "province")


def _require_county(user, what: str) -> None:
    if not _county_level(user):
        raise PermissionDenied(f"只有县级账户可以查看{what}")


def _risk_label(code: str) -> str:
    return RiskType(code).label if code in RiskType.values else code


def _masked_rows(rows: list[dict], reveal: bool = False) -> list[dict]:
    """Rows of a department's file with the ID columns masked (unless the full numbers were asked for)."""
    if reveal:
        return rows
    return [{k: (idcard.mask(v) if "证件号码" in k and v else v) for k, v in r.items()} for r in rows]


def _columns(rows: list[dict]) -> list[str]:
    out: list[str] = []
    for r in rows:
        for k in r:
            if k not in out:
                out.append(k)
    return out


def _unit(rule: AlertRule) -> str:
    if rule.measure:
        return "元"
    if rule.aggregate == Aggregate.DAYS:
        return "天"
    return "条"


def _value_text(rule: AlertRule, value) -> str:
    if value is None:
        return "—"
    unit = _unit(rule)
    if unit == "元":
        return f"{value:,.2f} 元"
    return f"{int(value)} {unit}{'记录' if unit == '条' else ''}"


def _threshold_text(rule: AlertRule, threshold) -> str:
    if rule.aggregate in (Aggregate.EXISTS, Aggregate.NEW):
        return "有记录即预警"
    return _value_text(rule, threshold)


# ---------------------------------------------------------------------------------------------
# 部门数据文件


@login_required
def feed_list(request):
    _require_county(request.user, "部门数据文件")
    page = Paginator(selectors.feeds_for(request.user), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "screening/feed_list.html",
        {
            "page": page,
            "can_load": permissions.has_perm(request.user, permissions.LOAD_FEED),
            "mappings": HeaderMapping.objects.order_by("department", "feed_type"),
        },
    )


@login_required
def feed_detail(request, pk: int):
    _require_county(request.user, "部门数据文件")
    feed = selectors.feeds_for(request.user).filter(pk=pk).first()
    if feed is None:
        raise NotFound("没有找到这个数据文件")
    samples = _masked_rows(feed.samples)
    columns = [c for c in _columns(samples) if c not in ("line", "reason")]
    spec = SPECS[feed.feed_type]
    return render(
        request,
        "screening/feed_detail.html",
        {
            "feed": feed,
            "refusals": sorted(feed.refusals.items(), key=lambda kv: -kv[1]),
            "samples": [(r.get("line"), r.get("reason"), [r.get(c) for c in columns]) for r in samples],
            "sample_columns": columns,
            "spec": spec,
            "accepted": feed.rows_read - feed.rows_refused,
        },
    )


def _pending(request) -> dict | None:
    kept = request.session.get(PENDING)
    if kept and Path(kept["path"]).exists():
        return kept
    return None


def _keep_pending(request, source: Path, name: str, feed_type: str, department: str) -> dict:
    """Keep a refused upload (missing columns) until the department's headers are mapped."""
    old = _pending(request)
    if old:
        Path(old["path"]).unlink(missing_ok=True)
    folder = Path(settings.DATA_DIR) / "feeds" / "pending"
    folder.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    target = folder / f"{token}{source.suffix.lower()}"
    shutil.move(str(source), target)
    kept = {
        "token": token,
        "path": str(target),
        "name": name,
        "feed_type": feed_type,
        "department": department or SPECS[feed_type].department,
    }
    request.session[PENDING] = kept
    return kept


def _upload_context(request, form, errors, pending=None) -> dict:
    return {
        "form": form,
        "data": form.data if form.is_bound else form.initial,
        "errors": errors,
        "pending": pending,
        "feed_types": [(t.value, t.label, SPECS[t.value].department) for t in FeedType],
        "specs": {t.value: {"required": SPECS[t].required, "optional": SPECS[t].optional} for t in FeedType},
        "recent": selectors.feeds_for(request.user)[:8],
    }


@login_required
def feed_upload(request):
    permissions.require(request.user, permissions.LOAD_FEED)
    if request.method != "POST":
        pending = _pending(request)
        initial = {"feed_type": FeedType.MEDICAL.value}
        if pending and request.GET.get("pending") == pending["token"]:
            initial = {"feed_type": pending["feed_type"], "department": pending["department"]}
        else:
            pending = None
        if request.GET.get("type") in FeedType.values:
            initial["feed_type"] = request.GET["type"]
        form = FeedUploadForm(initial=initial)
        return render(request, "screening/feed_upload.html", _upload_context(request, form, [], pending))

    form = FeedUploadForm(request.POST, request.FILES)
    errors = form_errors(form) if not form.is_valid() else []
    pending, refused_columns = None, False
    if not errors:
        d = form.cleaned_data
        upload = d["file"]
        kept = _pending(request)
        with tempfile.TemporaryDirectory() as tmp:
            if upload is not None:
                name = upload.name
                target = Path(tmp) / f"upload{Path(upload.name).suffix.lower()}"
                with open(target, "wb") as f:
                    for chunk in upload.chunks():
                        f.write(chunk)
            elif kept and d["pending"] == kept["token"]:
                name, target = kept["name"], Path(kept["path"])
            else:
                errors = ["请选择要加载的文件"]
                target = None
            if target is not None:
                try:
                    feed = load_feed(
                        actor=request.user,
                        feed_type=d["feed_type"],
                        path=target,
                        department=d["department"].strip(),
                        file_name=name,
                    )
                except REFUSALS as exc:
                    errors = [f"未加载“{name}”：{exc.message}"]
                    refused_columns = "缺少必填列" in exc.message
                    if refused_columns:
                        if upload is not None:
                            pending = _keep_pending(
                                request, target, name, d["feed_type"], d["department"].strip()
                            )
                        else:
                            pending = kept
                else:
                    if upload is None and kept:
                        Path(kept["path"]).unlink(missing_ok=True)
                        request.session.pop(PENDING, None)
                    messages.success(
                        request,
                        f"已加载“{feed.file_name}”：读取 {feed.rows_read} 行，拒收 {feed.rows_refused} 行",
                    )
                    return _go(request, reverse("screening:feed", args=[feed.pk]))
    context = _upload_context(request, form, errors, pending)
    context["refused_columns"] = refused_columns
    if _is_htmx(request):
        return render(request, "screening/_upload_result.html", context)
    return render(request, "screening/feed_upload.html", context)


@login_required
def feed_mapping(request):
    """A department's header mapping: its own header → the column of the format."""
    permissions.require(request.user, permissions.LOAD_FEED)
    src = request.POST if request.method == "POST" else request.GET
    feed_type = src.get("feed_type", "")
    if feed_type not in FeedType.values:
        feed_type = FeedType.MEDICAL.value
    spec = SPECS[feed_type]
    department = (src.get("department") or "").strip() or spec.department
    pending = _pending(request)
    if pending and src.get("pending") != pending["token"]:
        pending = None
    stored = HeaderMapping.objects.filter(feed_type=feed_type, department=department).first()
    current = dict(stored.mapping) if stored else {}
    errors: list[str] = []
    if request.method == "POST":
        sources = request.POST.getlist("map_from")
        targets = request.POST.getlist("map_to")
        mapping = {s.strip(): t for s, t in zip(sources, targets, strict=False) if s.strip() and t.strip()}
        if not mapping:
            errors = ["请至少为一个表头选择对应的列"]
        else:
            try:
                save_mapping(actor=request.user, feed_type=feed_type, department=department, mapping=mapping)
            except REFUSALS as exc:
                errors = [exc.message]
            else:
                messages.success(request, f"已保存{department}{FeedType(feed_type).label}数据的表头对应")
                if pending:
                    return redirect(reverse("screening:feed_upload") + f"?pending={pending['token']}")
                return redirect(
                    reverse("screening:feed_mapping") + f"?feed_type={feed_type}&department={department}"
                )
        current.update(mapping)
    headers: list[str] = []
    if pending:
        try:
            headers = read_headers(pending["path"])
        except ValidationError as exc:
            errors.append(exc.message)
    unknown = [h for h in headers if h.strip() not in spec.columns]
    rows = [{"from": h, "to": current.get(h, "")} for h in unknown]
    rows += [{"from": k, "to": v} for k, v in current.items() if k not in unknown]
    rows += [{"from": "", "to": ""} for _ in range(max(3 - len(rows), 1))]
    return render(
        request,
        "screening/feed_mapping.html",
        {
            "feed_type": feed_type,
            "feed_label": FeedType(feed_type).label,
            "department": department,
            "spec": spec,
            "rows": rows,
            "headers": headers,
            "missing": [c for c in spec.required if c not in headers and c not in current.values()]
            if headers
            else [],
            "pending": pending,
            "errors": errors,
            "feed_types": FeedType.choices,
            "stored": stored,
        },
    )


# ---------------------------------------------------------------------------------------------
# 预警规则


@login_required
def rule_list(request):
    today = timezone.localdate()
    in_force = {r.code: r for r in rules_in_force(today)}
    rules = []
    for code, versions in selectors.rule_versions().items():
        current = in_force.get(code)
        shown = current or versions[0]
        rules.append(
            {
                "code": code,
                "rule": shown,
                "in_force": current is not None,
                "feed": FeedType(shown.feed_type).label,
                "department": SPECS[shown.feed_type].department,
                "risk": _risk_label(shown.risk),
                "versions": [
                    {
                        "v": v,
                        "current": current is not None and v.pk == current.pk,
                        "future": v.effective_from > today,
                    }
                    for v in versions
                ],
            }
        )
    rules.sort(key=lambda r: (not r["in_force"], r["rule"].feed_type, r["code"]))
    return render(
        request,
        "screening/rule_list.html",
        {
            "rules": rules,
            "today": today,
            "can_edit": permissions.has_perm(request.user, permissions.MANAGE_RULES),
        },
    )


@login_required
def rule_edit(request):
    """A new version of a rule from a date (or a new rule): the county administrator only."""
    permissions.require(request.user, permissions.MANAGE_RULES)
    today = timezone.localdate()
    code = (request.GET.get("code") or request.POST.get("code") or "").strip()
    latest = AlertRule.objects.filter(code=code).order_by("-effective_from", "-id").first() if code else None
    errors: list[str] = []
    if request.method == "POST":
        state = state_from_post(request.POST)
        try:
            effective_from = date.fromisoformat(state["effective_from"])
        except ValueError:
            errors = [f"生效日期“{state['effective_from']}”无效，应为 年-月-日"]
        if not errors:
            try:
                rule = save_rule(
                    actor=request.user,
                    code=state["code"],
                    effective_from=effective_from,
                    **rule_fields(state),
                )
            except REFUSALS as exc:
                errors = [exc.message]
            else:
                messages.success(
                    request, f"已保存规则“{rule.name}”自{rule.effective_from:%Y-%m-%d}起的新版本"
                )
                return redirect(reverse("screening:rules") + f"#rule-{rule.code}")
    else:
        state = rule_state(latest)
        state["effective_from"] = today.isoformat()
    return render(
        request,
        "screening/rule_edit.html",
        {
            "state": state,
            "latest": latest,
            "is_new": latest is None,
            "errors": errors,
            "choices": rule_choices(),
        },
    )


# ---------------------------------------------------------------------------------------------
# 筛查


def _rule_results(run) -> list[dict]:
    out = []
    for code, r in (run.results or {}).items():
        out.append({"code": code, **r})
    return out


@login_required
def run_list(request):
    """The screening runs; a POST runs one now (synchronously: seconds on a county)."""
    _require_county(request.user, "筛查批次")
    can_run = permissions.has_perm(request.user, permissions.RUN_SCREENING)
    errors: list[str] = []
    form = RunForm(initial={"as_of": timezone.localdate()})
    if request.method == "POST":
        permissions.require(request.user, permissions.RUN_SCREENING)
        form = RunForm(request.POST)
        errors = form_errors(form) if not form.is_valid() else []
        if not errors:
            try:
                run = run_screening(actor=request.user, as_of=form.cleaned_data["as_of"])
            except REFUSALS as exc:
                errors = [exc.message]
            else:
                messages.success(
                    request,
                    f"筛查完成（截至{run.as_of:%Y-%m-%d}，用时 {run.seconds:.1f} 秒）：新预警 {run.alert_count} 条",
                )
                return _go(request, reverse("screening:runs") + f"?run={run.pk}#run-{run.pk}")
        if _is_htmx(request):
            return render(request, "monitoring/_errors.html", {"errors": errors})
    page = Paginator(selectors.runs_for(request.user), 20).get_page(request.GET.get("page"))
    just = request.GET.get("run", "")
    runs = [{"run": r, "results": _rule_results(r), "open": str(r.pk) == just} for r in page]
    return render(
        request,
        "screening/run_list.html",
        {
            "page": page,
            "runs": runs,
            "can_run": can_run,
            "form": form,
            "data": form.data if form.is_bound else {"as_of": timezone.localdate().isoformat()},
            "errors": errors,
        },
    )


@login_required
def replay_page(request):
    """Replay a past date: why an alert did or did not fire (for a household or a person, or all)."""
    permissions.require(request.user, permissions.RUN_SCREENING)
    g = request.GET
    form = ReplayForm(g or None)
    errors: list[str] = []
    result = None
    subject = ""
    if g and form.is_valid():
        d = form.cleaned_data
        household, id_number, run = None, "", None
        try:
            if d["run"]:
                run = selectors.runs_for(request.user).filter(pk=d["run"]).first()
                if run is None:
                    raise ValidationError(f"没有找到筛查批次 {d['run']}")
                d["as_of"] = run.as_of
            if not d["as_of"]:
                raise ValidationError("请填写回放日期")
            if d["as_of"] > timezone.localdate():
                raise ValidationError("回放日期不能晚于今天")
            if d["household_no"].strip():
                try:
                    household = registry.household_by_no(
                        user=request.user, household_no=d["household_no"].strip()
                    )
                except NotFound:
                    raise ValidationError(
                        f"户编号“{d['household_no'].strip()}”不存在或不在您的管辖范围内"
                    ) from None
                subject = f"{household.head_name}户（{household.household_no}）"
            if d["id_number"].strip():
                try:
                    id_number = idcard.parse(d["id_number"]).number
                except IdNumberError as exc:
                    raise ValidationError(exc.message) from None
                subject = (subject + "、" if subject else "") + f"证件号码 {idcard.mask(id_number)}"
            result = replay(
                actor=request.user, as_of=d["as_of"], run=run, household=household, id_number=id_number
            )
            result["run"] = run
        except REFUSALS as exc:
            errors = [exc.message]
    elif g:
        errors = form_errors(form)
    rules = []
    if result is not None:
        for entry in result["rules"]:
            rule = entry["rule"]
            shown = entry["explanations"] if subject else []
            rules.append(
                {
                    "rule": rule,
                    "hits": entry["hits"],
                    "fired": sum(1 for e in entry["explanations"] if e.fired),
                    "suppressed": sum(1 for e in entry["explanations"] if e.suppressed_by),
                    "warnings": entry["warnings"],
                    "explanations": [
                        {
                            "e": e,
                            "value": _value_text(rule, e.value),
                            "threshold": _threshold_text(rule, e.threshold),
                            "evidence": _masked_rows(e.evidence),
                        }
                        for e in shown[:50]
                    ],
                    "more": max(len(shown) - 50, 0),
                }
            )
    return render(
        request,
        "screening/replay.html",
        {"data": g, "errors": errors, "result": result, "rules": rules, "subject": subject},
    )


# ---------------------------------------------------------------------------------------------
# 预警核实


def _township_options(user) -> list:
    code = user_region(user)
    if code is None:
        from dixian.core.deployment import jurisdiction_code

        code = jurisdiction_code()
    level = regions.code_level(code)
    if level == "county":
        return list(regions.townships_of(code))
    return []


def _place_names(alerts) -> dict[str, str]:
    codes = {a.village_code for a in alerts if a.village_code} | {
        a.township_code for a in alerts if a.township_code
    }
    return regions.names_for(codes)


def _who(alert, reveal: bool = False, *, with_members: bool = False) -> dict:
    """Whom the alert is about: the household (registered) or the person, with masked ID numbers.

    The engine keeps an alert's ID numbers and names as two sorted lists, not pairs; a person's name
    is put next to their number from the registry (a household's members) or when there is one number."""
    shown = {n: (n if reveal else idcard.mask(n)) for n in alert.id_numbers}
    names = alert.names or []
    people: list[tuple[str, str]] = []
    if with_members and alert.household_id is not None:
        by_id = dict(
            alert.household.members.filter(id_number__in=alert.id_numbers).values_list("id_number", "name")
        )
        people = [(by_id.get(n, ""), shown[n]) for n in alert.id_numbers]
    elif len(alert.id_numbers) == 1:
        people = [("、".join(names), shown[alert.id_numbers[0]])]
    return {"household": alert.household, "names": names, "ids": list(shown.values()), "people": people}


@login_required
def alert_list(request):
    g = request.GET
    form = AlertFilterForm(g)
    form.is_valid()
    f = form.cleaned_data if form.is_valid() else {}
    today = timezone.localdate()
    township = f.get("township", "")
    if township and not covers(request.user, township):
        township = ""
    qs = selectors.filtered_alerts(
        request.user,
        status=f.get("status", ""),
        rule=f.get("rule", ""),
        department=f.get("department", ""),
        township=township,
        overdue=bool(f.get("overdue")),
        today=today,
    )
    page = Paginator(qs, 50).get_page(g.get("page"))
    names = _place_names(page)
    rows = []
    for a in page:
        late = (today - a.due_on).days if a.status == AlertStatus.OPEN else 0
        late_closed = (a.verified_on - a.due_on).days if a.verified_on and a.verified_on > a.due_on else 0
        rows.append(
            {
                "a": a,
                "who": _who(a),
                "place": " ".join(
                    n for n in (names.get(a.township_code, ""), names.get(a.village_code, "")) if n
                ),
                "value": _value_text(a.rule, a.value),
                "threshold": _threshold_text(a.rule, a.threshold),
                "late": late if late > 0 else 0,
                "late_closed": late_closed,
                "days_left": (a.due_on - today).days,
            }
        )
    params = g.copy()
    params.pop("page", None)
    scope = selectors.alerts_for(request.user)
    counts = {
        "open": scope.filter(status=AlertStatus.OPEN).count(),
        "overdue": scope.filter(status=AlertStatus.OPEN, due_on__lt=today).count(),
        "unassigned": scope.filter(status=AlertStatus.OPEN, village_code="").count(),
        "closed": scope.exclude(status=AlertStatus.OPEN).count(),
    }
    rule_names = dict(AlertRule.objects.order_by("code", "effective_from").values_list("code", "name"))
    return render(
        request,
        "screening/alert_list.html",
        {
            "page": page,
            "rows": rows,
            "filters": g,
            "params": params.urlencode(),
            "statuses": AlertFilterForm.STATUSES,
            "rules": sorted(rule_names.items()),
            "departments": sorted({s.department for s in SPECS.values()}),
            "townships": _township_options(request.user),
            "counts": counts,
            "today": today,
        },
    )


def _alert_context(request, alert, *, errors=(), data=None, assign_errors=(), reveal=False) -> dict:
    today = timezone.localdate()
    rule = alert.rule
    user = request.user
    place = regions.names_for([c for c in (alert.township_code, alert.village_code) if c])
    evidence = _masked_rows(alert.evidence_rows(), reveal)
    can_verify = alert.status == AlertStatus.OPEN and permissions.has_perm(user, permissions.VERIFY_ALERT)
    unassigned = not alert.village_code
    if data is None:
        data = {
            "outcome": "",
            "risks": [alert.risk] if alert.risk else [],
            "verified_on": today.isoformat(),
            "note": "",
            "household_type": HouseholdType.ORDINARY.value,
        }
    return {
        "alert": alert,
        "rule": rule,
        "who": _who(alert, reveal, with_members=True),
        "reveal": reveal,
        "place": " ".join(place.get(c, "") for c in (alert.township_code, alert.village_code) if c),
        "value": _value_text(rule, alert.value),
        "threshold": _threshold_text(rule, alert.threshold),
        "risk": _risk_label(alert.risk),
        "evidence": evidence,
        "evidence_columns": _columns(evidence),
        "late": max((today - alert.due_on).days, 0) if alert.status == AlertStatus.OPEN else 0,
        "late_closed": (alert.verified_on - alert.due_on).days
        if alert.verified_on and alert.verified_on > alert.due_on
        else 0,
        "days_left": (alert.due_on - today).days,
        "can_verify": can_verify and not unassigned,
        "needs_assignment": alert.status == AlertStatus.OPEN and unassigned,
        "can_assign": alert.status == AlertStatus.OPEN
        and unassigned
        and permissions.has_perm(user, permissions.ASSIGN_ALERT),
        "can_reveal": permissions.has_perm(user, permissions.REVEAL_PERSONAL),
        "villages": monitoring.villages_for(user),
        "errors": list(errors),
        "assign_errors": list(assign_errors),
        "data": data,
        "risk_choices": RiskType.choices,
        "household_types": HouseholdType.choices,
        "outcomes": [(s.value, s.label) for s in AlertStatus if s != AlertStatus.OPEN],
        "today": today,
    }


@login_required
def alert_detail(request, pk: int):
    alert = selectors.alert_for(request.user, pk)
    if request.method != "POST":
        return render(request, "screening/alert_detail.html", _alert_context(request, alert))
    permissions.require(request.user, permissions.VERIFY_ALERT)
    form = VerifyForm(request.POST)
    errors = form_errors(form) if not form.is_valid() else []
    data = {
        "outcome": request.POST.get("outcome", ""),
        "risks": request.POST.getlist("risks"),
        "verified_on": request.POST.get("verified_on", ""),
        "note": request.POST.get("note", ""),
        "household_type": request.POST.get("household_type", HouseholdType.ORDINARY),
    }
    if not errors:
        d = form.cleaned_data
        try:
            if not d["outcome"]:
                raise ValidationError("请选择核实结论：纳入、不纳入，或已在监测/已帮扶")
            alert = verify_alert(
                actor=request.user,
                alert=alert,
                outcome=d["outcome"],
                note=d["note"],
                risks=d["risks"] or None,
                verified_on=d["verified_on"],
                household_type=d["household_type"] or HouseholdType.ORDINARY,
            )
        except REFUSALS as exc:
            errors = [exc.message]
        else:
            text = f"已记录核实结论：{alert.get_status_display()}"
            if alert.lead_id:
                text += "，已生成风险线索，请在线索页发起识别"
            messages.success(request, text)
            return redirect("screening:alert", pk=alert.pk)
    alert = selectors.alert_for(request.user, pk)
    return render(
        request, "screening/alert_detail.html", _alert_context(request, alert, errors=errors, data=data)
    )


@login_required
@require_POST
def alert_assign(request, pk: int):
    alert = selectors.alert_for(request.user, pk)
    permissions.require(request.user, permissions.ASSIGN_ALERT)
    form = AssignForm(request.POST)
    form.is_valid()
    village = (form.cleaned_data.get("village") or "").strip()
    try:
        if not village:
            raise ValidationError("请选择本县的一个行政村")
        alert = assign_alert(actor=request.user, alert=alert, village_code=village)
    except REFUSALS as exc:
        return render(
            request,
            "screening/alert_detail.html",
            _alert_context(request, alert, assign_errors=[exc.message]),
        )
    name = regions.names_for([village]).get(village, village)
    messages.success(request, f"已分派到{name}，由该村入户核实")
    return redirect("screening:alert", pk=alert.pk)


@login_required
@require_POST
def alert_reveal(request, pk: int):
    """htmx: the alert's people and evidence with full ID numbers (audited)."""
    alert = selectors.alert_for(request.user, pk)
    reveal_alert_ids(actor=request.user, alert=alert)
    return render(request, "screening/_alert_people.html", _alert_context(request, alert, reveal=True))


# ---------------------------------------------------------------------------------------------
# 闭环统计

CLOSURE_COLUMNS = [
    "alerts.raised",
    "alerts.verified",
    "alerts.on_time",
    "alerts.overdue",
    "alerts.included",
    "alerts.became_monitored",
    "alerts.verification_rate",
    "alerts.on_time_rate",
]


@login_required
def closure(request):
    form = PeriodForm(request.GET)
    errors = form_errors(form) if request.GET and not form.is_valid() else []
    d = form.cleaned_data if form.is_valid() else {}
    as_of = d.get("as_of") or timezone.localdate()
    since = d.get("since") or default_since(as_of)
    if since > as_of:
        errors.append(f"起始日期 {since.isoformat()} 晚于统计日期 {as_of.isoformat()}，已改为当年 1 月 1 日")
        since = default_since(as_of)
    indicators = [BY_CODE[c] for c in CLOSURE_COLUMNS]

    def cells(row: dict) -> list:
        return [(i, i.display(row[i.code])) for i in indicators]

    code = user_region(request.user)
    level = regions.code_level(code) if code else "county"
    # a county sees its townships; a township (or village) its villages
    place = (
        ("township", "按乡镇", "乡镇")
        if level in ("county", "city", "province")
        else ("village", "按村", "村")
    )
    tables = []
    by_place = []
    for by, title, head in (place, ("department", "按部门", "部门"), ("rule", "按规则", "规则")):
        rows = selectors.closure_table(request.user, since=since, as_of=as_of, by=by)
        if by == place[0]:
            by_place = rows
        tables.append({"by": by, "title": title, "head": head, "rows": [(r, cells(r)) for r in rows]})
    total = selectors.closure_total(request.user, since=since, as_of=as_of)
    chart = {
        "labels": [r["label"] for r in by_place],
        "raised": [r["alerts.raised"] for r in by_place],
        "on_time": [r["alerts.on_time"] for r in by_place],
        "names": [BY_CODE["alerts.raised"].name, BY_CODE["alerts.on_time"].name],
    }
    region = regions.region_by_code(code) if code and code != "000000000000" else None
    return render(
        request,
        "screening/closure.html",
        {
            "since": since,
            "as_of": as_of,
            "errors": errors,
            "indicators": indicators,
            "tables": tables,
            "total": cells(total),
            "card": {c.split(".", 1)[1]: BY_CODE[c].display(total[c]) for c in CLOSURE_COLUMNS},
            "chart": chart,
            "region": region,
            "place_head": place[2],
        },
    )
