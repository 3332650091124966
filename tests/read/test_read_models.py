"""The read models (rectiflow.read) on SQLite and PostgreSQL: pages with the true total in a stable order,
typed filters that refuse bad values naming the parameter, and the same rows for the page and the export."""

from __future__ import annotations

from datetime import date

import pytest
from read_support import ledger_rows

from rectiflow.domain.vocab import ProblemStatus, WarningColour
from rectiflow.errors import InvalidInput, NotFound
from rectiflow.read import ledger as read_ledger
from rectiflow.read import rounds as read_rounds
from rectiflow.read.inbox import InboxFilter
from rectiflow.read.ledger import LedgerFilter
from rectiflow.read.paging import MAX_PER_PAGE, PageRequest
from rectiflow.read.params import MAX_ID
from rectiflow.read.problems import visible_problem
from rectiflow.read.rounds import RoundFilter


def test_1200_rows_page_with_the_true_total_in_a_stable_order(rt, org):
    ledger_rows(rt, org, 1200)
    office = org["actors"]["office"]
    with rt.reads() as s:
        first = read_ledger.ledger_page(s, office, LedgerFilter(), PageRequest())
        assert (first.total, first.pages, len(first.rows), first.per_page) == (1200, 24, 50, 50)
        seen = []
        for n in range(1, first.pages + 1):
            page = read_ledger.ledger_page(s, office, LedgerFilter(), PageRequest(n, 50))
            seen += [p.id for p in page.rows]
        assert len(seen) == len(set(seen)) == 1200  # no row on two pages, none on no page
        assert [p.number for p in first.rows[:3]] == ["1", "2", "3"]
        big = read_ledger.ledger_page(s, office, LedgerFilter(), PageRequest(3, MAX_PER_PAGE))
        assert (big.total, len(big.rows), big.pages, big.next_page, big.previous_page) == (1200, 200, 3, None, 2)
        past = read_ledger.ledger_page(s, office, LedgerFilter(), PageRequest(25, 50))
        assert past.rows == [] and past.total == 1200 and past.next_page is None
        assert len(read_ledger.export_rows(s, office, LedgerFilter())) == 1200  # the export: every row


def test_filters_narrow_the_total_and_respect_scope(rt, org):
    round_id = ledger_rows(rt, org, 120)
    ledger_rows(rt, org, 7, unit="plant_a_hr", title="第二轮", number=2)
    office, a_hr, b_rect = (org["actors"][k] for k in ("office", "a_hr", "b_rect"))
    with rt.reads() as s:
        def total(actor, **kw):
            return read_ledger.ledger_page(s, actor, LedgerFilter(**kw), PageRequest()).total

        assert total(office) == 127 and total(a_hr) == 7 and total(b_rect) == 0
        assert total(office, round=round_id) == 120
        assert total(office, colour=WarningColour.RED) == 30 + 1  # 120/4, and one of the seven
        assert total(office, supervised=True) == 40 + 3
        assert total(office, status=ProblemStatus.CLOSED) == 0
        assert total(office, unit=org["units"]["plant_a_hr"]) == 7
        assert total(office, due_by=date(2025, 1, 1)) == 5 + 1  # day 1 of every 28
        # a unit out of sight narrows nothing: b_rect still sees nothing, and never plant A's rows
        assert total(b_rect, unit=org["units"]["plant_a"]) == 0
        summary = read_ledger.ledger_summary(s, office, LedgerFilter(round=round_id))
        assert summary.by_colour == {"none": 30, "green": 30, "yellow": 30, "red": 30}
        assert summary.total_visible == 127 and [r.title for r in summary.rounds] == ["第二轮", "第一轮"]


@pytest.mark.parametrize("args, name", [
    ({"round": str(2**63)}, "round"), ({"round": "-1"}, "round"), ({"round": "0"}, "round"),
    ({"unit": "1e3"}, "unit"), ({"unit": "9" * 5000}, "unit"), ({"status": "gone"}, "status"),
    ({"colour": "purple"}, "colour"), ({"supervised": "maybe"}, "supervised"), ({"due_by": "31/01/2025"}, "due_by"),
    ({"category": "x" * 17}, "category"), ({"category": "a\x00b"}, "category"),
])
def test_bad_ledger_filter_values_name_the_parameter(args, name):
    with pytest.raises(InvalidInput) as err:
        LedgerFilter.from_args(args)
    assert list(err.value.errors) == [name] and err.value.details["param"] == name


@pytest.mark.parametrize("args, name", [
    ({"per_page": "0"}, "per_page"), ({"per_page": "-1"}, "per_page"), ({"per_page": "501"}, "per_page"),
    ({"per_page": "x"}, "per_page"), ({"page": "0"}, "page"), ({"page": "1" * 30}, "page"), ({"page": " "}, None),
])
def test_bad_page_requests_name_the_parameter(args, name):
    if name is None:
        assert PageRequest.from_args(args) == PageRequest()  # blank is the default
        return
    with pytest.raises(InvalidInput) as err:
        PageRequest.from_args(args)
    assert list(err.value.errors) == [name]


def test_typed_filters_refuse_bad_values_when_built_directly():
    with pytest.raises(InvalidInput):
        LedgerFilter(round=MAX_ID + 1)
    with pytest.raises(InvalidInput):
        InboxFilter(due="tomorrow")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        RoundFilter(year=3000)
    with pytest.raises(InvalidInput):
        PageRequest(1, MAX_PER_PAGE + 1)
    assert LedgerFilter(round=MAX_ID).args() == {"round": str(MAX_ID)}
    assert InboxFilter.from_args({"due": "week", "round": "7"}).args() == {"due": "week", "round": "7"}


def test_rounds_are_paged_newest_first_and_visible_by_scope(rt, org):
    ids = [ledger_rows(rt, org, 1, title=f"轮次{n}", number=n) for n in range(1, 4)]
    office, b_rect, a_hr = (org["actors"][k] for k in ("office", "b_rect", "a_hr"))
    with rt.reads() as s:
        page = read_rounds.rounds_page(s, office, RoundFilter(), PageRequest(1, 2))
        assert page.total == 3 and [r.id for r, _u in page.rows] == [ids[2], ids[1]]
        assert read_rounds.rounds_page(s, b_rect, RoundFilter(), PageRequest()).total == 0
        # a department sees a round through its own problem (the rows are in plant A's finance department)
        assert read_rounds.rounds_page(s, org["actors"]["a_fin"], RoundFilter(), PageRequest()).total == 3
        assert read_rounds.rounds_page(s, a_hr, RoundFilter(), PageRequest()).total == 0
        with pytest.raises(NotFound):
            read_rounds.visible_round(s, b_rect, ids[0])
        with pytest.raises(NotFound):
            visible_problem(s, b_rect, read_ledger.export_rows(s, office, LedgerFilter())[0]["id"])
        with pytest.raises(InvalidInput):
            visible_problem(s, office, 2**63)
