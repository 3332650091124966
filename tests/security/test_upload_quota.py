"""Per-user upload quota (issue 15, hardening): one account cannot fill the evidence store."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rectiflow.db.domain import FileGrant
from rectiflow.errors import InvalidInput
from rectiflow.services.files import QUOTA_WINDOW, store_file


def _store(rt, settings, actor, name, content, unit_path="/1/"):
    with rt.sessions.begin() as s:
        return store_file(s, rt.clock, settings, actor, name, content, unit_path)


def test_uploads_over_the_quota_are_refused_and_the_window_moves(rt, org):
    settings = dataclasses.replace(rt.settings, upload_quota_bytes=100)
    fin, other = org["actors"]["a_fin"], org["actors"]["a_hr"]
    _store(rt, settings, fin, "一.txt", ("甲" * 20).encode())  # 60 bytes
    _store(rt, settings, fin, "一.txt", ("甲" * 20).encode())  # the same file again costs nothing
    with pytest.raises(InvalidInput) as caught:
        _store(rt, settings, fin, "二.txt", ("乙" * 20).encode())  # 60 more: over 100
    assert caught.value.details["code"] == "quota" and "24 小时" in caught.value.render("zh_CN")
    with rt.reads() as s:
        assert s.scalar(select(func.count()).select_from(FileGrant)) == 1  # nothing written
    _store(rt, settings, other, "二.txt", ("乙" * 20).encode())  # another person has their own quota
    rt.clock.advance(QUOTA_WINDOW + timedelta(seconds=1))
    _store(rt, settings, fin, "三.txt", ("丙" * 20).encode())  # a day later the quota is free again


def test_the_systems_own_files_have_no_quota(rt):
    settings = dataclasses.replace(rt.settings, upload_quota_bytes=10)
    assert _store(rt, settings, None, "演示.txt", ("演示材料" * 10).encode()).size > 10
