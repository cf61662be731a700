"""The review chain as a transition table with guards.

入户核实 → 信息比对 → 村级民主评议 → 公示 → 乡镇审核 → 县级审定, the same chain for identification and for
risk elimination. Each step is taken by a role of the right level for the household's place; any step can
reject (the review ends) or return for revision (back one step). Guards say, in Chinese, why a step cannot
be completed yet. Decisions are appended, never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import models

from dixian.accounts.models import Role
from dixian.accounts.scoping import covers
from dixian.core.errors import PermissionDenied, ValidationError


class Step(models.TextChoices):
    VERIFY = "verify", "入户核实"
    CROSS_CHECK = "cross_check", "信息比对"
    VILLAGE_REVIEW = "village_review", "村级民主评议"
    PUBLICITY = "publicity", "公示"
    TOWNSHIP_REVIEW = "township_review", "乡镇审核"
    COUNTY_APPROVAL = "county_approval", "县级审定"
    DONE = "done", "已办结"


class Action(models.TextChoices):
    START = "start", "发起"
    COMPLETE = "complete", "通过"
    REJECT = "reject", "不予通过"
    RETURN = "return", "退回修改"
    OBJECT = "object", "登记异议"
    ANSWER = "answer", "答复异议"


STEPS = [
    Step.VERIFY,
    Step.CROSS_CHECK,
    Step.VILLAGE_REVIEW,
    Step.PUBLICITY,
    Step.TOWNSHIP_REVIEW,
    Step.COUNTY_APPROVAL,
]

# Who takes each step (and the level whose region must cover the household).
STEP_ROLES: dict[str, set[str]] = {
    Step.VERIFY: {Role.VILLAGE_CADRE, Role.TOWNSHIP_CADRE},
    Step.CROSS_CHECK: {Role.COUNTY_STAFF, Role.COUNTY_ADMIN},
    Step.VILLAGE_REVIEW: {Role.VILLAGE_CADRE},
    Step.PUBLICITY: {Role.VILLAGE_CADRE},
    Step.TOWNSHIP_REVIEW: {Role.TOWNSHIP_CADRE},
    Step.COUNTY_APPROVAL: {Role.COUNTY_ADMIN},
}
ROLE_NAMES = {
    Step.VERIFY: "村干部（或乡镇干部）",
    Step.CROSS_CHECK: "县直部门人员或县级管理员",
    Step.VILLAGE_REVIEW: "村干部",
    Step.PUBLICITY: "村干部",
    Step.TOWNSHIP_REVIEW: "乡镇干部",
    Step.COUNTY_APPROVAL: "县级管理员",
}

# Deadline policy key of each step.
STEP_DEADLINE_KEY = {
    Step.VERIFY: "deadline.verify",
    Step.CROSS_CHECK: "deadline.cross_check",
    Step.VILLAGE_REVIEW: "deadline.village_review",
    Step.PUBLICITY: "deadline.publicity",
    Step.TOWNSHIP_REVIEW: "deadline.township_review",
    Step.COUNTY_APPROVAL: "deadline.county_approval",
}

# The transition table: (step, action) -> next step; None = the review ends.
TRANSITIONS: dict[tuple[str, str], str | None] = {}
for i, s in enumerate(STEPS):
    TRANSITIONS[(s, Action.COMPLETE)] = STEPS[i + 1] if i + 1 < len(STEPS) else Step.DONE
    TRANSITIONS[(s, Action.REJECT)] = None
    if i > 0:
        TRANSITIONS[(s, Action.RETURN)] = STEPS[i - 1]


@dataclass(frozen=True)
class Move:
    step: str
    action: str
    next_step: str | None  # None: rejected; Step.DONE: approved


def step_label(step: str) -> str:
    return Step(step).label if step in Step.values else step


def check_actor(user, step: str, village_code: str) -> None:
    """The user must hold a role of the step and a region that covers the household."""
    if user is None:
        raise PermissionDenied("审核操作必须由登录的账户办理")
    if not user.is_superuser and user.role not in STEP_ROLES[step]:
        raise PermissionDenied(f"“{step_label(step)}”环节应由{ROLE_NAMES[step]}办理")
    if not covers(user, village_code):
        raise PermissionDenied("该户不在您的管辖范围内")


def move(step: str, action: str) -> Move:
    if step == Step.DONE:
        raise ValidationError("该审核已办结，不能再操作")
    key = (step, action)
    if key not in TRANSITIONS:
        if action == Action.RETURN:
            raise ValidationError(f"“{step_label(step)}”是第一个环节，不能退回")
        raise ValidationError(f"“{step_label(step)}”环节不能进行“{Action(action).label}”操作")
    return Move(step=step, action=action, next_step=TRANSITIONS[key])


def publicity_days(start: date, end: date) -> int:
    """Days of public notice, both ends included."""
    return (end - start).days + 1
