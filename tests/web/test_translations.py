"""Every message in the web app has a Chinese translation, in the .po and in the compiled .mo."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from babel.support import Translations

ROOT = Path(__file__).resolve().parents[2]
WEBAPP = ROOT / "webapp"
CATALOG = ROOT / "rectiflow" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"


def extracted() -> set[str]:
    method_map = [("**/static/**", "ignore"), ("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
    ids = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(WEBAPP), method_map, keywords=keywords
    ):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def test_every_message_is_translated_and_compiled():
    ids = extracted()
    assert len(ids) > 100
    with open(CATALOG / "messages.po", "rb") as f:
        po = read_po(f)
    missing = sorted(i for i in ids if not po.get(i) or not po.get(i).string)
    assert missing == [], f"untranslated: {missing}"
    with open(CATALOG / "messages.mo", "rb") as f:
        mo = Translations(f)
    stale = sorted(i for i in ids if mo.ugettext(i) == i and i not in {"API"})
    assert stale == [], f"run pybabel compile -d rectiflow/translations: {stale}"

