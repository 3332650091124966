"""Deadline arithmetic, colour warnings, schedule flags, report-schedule templates, taxonomies."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from rectiflow.domain import deadlines, schedules
from rectiflow.domain.deadlines import (
    BUSINESS_TZ,
    DEADLINE_TYPES,
    WARNING_AUDIENCE,
    ConfigError,
    Thresholds,
    add_months,
    add_working_days,
    colour,
    days_between,
    due_instant,
    is_working_day,
    notice_instant,
    review_dates,
    schedule_flag,
    thresholds_from_dict,
    thresholds_to_dict,
    timer_expression,
    warning_dates,
    year_end,
)
from rectiflow.domain.schedules import (
    BUSINESS_DOMAIN_TAGS,
    RECIPIENT_ROLES,
    SCHEDULE_PRESETS,
    TAXONOMY_PRESETS,
    Milestone,
    ScheduleTemplate,
    category_codes,
    milestone_dates,
    template_from_dict,
    template_to_dict,
)
from rectiflow.domain.vocab import DeadlineType, ReportKind

D = date

# --------------------------------------------------------------------------- calendar arithmetic


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2025, 1, 31), 3, D(2025, 4, 30)),
        (D(2024, 11, 30), 3, D(2025, 2, 28)),
        (D(2023, 11, 30), 3, D(2024, 2, 29)),  # leap year
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2025, 1, 31), 1, D(2025, 2, 28)),
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2024, 2, 29), 48, D(2028, 2, 29)),
        (D(2025, 1, 15), 0, D(2025, 1, 15)),
        (D(2025, 12, 31), 1, D(2026, 1, 31)),
        (D(2025, 3, 31), -1, D(2025, 2, 28)),  # negative months clamp too
        (D(2024, 3, 31), -1, D(2024, 2, 29)),
        (D(2025, 1, 15), -1, D(2024, 12, 15)),
        (D(2025, 5, 31), -15, D(2024, 2, 29)),
        (D(2025, 4, 30), -3, D(2025, 1, 30)),
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


def test_year_end_and_days_between():
    assert year_end(D(2025, 2, 3)) == D(2025, 12, 31)
    assert year_end(D(2024, 12, 31)) == D(2024, 12, 31)
    assert days_between(D(2025, 1, 1), D(2025, 1, 31)) == 30
    assert days_between(D(2025, 1, 31), D(2025, 1, 1)) == -30
    assert days_between(D(2024, 2, 28), D(2024, 3, 1)) == 2
    assert days_between(D(2025, 1, 1), D(2025, 1, 1)) == 0


def test_working_days_around_2025_national_day():
    assert is_working_day(D(2025, 9, 30))
    assert is_working_day(D(2025, 9, 28))  # Sunday, adjusted working day (调休)
    assert D(2025, 9, 28).weekday() == 6
    assert not is_working_day(D(2025, 10, 1))
    assert not is_working_day(D(2025, 10, 8))  # Wednesday inside the holiday
    assert is_working_day(D(2025, 10, 11))  # Saturday, adjusted working day
    assert add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 9)
    assert add_working_days(D(2025, 9, 27), 1) == D(2025, 9, 28)  # Saturday -> working Sunday
    assert add_working_days(D(2025, 10, 9), -1) == D(2025, 9, 30)
    assert add_working_days(D(2025, 9, 26), 3) == D(2025, 9, 30)  # 28, 29, 30


def test_add_working_days_zero_and_plain_weeks():
    assert add_working_days(D(2025, 10, 4), 0) == D(2025, 10, 4)
    assert add_working_days(D(2025, 6, 9), 5) == D(2025, 6, 16)  # Mon + 5 = next Mon
    assert add_working_days(D(2025, 6, 16), -5) == D(2025, 6, 9)


def test_fallback_to_monday_friday_outside_known_years():
    import chinese_calendar

    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2099, 1, 1))
    # 1 January 2099 is a Thursday: a holiday in reality, a working day in the fallback.
    assert D(2099, 1, 1).weekday() == 3
    assert is_working_day(D(2099, 1, 1))
    assert not is_working_day(D(2099, 1, 3))  # Saturday
    assert add_working_days(D(2099, 1, 2), 1) == D(2099, 1, 5)  # Fri + 1 = Mon
    assert add_working_days(D(2099, 1, 5), -1) == D(2099, 1, 2)


# --------------------------------------------------------------------------- instants and timers


def test_due_instant_is_end_of_day_in_beijing_as_utc():
    inst = due_instant(D(2025, 4, 30))
    assert inst == datetime(2025, 4, 30, 16, 0, tzinfo=UTC)
    assert inst.utcoffset() == timedelta(0)
    assert timer_expression(inst) == "2025-04-30T16:00:00+00:00"
    assert due_instant(D(2025, 12, 31)) == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert due_instant(D(2025, 4, 30), tz=UTC) == datetime(2025, 5, 1, 0, 0, tzinfo=UTC)


def test_notice_instant_is_nine_in_the_morning():
    inst = notice_instant(D(2025, 4, 10), BUSINESS_TZ)
    assert inst == datetime(2025, 4, 10, 1, 0, tzinfo=UTC)
    assert inst.tzinfo is not None
    assert notice_instant(D(2025, 4, 10)) == inst


def test_timer_expression_converts_to_utc_and_refuses_naive():
    beijing = datetime(2025, 5, 1, 0, 0, tzinfo=BUSINESS_TZ)
    assert timer_expression(beijing) == "2025-04-30T16:00:00+00:00"
    assert timer_expression(datetime(2025, 5, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))) == (
        "2025-05-01T00:00:00+00:00"
    )
    with pytest.raises(ValueError):
        timer_expression(datetime(2025, 4, 30, 16, 0))
    assert datetime.fromisoformat(timer_expression(beijing)) == beijing


# --------------------------------------------------------------------------- colours

DEADLINE = D(2025, 6, 30)


@pytest.mark.parametrize(
    ("days_before", "expected"),
    [
        (30, "none"),
        (21, "none"),
        (20, "green"),
        (11, "green"),
        (10, "yellow"),
        (1, "yellow"),
        (0, "yellow"),
        (-1, "red"),
        (-100, "red"),
    ],
)
def test_colour_at_threshold_days(days_before, expected):
    today = DEADLINE - timedelta(days=days_before)
    assert colour(DEADLINE, today, Thresholds()) == expected


def test_colour_with_custom_thresholds():
    t = Thresholds(green_days=7, yellow_days=3)
    assert colour(DEADLINE, DEADLINE - timedelta(days=8), t) == "none"
    assert colour(DEADLINE, DEADLINE - timedelta(days=7), t) == "green"
    assert colour(DEADLINE, DEADLINE - timedelta(days=3), t) == "yellow"


def test_warning_dates_agree_with_colour():
    t = Thresholds()
    dates = warning_dates(DEADLINE, t)
    assert dates == {"green": D(2025, 6, 10), "yellow": D(2025, 6, 20), "red": D(2025, 7, 1)}
    for name, first_day in dates.items():
        assert colour(DEADLINE, first_day, t) == name
        assert colour(DEADLINE, first_day - timedelta(days=1), t) != name


def test_warning_audience():
    assert WARNING_AUDIENCE["green"] == ("responsible_person",)
    assert WARNING_AUDIENCE["yellow"] == ("responsible_person", "responsible_leader")
    assert set(WARNING_AUDIENCE["red"]) >= {"principal_leader", "discipline_committee"}


def test_thresholds_defaults_and_round_trip():
    t = Thresholds()
    assert (t.green_days, t.yellow_days) == (20, 10)
    assert thresholds_from_dict(thresholds_to_dict(t)) == t
    assert thresholds_from_dict({}) == t
    assert thresholds_from_dict({"green_days": 30, "yellow_days": 1}) == Thresholds(30, 1)
    assert thresholds_from_dict({"green_days": 365, "yellow_days": 364}) == Thresholds(365, 364)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"green_days": 10, "yellow_days": 10}, "yellow_days"),
        ({"green_days": 5, "yellow_days": 10}, "yellow_days"),
        ({"green_days": 20, "yellow_days": 0}, "yellow_days"),
        ({"green_days": 366, "yellow_days": 10}, "green_days"),
        ({"green_days": "20", "yellow_days": 10}, "green_days"),
        ({"green_days": 20, "yellow_days": 2.5}, "yellow_days"),
        ({"green_days": True, "yellow_days": 10}, "green_days"),
        ({"green_days": 20, "yellow_days": 10, "red_days": 1}, "red_days"),
    ],
)
def test_thresholds_validation_names_the_field(data, field):
    with pytest.raises(ConfigError) as exc:
        thresholds_from_dict(data)
    assert any(p.startswith(f"{field}:") for p in exc.value.problems), exc.value.problems
    assert isinstance(exc.value, ValueError)


def test_thresholds_constructor_validates_and_reports_all():
    with pytest.raises(ConfigError):
        Thresholds(green_days=5, yellow_days=10)
    with pytest.raises(ConfigError) as exc:
        thresholds_from_dict({"green_days": "x", "yellow_days": "y"})
    assert len(exc.value.problems) == 2
    with pytest.raises(ConfigError):
        thresholds_from_dict(["green_days"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- schedule flag

START, END = D(2025, 1, 1), D(2025, 4, 11)  # 100 days


@pytest.mark.parametrize(
    ("today", "progress", "expected"),
    [
        (D(2025, 1, 1), 0, "on_track"),
        (D(2024, 12, 1), 0, "on_track"),  # not started yet
        (D(2025, 2, 20), 40, "on_track"),  # 50 % elapsed, 40 % done: within tolerance
        (D(2025, 2, 20), 39, "lagging"),
        (D(2025, 4, 11), 90, "on_track"),  # deadline day, 100 % elapsed
        (D(2025, 4, 11), 89, "lagging"),
        (D(2025, 4, 12), 99, "overdue"),
        (D(2025, 4, 12), 100, "on_track"),
        (D(2025, 3, 1), 100, "on_track"),
    ],
)
def test_schedule_flag(today, progress, expected):
    assert schedule_flag(START, END, today, progress) == expected


def test_schedule_flag_same_day_and_bad_input():
    assert schedule_flag(D(2025, 5, 5), D(2025, 5, 5), D(2025, 5, 5), 100) == "on_track"
    assert schedule_flag(D(2025, 5, 5), D(2025, 5, 5), D(2025, 5, 5), 50) == "lagging"
    assert schedule_flag(D(2025, 5, 5), D(2025, 5, 5), D(2025, 5, 6), 50) == "overdue"
    with pytest.raises(ValueError):
        schedule_flag(START, END, START, 101)
    with pytest.raises(ValueError):
        schedule_flag(START, END, START, -1)
    with pytest.raises(ValueError):
        schedule_flag(END, START, START, 10)


# --------------------------------------------------------------------------- deadline types


def test_deadline_types_and_labels():
    assert DEADLINE_TYPES == ("immediate", "by_date", "by_date_then_ongoing", "ongoing")
    assert DeadlineType.labels("zh_CN") == {
        "immediate": "立行立改",
        "by_date": "限期完成",
        "by_date_then_ongoing": "限期完成并长期坚持",
        "ongoing": "长期坚持",
    }


def test_review_dates_clamp_without_drift():
    assert review_dates(D(2025, 1, 31), 1, D(2025, 5, 31)) == [
        D(2025, 2, 28),
        D(2025, 3, 31),
        D(2025, 4, 30),
        D(2025, 5, 31),
    ]
    assert review_dates(D(2023, 8, 31), 6, D(2025, 3, 1)) == [D(2024, 2, 29), D(2024, 8, 31), D(2025, 2, 28)]
    assert review_dates(D(2025, 1, 1), 3, D(2025, 3, 31)) == []
    assert review_dates(D(2025, 1, 1), 3, D(2025, 4, 1)) == [D(2025, 4, 1)]
    with pytest.raises(ValueError):
        review_dates(D(2025, 1, 1), 0, D(2026, 1, 1))


# --------------------------------------------------------------------------- report schedules


def _dates_by_kind(feedback, template):
    return {m.kind: d for m, d in milestone_dates(feedback, template)}


def test_enterprise_preset_from_31_january():
    dates = _dates_by_kind(D(2025, 1, 31), SCHEDULE_PRESETS["enterprise"])
    assert dates == {
        "plan": D(2025, 2, 28),
        "rectification_report": D(2025, 4, 30),
        "leader_report": D(2025, 4, 30),
        "phased_report": D(2025, 7, 31),
        "annual_report": D(2025, 12, 31),
    }


def test_regulation_preset_two_month_reports():
    dates = _dates_by_kind(D(2025, 1, 31), SCHEDULE_PRESETS["regulation"])
    assert dates["rectification_report"] == D(2025, 3, 31)
    assert dates["leader_report"] == D(2025, 3, 31)
    assert dates["plan"] == D(2025, 2, 28)
    assert dates["phased_report"] == D(2025, 7, 31)
    assert dates["annual_report"] == D(2025, 12, 31)


def test_milestone_dates_sorted_with_stable_ties():
    pairs = milestone_dates(D(2025, 1, 31), SCHEDULE_PRESETS["enterprise"])
    assert [d for _, d in pairs] == sorted(d for _, d in pairs)
    assert [m.kind for m, _ in pairs] == list(ReportKind)


@pytest.mark.parametrize(
    ("feedback", "annual"),
    [
        (D(2025, 9, 30), D(2025, 12, 31)),  # exactly 3 months (30 Dec) before year end
        (D(2025, 10, 1), D(2026, 12, 31)),  # less than 3 months left
        (D(2025, 11, 15), D(2026, 12, 31)),
        (D(2025, 1, 1), D(2025, 12, 31)),
    ],
)
def test_annual_report_year_rule(feedback, annual):
    assert _dates_by_kind(feedback, SCHEDULE_PRESETS["enterprise"])["annual_report"] == annual


def test_november_feedback_annual_report_sorts_last():
    pairs = milestone_dates(D(2025, 11, 20), SCHEDULE_PRESETS["enterprise"])
    assert pairs[-1][0].kind == "annual_report"
    assert pairs[-1][1] == D(2026, 12, 31)
    assert dict((m.kind, d) for m, d in pairs)["phased_report"] == D(2026, 5, 20)


def test_fixed_month_day_milestone():
    template = ScheduleTemplate(
        "custom",
        (
            Milestone("plan", "k.plan", months=1),
            Milestone("phased_report", "k.phased", fixed_month_day=(7, 15)),
            Milestone("annual_report", "k.annual", fixed_month_day=(2, 29)),
        ),
    )
    dates = _dates_by_kind(D(2025, 7, 15), template)
    assert dates["phased_report"] == D(2026, 7, 15)  # strictly after feedback
    assert dates["annual_report"] == D(2026, 2, 28)  # 29 Feb clamped in a common year
    dates = _dates_by_kind(D(2027, 3, 1), template)
    assert dates["phased_report"] == D(2027, 7, 15)
    assert dates["annual_report"] == D(2028, 2, 29)


@pytest.mark.parametrize("name", ["enterprise", "regulation"])
def test_presets_round_trip_through_json(name):
    preset = SCHEDULE_PRESETS[name]
    data = json.loads(json.dumps(template_to_dict(preset)))
    assert template_from_dict(data) == preset
    assert template_to_dict(template_from_dict(data)) == data


def test_presets_shape():
    for preset in SCHEDULE_PRESETS.values():
        assert [m.kind for m in preset.milestones] == list(ReportKind)
        for m in preset.milestones:
            assert m.recipients and set(m.recipients) <= set(RECIPIENT_ROLES)
    ent = {m.kind: m for m in SCHEDULE_PRESETS["enterprise"].milestones}
    assert ent["plan"].months == 1
    assert ent["rectification_report"].months == ent["leader_report"].months == 3
    assert ent["phased_report"].months == 6
    assert ent["annual_report"].year_end is True and ent["annual_report"].months is None


def test_template_from_dict_defaults_and_fixed_date():
    t = template_from_dict(
        {
            "name": "t",
            "milestones": [
                {"kind": "plan", "months": 1, "fixed_month_day": None, "year_end": False},
                {"kind": "annual_report", "fixed_month_day": [12, 20], "recipients": ["leading_group"]},
            ],
        }
    )
    assert t.milestones[0].title_key == "schedule.milestone.plan"
    assert t.milestones[1].fixed_month_day == (12, 20)
    assert t.milestones[1].recipients == ("leading_group",)
    assert template_from_dict(template_to_dict(t)) == t


def _problems(data):
    with pytest.raises(ConfigError) as exc:
        template_from_dict(data)
    return exc.value.problems


def _good(kind="plan", **kw):
    item = {"kind": kind, "title_key": f"k.{kind}", "months": 1, "recipients": ["inspection_office"]}
    item.update(kw)
    return item


def test_template_validation_names_every_field_path():
    problems = _problems(
        {
            "name": "bad",
            "milestones": [
                _good("plan"),
                _good("rectification_report", months=48),
                _good("leader_report", months=True),
                _good("bogus"),
                _good("phased_report", recipients=["inspection_office", "nobody"]),
                _good("annual_report", months=None),
            ],
        }
    )
    assert "milestones[1].months: must be an integer between 0 and 36" in problems
    assert "milestones[2].months: must be an integer between 0 and 36" in problems
    assert any(p.startswith("milestones[3].kind: unknown kind 'bogus'") for p in problems)
    assert any(p.startswith("milestones[4].recipients[1]: unknown recipient 'nobody'") for p in problems)
    assert any(p.startswith("milestones[5]: exactly one of") and "none" in p for p in problems)
    assert not any(p.startswith("milestones[0]") for p in problems)
    assert len(problems) == 5, problems


@pytest.mark.parametrize(
    ("milestone", "expected_prefix"),
    [
        (_good(fixed_month_day=[7, 1]), "milestones[0]: exactly one of"),
        (_good(months=None, year_end=True, fixed_month_day=[7, 1]), "milestones[0]: exactly one of"),
        (_good(months=None), "milestones[0]: exactly one of"),
        (_good(months=None, fixed_month_day=[2, 30]), "milestones[0].fixed_month_day: 2-30 is not a valid"),
        (_good(months=None, fixed_month_day=[4, 31]), "milestones[0].fixed_month_day: 4-31 is not a valid"),
        (_good(months=None, fixed_month_day=[13, 1]), "milestones[0].fixed_month_day: 13-1 is not a valid"),
        (_good(months=None, fixed_month_day=[7]), "milestones[0].fixed_month_day: must be a [month, day]"),
        (_good(months=None, fixed_month_day="7-1"), "milestones[0].fixed_month_day: must be a [month, day]"),
        (_good(months=None, year_end="yes"), "milestones[0].year_end: must be true or false"),
        (_good(months=-1), "milestones[0].months: must be an integer between 0 and 36"),
        (_good(months=2.0), "milestones[0].months: must be an integer between 0 and 36"),
        (_good(recipients="inspection_office"), "milestones[0].recipients: must be a list"),
        (_good(recipients=["leading_group", "leading_group"]), "milestones[0].recipients[1]: duplicate"),
        (_good(title_key=""), "milestones[0].title_key: must be a non-empty string"),
        (_good(kind=None), "milestones[0].kind:"),
        (_good(offset=3), "milestones[0].offset: unknown field"),
        ("plan", "milestones[0]: must be an object"),
    ],
)
def test_template_validation_single_fault(milestone, expected_prefix):
    problems = _problems({"name": "x", "milestones": [milestone]})
    assert any(p.startswith(expected_prefix) for p in problems), problems


def test_template_validation_template_level():
    assert _problems({"name": "x", "milestones": []}) == ["milestones: must contain at least one milestone"]
    assert _problems({"name": "x"}) == ["milestones: must be a non-empty list"]
    assert _problems({"name": "", "milestones": [_good()]}) == ["name: must be a non-empty string"]
    assert _problems({"milestones": [_good()], "extra": 1}) == [
        "extra: unknown field",
        "name: must be a non-empty string",
    ]
    assert _problems({"name": "x", "milestones": [_good("plan"), _good("phased_report"), _good("plan")]}) == [
        "milestones[2].kind: duplicate kind 'plan' (already used by milestones[0])"
    ]
    assert _problems(["not", "a", "dict"]) == ["template: must be an object"]


def test_config_error_message_lists_all_problems():
    err = ConfigError(["a: bad", "b: worse"])
    assert err.problems == ["a: bad", "b: worse"]
    assert "a: bad" in str(err) and "b: worse" in str(err)


def test_dataclasses_validate_on_construction():
    with pytest.raises(ConfigError):
        Milestone("plan", "k", months=1, year_end=True)
    with pytest.raises(ConfigError):
        Milestone("plan", "k")
    with pytest.raises(ConfigError):
        Milestone("plan", "k", months=1, recipients=("someone",))
    with pytest.raises(ConfigError):
        ScheduleTemplate("x", ())
    with pytest.raises(ConfigError):
        ScheduleTemplate("x", (Milestone("plan", "k", months=1), Milestone("plan", "k2", months=2)))
    m = Milestone("plan", "k", fixed_month_day=[3, 1], recipients=["leading_group"])  # type: ignore[arg-type]
    assert m.fixed_month_day == (3, 1) and m.recipients == ("leading_group",)
    hash(m)


# --------------------------------------------------------------------------- taxonomy


def test_taxonomy_presets_shape():
    four = TAXONOMY_PRESETS["four_implementations"]
    assert [c["name"] for c in four] == [
        "落实党的路线方针政策和党中央决策部署",
        "落实全面从严治党战略部署",
        "落实新时代党的组织路线",
        "落实巡视巡察、审计等监督发现问题整改",
        "生产经营",
    ]
    assert all(2 <= len(c["children"]) <= 4 for c in four)
    strict = next(c for c in four if c["name"] == "落实全面从严治党战略部署")
    assert "落实中央八项规定精神" in [ch["name"] for ch in strict["children"]]
    three = TAXONOMY_PRESETS["three_weaknesses"]
    assert [c["name"] for c in three] == ["党的领导弱化", "党的建设缺失", "全面从严治党不力"]
    assert all(2 <= len(c["children"]) <= 3 for c in three)
    for taxonomy in TAXONOMY_PRESETS.values():
        json.dumps(taxonomy, ensure_ascii=False)
        for top in taxonomy:
            assert set(top) == {"code", "name", "children"}
            for child in top["children"]:
                assert set(child) == {"code", "name"} and child["code"].startswith(top["code"] + ".")


def test_category_codes():
    codes = category_codes(TAXONOMY_PRESETS["four_implementations"])
    assert {"1", "1.2", "2", "2.1", "5", "5.1"} <= codes
    assert "6" not in codes
    sizes = sum(1 + len(c["children"]) for c in TAXONOMY_PRESETS["four_implementations"])
    assert len(codes) == sizes
    assert category_codes(TAXONOMY_PRESETS["three_weaknesses"]) == {
        "1",
        "1.1",
        "1.2",
        "1.3",
        "2",
        "2.1",
        "2.2",
        "2.3",
        "3",
        "3.1",
        "3.2",
        "3.3",
    }
    assert category_codes([{"code": "9", "name": "x"}]) == {"9"}
    assert category_codes(copy.deepcopy(TAXONOMY_PRESETS["three_weaknesses"])) == category_codes(
        TAXONOMY_PRESETS["three_weaknesses"]
    )


def test_business_domain_tags():
    assert BUSINESS_DOMAIN_TAGS == ("资金", "资产", "采购/招投标", "选人用人", "三重一大", "中央八项规定")


# --------------------------------------------------------------------------- purity


def test_domain_modules_never_read_the_clock():
    for module in (deadlines, schedules):
        source = Path(str(module.__file__)).read_text(encoding="utf-8")
        assert not re.search(r"\.(now|today|utcnow)\(", source), module.__name__
