"""Region codes and account helpers shared by the tests."""

from __future__ import annotations

XIYANG = "140724000000"
LEPING = "140724100000"  # 乐平镇
LIANGJIAGOU = "140724100204"  # 乐平镇 梁家沟村
LIFUYU = "140724100205"  # 乐平镇 李夫峪村
GAOLUO = "140724101000"  # 皋落镇
SONGXILU = "140724400001"  # 城区 松溪路社区


def make_user(username, role, region_code, **extra):
    from dixian.accounts.models import User

    user = User.objects.create(
        username=username,
        role=role,
        region_code=region_code,
        full_name=extra.pop("full_name", username),
        **extra,
    )
    user.set_password("secret-pass-1")
    user.save()
    return user
