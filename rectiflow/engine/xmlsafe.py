"""Parsing untrusted XML: no DTD, no entities, no network, bounded size."""

from __future__ import annotations

from lxml import etree

MAX_DIAGRAM_BYTES = 2 * 1024 * 1024


class UnsafeXml(ValueError):
    pass


_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": False,
}


def parse_xml(source: bytes, file_name: str) -> etree._Element:
    """Return the root element or raise ``UnsafeXml`` / ``etree.XMLSyntaxError`` with a clear message."""
    if len(source) > MAX_DIAGRAM_BYTES:
        raise UnsafeXml(f"{file_name}: file is larger than {MAX_DIAGRAM_BYTES // 1024} KiB")
    head = source[:4096].lower()
    # Refuse any DOCTYPE outright: a diagram never needs one and it is how entity attacks start.
    if b"<!doctype" in head or b"<!entity" in source.lower():
        raise UnsafeXml(f"{file_name}: DTDs and entity declarations are not allowed in diagrams")
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    root = etree.fromstring(source, parser=parser)
    if root.getroottree().docinfo.internalDTD is not None:
        raise UnsafeXml(f"{file_name}: DTDs are not allowed in diagrams")
    return root
