"""The HTTP API (django-ninja): read-only registry for now, same services and scope as the pages."""

import json
from datetime import date

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.shortcuts import render
from ninja import NinjaAPI, Query, Schema
from ninja.openapi.docs import Swagger, _csrf_needed
from ninja.pagination import PageNumberPagination, paginate
from ninja.security import HttpBasicAuth, django_auth

from dixian.core import idcard
from dixian.core.errors import DixianError, NotFound, PermissionDenied
from dixian.registry import selectors
from dixian.registry.exports import mask_phone


class BasicAuth(HttpBasicAuth):
    def authenticate(self, request: HttpRequest, username: str, password: str):
        user = authenticate(request, username=username, password=password)
        if user is not None and user.is_active:
            request.user = user
            return user
        return None


class LocalSwagger(Swagger):
    """The docs page from ninja's own template and static files, which settings puts on the
    template and static paths (ninja is not an installed app there, and ninja's ``Swagger`` would
    then fall back to a page loading its script from a CDN)."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs):
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        context = {
            "swagger_settings": json.dumps(self.settings, indent=1),
            "api": api,
            "add_csrf": _csrf_needed(api),
        }
        return render(request, self.template, context)


api = NinjaAPI(
    title="底线 Dixian API",
    version="1",
    description="防止返贫致贫动态监测帮扶系统接口。登录会话或 HTTP Basic 认证；只返回账户管辖范围内的数据，"
    "证件号码和电话均脱敏。",
    auth=[django_auth, BasicAuth()],
    urls_namespace="api",
    docs=LocalSwagger(),
)


@api.exception_handler(DixianError)
def dixian_error(request, exc: DixianError):
    status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, PermissionDenied) else 400
    return api.create_response(request, {"detail": exc.message, "code": exc.code}, status=status)


class PersonOut(Schema):
    id: int
    household_id: int
    person_no: str
    name: str
    id_number_masked: str
    sex: str
    birth_date: date | None
    relation_to_head: str
    ethnicity: str
    education: str
    student_status: str
    health: str
    labour_skill: str
    work_months: int | None
    medical_insurance: bool | None
    dibao: bool | None
    tekun: bool | None

    @staticmethod
    def resolve_id_number_masked(obj):
        return idcard.mask(obj.id_number)


class HouseholdOut(Schema):
    id: int
    household_no: str
    county_code: str
    township_code: str
    village_code: str
    hamlet: str
    household_type: str
    lifted_year: int | None
    head_name: str
    size: int
    phone_masked: str
    monitoring_category: str
    channel: str
    identified_month: int | None
    risks: list[str]
    risk_eliminated: bool | None
    elimination_mode: str
    eliminated_month: int | None
    risk_status: str
    wage_income: float | None
    business_income: float | None
    property_income: float | None
    transfer_income: float | None
    business_expense: float | None
    per_capita_income: float | None
    declared_per_capita_income: float | None

    @staticmethod
    def resolve_phone_masked(obj):
        return mask_phone(obj.phone)


class HouseholdDetail(HouseholdOut):
    measures: dict[str, str]
    flags: list[str]
    members: list[PersonOut]

    @staticmethod
    def resolve_members(obj):
        return list(selectors.household_members(household=obj))


class HouseholdFilter(Schema):
    q: str = ""
    township: str = ""
    village: str = ""
    household_type: str = ""
    category: str = ""
    risk_status: str = ""
    sort: str = ""


@api.get("/households", response=list[HouseholdOut], tags=["户籍台账"], summary="户列表（筛选、查找、分页）")
@paginate(PageNumberPagination, page_size=50)
def list_households(request, filters: Query[HouseholdFilter]):
    return selectors.household_search(user=request.user, **filters.dict())


@api.get("/households/{household_id}", response=HouseholdDetail, tags=["户籍台账"], summary="户详情及成员")
def get_household(request, household_id: int):
    return selectors.household_get(user=request.user, pk=household_id)


@api.get("/persons", response=list[PersonOut], tags=["户籍台账"], summary="按证件号码或姓名查人")
@paginate(PageNumberPagination, page_size=50)
def list_persons(request, id_number: str = "", name: str = ""):
    qs = selectors.persons(request.user).filter(active=True)
    if id_number:
        qs = qs.filter(id_number=idcard.normalize(id_number))
    if name:
        qs = qs.filter(name__contains=name)
    return qs.order_by("household_id", "position")


@api.get("/persons/{person_id}", response=PersonOut, tags=["户籍台账"], summary="人员详情")
def get_person(request, person_id: int):
    return selectors.person_get(user=request.user, pk=person_id)


from dixian.api.figures import router as figures_router  # noqa: E402

api.add_router("", figures_router)
