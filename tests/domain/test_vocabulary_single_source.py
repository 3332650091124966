"""The vocabulary is the one source of the codes that other modules used to list again: report milestone
kinds, notice kinds, webhook channels, unit kinds and instance transitions all come from it."""

from __future__ import annotations

import pytest

from rectiflow.domain import schedules
from rectiflow.domain.deadlines import ConfigError
from rectiflow.domain.vocab import DeliveryChannel, InstanceStatus, NoticeKind, ReportKind, Role
from rectiflow.services import notifications
from rectiflow.services.workflow import instances


def test_milestone_kinds_are_report_kinds():
    for preset in schedules.SCHEDULE_PRESETS.values():
        assert all(isinstance(m.kind, ReportKind) for m in preset.milestones)
        assert [m.kind for m in preset.milestones] == list(ReportKind)
        assert all(isinstance(r, Role) for m in preset.milestones for r in m.recipients)
    assert not hasattr(schedules, "MILESTONE_KINDS") and not hasattr(schedules, "MILESTONE_KIND_LABELS")


def test_an_unknown_milestone_kind_is_refused_naming_the_vocabularys_kinds():
    data = schedules.template_to_dict(schedules.SCHEDULE_PRESETS["enterprise"])
    data["milestones"][0]["kind"] = "quarterly_report"
    with pytest.raises(ConfigError) as err:
        schedules.template_from_dict(data)
    message = str(err.value)
    assert "milestones[0].kind: unknown kind 'quarterly_report'" in message
    assert ", ".join(ReportKind.codes()) in message


def test_a_template_stored_as_json_reads_back_with_the_same_kinds():
    preset = schedules.SCHEDULE_PRESETS["regulation"]
    again = schedules.template_from_dict(schedules.template_to_dict(preset))
    assert [m.kind for m in again.milestones] == [m.kind for m in preset.milestones]
    # A kind written into a key is its code (the preset's kinds are members, the stored ones strings).
    assert preset.milestones[0].title_key == again.milestones[0].title_key == "schedule.milestone.plan"


def test_notice_kinds_are_the_vocabulary_and_each_has_a_template():
    assert NoticeKind.codes() == notifications.KINDS
    assert not hasattr(notifications, "KIND_LABELS")
    for kind in NoticeKind:
        assert (notifications.TEMPLATE_DIR / f"{kind}.txt").is_file(), kind


def test_the_admonition_is_labelled_with_the_papers_term():
    """DOMAIN.md: supervision notices are 督办通知, 提醒 and 告诫."""
    assert NoticeKind.ADMONITION.label("zh_CN") == "告诫"
    assert NoticeKind.REMINDER.label("zh_CN") == "提醒"


def test_every_robot_webhook_format_is_a_delivery_channel():
    robots = [f for f in notifications.WEBHOOK_FORMATS if f != "generic"]
    assert robots and all(DeliveryChannel(f) for f in robots)
    assert {DeliveryChannel.WECOM.label("zh_CN"), DeliveryChannel.DINGTALK.label("zh_CN")} == {"企业微信机器人",
                                                                                                "钉钉机器人"}


def test_instance_transitions_are_vocabulary_members():
    assert set(instances.TRANSITIONS) == {InstanceStatus.SUSPENDED, InstanceStatus.RUNNING, InstanceStatus.TERMINATED}
    assert InstanceStatus.COMPLETED not in instances.TRANSITIONS[InstanceStatus.TERMINATED]
    assert all(isinstance(s, InstanceStatus) for allowed in instances.TRANSITIONS.values() for s in allowed)
