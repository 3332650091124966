"""The one vocabulary: every code has a Chinese and an English label, roles are a view of it, and the
domain rules answer with its members."""

from __future__ import annotations

from datetime import date

import pytest

from rectiflow import roles
from rectiflow.domain import deadlines, vocab
from rectiflow.domain.vocab import ProblemStatus, Role, RoundStatus, WarningColour

MEMBERS = [m for v in vocab.VOCABULARIES for m in v]


def test_every_vocabulary_is_collected():
    names = {v.__name__ for v in vocab.VOCABULARIES}
    assert {"ProblemStatus", "TaskStatus", "InstanceStatus", "WarningColour", "NoticeKind", "ReportKind",
            "ReportStatus", "DeadlineType", "SupervisionStatus", "AcceptanceStep", "AcceptanceDecision",
            "AccountabilityStatus", "AccountabilityOutcome", "RoundStatus", "JobStatus", "Role"} <= names


@pytest.mark.parametrize("member", MEMBERS, ids=lambda m: f"{type(m).__name__}.{m.value}")
def test_every_code_has_a_chinese_and_an_english_label(member):
    zh, en = member.label("zh_CN"), member.label("en")
    assert zh and en
    assert zh != member.value and en != member.value
    assert zh != en, f"{member.msgid!r} has no Chinese translation in the catalogue"


def test_codes_are_unique_within_a_vocabulary_and_compare_as_strings():
    for v in vocab.VOCABULARIES:
        assert len(set(v.codes())) == len(v.codes()), v.__name__
    assert ProblemStatus.CLOSED == "closed" and f"{ProblemStatus.CLOSED}" == "closed"
    assert ProblemStatus("closed") is ProblemStatus.CLOSED


def test_label_renders_a_member_or_a_code_in_the_readers_language():
    assert vocab.label(ProblemStatus.CLOSED, "zh_CN") == "已销号"
    assert vocab.label(ProblemStatus.CLOSED, "en") == "Closed (signed off)"
    assert vocab.label("closed", "zh_CN", RoundStatus) == "已完成"
    assert vocab.label("extension_pending", "en") == "Extension under approval"  # one vocabulary has it
    assert vocab.label("no_such_code", "zh_CN") == "no_such_code"
    assert ProblemStatus.label_of("no_such_code", "zh_CN") == "no_such_code"
    assert ProblemStatus.label_of(None) == ""


def test_a_code_of_several_vocabularies_needs_its_vocabulary():
    with pytest.raises(ValueError, match="several vocabularies"):
        vocab.label("closed", "zh_CN")


def test_check_in_lists_the_codes_and_quotes_them():
    assert vocab.check_in("status", RoundStatus) == "status IN ('feedback', 'planning', 'rectifying', 'closed')"
    assert vocab.check_in("outcome", vocab.AccountabilityOutcome, allow_empty=True).startswith("outcome IN ('', ")
    assert vocab.sql_literal("it's") == "'it''s'"


def test_roles_are_a_view_of_the_role_vocabulary():
    assert Role.codes() == roles.ROLES
    assert roles.role_label("responsible_department", "zh_CN") == "整改责任部门"
    assert roles.role_label("admin", "en") == "Administrator"
    assert roles.role_label("wizard", "zh_CN") == "wizard"
    assert set(Role.codes()) >= roles.OVERSIGHT_ROLES and "responsible_department" not in roles.OVERSIGHT_ROLES


def test_the_no_warning_colour_has_one_label():
    assert WarningColour.NONE.label("zh_CN") == "无预警"
    assert deadlines.COLOURS == ("none", "green", "yellow", "red")
    assert not hasattr(deadlines, "COLOUR_LABELS")


def test_domain_rules_answer_with_vocabulary_members():
    today = date(2025, 4, 1)
    colour = deadlines.colour(date(2025, 3, 31), today, deadlines.Thresholds())
    assert colour is WarningColour.RED and colour == "red"
    flag = deadlines.schedule_flag(date(2025, 1, 1), date(2025, 3, 31), today, 50)
    assert flag is vocab.ScheduleFlag.OVERDUE and flag.label("zh_CN") == "已超期"
    assert vocab.NoticeKind.warning("yellow") is vocab.NoticeKind.WARNING_YELLOW
    with pytest.raises(ValueError):
        vocab.NoticeKind.warning("purple")
