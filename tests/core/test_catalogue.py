"""The one catalogue: every message id in the code is translated, errors carry ids (never prose), and the
same error or form message renders in Chinese and in English."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from rectiflow import forms as formlib
from rectiflow.errors import Conflict, InvalidInput, NotFound
from rectiflow.i18n import N_, TRANSLATIONS_DIR, Message, translate
from rectiflow.passwords import password_problems

ROOT = Path(__file__).resolve().parents[2]
PO = TRANSLATIONS_DIR / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)")
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def _extract(tmp_path: Path) -> list[str]:
    """The message ids the code uses, extracted exactly as ``make messages`` does."""
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "webapp" / "babel.cfg"), "-k", "N_",
                                "-k", "_l", "-o", str(pot), str(ROOT / "rectiflow"), str(ROOT / "webapp"),
                                str(ROOT / "notifications")])
    with pot.open("rb") as fh:
        return [m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id]


def test_every_message_id_in_the_code_has_a_chinese_translation(tmp_path: Path) -> None:
    ids = _extract(tmp_path)
    assert "This task is no longer open: its status is “%(task_status)s”." in ids  # the core's N_ ids are in
    assert "Bad request" in ids  # and the web app's _() ids
    assert "Dear %(name)s," in ids  # and the notice templates' (notifications/*.txt)
    with PO.open("rb") as fh:
        catalogue = read_po(fh)
    problems = []
    for msgid in ids:
        entry = catalogue.get(msgid)
        if entry is None or not entry.string:
            problems.append(f"untranslated: {msgid!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif isinstance(entry.string, str) and set(PLACEHOLDER.findall(msgid)) != set(
                PLACEHOLDER.findall(entry.string)):
            problems.append(f"placeholders differ: {msgid!r} → {entry.string!r}")
        elif translate("en", msgid) != msgid:
            problems.append(f"English is not the msgid: {msgid!r}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------- raise sites carry ids


def _core_error_names(files: list[Path]) -> set[str]:
    """Names of RectiflowError and every class in the core deriving from it (by name, to a fixed point)."""
    names = {"RectiflowError", "NotFound", "Forbidden", "Conflict", "InvalidInput", "InvalidFormData",
             "DefinitionError", "ConfigurationError"}
    classes = [node for f in files for node in ast.walk(ast.parse(f.read_text(encoding="utf-8")))
               if isinstance(node, ast.ClassDef)]
    grew = True
    while grew:
        grew = False
        for c in classes:
            bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in c.bases}
            if c.name not in names and bases & names:
                names.add(c.name)
                grew = True
    return names


def _text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or isinstance(node, ast.Constant) and isinstance(node.value, str)


def _prose(node: ast.AST) -> bool:
    """An f-string, a Chinese literal, string concatenation or ``.format``: text that is not a message id."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(CJK.search(node.value))
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _text(node.left) or _text(node.right)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("format", "join") and _text(node.func.value))


def _messages(call: ast.Call, callee: str) -> list[ast.AST]:
    """The arguments that hold text for a reader. A DefinitionError's findings are excluded: they are
    diagnostics for process designers (file, BPMN element, problem in technical English)."""
    args = [*call.args, *(k.value for k in call.keywords if k.arg != "findings")]
    if callee == "DefinitionError" and len(call.args) > 1:
        args.remove(call.args[1])
    return args


def _keys(tree: ast.AST) -> set[int]:
    """Field paths (dict keys, and the comprehension keys that build them) may be any text: not messages."""
    keys: set[int] = set()
    for n in ast.walk(tree):
        parts = n.keys if isinstance(n, ast.Dict) else [n.key] if isinstance(n, ast.DictComp) else []
        keys |= {id(sub) for k in parts if k is not None for sub in ast.walk(k)}
    return keys


def prose_raises(source: str, names: set[str], where: str = "") -> list[str]:
    """Raise sites of core errors whose message is not an ``N_()`` id (or an id held in a name), and raise
    sites of any helper (``_refuse``, ``_bad_file``) or field message that pass prose."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        call = node.exc
        callee = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
        if callee in names:
            first = call.args[0] if call.args else None
            is_id = (isinstance(first, ast.Call) and getattr(first.func, "id", "") == "N_") or isinstance(
                first, (ast.Name, ast.Attribute))
            if not is_id:
                found.append(f"{where}:{node.lineno}: {callee} without a message id")
        if callee in names or callee.startswith("_"):
            for arg in _messages(call, callee):
                keys = _keys(arg)
                if any(_prose(n) and id(n) not in keys for n in ast.walk(arg)):
                    found.append(f"{where}:{node.lineno}: {callee} passes prose")
                    break
    return found


def test_no_raise_site_in_the_core_passes_prose() -> None:
    files = sorted((ROOT / "rectiflow").rglob("*.py"))
    names = _core_error_names(files)
    assert {"EngineFailure", "Conflict"} <= names
    found = [hit for f in files for hit in prose_raises(f.read_text(encoding="utf-8"), names,
                                                        str(f.relative_to(ROOT)))]
    assert not found, "\n".join(found)


def test_no_raise_site_in_the_web_app_passes_prose() -> None:
    """Views raise the core's errors too (a missing round, an unknown report kind): the reader sees them
    through the same renderer, so they carry ids like the core's."""
    core = sorted((ROOT / "rectiflow").rglob("*.py"))
    web = sorted((ROOT / "webapp").rglob("*.py"))
    names = _core_error_names(core + web)
    assert len(web) > 20 and (ROOT / "webapp" / "views" / "designer.py") in web
    found = [hit for f in web for hit in prose_raises(f.read_text(encoding="utf-8"), names,
                                                      str(f.relative_to(ROOT)))]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("line", [
    'raise Conflict(f"this task is already {s}")',
    'raise NotFound("任务不存在")',
    'raise Forbidden("needs one of: " + ", ".join(roles))',
    'raise InvalidInput(N_("Bad."), errors={"score": ["请输入整数"]})',
    'raise InvalidInput(N_("Bad."), errors={"x": [f"at most {n} characters"]})',
    'raise _bad_file(f"问题清单超过 {n} 行")',
])
def test_the_raise_check_catches_prose(line: str) -> None:
    assert prose_raises(line, {"Conflict", "NotFound", "Forbidden", "InvalidInput"})


def test_the_raise_check_accepts_ids() -> None:
    ok = ('raise Conflict(N_("This task is no longer open: its status is “%(task_status)s”."), task_status=s)\n'
          'raise InvalidInput(N_("Bad."), errors={f"row {i}": [Message(N_("Required."))]})\n'
          'raise Conflict(_LOST_RACE)\n')
    assert prose_raises(ok, {"Conflict", "InvalidInput"}) == []


# ---------------------------------------------------------------------------- rendering


def test_a_core_error_renders_in_chinese_and_in_english_with_the_status_label() -> None:
    exc = Conflict(N_("This task is no longer open: its status is “%(task_status)s”."), task_status="completed")
    assert exc.render("zh_CN") == "该任务已不可办理：当前状态为“已完成”。"
    assert exc.render("en") == "This task is no longer open: its status is “Completed”."
    assert str(exc) == exc.message == exc.render("en")
    assert exc.details == {"task_status": "completed"}  # parameters stay structured for callers


def test_a_role_list_renders_as_labels_joined_the_languages_way() -> None:
    exc = NotFound(N_("This action needs one of the roles: %(roles)s."), roles=("admin", "inspection_office"))
    assert exc.render("zh_CN") == "此操作需要以下角色之一：系统管理员、巡察办。"
    assert exc.render("en").startswith("This action needs one of the roles: Administrator, ")


def test_field_messages_are_ids_rendered_per_reader() -> None:
    exc = InvalidInput(N_("The password is too weak."), errors={"password": password_problems("abc")})
    assert exc.render_errors("zh_CN") == {"password": ["至少 8 个字符。", "须同时包含字母和数字。"]}
    assert exc.render_errors("en") == {"password": ["At least 8 characters.", "Mix letters and digits."]}
    assert exc.render("zh_CN") == "密码强度不够。"


def test_a_detail_reaches_the_log_but_not_the_reader() -> None:
    from rectiflow.services.workflow.triggers import EngineFailure

    exc = EngineFailure(N_("The process failed; an administrator can see the details among the incidents."),
                        detail="NameError: name 'x' is not defined")
    assert "NameError" in str(exc)
    assert "NameError" not in exc.render("zh_CN") and "NameError" not in exc.render("en")


def test_a_message_round_trips_through_json() -> None:
    msg = Message(N_("Unknown user: %(name)s"), name="张三")
    again = Message.from_json(msg.to_json())
    assert again == msg and again.render("zh_CN") == "未知用户：张三" and str(again) == "Unknown user: 张三"


FORM = formlib.load_form({"schema": {
    "type": "object", "additionalProperties": False, "required": ["summary"],
    "properties": {"summary": {"type": "string", "title": "概述", "maxLength": 3},
                   "progress": {"type": "integer", "title": "进度"},
                   "on": {"type": "string", "title": "日期", "format": "date"}}}}, "catalogue_probe")


def test_form_validation_messages_come_from_the_catalogue_in_both_languages() -> None:
    data = {"summary": "太长的概述", "progress": "abc", "on": "2025-02-30"}
    assert formlib.validate_submission(FORM, data, "zh_CN") == {
        "summary": ["不能超过 3 个字符"], "progress": ["格式不正确，应为整数"], "on": ["请输入有效日期（YYYY-MM-DD）"]}
    assert formlib.validate_submission(FORM, data, "en") == {
        "summary": ["Enter at most 3 characters"], "progress": ["Invalid value: expected a whole number"],
        "on": ["Enter a valid date (YYYY-MM-DD)"]}
    assert formlib.validate_submission(FORM, {}, "zh_CN") == {"summary": ["此项为必填项"]}
    assert formlib.unknown_fields(FORM, {"unit_id": 3}, "en") == {"unit_id": ["The form has no field 'unit_id'"]}
    # the same findings as message ids, for an error that the edge renders
    [msg] = formlib.submission_errors(FORM, {"summary": "abcd"})["summary"]
    assert msg.msgid == formlib.FORM_MESSAGES["maxLength"] and msg.render("zh_CN") == "不能超过 3 个字符"


def test_the_cli_renders_errors_in_the_default_locale(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from rectiflow_cli.main import _fail

    exc = InvalidInput(N_("The password is too weak."), errors={"password": password_problems("abc")})
    monkeypatch.delenv("RECTIFLOW_DEFAULT_LOCALE", raising=False)
    with pytest.raises(SystemExit):
        _fail(exc)
    assert capsys.readouterr().err == "error: 密码强度不够。\n  password: 至少 8 个字符。; 须同时包含字母和数字。\n"
    monkeypatch.setenv("RECTIFLOW_DEFAULT_LOCALE", "en")
    with pytest.raises(SystemExit):
        _fail(NotFound(N_("Task not found.")))
    assert capsys.readouterr().err == "error: Task not found.\n"
