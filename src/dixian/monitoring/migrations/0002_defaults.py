"""Ship the default channels and the confirmed policy values (editable afterwards)."""

from decimal import Decimal

from django.db import migrations

CHANNELS = [
    ("self_report", "农户自主申报"),
    ("cadre_visit", "干部日常排查"),
    ("screening", "集中排查"),
    ("department_alert", "部门筛查预警"),
    ("public_supervision", "社会监督"),
    ("linked", "关联监测"),
]

NATIONAL = "000000000000"
VALUES = [
    ("monitoring_line", NATIONAL, 2021, "6000", "中农组发〔2021〕7号：脱贫攻坚期国家扶贫标准的1.5倍"),
    ("monitoring_line", "140000000000", 2023, "7100", "山西青年报 2023-09-04：全省今年7100元监测线"),
    ("min_publicity_days", NATIONAL, 2021, "5", "各地识别、消除程序：公示不少于5天"),
    ("min_months_before_elimination", NATIONAL, 2021, "6", "收入持续稳定，原则上不得低于半年"),
    ("deadline.verify", NATIONAL, 2021, "3", "入户核实3天（某省规定，可按本地规定修改）"),
    ("deadline.cross_check", NATIONAL, 2021, "5", "信息比对5天（某省规定，可按本地规定修改）"),
    ("deadline.village_review", NATIONAL, 2021, "5", "默认值，可按本地规定修改"),
    ("deadline.publicity", NATIONAL, 2021, "10", "含5天公示期，默认值，可按本地规定修改"),
    ("deadline.township_review", NATIONAL, 2021, "3", "默认值，可按本地规定修改"),
    ("deadline.county_approval", NATIONAL, 2021, "3", "默认值，可按本地规定修改"),
]


def forwards(apps, schema_editor):
    Channel = apps.get_model("monitoring", "Channel")
    PolicyValue = apps.get_model("monitoring", "PolicyValue")
    for order, (code, label) in enumerate(CHANNELS):
        Channel.objects.get_or_create(code=code, defaults={"label": label, "order": order})
    for key, region, year, value, source in VALUES:
        PolicyValue.objects.get_or_create(key=key, region_code=region, year=year,
                                          defaults={"value": Decimal(value), "source": source,
                                                    "updated_by": "系统预置"})


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
