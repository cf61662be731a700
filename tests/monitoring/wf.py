"""Helpers for monitoring tests: a small registry and a complete walk through the review chain."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from dixian.core.audit import Actor
from dixian.monitoring import services
from dixian.monitoring.workflow import Action, Step
from dixian.registry.models import Household
from dixian.registry.services import import_ledger

from ledgers import basic_rows, write_csv

CONSENT = [("承诺授权书.jpg", b"\xff\xd8signed consent")]


def registry(tmp_path):
    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "ledger.csv"))
    return {h.household_no: h for h in Household.objects.all()}


def step_data(step: str, kind: str = "identify") -> tuple[dict, list]:
    today = timezone.localdate()
    if step == Step.VERIFY:
        data = {"findings": "入户核实：户主因病住院，家庭收入下降"}
        if kind == "identify":
            data["consent_signed"] = True
            return data, CONSENT
        return data, []
    if step == Step.CROSS_CHECK:
        return {"result": "无车辆、无商品房、无工商注册"}, []
    if step == Step.VILLAGE_REVIEW:
        return {"meeting_date": (today - timedelta(days=12)).isoformat()}, []
    if step == Step.PUBLICITY:
        return {
            "start": (today - timedelta(days=10)).isoformat(),
            "end": (today - timedelta(days=4)).isoformat(),
        }, []
    return {}, []


def complete(actor, review, kind="identify"):
    data, files = step_data(review.step, kind)
    return services.act(actor=actor, review=review, action=Action.COMPLETE, data=data, files=files)


def walk(review, actors: dict, kind="identify", until=Step.DONE):
    """Complete every step with the right actor: actors maps step -> user."""
    while review.step != until and review.step != Step.DONE:
        review = complete(actors[review.step], review, kind)
    return review
