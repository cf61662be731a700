"""Account writes: validated, audited."""

from __future__ import annotations

import secrets

from django.db import transaction

from dixian.accounts import permissions
from dixian.accounts.models import ROLE_LEVEL, Role, User
from dixian.core import audit
from dixian.core.audit import as_actor
from dixian.core.errors import ValidationError


def _check_region(role: str, region_code: str) -> None:
    from dixian.core.deployment import jurisdiction_code
    from dixian.regions.models import Region

    if role not in Role.values:
        raise ValidationError(
            f"未知角色“{role}”（可选：{'、'.join(f'{r.value}（{r.label}）' for r in Role)}）"
        )
    region = Region.objects.filter(code=region_code).first()
    if region is None:
        raise ValidationError(f"区划代码 {region_code} 不存在")
    want = ROLE_LEVEL[Role(role)]
    if region.level != want:
        level_zh = {"county": "县", "township": "乡镇", "village": "村（社区）"}[want]
        raise ValidationError(
            f"{Role(role).label}应绑定到{level_zh}级区划，{region.name}是{region.get_level_display()}"
        )
    root = jurisdiction_code()
    from dixian.regions.selectors import code_level

    keep = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}[code_level(root)]
    if region_code[:keep] != root[:keep]:
        raise ValidationError(f"{region.name}不在本系统的管辖范围内")


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    role: str,
    region_code: str,
    password: str | None = None,
    full_name: str = "",
    department: str = "",
) -> tuple[User, str]:
    """Create an account bound to a region; returns the user and the password (generated if not given)."""
    actor = as_actor(actor)
    permissions.require(actor.user, permissions.MANAGE_USERS)
    username = (username or "").strip()
    if not username:
        raise ValidationError("用户名不能为空")
    if User.objects.filter(username=username).exists():
        raise ValidationError(f"用户名“{username}”已存在")
    _check_region(role, region_code)
    password = password or secrets.token_urlsafe(9)
    if len(password) < 8:
        raise ValidationError("密码至少 8 位")
    user = User(
        username=username, role=role, region_code=region_code, full_name=full_name, department=department
    )
    user.set_password(password)
    user.save()
    audit.record(
        actor=actor,
        action="user.add",
        object_type="user",
        object_id=user.pk,
        object_label=username,
        county_code=region_code[:6] + "000000",
        details={"role": role, "region_code": region_code},
    )
    return user, password


@transaction.atomic
def user_set_password(*, actor, username: str, password: str) -> User:
    actor = as_actor(actor)
    permissions.require(actor.user, permissions.MANAGE_USERS)
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ValidationError(f"用户名“{username}”不存在")
    if len(password) < 8:
        raise ValidationError("密码至少 8 位")
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(
        actor=actor,
        action="user.update",
        object_type="user",
        object_id=user.pk,
        object_label=username,
        county_code=user.region_code[:6] + "000000",
        details={"field": "password"},
    )
    return user
