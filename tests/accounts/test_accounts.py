"""Accounts: the create service (happy path, each refusal, audit), permissions and scope."""

from __future__ import annotations

import pytest

from dixian.accounts import permissions
from dixian.accounts.models import User
from dixian.accounts.scoping import covers, scope_q
from dixian.accounts.services import user_create, user_set_password
from dixian.core.audit import Actor, record
from dixian.core.errors import PermissionDenied, ValidationError
from dixian.core.models import AuditEvent

from testdata import LEPING, LIANGJIAGOU, XIYANG

pytestmark = pytest.mark.django_db
CLI = Actor.cli()


def test_create_account_and_its_audit():
    user, password = user_create(
        actor=CLI, username="wang", role="village_cadre", region_code=LIANGJIAGOU, full_name="王某"
    )
    assert user.check_password(password) and len(password) >= 8
    assert user.role_label == "村干部"
    event = AuditEvent.objects.get(action="user.add")
    assert event.object_label == "wang" and event.details == {
        "role": "village_cadre",
        "region_code": LIANGJIAGOU,
    }
    assert event.county_code == XIYANG


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": "", "role": "leader", "region_code": XIYANG}, "用户名不能为空"),
        ({"username": "a", "role": "mayor", "region_code": XIYANG}, "未知角色"),
        ({"username": "a", "role": "leader", "region_code": "149999999999"}, "不存在"),
        ({"username": "a", "role": "village_cadre", "region_code": LEPING}, "应绑定到村（社区）级区划"),
        ({"username": "a", "role": "township_cadre", "region_code": XIYANG}, "应绑定到乡镇级区划"),
        ({"username": "a", "role": "leader", "region_code": "140702000000"}, "不在本系统的管辖范围内"),
        ({"username": "a", "role": "leader", "region_code": XIYANG, "password": "short"}, "至少 8 位"),
    ],
)
def test_create_refusals(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        user_create(actor=CLI, **kwargs)
    assert not AuditEvent.objects.filter(action="user.add").exists()
    assert not User.objects.filter(username="a").exists()


def test_duplicate_username():
    user_create(actor=CLI, username="dup", role="leader", region_code=XIYANG)
    with pytest.raises(ValidationError, match="已存在"):
        user_create(actor=CLI, username="dup", role="leader", region_code=XIYANG)


def test_only_county_admin_manages_accounts(township_cadre, county_admin):
    with pytest.raises(PermissionDenied, match="只有县级管理员"):
        user_create(actor=township_cadre, username="x", role="village_cadre", region_code=LIANGJIAGOU)
    user, _ = user_create(actor=county_admin, username="x", role="village_cadre", region_code=LIANGJIAGOU)
    assert AuditEvent.objects.get(action="user.add").actor == county_admin


def test_set_password(county_admin):
    user_create(actor=CLI, username="p", role="leader", region_code=XIYANG)
    user_set_password(actor=CLI, username="p", password="new-password-9")
    assert User.objects.get(username="p").check_password("new-password-9")
    assert AuditEvent.objects.filter(action="user.update", object_label="p").exists()
    with pytest.raises(ValidationError, match="不存在"):
        user_set_password(actor=CLI, username="nobody", password="new-password-9")
    with pytest.raises(ValidationError, match="至少 8 位"):
        user_set_password(actor=CLI, username="p", password="x")


def test_permission_table(county_admin, leader, township_cadre, village_cadre):
    assert permissions.has_perm(county_admin, permissions.EXPORT_FULL_ID)
    assert not permissions.has_perm(leader, permissions.IMPORT_LEDGER)
    assert permissions.has_perm(village_cadre, permissions.IMPORT_LEDGER)
    assert not permissions.has_perm(township_cadre, permissions.VIEW_AUDIT)
    assert permissions.has_perm(None, permissions.EXPORT_FULL_ID)  # the command-line operator
    village_cadre.is_active = False
    assert not permissions.has_perm(village_cadre, permissions.IMPORT_LEDGER)


def test_scope_and_covers(county_admin, township_cadre, village_cadre):
    assert str(scope_q(village_cadre)) == str(scope_q(village_cadre))
    assert covers(village_cadre, LIANGJIAGOU) and not covers(village_cadre, "140724100205")
    assert covers(township_cadre, "140724100205") and not covers(township_cadre, "140724101001")
    assert covers(county_admin, "140724400001") and not covers(county_admin, "140702100001")
    nobody = User(username="n", role="village_cadre", region_code="")
    assert not covers(nobody, LIANGJIAGOU)


def test_audit_record_needs_a_transaction():
    from django.db import transaction

    with pytest.raises(RuntimeError):
        # pytest-django wraps each test in a transaction; leave it to prove the guard
        with transaction.atomic():
            pass
        conn = transaction.get_connection()
        was = conn.in_atomic_block
        conn.in_atomic_block = False
        try:
            record(actor=CLI, action="x")
        finally:
            conn.in_atomic_block = was
