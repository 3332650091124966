"""Presets a round carries: the report-schedule template and the problem taxonomy.

A round stores its template as JSON (``template_to_dict``) when it is opened, so changing a
preset later never moves the due dates of rounds already under way. Pure functions only.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from rectiflow.domain.deadlines import ConfigError, _is_int, add_months
from rectiflow.domain.vocab import ReportKind, Role

# ---------------------------------------------------------------------------- vocabulary
# A milestone's kind is a ReportKind (rectiflow.domain.vocab), which gives its label too.

# Roles a report can be addressed to (see DOMAIN.md "Roles").
RECIPIENT_ROLES = (
    Role.INSPECTION_OFFICE,
    Role.LEADING_GROUP,
    Role.PARTY_COMMITTEE,
    Role.PRINCIPAL_LEADER,
    Role.RECTIFICATION_OFFICE,
    Role.RESPONSIBLE_DEPARTMENT,
    Role.DISCIPLINE_COMMITTEE,
    Role.FUNCTIONAL_DEPARTMENT,
)

MAX_OFFSET_MONTHS = 36

# The annual report is due at the end of the feedback year only if that leaves at least this
# many months; a round whose feedback arrives in October or later reports at the end of the
# next year, since a "year" of rectification a few weeks long says nothing.
ANNUAL_REPORT_MIN_MONTHS = 3

_MILESTONE_FIELDS = ("kind", "title_key", "months", "fixed_month_day", "year_end", "recipients")
_TEMPLATE_FIELDS = ("name", "milestones")


def default_title_key(kind: str) -> str:
    return f"schedule.milestone.{kind}"


# ---------------------------------------------------------------------------- data classes


def _milestone_problems(
    path: str, kind: Any, title_key: Any, months: Any, fixed: Any, year_end: Any, recipients: Any
) -> list[str]:
    """Every fault of one milestone, prefixed with ``path`` (shared by the dataclass and JSON)."""
    problems: list[str] = []
    if kind is None:
        problems.append(f"{path}.kind: required")
    elif kind not in ReportKind.codes():
        problems.append(f"{path}.kind: unknown kind {kind!r} (expected one of {', '.join(ReportKind.codes())})")
    if not isinstance(title_key, str) or not title_key.strip():
        problems.append(f"{path}.title_key: must be a non-empty string")
    if months is not None and (not _is_int(months) or not 0 <= months <= MAX_OFFSET_MONTHS):
        problems.append(f"{path}.months: must be an integer between 0 and {MAX_OFFSET_MONTHS}")
    if fixed is not None:
        if not (isinstance(fixed, tuple) and len(fixed) == 2 and all(_is_int(x) for x in fixed)):
            problems.append(f"{path}.fixed_month_day: must be a [month, day] pair of integers")
        else:
            month, day = fixed
            # Judged against a leap year so 29 February is allowed (clamped to the 28th in
            # other years by milestone_dates); 30 February or 31 April never is.
            if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2000, month)[1]:
                problems.append(f"{path}.fixed_month_day: {month}-{day} is not a valid month-day")
    if not isinstance(year_end, bool):
        problems.append(f"{path}.year_end: must be true or false")
    anchors = sum((months is not None, fixed is not None, year_end is True))
    if anchors != 1:
        which = "none" if anchors == 0 else "several"
        problems.append(f"{path}: exactly one of months, fixed_month_day, year_end must be set ({which} set)")
    if not isinstance(recipients, tuple):
        problems.append(f"{path}.recipients: must be a list of role codes")
    else:
        seen: set[str] = set()
        for i, role in enumerate(recipients):
            if not isinstance(role, str) or role not in RECIPIENT_ROLES:
                problems.append(
                    f"{path}.recipients[{i}]: unknown recipient {role!r} "
                    f"(expected one of {', '.join(RECIPIENT_ROLES)})"
                )
            elif role in seen:
                problems.append(f"{path}.recipients[{i}]: duplicate recipient {role!r}")
            else:
                seen.add(role)
    return problems


@dataclass(frozen=True)
class Milestone:
    """One report due date: ``months`` after feedback, a fixed calendar ``fixed_month_day``
    (month, day) or the ``year_end``; exactly one of the three is set."""

    kind: str
    title_key: str
    months: int | None = None
    fixed_month_day: tuple[int, int] | None = None
    year_end: bool = False
    recipients: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Accept lists from callers but store tuples so the dataclass stays hashable.
        if isinstance(self.fixed_month_day, list):
            object.__setattr__(self, "fixed_month_day", tuple(self.fixed_month_day))
        if isinstance(self.recipients, list):
            object.__setattr__(self, "recipients", tuple(self.recipients))
        problems = _milestone_problems(
            "milestone",
            self.kind,
            self.title_key,
            self.months,
            self.fixed_month_day,
            self.year_end,
            self.recipients,
        )
        if problems:
            raise ConfigError(problems)


def _template_problems(name: Any, kinds: list[Any]) -> list[str]:
    """Template-level faults; ``kinds`` is the kind of each milestone, in order."""
    problems: list[str] = []
    if not isinstance(name, str) or not name.strip():
        problems.append("name: must be a non-empty string")
    if not kinds:
        problems.append("milestones: must contain at least one milestone")
    first_index: dict[str, int] = {}
    for i, kind in enumerate(kinds):
        if not isinstance(kind, str):
            continue  # reported by the milestone check
        if kind in first_index:
            earlier = first_index[kind]
            problems.append(
                f"milestones[{i}].kind: duplicate kind {kind!r} (already used by milestones[{earlier}])"
            )
        else:
            first_index[kind] = i
    return problems


@dataclass(frozen=True)
class ScheduleTemplate:
    """A named set of milestones with distinct kinds."""

    name: str
    milestones: tuple[Milestone, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.milestones, tuple):
            object.__setattr__(self, "milestones", tuple(self.milestones))
        problems = _template_problems(self.name, [m.kind for m in self.milestones])
        if problems:
            raise ConfigError(problems)


# ---------------------------------------------------------------------------- presets

# The plan is approved by the unit's Party committee, reviewed by its 纪委 and filed with the
# inspection office; the reports go up to the inspection office and the leading group.
_PLAN_RECIPIENTS = (Role.PARTY_COMMITTEE, Role.DISCIPLINE_COMMITTEE, Role.INSPECTION_OFFICE)
_REPORT_RECIPIENTS = (Role.INSPECTION_OFFICE, Role.LEADING_GROUP)


def _preset(name: str, report_months: int) -> ScheduleTemplate:
    def m(kind: str, recipients: tuple[str, ...] = _REPORT_RECIPIENTS, **anchor: Any) -> Milestone:
        return Milestone(kind, default_title_key(kind), recipients=recipients, **anchor)

    return ScheduleTemplate(
        name,
        (
            m(ReportKind.PLAN, _PLAN_RECIPIENTS, months=1),
            m(ReportKind.RECTIFICATION_REPORT, months=report_months),
            m(ReportKind.LEADER_REPORT, months=report_months),
            m(ReportKind.PHASED_REPORT, months=6),
            m(ReportKind.ANNUAL_REPORT, year_end=True),
        ),
    )


SCHEDULE_PRESETS: dict[str, ScheduleTemplate] = {
    # The paper: plan in 1 month, the two reports at 3 months, phased at 6, annual at year end.
    "enterprise": _preset("enterprise", report_months=3),
    # 巡视工作条例 (2015) art. 27: the two reports within 2 months; the rest as the paper.
    "regulation": _preset("regulation", report_months=2),
}


# ---------------------------------------------------------------------------- due dates


def _fixed_date_after(feedback: date, month: int, day: int) -> date:
    """The first (month, day) strictly after ``feedback``; 29 Feb is clamped in common years."""
    for year in (feedback.year, feedback.year + 1):
        candidate = date(year, month, min(day, calendar.monthrange(year, month)[1]))
        if candidate > feedback:
            return candidate
    raise AssertionError("unreachable: a month-day recurs within a year")


def milestone_due(feedback: date, milestone: Milestone) -> date:
    """Due date of one milestone for a round whose feedback was received on ``feedback``.

    * ``months``: calendar months after feedback, clamped to month end (31 Jan + 3 = 30 Apr).
    * ``fixed_month_day``: the first such calendar date strictly after feedback.
    * ``year_end``: 31 December of the feedback year if that is at least
      ``ANNUAL_REPORT_MIN_MONTHS`` (3) months after feedback, else 31 December of the next year.
    """
    if milestone.months is not None:
        return add_months(feedback, milestone.months)
    if milestone.fixed_month_day is not None:
        return _fixed_date_after(feedback, *milestone.fixed_month_day)
    end = date(feedback.year, 12, 31)
    if end >= add_months(feedback, ANNUAL_REPORT_MIN_MONTHS):
        return end
    return date(feedback.year + 1, 12, 31)


def milestone_dates(feedback: date, template: ScheduleTemplate) -> list[tuple[Milestone, date]]:
    """Every milestone with its due date, sorted by date (template order breaks ties)."""
    dated = [(m, milestone_due(feedback, m)) for m in template.milestones]
    return sorted(dated, key=lambda pair: pair[1])  # sorted() is stable


# ---------------------------------------------------------------------------- JSON form


def template_to_dict(template: ScheduleTemplate) -> dict[str, Any]:
    """JSON-ready form; each milestone carries only the anchor that is set."""
    milestones: list[dict[str, Any]] = []
    for m in template.milestones:
        item: dict[str, Any] = {"kind": m.kind, "title_key": m.title_key}
        if m.months is not None:
            item["months"] = m.months
        elif m.fixed_month_day is not None:
            item["fixed_month_day"] = list(m.fixed_month_day)
        else:
            item["year_end"] = True
        item["recipients"] = list(m.recipients)
        milestones.append(item)
    return {"name": template.name, "milestones": milestones}


def template_from_dict(data: Any) -> ScheduleTemplate:
    """Validate and read a template stored as JSON.

    Raises :class:`ConfigError` listing every problem with its field path. ``title_key`` may be
    omitted (defaults to ``schedule.milestone.<kind>``); ``months``/``fixed_month_day`` may be
    null and ``year_end`` false to mean "not this anchor".
    """
    if not isinstance(data, Mapping):
        raise ConfigError(["template: must be an object"])
    problems = [f"{key}: unknown field" for key in data if key not in _TEMPLATE_FIELDS]
    raw_milestones: list[Any] = []
    is_list = isinstance(data.get("milestones"), list)
    if is_list:
        raw_milestones = data["milestones"]
    else:
        problems.append("milestones: must be a non-empty list")
    milestones: list[Milestone] = []
    kinds: list[Any] = []
    for i, raw in enumerate(raw_milestones):
        path = f"milestones[{i}]"
        if not isinstance(raw, Mapping):
            problems.append(f"{path}: must be an object")
            kinds.append(None)
            continue
        problems += [f"{path}.{key}: unknown field" for key in raw if key not in _MILESTONE_FIELDS]
        kind = raw.get("kind")
        kinds.append(kind)
        title_key = raw.get("title_key", default_title_key(str(kind)))
        fixed = raw.get("fixed_month_day")
        fixed = tuple(fixed) if isinstance(fixed, list) else fixed
        recipients = raw.get("recipients", [])
        recipients = tuple(recipients) if isinstance(recipients, list) else recipients
        months, year_end = raw.get("months"), raw.get("year_end", False)
        found = _milestone_problems(path, kind, title_key, months, fixed, year_end, recipients)
        problems += found
        if not found:  # all fields checked above, so construction cannot fail
            milestones.append(Milestone(str(kind), title_key, months, fixed, year_end, recipients))
    # An absent or non-list "milestones" is already reported above; don't say it twice.
    problems += [
        p for p in _template_problems(data.get("name"), kinds) if is_list or not p.startswith("milestones:")
    ]
    if problems:
        raise ConfigError(problems)
    return ScheduleTemplate(data["name"], tuple(milestones))


# ---------------------------------------------------------------------------- problem taxonomy


def _node(code: str, name: str, children: Iterable[str]) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "children": [{"code": f"{code}.{i}", "name": child} for i, child in enumerate(children, start=1)],
    }


# Two-level categories a round can adopt. Treat as read-only: copy.deepcopy() before editing.
TAXONOMY_PRESETS: dict[str, list[dict[str, Any]]] = {
    # 四个落实 plus 生产经营: current practice in SOE inspections.
    "four_implementations": [
        _node(
            "1",
            "落实党的路线方针政策和党中央决策部署",
            [
                "贯彻落实党中央重大决策部署",
                "落实上级党组织决策部署",
                "服务国家战略、履行国有企业职责使命",
                "落实意识形态工作责任制",
            ],
        ),
        _node(
            "2",
            "落实全面从严治党战略部署",
            [
                "落实中央八项规定精神",
                "廉洁风险防控",
                "落实“两个责任”",
                "权力运行监督制约",
            ],
        ),
        _node(
            "3",
            "落实新时代党的组织路线",
            [
                "选人用人",
                "基层党组织建设",
                "干部人才队伍建设",
                "党员教育管理",
            ],
        ),
        _node(
            "4",
            "落实巡视巡察、审计等监督发现问题整改",
            [
                "巡视巡察整改",
                "审计整改",
                "其他监督检查发现问题整改",
            ],
        ),
        _node(
            "5",
            "生产经营",
            [
                "“三重一大”决策制度执行",
                "经营管理与风险防控",
                "资金资产管理",
                "安全生产",
            ],
        ),
    ],
    # The older three categories.
    "three_weaknesses": [
        _node(
            "1",
            "党的领导弱化",
            [
                "贯彻落实党中央决策部署不到位",
                "把方向、管大局、保落实作用发挥不充分",
                "“三重一大”决策制度执行不严格",
            ],
        ),
        _node(
            "2",
            "党的建设缺失",
            [
                "基层党组织建设薄弱",
                "选人用人不规范",
                "党员教育管理不严格",
            ],
        ),
        _node(
            "3",
            "全面从严治党不力",
            [
                "“两个责任”落实不到位",
                "落实中央八项规定精神不严格",
                "廉洁风险防控不力",
            ],
        ),
    ],
}

BUSINESS_DOMAIN_TAGS = ("资金", "资产", "采购/招投标", "选人用人", "三重一大", "中央八项规定")


def category_codes(taxonomy: Iterable[Mapping[str, Any]]) -> set[str]:
    """All category codes of a taxonomy, both levels (``{"1", "1.1", "1.2", "2", ...}``)."""
    codes: set[str] = set()
    for top in taxonomy:
        codes.add(top["code"])
        for child in top.get("children", ()):
            codes.add(child["code"])
    return codes
