"""Load the demo county: a synthetic ledger imported through the normal import path, plus demo accounts."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction

DEMO_PASSWORD = "dixian2026"


def write_demo(*, out: Path, seed: int = 20231, persons: int | None = None) -> int:
    from dixian.core.deployment import jurisdiction_code
    from dixian.registry.demo import generate_ledger, write_ledger

    try:
        county = jurisdiction_code()[:6]
    except Exception:  # no database yet: the demo county of the docs
        county = "140724"
    frame = generate_ledger(county_code=county, seed=seed, persons=persons)
    write_ledger(frame, Path(out))
    return frame.height


def load_demo(
    *, seed: int = 20231, persons: int | None = None, force: bool = False, console=None, progress=None
):
    from dixian.core.audit import Actor
    from dixian.core.deployment import jurisdiction_code
    from dixian.regions.selectors import code_level
    from dixian.registry.demo import generate_ledger, write_ledger
    from dixian.registry.models import Household
    from dixian.registry.services import import_ledger

    root = jurisdiction_code()
    if persons is None and code_level(root) != "county":
        from dixian.core.errors import ValidationError

        raise ValidationError(
            "默认演示数据按一个县生成：请用 dixian init --region 县级代码，或指定 --persons"
        )
    actor = Actor.cli()
    imported = None
    if Household.objects.exists() and not force:
        if console:
            console.print("已有户籍数据，跳过演示台账导入（如需重新导入请加 --force）。")
    else:
        out_dir = Path(settings.DATA_DIR) / "demo"
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"demo-ledger-{seed}-{persons or 'county'}.csv"
        if console:
            console.print("生成演示台账…")
        frame = generate_ledger(county_code=root[:6], seed=seed, persons=persons)
        write_ledger(frame, path)
        if progress is not None:
            with progress() as bar:
                task = bar.add_task("导入演示台账", total=100)
                imported = import_ledger(
                    actor=actor,
                    path=path,
                    file_name=path.name,
                    progress=lambda s, f: bar.update(task, description=s, completed=f * 100),
                )
        else:
            imported = import_ledger(actor=actor, path=path, file_name=path.name)
        if console:
            s = imported.summary
            console.print(f"演示台账已导入：{s['households_added']} 户 {s['persons_added']} 人。")
        from django.utils import timezone

        from dixian.screening.demo import load_demo_feeds

        alerts = load_demo_feeds(
            actor=actor, out_dir=out_dir / "feeds", county=root[:6] + "000000", as_of=timezone.localdate()
        )
        if console:
            console.print(f"演示部门数据已加载并筛查：新预警 {alerts} 条。")
    accounts = ensure_demo_accounts(root) if code_level(root) == "county" else []
    return {"imported": imported, "accounts": accounts}


def ensure_demo_accounts(county_code: str) -> list[dict]:
    """The demo's five accounts; the township and village are those of the household 万永强."""
    from dixian.accounts.models import Role, User
    from dixian.accounts.services import user_create
    from dixian.core.audit import Actor
    from dixian.regions.models import Region
    from dixian.registry.models import Household

    anchor = (
        Household.objects.filter(county_code=county_code, head_name="万永强").first()
        or Household.objects.filter(county_code=county_code).order_by("village_code").first()
    )
    township = anchor.township_code if anchor else ""
    village = anchor.village_code if anchor else ""
    names = dict(
        Region.objects.filter(code__in=[county_code, township, village]).values_list("code", "short_name")
    )
    wanted = [
        ("admin", Role.COUNTY_ADMIN, county_code, "县级管理员", ""),
        ("leader", Role.LEADER, county_code, "县领导", ""),
        ("staff", Role.COUNTY_STAFF, county_code, "医保局干部", "医保局"),
        ("township", Role.TOWNSHIP_CADRE, township, "乡镇干部", ""),
        ("village", Role.VILLAGE_CADRE, village, "村干部", ""),
    ]
    out = []
    for username, role, code, full_name, dept in wanted:
        if not code:
            continue
        user = User.objects.filter(username=username).first()
        if user is None:
            with transaction.atomic():
                user, _ = user_create(
                    actor=Actor.cli(),
                    username=username,
                    role=role,
                    region_code=code,
                    password=DEMO_PASSWORD,
                    full_name=full_name,
                    department=dept,
                )
        password = DEMO_PASSWORD if user.check_password(DEMO_PASSWORD) else "（已修改）"
        out.append(
            {
                "role": Role(user.role).label,
                "region": names.get(user.region_code, user.region_code),
                "username": username,
                "password": password,
            }
        )
    return out
