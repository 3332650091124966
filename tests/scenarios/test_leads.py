"""问题线索移交 (SQLite and PostgreSQL): recorded by the inspection office, followed up by the discipline
committee, confidential to those who handle leads, counted separately, bad input writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rectiflow.db.audit import AuditEvent
from rectiflow.db.domain import LeadReferral
from rectiflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from rectiflow.services.chain import leads as chain_leads
from scenarios.test_round import open_round


def refer(rt, org, who, round_id, summary="某领导干部违规收受礼金线索", receiver="discipline_committee", day=None):
    with rt.sessions.begin() as s:
        return chain_leads.refer(s, rt.clock, org["actors"][who], round_id, summary, receiver,
                                 day or rt.clock.today().isoformat())


def follow(rt, org, who, lead_id, status, outcome=""):
    with rt.sessions.begin() as s:
        return chain_leads.follow_up(s, rt.clock, org["actors"][who], lead_id, status, outcome)


def n_leads(rt):
    with rt.reads() as s:
        return s.scalar(select(func.count()).select_from(LeadReferral))


def test_refer_follow_up_and_conclude(rt, chain):
    org = chain
    round_id, _ = open_round(rt, org)
    first = refer(rt, org, "office", round_id)
    second = refer(rt, org, "office", round_id, "选人用人问题线索", "organisation_department")
    assert (first.number, second.number, first.status) == (1, 2, "referred")
    follow(rt, org, "a_jw", first.id, "verifying")
    done = follow(rt, org, "a_jw", first.id, "concluded", "已立案审查")
    assert (done.status, done.outcome) == ("concluded", "已立案审查")
    with pytest.raises(Conflict):
        follow(rt, org, "a_jw", first.id, "verifying")
    with rt.reads() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action.like("lead.%")).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["lead.referred", "lead.referred", "lead.verifying", "lead.concluded"]
        assert all("礼金" not in str(e.payload) for e in events)  # the log names a lead, never its content
        assert chain_leads.count_visible(s, org["actors"]["office"], [round_id]) == 2


def test_confidential_to_those_who_handle_leads(rt, chain):
    org = chain
    round_id, _ = open_round(rt, org)
    lead = refer(rt, org, "office", round_id)
    with rt.reads() as s:
        for who in ("office", "leader", "a_jw"):
            assert [x.id for x in chain_leads.leads(s, org["actors"][who], round_id)] == [lead.id]
        for who in ("a_rect", "a_fin", "a_boss", "b_rect"):
            assert chain_leads.leads(s, org["actors"][who], round_id) is None
            assert chain_leads.count_visible(s, org["actors"][who], [round_id]) is None
    for who in ("a_rect", "a_jw", "leader"):
        with pytest.raises(Forbidden):
            refer(rt, org, who, round_id)
    with pytest.raises(NotFound):  # out of scope looks missing
        follow(rt, org, "a_rect", lead.id, "verifying")
    with pytest.raises(Forbidden):  # may see it, but the follow-up is the discipline committee's
        follow(rt, org, "leader", lead.id, "verifying")
    assert n_leads(rt) == 1


@pytest.mark.parametrize(("summary", "receiver", "day", "field"), [
    ("  ", "discipline_committee", None, "summary"),
    ("线索" * 1001, "discipline_committee", None, "summary"),
    ("线索", "newspaper", None, "receiver"),
    ("线索", "discipline_committee", "2025-13-40", "referred_on"),
    ("线索", "discipline_committee", "tomorrow", "referred_on"),
])
def test_bad_input_names_the_field_and_writes_nothing(rt, chain, summary, receiver, day, field):
    org = chain
    round_id, _ = open_round(rt, org)
    if day == "tomorrow":
        day = (rt.clock.today() + timedelta(days=1)).isoformat()
    with pytest.raises(InvalidInput) as exc:
        refer(rt, org, "office", round_id, summary, receiver, day)
    assert field in exc.value.errors and n_leads(rt) == 0
    lead = refer(rt, org, "office", round_id)
    with pytest.raises(InvalidInput) as exc:
        follow(rt, org, "a_jw", lead.id, "concluded", "")
    assert "outcome" in exc.value.errors
    with pytest.raises(InvalidInput):
        follow(rt, org, "a_jw", lead.id, "reopened", "x")
