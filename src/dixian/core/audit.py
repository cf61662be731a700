"""Audit: one AuditEvent per write, in the caller's transaction (Zulip RealmAuditLog style)."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction

from dixian.core.models import AuditEvent, FieldChange


@dataclass(frozen=True)
class Actor:
    """Who acts: a logged-in user (web/API) or the operator at the command line."""

    user: object | None
    channel: str = "web"

    @property
    def name(self) -> str:
        if self.user is not None:
            full = getattr(self.user, "full_name", "") or ""
            return f"{full}（{self.user.username}）" if full else self.user.username
        try:
            who = getpass.getuser()
        except Exception:  # pragma: no cover - no login name in some containers
            who = "operator"
        return f"命令行操作员（{who}）"

    @classmethod
    def cli(cls) -> Actor:
        return cls(user=None, channel="cli")


def canonical_text(value):
    """A value as the text kept in FieldChange rows and compared for "changed or not"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{Decimal(str(value)):.2f}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def as_actor(who) -> Actor:
    if isinstance(who, Actor):
        return who
    return Actor(user=who)


def record(
    *,
    actor,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    object_label: str = "",
    county_code: str = "",
    township_code: str = "",
    village_code: str = "",
    details: dict | None = None,
    changes: Iterable[tuple[str, str, object, object]] = (),
) -> AuditEvent:
    """Write an audit event (and its field changes) inside the current transaction.

    ``changes`` holds ``(object_type, object_id, field, old, new)`` tuples or ``(field, old, new)``
    for the event's own object.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the service's transaction")
    actor = as_actor(actor)
    event = AuditEvent.objects.create(
        actor=actor.user,
        actor_name=actor.name,
        channel=actor.channel,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_label=object_label[:200],
        county_code=county_code,
        township_code=township_code,
        village_code=village_code,
        details=details or {},
    )
    rows = []
    for change in changes:
        if len(change) == 3:
            field, old, new = change
            otype, oid = object_type, str(object_id)
        else:
            otype, oid, field, old, new = change
        rows.append(
            FieldChange(
                event=event,
                object_type=otype,
                object_id=str(oid),
                field=field,
                old=None if old is None else str(old),
                new=None if new is None else str(new),
            )
        )
    if rows:
        FieldChange.objects.bulk_create(rows, batch_size=2000)
    return event


ACTION_LABELS = {
    "ledger.import": "导入台账",
    "ledger.import_refused": "台账导入被拒绝",
    "ledger.export": "导出台账",
    "person.reveal_id_number": "查看完整证件号码",
    "household.reveal_phone": "查看完整电话",
    "deployment.set_jurisdiction": "设置管辖区域",
    "regions.load": "加载区划代码",
    "user.add": "新建账户",
    "user.update": "修改账户",
    "demo.load": "加载演示数据",
    "household.register": "新建农户",
    "lead.record": "记录风险线索",
    "lead.close": "线索核实后不纳入",
    "review.start": "发起审核",
    "review.complete": "审核通过",
    "review.complete_after": "补办审核环节",
    "review.reject": "审核不予通过",
    "review.return": "审核退回修改",
    "review.object": "登记公示异议",
    "review.answer": "答复公示异议",
    "measure.record": "录入帮扶措施",
    "income.record": "录入收入",
    "policy.set": "修改政策参数",
    "quality.export": "导出数据质量检查结果",
    "stats.export": "导出监测数据",
    "figures.publish": "封账（发布统计数据）",
    "channel.save": "修改识别途径",
    "feed.load": "加载部门数据",
    "feed.mapping": "设置部门表头对应",
    "rule.save": "保存预警规则版本",
    "screen.run": "运行筛查",
    "screen.replay": "回放筛查",
    "alert.assign": "分派预警",
    "alert.verify": "核实预警",
    "briefing.generate": "生成工作信息",
    "tables.export": "导出统计报表",
    "alert.reveal_id_number": "查看预警中的完整证件号码",
}
