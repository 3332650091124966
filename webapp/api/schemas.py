"""The API's request and response schemas (marshmallow)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from rectiflow.domain.vocab import ProblemStatus, RoundStatus, WarningColour
from rectiflow.read.choices import DueWindow
from webapp.api.paging import PageArgs, id_field


class TokenRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)


class TokenResponse(Schema):
    token = fields.String(required=True)
    expires_in = fields.Integer(required=True)


class GrantSchema(Schema):
    role = fields.String()
    role_label = fields.String()
    unit_id = fields.Integer()
    unit_path = fields.String()


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    locale = fields.String()
    grants = fields.List(fields.Nested(GrantSchema))


class TaskSchema(Schema):
    id = fields.String()
    instance_id = fields.Integer()
    process_key = fields.String()
    element_id = fields.String()
    name = fields.String()
    title = fields.String()
    role = fields.String()
    unit_path = fields.String()
    status = fields.String()
    assignee_id = fields.Integer(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    due_colour = fields.String()
    days_left = fields.Integer(allow_none=True)
    form_key = fields.String(allow_none=True)
    created_at = fields.DateTime()


class TaskDetailSchema(TaskSchema):
    context = fields.Dict()
    form_schema = fields.Dict(allow_none=True)
    form_ui = fields.Dict(allow_none=True)
    draft = fields.Dict(allow_none=True)
    submitted = fields.Dict(allow_none=True)
    instance_version = fields.Integer(allow_none=True)
    can_act = fields.Boolean()


class TaskQuery(PageArgs):
    """The inbox's filters: the page's query arguments (``rectiflow.read.inbox.InboxFilter``)."""

    process = fields.String(load_default=None, validate=validate.Length(max=128))
    due = fields.String(load_default=None, validate=validate.OneOf([d.value for d in DueWindow]))
    round = id_field("Tasks of this inspection round.")
    unit = id_field("Tasks of this unit and the units below it.")


class CompleteRequest(Schema):
    data = fields.Dict(keys=fields.String(), load_default=dict)
    expected_version = fields.Integer(load_default=None, allow_none=True)


class NextTaskSchema(Schema):
    id = fields.String()
    name = fields.String()
    role = fields.String()
    role_label = fields.String()


class CompleteResponse(Schema):
    task_id = fields.String()
    instance_id = fields.Integer()
    instance_status = fields.String()
    next_tasks = fields.List(fields.Nested(NextTaskSchema))


class HandoverRequest(Schema):
    user_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class OkSchema(Schema):
    ok = fields.Boolean()


class TimerSchema(Schema):
    id = fields.Integer()
    element_id = fields.String()
    due_at = fields.DateTime()
    status = fields.String()


class InstanceSchema(Schema):
    id = fields.Integer()
    process_key = fields.String()
    business_key = fields.String()
    title = fields.String()
    status = fields.String()
    version = fields.Integer()
    unit_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    ready_tasks = fields.List(fields.Nested(TaskSchema))
    timers = fields.List(fields.Nested(TimerSchema))


class ProblemSchema(Schema):
    id = fields.Integer()
    round_id = fields.Integer()
    number = fields.String()
    aspect = fields.String()
    category = fields.String()
    feedback_text = fields.String()
    unit_id = fields.Integer()
    unit_path = fields.String()
    status = fields.String()
    colour = fields.String()
    deadline = fields.Date(allow_none=True)
    supervised = fields.Boolean()
    long_term = fields.Boolean()
    instance_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime()


class ProblemQuery(PageArgs):
    """The ledger's filters: the page's query arguments (``rectiflow.read.ledger.LedgerFilter``)."""

    round = id_field("Problems of this inspection round.")
    unit = id_field("Problems of this unit and the units below it.")
    category = fields.String(load_default=None, validate=validate.Length(max=16))
    status = fields.String(load_default=None, validate=validate.OneOf(ProblemStatus.codes()))
    colour = fields.String(load_default=None, validate=validate.OneOf(WarningColour.codes()))
    supervised = fields.Boolean(load_default=None, metadata={"description": "1/true: listed supervision only."})
    due_by = fields.Date(load_default=None, metadata={"description": "A deadline on or before this day."})


class RoundQuery(PageArgs):
    year = fields.Integer(load_default=None, validate=validate.Range(min=1990, max=2200))
    status = fields.String(load_default=None, validate=validate.OneOf(RoundStatus.codes()))


class ClockSchema(Schema):
    now = fields.DateTime()
    virtual = fields.Boolean()


class AdvanceRequest(Schema):
    duration = fields.String(required=True, validate=validate.Length(min=1, max=32))


class RoundProblemIn(Schema):
    number = fields.String(required=True, validate=validate.Length(min=1, max=32))
    aspect = fields.String(load_default="", validate=validate.Length(max=300))
    category = fields.String(required=True, validate=validate.Length(min=1, max=16))
    domain_tag = fields.String(load_default="", validate=validate.Length(max=32))
    feedback_text = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    department_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    functional_department_code = fields.String(load_default="", allow_none=True, validate=validate.Length(max=64))


class RoundCreateRequest(Schema):
    unit = fields.String(required=True, validate=validate.Length(min=1, max=64))  # the inspected unit's code
    year = fields.Integer(required=True, validate=validate.Range(min=1990, max=2200))
    number = fields.Integer(required=True, validate=validate.Range(min=1, max=999))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    team = fields.String(load_default="", validate=validate.Length(max=200))
    feedback_date = fields.Date(required=True)
    feedback_text = fields.String(load_default="", validate=validate.Length(max=100000))
    schedule_preset = fields.String(load_default="enterprise", validate=validate.Length(min=1, max=64))
    problems = fields.List(fields.Nested(RoundProblemIn), required=True, validate=validate.Length(min=1, max=2000))


class RoundCreated(Schema):
    id = fields.Integer()
    instance_id = fields.Integer(allow_none=True)


class RoundSchema(Schema):
    id = fields.Integer()
    year = fields.Integer()
    number = fields.Integer()
    title = fields.String()
    team = fields.String()
    unit_id = fields.Integer()
    unit_code = fields.String()
    unit_name = fields.String()
    feedback_date = fields.Date()
    status = fields.String()
    instance_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)


class MilestoneSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    due_date = fields.Date()
    status = fields.String()
    submitted_at = fields.DateTime(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)


class RoundDetailSchema(RoundSchema):
    feedback_text = fields.String()
    problems = fields.List(fields.Nested(ProblemSchema))
    milestones = fields.List(fields.Nested(MilestoneSchema))


class StatsQuery(Schema):
    round = id_field("Figures of this inspection round.")
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))


class StatsSchema(Schema):
    problems = fields.Integer()
    closed = fields.Integer()
    rate = fields.Float()
    overdue = fields.Integer()
    supervised = fields.Integer()
    long_term_open = fields.Integer()
    measures = fields.Integer()
    measures_done = fields.Integer()
    yellow_times = fields.Integer()
    red_times = fields.Integer()
    returned_times = fields.Integer()
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_colour = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_unit = fields.List(fields.Dict())
    by_category = fields.List(fields.Dict())
    closures_by_month = fields.List(fields.Dict())
    leads = fields.Integer()
