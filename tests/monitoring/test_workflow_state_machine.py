"""A hypothesis state machine drives random actions by random accounts through the review chain and
checks after every step that no illegal state is reached and that every decision is on the record."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from wf import step_data

from dixian.accounts.scoping import covers
from dixian.core.errors import DixianError
from dixian.core.models import AuditEvent
from dixian.monitoring import services
from dixian.monitoring.models import CaseStatus, Decision, Lead, MonitoringCase, PolicyValue, Review
from dixian.monitoring.workflow import STEP_ROLES, STEPS, Action, Step
from dixian.registry.models import Household

from testdata import make_user

ROLES = ["village", "other_village", "township", "other_township", "county_admin", "staff", "leader"]
CATEGORIES = ["unstable_lifted", "marginal", "sudden_hardship"]
RISKS = ["illness", "disability", "disaster", "accident", "schooling"]
OPEN = (CaseStatus.REVIEWING, CaseStatus.MONITORED, CaseStatus.ELIMINATING)


class ReviewChain(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        n = getattr(ReviewChain, "_n", 0) + 1
        ReviewChain._n = n
        self.users = {
            "village": make_user(f"v{n}", "village_cadre", "140724100204"),
            "other_village": make_user(f"ov{n}", "village_cadre", "140724100205"),
            "township": make_user(f"t{n}", "township_cadre", "140724100000"),
            "other_township": make_user(f"ot{n}", "township_cadre", "140724101000"),
            "county_admin": make_user(f"c{n}", "county_admin", "140724000000"),
            "staff": make_user(f"s{n}", "county_staff", "140724000000"),
            "leader": make_user(f"l{n}", "leader", "140724000000"),
        }
        self.households = list(Household.objects.filter(household_no__in=["H001", "H002", "H003"]))
        self.successes: dict[int, int] = {}  # review id -> decisions the machine saw succeed
        self.events_before = AuditEvent.objects.count()
        self.actions_ok = 0

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def _count(self, review_id: int, n: int = 1):
        self.successes[review_id] = self.successes.get(review_id, 0) + n
        self.actions_ok += 1

    @rule(h=st.integers(0, 2), who=st.sampled_from(ROLES))
    def record_lead(self, h, who):
        try:
            services.record_lead(
                actor=self.users[who],
                household=self.households[h],
                channel="cadre_visit",
                description="排查发现",
                risks=["illness"],
            )
            self.actions_ok += 1
        except DixianError:
            pass

    @rule(
        who=st.sampled_from(ROLES),
        category=st.sampled_from(CATEGORIES),
        risks=st.lists(st.sampled_from(RISKS), min_size=0, max_size=3),
        fast=st.booleans(),
    )
    def start(self, who, category, risks, fast):
        lead = Lead.objects.filter(status=Lead.Status.NEW, household__in=self.households).first()
        if lead is None:
            return
        measures = [{"kind": "health", "content": "先行救助", "helper_name": "王"}] if fast else None
        try:
            review = services.start_identification(
                actor=self.users[who],
                lead=lead,
                category=category,
                risks=risks,
                fast_track=fast,
                measures=measures,
            )
            self._count(review.pk, 2 if fast else 1)
        except DixianError:
            pass

    @rule(
        who=st.sampled_from(ROLES),
        action=st.sampled_from([Action.COMPLETE, Action.COMPLETE, Action.REJECT, Action.RETURN]),
        valid=st.booleans(),
        pick=st.integers(0, 10),
    )
    def act(self, who, action, valid, pick):
        reviews = list(
            Review.objects.filter(case__household__in=self.households)
            .exclude(state=Review.State.APPROVED, pending_after={})
            .exclude(state=Review.State.REJECTED)
            .order_by("id")
        )
        if not reviews:
            return
        review = reviews[pick % len(reviews)]
        step = (
            review.step
            if review.state == Review.State.OPEN
            else next((s for s in STEPS if s in review.pending_after), Step.DONE)
        )
        data, files = step_data(step, review.kind) if valid else ({}, [])
        try:
            services.act(
                actor=self.users[who],
                review=review,
                action=action,
                data=data,
                files=files,
                comment="理由" if action != Action.COMPLETE else "",
            )
            self._count(review.pk)
        except DixianError:
            pass

    @rule(who=st.sampled_from(ROLES), good=st.booleans())
    def propose_elimination(self, who, good):
        case = MonitoringCase.objects.filter(
            household__in=self.households, status=CaseStatus.MONITORED
        ).first()
        if case is None:
            return
        checklist = {"rigid_expense_resolved": good, "guarantees_secured": good}
        try:
            review = services.propose_elimination(
                actor=self.users[who], case=case, mode="assisted", checklist=checklist
            )
            self._count(review.pk)
        except DixianError:
            pass

    @invariant()
    def at_most_one_open_spell(self):
        for h in self.households:
            assert MonitoringCase.objects.filter(household=h, status__in=OPEN).count() <= 1

    @invariant()
    def case_and_reviews_agree(self):
        for case in MonitoringCase.objects.filter(household__in=self.households, source="workflow"):
            open_reviews = list(case.reviews.filter(state=Review.State.OPEN))
            assert len(open_reviews) <= 1
            if case.status == CaseStatus.REVIEWING:
                assert open_reviews and open_reviews[0].kind == "identify"
            elif case.status == CaseStatus.ELIMINATING:
                assert open_reviews and open_reviews[0].kind == "eliminate"
            else:
                assert not open_reviews
            if case.status in (CaseStatus.MONITORED, CaseStatus.ELIMINATING, CaseStatus.ELIMINATED):
                assert case.identified_month is not None
                services.check_category(case.household.household_type, case.category)
                assert 1 <= len(case.risks) <= 5

    @invariant()
    def every_decision_is_on_the_record_and_legal(self):
        for review_id, n in self.successes.items():
            review = Review.objects.get(pk=review_id)
            decisions = list(Decision.objects.filter(review=review).order_by("id"))
            assert len(decisions) == n
            household = review.case.household
            for d in decisions:
                if d.action == Action.COMPLETE and not (
                    review.fast_track and d.step == Step.COUNTY_APPROVAL and d.data.get("fast_track")
                ):
                    assert d.actor.role in STEP_ROLES[d.step], (d.step, d.actor.role)
                    assert covers(d.actor, household.village_code)
            if review.state == Review.State.APPROVED and not review.fast_track:
                completed = [d.step for d in decisions if d.action == Action.COMPLETE]
                assert completed[-1] == Step.COUNTY_APPROVAL
                assert set(STEPS) <= set(completed)
            if review.state == Review.State.OPEN:
                assert review.step in STEPS
            else:
                assert review.step == Step.DONE

    @invariant()
    def every_success_is_audited(self):
        assert AuditEvent.objects.count() - self.events_before >= self.actions_ok


@pytest.mark.django_db
def test_review_chain_state_machine(tmp_path):
    from dixian.core.audit import Actor
    from dixian.registry.services import import_ledger

    from ledgers import basic_rows, write_csv

    import_ledger(actor=Actor.cli(), path=write_csv(basic_rows(), tmp_path / "l.csv"))
    from django.utils import timezone

    PolicyValue.objects.get_or_create(
        key="monitoring_line",
        region_code="140000000000",
        year=timezone.localdate().year,
        defaults={"value": 7600},
    )
    run_state_machine_as_test(
        ReviewChain,
        settings=settings(
            max_examples=30,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
