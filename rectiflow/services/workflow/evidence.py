"""Evidence references in a submission: each names a stored file the submitter may see.

A form's ``file-ref`` field holds the SHA-256 of a stored file. Without this check a client could
name any digest: a file that was never uploaded (the acceptance chain would then certify evidence that
does not exist) or another plant's file (its reviewers would be shown a document they may not open,
and the reference itself would confirm that the other plant holds it)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.orm import Session

from rectiflow import forms as formlib
from rectiflow.i18n import N_, translate
from rectiflow.services import files

UNUSABLE = N_("This file does not exist or is not available to you; upload it again.")


def references(form: formlib.Form, data: Any) -> Iterator[tuple[str, str]]:
    """``(field path, digest)`` for every file reference in ``data``, following the form's schema."""
    def walk(node: Mapping[str, Any], value: Any, prefix: str) -> Iterator[tuple[str, str]]:
        if not isinstance(value, Mapping):
            return
        for name, sub in (node.get("properties") or {}).items():
            sub = formlib.resolve(form.schema, sub)
            path, item = f"{prefix}{name}", value.get(name)
            if _is_file_ref(sub) and isinstance(item, str):
                yield path, item
            elif sub.get("type") == "object":
                yield from walk(sub, item, path + ".")
            elif sub.get("type") == "array" and isinstance(item, list):
                items = formlib.resolve(form.schema, sub.get("items") or {})
                for i, element in enumerate(item):
                    if _is_file_ref(items) and isinstance(element, str):
                        yield f"{path}[{i}]", element
                    elif items.get("type") == "object":
                        yield from walk(items, element, f"{path}[{i}].")
    return walk(form.schema, data, "")


def _is_file_ref(node: Mapping[str, Any]) -> bool:
    return node.get("type") == "string" and node.get("format") == "file-ref"


def unusable_references(session: Session, actor: Any, form: formlib.Form, data: Any,
                        locale: str = "zh_CN") -> dict[str, list[str]]:
    """Findings for the references that name no stored file the actor may see (one query)."""
    refs = list(references(form, data))
    if not refs:
        return {}
    usable = files.visible(session, actor, [sha for _path, sha in refs])
    message = translate(locale, UNUSABLE)
    return {path: [message] for path, sha in refs if sha not in usable}
