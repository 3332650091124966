"""Form files: loading (findings with JSON pointers), coercion of HTML fields, server-side validation."""

from __future__ import annotations

import copy
import hashlib
import json
import re

import pytest

from rectiflow.errors import DefinitionError
from rectiflow.forms import (
    FORM_MESSAGES,
    Form,
    coerce_submission,
    collect_errors,
    load_form,
    message_for,
    render_message,
    validate_submission,
)

FILE_A = "a" * 64
FILE_B = "b" * 64

# "提出验收申请": the responsible unit applies for acceptance of a rectified problem.
ACCEPTANCE: dict = {
    "schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object", "additionalProperties": False,
        "title": "提出验收申请",
        "properties": {
            "case_no": {"type": "string", "title": "问题编号", "readOnly": True},
            "summary": {"type": "string", "title": "整改情况概述", "minLength": 10, "maxLength": 2000,
                        "description": "说明整改采取的措施和取得的成效"},
            "completed_on": {"type": "string", "format": "date", "title": "完成日期"},
            "evidence": {"type": "array", "title": "佐证材料", "minItems": 1,
                         "items": {"type": "string", "format": "file-ref"}},
            "measures": {"type": "array", "title": "整改措施", "minItems": 1, "maxItems": 20,
                         "items": {"$ref": "#/$defs/measure"}},
            "decision": {"type": "string", "title": "审核意见", "enum": ["approve", "return"]},
            "reason": {"type": "string", "title": "退回理由", "maxLength": 500},
        },
        "required": ["summary", "evidence", "measures", "decision"],
        "$defs": {
            "measure": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "text": {"type": "string", "title": "措施内容"},
                    "deadline": {"type": "string", "format": "date", "title": "完成时限"},
                    "progress": {"type": "integer", "title": "完成进度（%）", "minimum": 0, "maximum": 100},
                },
                "required": ["text", "deadline"],
            }
        },
        "if": {"properties": {"decision": {"const": "return"}}, "required": ["decision"]},
        "then": {"properties": {"reason": {"minLength": 1}}, "required": ["reason"]},
    },
    "ui": {
        "ui:order": ["case_no", "summary", "completed_on", "measures", "evidence", "decision", "reason"],
        "summary": {"widget": "textarea", "title_en": "Summary of rectification"},
        "decision": {"widget": "radio", "labels": {"approve": "同意", "return": "退回"},
                     "labels_en": {"approve": "Approve", "return": "Return"}, "title_en": "Decision"},
        "measures.deadline": {"title_en": "Deadline"},
    },
}

# Other constructs: nested objects, booleans, numbers, date-time, email, checkbox groups, oneOf.
MISC: dict = {
    "schema": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "contact": {"type": "object", "additionalProperties": False, "title": "联系人", "required": ["name"],
                        "properties": {"name": {"type": "string", "title": "姓名"},
                                       "email": {"type": "string", "format": "email", "title": "邮箱"}}},
            "confirmed": {"type": "boolean", "title": "已核实"},
            "amount": {"type": "number", "title": "金额（万元）", "minimum": 0},
            "met_at": {"type": "string", "format": "date-time", "title": "约谈时间"},
            "kinds": {"type": "array", "title": "问题类型", "uniqueItems": True,
                      "items": {"type": "string", "enum": ["party", "finance", "staff"]}},
            "level": {"type": "integer", "title": "等级",
                      "oneOf": [{"const": 1, "title": "一般"}, {"const": 2, "title": "重要"}]},
            "code": {"type": "string", "title": "文号", "pattern": "^[A-Z]{2}-\\d+$"},
        },
    },
    "ui": {"kinds": {"widget": "checkboxes",
                     "labels": {"party": "党建", "finance": "财务", "staff": "选人用人"}}},
}


@pytest.fixture()
def form() -> Form:
    return load_form(copy.deepcopy(ACCEPTANCE), "acceptance_application")


@pytest.fixture()
def misc() -> Form:
    return load_form(copy.deepcopy(MISC), "misc")


def valid_data() -> dict:
    return {
        "summary": "已完成全部整改措施并建立长效机制",
        "completed_on": "2025-03-31",
        "evidence": [FILE_A],
        "measures": [{"text": "修订采购制度", "deadline": "2025-03-01", "progress": 100}],
        "decision": "approve",
    }


# ------------------------------------------------------------------------------------ loading


def test_load_form_returns_frozen_form_with_canonical_hash(form: Form) -> None:
    canonical = json.dumps(ACCEPTANCE, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert form.key == "acceptance_application"
    assert form.content_hash == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert form.schema["title"] == "提出验收申请" and form.ui["decision"]["widget"] == "radio"
    with pytest.raises(AttributeError):
        form.key = "other"  # type: ignore[misc]
    reordered = {"ui": ACCEPTANCE["ui"], "schema": dict(reversed(list(ACCEPTANCE["schema"].items())))}
    again = load_form(reordered, "acceptance_application")
    assert again == form and hash(again) == hash(form)


def test_load_form_does_not_keep_references_to_the_input() -> None:
    data = copy.deepcopy(ACCEPTANCE)
    loaded = load_form(data, "k")
    data["schema"]["properties"]["summary"]["title"] = "changed"
    assert loaded.schema["properties"]["summary"]["title"] == "整改情况概述"


def findings_of(data: dict, key: str = "broken") -> list[dict[str, str]]:
    with pytest.raises(DefinitionError) as info:
        load_form(data, key)
    assert all(f["file"] == f"forms/{key}.json" for f in info.value.findings)
    return info.value.findings


def elements(findings: list[dict[str, str]]) -> set[str]:
    return {f["element"] for f in findings}


def test_invalid_json_schema_is_reported_with_pointer() -> None:
    data = copy.deepcopy(ACCEPTANCE)
    data["schema"]["properties"]["summary"]["type"] = "text"
    data["schema"]["properties"]["summary"]["minLength"] = -1
    found = findings_of(data)
    assert {"/properties/summary/type", "/properties/summary/minLength"} <= elements(found)
    meta = [f for f in found if f["problem"].startswith("not a valid JSON Schema")]
    assert {f["element"] for f in meta} == {"/properties/summary/type", "/properties/summary/minLength"}


def test_top_level_must_be_object() -> None:
    found = findings_of({"schema": {"type": "array", "items": {"type": "string"}}})
    assert "/type" in elements(found)


def test_missing_title_in_row_field_is_reported_at_its_pointer() -> None:
    data = copy.deepcopy(ACCEPTANCE)
    data["schema"]["properties"]["measures"]["items"] = copy.deepcopy(data["schema"]["$defs"]["measure"])
    del data["schema"]["properties"]["measures"]["items"]["properties"]["deadline"]["title"]
    del data["schema"]["properties"]["reason"]["title"]
    found = findings_of(data)
    assert elements(found) == {"/properties/measures/items/properties/deadline", "/properties/reason"}
    assert all("title" in f["problem"] for f in found)


def test_missing_title_in_a_definition_is_reported_in_defs() -> None:
    data = copy.deepcopy(ACCEPTANCE)
    del data["schema"]["$defs"]["measure"]["properties"]["text"]["title"]
    assert elements(findings_of(data)) == {"/$defs/measure/properties/text"}


def test_ui_key_for_unknown_property_and_bad_options() -> None:
    data = copy.deepcopy(ACCEPTANCE)
    data["ui"]["summmary"] = {"widget": "textarea"}
    data["ui"]["measures.owner"] = {}
    data["ui"]["ui:order"] = ["summary", "nope"]
    data["ui"]["decision"]["labels"]["maybe"] = "也许"
    data["ui"]["completed_on"] = {"widget": "radio", "colour": "red"}
    found = findings_of(data)
    assert elements(found) == {
        "/ui/summmary", "/ui/measures.owner", "/ui/ui:order/1", "/ui/decision/labels/maybe",
        "/ui/completed_on/widget", "/ui/completed_on/colour",
    }
    problem = next(f["problem"] for f in found if f["element"] == "/ui/summmary")
    assert "'summmary' is not a property" in problem


def test_unsupported_constructs_are_refused() -> None:
    schema = {
        "type": "object", "additionalProperties": False,
        "properties": {
            "a": {"type": "string", "title": "A", "format": "uri"},
            "b": {"type": "string", "title": "B", "if": {"const": "x"}, "then": {"minLength": 2}},
            "c": {"type": "array", "title": "C", "items": {"type": "string"}},
            "d": {"type": ["string", "null"], "title": "D"},
            "e": {"$ref": "#/definitions/x", "title": "E"},
            "f": {"type": "array", "title": "F", "items": {
                "type": "object", "additionalProperties": False, "properties": {
                    "g": {"type": "array", "title": "G", "items": {
                        "type": "object", "additionalProperties": False, "properties": {
                            "h": {"type": "string", "title": "H"}}}}}}},
            "bad name": {"type": "string", "title": "X"},
            "i": {"type": "string", "title": "I", "enum": ["x", 2]},
        },
        "required": ["a", "zz"],
        "if": {"properties": {"unknown": {"const": 1}}},
        "then": {"required": ["a"], "anyOf": [{"required": ["b"]}]},
    }
    found = findings_of({"schema": schema, "ui": {}, "extra": 1})
    assert elements(found) >= {
        "/extra", "/properties/a/format", "/properties/b/if", "/properties/b/then", "/properties/c/items",
        "/properties/d/type", "/properties/e/$ref", "/properties/f/items/properties/g/items",
        "/properties/bad name", "/properties/i/enum/1", "/required/1", "/if/properties/unknown",
        "/then/anyOf",
    }
    hint = next(f["problem"] for f in found if f["element"] == "/properties/b/if")
    assert "top level" in hint


def test_metaschema_and_structural_findings_come_together() -> None:
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"a": {"type": ["string", 1], "title": "A"},
                             "b": {"type": "string"},
                             "c": {"type": "string", "title": "C", "enum": 3}},
              "required": "a", "$defs": [], "allOf": {}}
    found = findings_of({"schema": schema, "ui": {"a": {"widget": ["x"]}, "zz": {}}})
    assert {"/properties/a/type", "/properties/b", "/properties/c/enum", "/required", "/$defs", "/allOf",
            "/ui/zz", "/ui/a/widget"} <= elements(found)


def test_not_a_form_file() -> None:
    assert elements(findings_of({"properties": {}})) == {""}  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ coercion


def test_coerce_rows_with_sparse_indices_and_empty_rows(form: Form) -> None:
    raw = {
        "summary": ["  已完成整改  "],
        "measures[3].text": ["建立台账"],
        "measures[3].deadline": ["2025-04-30"],
        "measures[3].progress": [""],
        "measures[0].text": ["修订制度"],
        "measures[0].deadline": ["2025-03-01"],
        "measures[0].progress": ["80"],
        "measures[2].text": ["   "],
        "measures[2].deadline": [""],
        "measures[__INDEX__].text": ["template rows are never posted, but are ignored anyway"],
        "decision": ["approve"],
        "reason": [""],
    }
    data = coerce_submission(form, raw)
    assert data == {
        "summary": "已完成整改",
        "evidence": [],
        "measures": [
            {"text": "修订制度", "deadline": "2025-03-01", "progress": 80},
            {"text": "建立台账", "deadline": "2025-04-30"},
        ],
        "decision": "approve",
    }


def test_coerce_keeps_invalid_text_for_validation(form: Form) -> None:
    raw = {"measures[0].text": ["x"], "measures[0].progress": ["八十"], "completed_on": ["2025-02-30"]}
    data = coerce_submission(form, raw)
    assert data["measures"] == [{"text": "x", "progress": "八十"}]
    assert data["completed_on"] == "2025-02-30"


def test_coerce_drops_read_only_fields_and_unknown_names(form: Form) -> None:
    data = coerce_submission(form, {"case_no": ["FORGED-1"], "is_admin": ["1"], "summary": ["abc"]})
    assert "case_no" not in data and "is_admin" not in data


def test_coerce_file_refs_with_removal(form: Form) -> None:
    raw = {"evidence": [FILE_A, FILE_B, ""], "evidence__remove": [FILE_B], "evidence__upload": ["x.pdf"]}
    assert coerce_submission(form, raw)["evidence"] == [FILE_A]


def test_coerce_other_types(misc: Form) -> None:
    raw = {
        "contact.name": [" 张三 "], "contact.email": [""], "confirmed": ["on"], "amount": ["12.5"],
        "met_at": ["2025-03-01T09:30"], "kinds": ["party", "staff"], "level": ["2"], "code": ["AB-1"],
    }
    assert coerce_submission(misc, raw) == {
        "contact": {"name": "张三"}, "confirmed": True, "amount": 12.5,
        "met_at": "2025-03-01T09:30:00+08:00", "kinds": ["party", "staff"], "level": 2, "code": "AB-1",
    }
    empty = coerce_submission(misc, {})
    assert empty == {"confirmed": False, "kinds": []}
    assert coerce_submission(misc, {"amount": ["3"]})["amount"] == 3
    assert coerce_submission(misc, {"amount": ["1e999"]})["amount"] == "1e999"


def test_coerce_accepts_a_multidict_like_object(form: Form) -> None:
    class MultiDict(dict):
        def getlist(self, key: str) -> list[str]:
            return list(self.get(key, []))

    data = coerce_submission(form, MultiDict({"measures[5].text": ["a"], "summary": ["b"]}))
    assert data["measures"] == [{"text": "a"}] and data["summary"] == "b"


# ------------------------------------------------------------------------------------ validation


def test_valid_submission_has_no_errors(form: Form) -> None:
    assert validate_submission(form, valid_data()) == {}


def test_errors_in_chinese_are_attached_to_field_paths(form: Form) -> None:
    raw = {
        "summary": ["太短"],
        "completed_on": ["2025-02-30"],
        "measures[0].text": ["修订制度"],
        "measures[0].progress": ["abc"],
        "measures[4].text": ["建立台账"],
        "measures[4].deadline": ["2025-04-31"],
        "measures[4].progress": ["120"],
        "decision": ["approve"],
    }
    errors = validate_submission(form, coerce_submission(form, raw))
    assert errors == {
        "summary": ["不能少于 10 个字符"],
        "completed_on": ["请输入有效日期（YYYY-MM-DD）"],
        "evidence": ["至少需要 1 项"],
        "measures[0].deadline": ["此项为必填项"],
        "measures[0].progress": ["格式不正确，应为整数"],
        "measures[1].deadline": ["请输入有效日期（YYYY-MM-DD）"],
        "measures[1].progress": ["不能大于 100"],
    }


def test_errors_in_english_and_fallback(form: Form) -> None:
    data = {**valid_data(), "summary": "short", "measures": [{"text": "x", "progress": "abc"}]}
    errors = validate_submission(form, data, locale="en")
    assert errors == {
        "summary": ["Enter at least 10 characters"],
        "measures[0].deadline": ["This field is required"],
        "measures[0].progress": ["Invalid value: expected a whole number"],
    }
    assert validate_submission(form, data, locale="fr_FR") == errors
    assert validate_submission(form, data, locale="zh-CN")["summary"] == ["不能少于 10 个字符"]


def test_missing_required_fields(form: Form) -> None:
    errors = validate_submission(form, coerce_submission(form, {}))
    assert errors == {
        "summary": ["此项为必填项"],
        "evidence": ["至少需要 1 项"],
        "measures": ["至少需要 1 项"],
        "decision": ["此项为必填项"],
    }


def test_reason_required_only_when_returning(form: Form) -> None:
    returned = coerce_submission(form, {**{k: [v] for k, v in valid_data().items() if isinstance(v, str)},
                                        "evidence": [FILE_A], "measures[0].text": ["a"],
                                        "measures[0].deadline": ["2025-01-01"], "decision": ["return"],
                                        "reason": ["   "]})
    assert validate_submission(form, returned) == {"reason": ["根据所填内容，此项为必填项"]}
    assert validate_submission(form, returned, "en") == {
        "reason": ["This field is required given your other answers"]}
    assert validate_submission(form, {**returned, "reason": "附件不全"}) == {}
    assert validate_submission(form, {**returned, "decision": "approve"}) == {}


def test_enum_and_file_ref_shape(form: Form) -> None:
    data = {**valid_data(), "decision": "maybe", "evidence": ["../../etc/passwd"]}
    assert validate_submission(form, data) == {
        "decision": ["请从选项中选择"],
        "evidence[0]": ["文件无效，请重新上传"],
    }


def test_read_only_fields_are_never_reported() -> None:
    data = copy.deepcopy(ACCEPTANCE)
    data["schema"]["required"].append("case_no")
    form = load_form(data, "k")
    assert validate_submission(form, valid_data()) == {}


def test_other_constructs(misc: Form) -> None:
    data = {"contact": {"email": "not-an-email"}, "confirmed": True, "amount": -1,
            "met_at": "2025-13-01T00:00:00Z", "kinds": ["party", "party", "other"], "level": 3,
            "code": "ab-1"}
    errors = validate_submission(misc, data)
    assert errors == {
        "contact.name": ["此项为必填项"],
        "contact.email": ["请输入有效的电子邮箱地址"],
        "amount": ["不能小于 0"],
        "met_at": ["请输入有效的日期时间"],
        "kinds": ["不能有重复项"],
        "kinds[2]": ["请从选项中选择"],
        "level": ["请从选项中选择"],
        "code": ["格式不符合要求"],
    }
    assert validate_submission(misc, {"amount": "abc"}, "en") == {
        "amount": ["Invalid value: expected a number"]}
    assert validate_submission(misc, {"met_at": "2025-03-01T09:30:00+08:00"}) == {}


def test_non_object_submission_is_reported_at_top(form: Form) -> None:
    assert validate_submission(form, [])[""] == ["格式不正确，应为一组字段"]  # type: ignore[arg-type]


def test_message_keys_and_params(form: Form) -> None:
    data = {**valid_data(), "summary": "短",
            "measures": [{"text": "x", "deadline": "2025-01-01", "progress": "a"}]}
    keys = collect_errors(form, data)
    assert keys == {"summary": [("minLength", {"limit": 10})],
                    "measures[0].progress": [("type", {"expected": "integer"})]}
    from jsonschema import Draft202012Validator

    error = next(Draft202012Validator({"maxLength": 3}).iter_errors("abcd"))
    assert message_for(error) == ("maxLength", {"limit": 3})
    assert render_message("maxLength", {"limit": 3}, "zh_CN") == "不能超过 3 个字符"
    assert render_message("no-such-key", {}, "en") == "Invalid value"


def test_every_message_has_chinese_and_english() -> None:
    """Form messages are catalogue ids: English is the msgid, Chinese comes from the catalogue."""
    for key, msgid in FORM_MESSAGES.items():
        assert render_message(key, {"limit": 1, "expected": "string", "name": "x"}, "en") == msgid % {
            "limit": 1, "expected": "text", "name": "x"}, key
        assert re.search(r"[\u4e00-\u9fff]", render_message(key, {"limit": 1, "expected": "string", "name": "x"},
                                                              "zh_CN")), key
