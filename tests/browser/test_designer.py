"""The process designer in Chromium: open the acceptance process, rename a step and add a review
step, validate and see the finding on the new task, fix it from the side panel, deploy version 2
with a note; an instance started before stays on version 1 and completes, a new one runs version 2,
and a dry-run migration of an old instance shows what would change."""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import PASSWORD, expect, login, logout  # noqa: F401
from sqlalchemy import select

pytestmark = pytest.mark.browser

ADD_REVIEW_STEP = """() => {
  const m = window.rfDesigner.modeler;
  const reg = m.get('elementRegistry'), modeling = m.get('modeling');
  const bpmnFactory = m.get('bpmnFactory'), elementFactory = m.get('elementFactory');
  const close = reg.get('close'), end = reg.get('end'), lane = reg.get('leading_group__acc');
  modeling.removeConnection(reg.get('f26'));
  modeling.moveShape(end, { x: 200, y: 0 });
  const bo = bpmnFactory.create('bpmn:UserTask', { id: 'final_review', name: '销号复核' });
  const shape = elementFactory.createShape({ type: 'bpmn:UserTask', businessObject: bo });
  const task = modeling.createShape(shape, { x: close.x + close.width + 110, y: close.y + close.height / 2 }, lane);
  modeling.connect(close, task);
  modeling.connect(task, reg.get('end'));
  return task.id;
}"""


def _complete(rt: Any, instance_id: int, element: str, data: dict[str, Any]) -> None:
    from rectiflow.services.demo.round import _do

    with rt.sessions.begin() as s:
        _do(s, rt, instance_id, element, data)


def test_designer_edits_validates_deploys_and_dry_runs_a_migration(page: Any, demo_rt: Any) -> None:
    from rectiflow.db.domain import Problem
    from rectiflow.db.runtime import ProcessDefinition, ProcessInstance
    from rectiflow.services.workflow import instances

    ex = expect()
    rt = demo_rt
    with rt.reads() as s:
        old_iid = s.scalar(select(Problem.instance_id).where(Problem.number == "2.1"))
        v1_problem = s.scalar(select(ProcessInstance.definition_id).where(ProcessInstance.id == old_iid))

    login(page, "designer")
    page.click("a[href='/designer/']")
    ex(page.locator("#process-acceptance")).to_be_visible()
    page.click("#process-acceptance a.button >> nth=0")
    ex(page.locator(".djs-element[data-element-id='verify']")).to_be_visible()
    page.evaluate("() => window.rfDesigner.ready")

    # rename a step from the side panel
    page.locator(".djs-element[data-element-id='verify'] .djs-hit").first.click(force=True)
    ex(page.locator("#panel h2")).to_have_text("核验支撑材料")
    name = page.locator("#panel .field input[type=text]").first
    name.fill("核验整改材料")
    name.press("Tab")
    ex(page.locator("#panel h2")).to_have_text("核验整改材料")

    # add a review step (a user task in the leading group's lane) and validate: it has no form
    assert page.evaluate(ADD_REVIEW_STEP) == "final_review"
    page.click("#btn-validate")
    finding = page.locator("#findings li.finding[data-element='final_review']")
    ex(finding).to_contain_text("names no form")
    ex(page.locator(".djs-element.rf-finding[data-element-id='final_review']")).to_have_count(1)

    # clicking the finding selects the element; fix it in the side panel
    finding.locator("button").click()
    ex(page.locator("#panel h2")).to_have_text("销号复核")
    ex(page.locator("#panel")).to_contain_text("巡察工作领导小组")
    page.select_option("#panel-form", "acceptance_review")
    ex(page.locator("#panel-form-preview")).to_be_visible()
    page.click("#btn-validate")
    ex(page.locator("#findings li.ok")).to_be_visible()
    ex(page.locator(".djs-element.rf-finding")).to_have_count(0)

    # review the difference and deploy version 2 with a note
    page.click("#btn-deploy")
    ex(page.locator("#deploy-box")).to_be_visible()
    ex(page.locator("#diff .diff-added")).to_contain_text("final_review")
    ex(page.locator("#diff .diff-changed")).to_contain_text("verify")
    page.fill("#deploy-note", "验收增加销号复核")
    page.click("#btn-deploy-confirm")
    ex(page.locator("#deploy-result")).to_contain_text("acceptance")
    ex(page.locator("#deploy-result")).to_contain_text("v2")

    with rt.reads() as s:
        acc = s.scalars(
            select(ProcessDefinition).where(ProcessDefinition.key == "acceptance").order_by(ProcessDefinition.version)
        ).all()
        assert [(d.version, d.change_note, d.deployed_by) for d in acc][-1] == (2, "验收增加销号复核", "designer")

    # the processes page lists both versions
    page.goto("/designer/")
    ex(page.locator("#process-acceptance tr[data-version='2']")).to_contain_text("验收增加销号复核")

    # a dry-run migration of the old problem instance (its acceptance waits on higher_opinion)
    page.goto("/designer/process/problem/migrate")
    page.check(f"#pick-{old_iid}")
    page.click("#dry-run")
    result = page.locator(f"#result-{old_iid}")
    ex(result).to_contain_text("acceptance/final_review")
    ex(result).to_contain_text("acceptance/verify")
    ex(result.locator(".chip-green")).to_be_visible()
    with rt.reads() as s:
        assert s.get(ProcessInstance, old_iid).definition_id == v1_problem  # nothing migrated

    # the instance started before stays on version 1 and completes there
    _complete(rt, old_iid, "higher_opinion", {"decision": "approve", "opinion": "同意"})
    _complete(
        rt,
        old_iid,
        "decision_meeting",
        {"decision": "approve", "meeting_date": "2025-01-30", "minutes": "会议研究同意"},
    )
    _complete(rt, old_iid, "sign_off", {"decision": "approve", "opinion": "同意销号"})
    with rt.reads() as s:
        inst = s.get(ProcessInstance, old_iid)
        assert (inst.status, inst.definition_id) == ("completed", v1_problem)

    # a new instance runs version 2
    with rt.sessions.begin() as s:
        new = instances.start_instance(
            s, rt, "acceptance", {"problem_id": 1, "problem_number": "1.1", "deadline": "2025-03-01"}, actor="designer"
        )
        assert s.get(ProcessDefinition, new.definition_id).version == 2
