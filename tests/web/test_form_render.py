"""Server-rendered task forms: labels, values kept, errors next to their field, rows, locale, escaping."""

from __future__ import annotations

import copy
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import Markup

from rectiflow.forms import Form, coerce_submission, load_form, validate_submission
from webapp.forms_render import render_form

FILE_A = "a" * 64
VOID = {"input", "br", "hr", "img", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr"}

FORM: dict = {
    "schema": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "case_no": {"type": "string", "title": "问题编号", "readOnly": True},
            "summary": {"type": "string", "title": "整改情况概述", "minLength": 10, "maxLength": 2000,
                        "description": "说明整改采取的措施和取得的成效"},
            "completed_on": {"type": "string", "format": "date", "title": "完成日期"},
            "evidence": {"type": "array", "title": "佐证材料", "minItems": 1,
                         "items": {"type": "string", "format": "file-ref"}},
            "measures": {"type": "array", "title": "整改措施", "minItems": 1, "maxItems": 5,
                         "items": {"$ref": "#/$defs/measure"}},
            "decision": {"type": "string", "title": "审核意见", "enum": ["approve", "return"]},
            "reason": {"type": "string", "title": "退回理由"},
            "level": {"type": "string", "title": "问题等级", "enum": ["general", "major"],
                      "default": "general"},
            "kinds": {"type": "array", "title": "问题类型",
                      "items": {"type": "string", "enum": ["party", "finance"]}},
            "confirmed": {"type": "boolean", "title": "已核实"},
            "contact": {"type": "object", "additionalProperties": False, "title": "联系人",
                        "properties": {"name": {"type": "string", "title": "姓名"}}},
        },
        "required": ["summary", "evidence", "measures", "decision"],
        "$defs": {
            "measure": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "text": {"type": "string", "title": "措施内容"},
                    "deadline": {"type": "string", "format": "date", "title": "完成时限"},
                    "progress": {"type": "integer", "title": "完成进度", "minimum": 0, "maximum": 100},
                },
                "required": ["text", "deadline"],
            }
        },
        "if": {"properties": {"decision": {"const": "return"}}, "required": ["decision"]},
        "then": {"required": ["reason"]},
    },
    "ui": {
        "ui:order": ["case_no", "summary", "completed_on", "measures", "evidence", "decision", "reason"],
        "summary": {"widget": "textarea", "title_en": "Summary", "description_en": "What was done"},
        "decision": {"widget": "radio", "labels": {"approve": "同意", "return": "退回"},
                     "labels_en": {"approve": "Approve", "return": "Return"}, "i18n": {"en": "Decision"}},
        "level": {"labels": {"general": "一般", "major": "重大"}},
        "kinds": {"widget": "checkboxes", "labels": {"party": "党建", "finance": "财务"}},
        "measures": {"title_en": "Measures"},
        "measures.deadline": {"title_en": "Deadline"},
    },
}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.text_parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.text_parts + [c.text for c in self.children]).strip()

    def iter(self):
        for child in self.children:
            yield child
            yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        def ok(n: Node) -> bool:
            return (tag is None or n.tag == tag) and all(
                n.attrs.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())
        return [n for n in self.iter() if ok(n)]

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag} {attrs}>"
        return found[0]

    def inside_template(self) -> bool:
        node = self.parent
        while node is not None:
            if node.tag == "template":
                return True
            node = node.parent
        return False


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        assert self.current.tag == tag, f"</{tag}> closes <{self.current.tag}>"
        self.current = self.current.parent  # type: ignore[assignment]

    def handle_data(self, data: str) -> None:
        self.current.text_parts.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.current is builder.root, "unclosed elements"
    return builder.root


def submitted_fields(root: Node) -> dict[str, list[str]]:
    """What a browser would post for the rendered form (ignoring <template> content)."""
    out: dict[str, list[str]] = {}
    for n in root.iter():
        name = n.attrs.get("name")
        if not name or n.inside_template() or n.attrs.get("type") == "file":
            continue
        if n.tag == "input" and n.attrs.get("type") in ("checkbox", "radio"):
            if "checked" in n.attrs:
                out.setdefault(name, []).append(n.attrs.get("value") or "on")
        elif n.tag == "select":
            chosen = [o.attrs.get("value", "") for o in n.find_all("option") if "selected" in o.attrs]
            out.setdefault(name, []).append(chosen[0] if chosen else "")
        elif n.tag == "textarea":
            out.setdefault(name, []).append("".join(n.text_parts))
        elif n.tag == "input":
            out.setdefault(name, []).append(n.attrs.get("value") or "")
    return out


@pytest.fixture()
def form() -> Form:
    return load_form(copy.deepcopy(FORM), "acceptance_application")


def field_div(root: Node, path: str) -> Node:
    return next(n for n in root.find_all("div")
                if n.attrs.get("data-path") == path and "field" in (n.attrs.get("class") or "").split())


VALUES = {
    "case_no": "XC-2025-017",
    "summary": "<script>alert('x')</script> 已整改",
    "completed_on": "2025-02-30",
    "evidence": [FILE_A],
    "measures": [{"text": "修订制度", "progress": "abc"},
                 {"text": "建立台账", "deadline": "2025-04-30", "progress": 50}],
    "decision": "return",
    "kinds": ["finance"],
    "confirmed": True,
}
ERRORS = {
    "summary": ["不能少于 10 个字符"],
    "completed_on": ["请输入有效日期（YYYY-MM-DD）"],
    "measures[0].deadline": ["此项为必填项"],
    "measures[0].progress": ["格式不正确，应为整数"],
    "reason": ["根据所填内容，此项为必填项"],
}


def test_render_returns_markup_with_labels_and_help(form: Form) -> None:
    html = render_form(form, VALUES, ERRORS, locale="zh_CN")
    assert isinstance(html, Markup)
    root = parse(str(html))
    label = root.find("label", for_="f-summary")
    assert label.text.startswith("整改情况概述") and label.find("abbr", class_="required")
    assert root.find("textarea", id="f-summary").attrs["name"] == "summary"
    assert root.find("p", id="f-summary-help").text == "说明整改采取的措施和取得的成效"
    assert root.find("label", for_="f-completed_on").text == "完成日期"
    assert root.find("label", for_="f-completed_on").find_all("abbr") == []
    order = [n.attrs["data-path"] for n in root.find("div", class_="form-fields").children]
    assert order[:7] == ["case_no", "summary", "completed_on", "measures", "evidence", "decision", "reason"]
    assert order[7:] == ["level", "kinds", "confirmed", "contact"]


def test_errors_are_under_their_field_with_aria(form: Form) -> None:
    root = parse(str(render_form(form, VALUES, ERRORS, locale="zh_CN")))
    summary = root.find("textarea", id="f-summary")
    assert summary.attrs["aria-invalid"] == "true"
    assert summary.attrs["aria-describedby"] == "f-summary-help f-summary-error"
    error = field_div(root, "summary").find("p", class_="field-error")
    assert error.attrs["id"] == "f-summary-error" and error.attrs["role"] == "alert"
    assert error.text == "不能少于 10 个字符"

    deadline = root.find("input", name="measures[0].deadline")
    assert deadline.attrs["aria-invalid"] == "true"
    assert deadline.attrs["aria-describedby"] == "f-measures-0-deadline-error"
    assert field_div(root, "measures[0].deadline").find("p", class_="field-error").text == "此项为必填项"
    assert field_div(root, "reason").find("p", class_="field-error").text == "根据所填内容，此项为必填项"
    clean = root.find("input", name="measures[1].deadline")
    assert "aria-invalid" not in clean.attrs and "aria-describedby" not in clean.attrs
    assert field_div(root, "measures[1].deadline").find_all("p", class_="field-error") == []
    assert root.find_all("div", class_="form-errors") == []


def test_values_are_preserved_including_invalid_text(form: Form) -> None:
    root = parse(str(render_form(form, VALUES, ERRORS, locale="zh_CN")))
    assert root.find("textarea", id="f-summary").text_parts == ["<script>alert('x')</script> 已整改"]
    date_input = root.find("input", name="completed_on")
    assert date_input.attrs["value"] == "2025-02-30" and date_input.attrs["type"] == "text"
    progress = root.find("input", name="measures[0].progress")
    assert progress.attrs["value"] == "abc" and progress.attrs["type"] == "text"
    assert root.find("input", name="measures[1].progress").attrs == {
        **root.find("input", name="measures[1].progress").attrs, "type": "number", "value": "50", "min": "0",
        "max": "100"}
    assert root.find("input", name="measures[1].deadline").attrs["type"] == "date"
    assert "checked" in root.find("input", name="decision", value="return").attrs
    assert "checked" not in root.find("input", name="decision", value="approve").attrs
    assert "checked" in root.find("input", name="kinds", value="finance").attrs
    assert "checked" not in root.find("input", name="kinds", value="party").attrs
    assert "checked" in root.find("input", name="confirmed").attrs
    level = root.find("select", name="level")
    assert [o.attrs["value"] for o in level.find_all("option")] == ["", "general", "major"]
    assert "selected" in level.find("option", value="general").attrs  # the default
    assert [o.text for o in level.find_all("option")] == ["请选择", "一般", "重大"]


def test_script_is_escaped(form: Form) -> None:
    values = {**VALUES, "case_no": "<script>x()</script>", "contact": {"name": '"><script>y()</script>'}}
    errors = {"summary": ["<b>bad</b>"]}
    html = str(render_form(form, values, errors, locale="zh_CN"))
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(" in html and "&lt;b&gt;bad&lt;/b&gt;" in html
    root = parse(html)
    assert root.find("input", name="contact.name").attrs["value"] == '"><script>y()</script>'
    assert root.find("output", id="f-case_no").text == "<script>x()</script>"


def test_rows_have_indexed_names_an_empty_row_and_a_template(form: Form) -> None:
    root = parse(str(render_form(form, VALUES, ERRORS, locale="zh_CN")))
    rows = root.find("fieldset", class_="rows")
    assert rows.attrs["data-min"] == "1" and rows.attrs["data-max"] == "5"
    visible = [n for n in rows.find_all("fieldset", class_="row") if not n.inside_template()]
    assert [r.attrs["data-index"] for r in visible] == ["0", "1", "2"]
    names = [n.attrs["name"] for n in visible[2].find_all("input")]
    assert names == ["measures[2].text", "measures[2].deadline", "measures[2].progress"]
    assert all(n.attrs["value"] == "" for n in visible[2].find_all("input"))
    assert root.find("label", for_="f-measures-0-text").text.startswith("措施内容")
    assert root.find("input", id="f-measures-0-text").attrs["value"] == "修订制度"
    template = rows.find("template")
    button = rows.find("button", class_="add-row")
    assert button.attrs["type"] == "button" and button.attrs["data-template-id"] == template.attrs["id"]
    assert [n.attrs["name"] for n in template.find_all("input")] == [
        "measures[__INDEX__].text", "measures[__INDEX__].deadline", "measures[__INDEX__].progress"]
    assert len(rows.find_all("button", class_="remove-row")) == 4  # 3 rows + template


def test_row_count_respects_min_and_max(form: Form) -> None:
    def visible_rows(values: dict) -> int:
        root = parse(str(render_form(form, values, {}, locale="zh_CN")))
        return len([n for n in root.find_all("fieldset", class_="row") if not n.inside_template()])

    assert visible_rows({}) == 1
    assert visible_rows({"measures": [{"text": str(i)} for i in range(4)]}) == 5
    assert visible_rows({"measures": [{"text": str(i)} for i in range(5)]}) == 5
    data = copy.deepcopy(FORM)
    data["schema"]["properties"]["measures"]["minItems"] = 3
    root = parse(str(render_form(load_form(data, "k"), {}, {}, locale="zh_CN")))
    assert len([n for n in root.find_all("fieldset", class_="row") if not n.inside_template()]) == 3


def test_english_labels(form: Form) -> None:
    root = parse(str(render_form(form, VALUES, {}, locale="en")))
    assert root.find("label", for_="f-summary").text.startswith("Summary")
    assert root.find("p", id="f-summary-help").text == "What was done"
    assert root.find("fieldset", id="f-decision").find("legend").text.startswith("Decision")
    assert root.find("label", for_="f-decision-0").text == "Approve"
    assert root.find("label", for_="f-measures-1-deadline").text.startswith("Deadline")
    assert root.find("label", for_="f-completed_on").text == "完成日期"  # no translation: Chinese title
    assert root.find("button", class_="add-row").text == "Add row"
    assert root.find("select", name="level").find("option", value="").text == "Please choose"
    zh = parse(str(render_form(form, VALUES, {}, locale="zh_CN")))
    assert zh.find("label", for_="f-decision-0").text == "同意"
    assert zh.find("button", class_="add-row").text == "添加一行"


def test_read_only_fields_and_read_only_form(form: Form) -> None:
    root = parse(str(render_form(form, VALUES, {}, locale="zh_CN")))
    assert root.find_all(name="case_no") == []
    assert root.find("output", id="f-case_no").text == "XC-2025-017"
    assert root.find("label", for_="f-case_no").text == "问题编号"

    view = parse(str(render_form(form, VALUES, {}, locale="zh_CN", readonly=True)))
    assert [n for n in view.iter() if n.tag in ("input", "select", "textarea", "button", "template")] == []
    assert view.find("output", id="f-decision").text == "退回"
    assert view.find("output", id="f-kinds").text == "财务"
    assert view.find("output", id="f-confirmed").text == "是"
    assert view.find("output", id="f-measures-1-deadline").text == "2025-04-30"
    assert view.find("output", id="f-reason").text == "—"
    assert len(view.find_all("fieldset", class_="row")) == 2
    empty = parse(str(render_form(form, {**VALUES, "measures": []}, {}, locale="zh_CN", readonly=True)))
    rows = empty.find("div", id="f-measures-rows")
    assert rows.find_all("fieldset") == [] and rows.find("output").text == "—"  # not an empty box


def test_id_prefix_keeps_ids_apart_when_forms_share_a_page(form: Form) -> None:
    view = parse(str(render_form(form, VALUES, {}, locale="zh_CN", readonly=True, id_prefix="e0-")))
    assert view.find("output", id="e0-f-decision").text == "退回"
    assert view.find_all("output", id="f-decision") == []


def test_file_fields_keep_uploaded_ids(form: Form) -> None:
    root = parse(str(render_form(form, VALUES, {}, locale="zh_CN",
                                 file_info=lambda fid: ("整改报告.pdf", f"/files/{fid}"))))
    field = field_div(root, "evidence")
    assert field.find("input", type="hidden", name="evidence").attrs["value"] == FILE_A
    upload = field.find("input", type="file")
    assert upload.attrs["name"] == "evidence__upload" and "multiple" in upload.attrs
    assert field.find("label", for_="f-evidence")
    assert field.find("a").attrs["href"] == f"/files/{FILE_A}" and field.find("a").text == "整改报告.pdf"
    assert field.find("input", type="checkbox").attrs == {"type": "checkbox", "name": "evidence__remove",
                                                         "value": FILE_A}


def test_errors_of_list_items_are_shown_on_the_list(form: Form) -> None:
    errors = {"evidence[0]": ["文件无效，请重新上传"], "kinds[1]": ["请从选项中选择"],
              "measures": ["至少需要 1 项"]}
    root = parse(str(render_form(form, VALUES, errors, locale="zh_CN")))
    assert field_div(root, "evidence").find("p", class_="field-error").text == "文件无效，请重新上传"
    assert root.find("input", type="file").attrs["aria-invalid"] == "true"
    assert field_div(root, "kinds").find("p", class_="field-error").text == "请从选项中选择"
    rows = root.find("fieldset", class_="rows")
    assert rows.attrs["aria-describedby"] == "f-measures-error"
    assert rows.find("p", id="f-measures-error").text == "至少需要 1 项"
    assert root.find_all("div", class_="form-errors") == []


def test_unplaced_errors_are_listed_at_the_top(form: Form) -> None:
    errors = {"": ["提交内容无效"], "nowhere": ["包含未定义的字段"]}
    root = parse(str(render_form(form, {}, errors, locale="zh_CN")))
    box = root.find("div", class_="form-errors")
    assert box.attrs["role"] == "alert"
    assert [li.text for li in box.find_all("li")] == ["提交内容无效", "包含未定义的字段"]


def test_round_trip_render_submit_validate(form: Form) -> None:
    """What the page posts back coerces to the values it showed; errors land on rendered fields."""
    root = parse(str(render_form(form, VALUES, {}, locale="zh_CN")))
    data = coerce_submission(form, submitted_fields(root))
    expected = {k: v for k, v in VALUES.items() if k != "case_no"}
    assert data == {**expected, "level": "general"}
    errors = validate_submission(form, data)
    assert set(errors) == {"completed_on", "measures[0].deadline", "measures[0].progress", "reason"}
    again = parse(str(render_form(form, data, errors, locale="zh_CN")))
    for path in errors:
        assert field_div(again, path).find("p", class_="field-error").text
    assert again.find_all("div", class_="form-errors") == []


def test_rows_script_is_small_and_dependency_free() -> None:
    script = Path(__file__).resolve().parents[2] / "webapp" / "static" / "js" / "form-rows.js"
    text = script.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 60
    assert "__INDEX__" in text and "import " not in text and "require(" not in text
