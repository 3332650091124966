"""Add BPMN diagram interchange (DI) to process diagrams authored as plain XML.

Diagrams in ``processes/`` carry no coordinates, but bpmn-js and our validator need a BPMNShape per
flow node and a BPMNEdge per flow; a deterministic layered layout lets ``--check`` spot stale DI.
Usage: ``python -m rectiflow.bpmn_layout [--check] FILE [FILE...]``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"

CONTAINERS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
ACTIVITIES = CONTAINERS | {"task", "callActivity"}  # the rest of the flow nodes: *Task, *Event, *Gateway
DATA_REFS = {"dataObjectReference": (36, 50), "dataStoreReference": (50, 50)}

COL_W = 180  # minimum column width; every column keeps >= 40 px free on each side of its nodes
SLOT_GAP = 30  # vertical gap between nodes stacked in one lane+column (also clears boundary events)
LANE_MIN_H = 140
HEADER = 30  # pool / lane label strip on the left
POOL_GAP = 60
ORIGIN_X, ORIGIN_Y = 100, 60


def _b(name: str) -> str:
    return f"{{{BPMN}}}{name}"


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int: return self.x + self.w

    @property
    def bottom(self) -> int: return self.y + self.h

    @property
    def cx(self) -> int: return self.x + self.w // 2

    @property
    def cy(self) -> int: return self.y + self.h // 2


@dataclass
class Arranged:
    """Layout of one flow-element container; coordinates are relative until ``shift``."""

    boxes: dict[str, Box] = field(default_factory=dict)  # flow nodes, including nested ones
    back: set[str] = field(default_factory=set)  # sequence flows routed as loops
    bands: list[tuple[str, int, int]] = field(default_factory=list)  # (lane id, top, height)
    width: int = 0
    height: int = 0

    def shift(self, dx: int, dy: int) -> None:
        self.boxes = {k: Box(b.x + dx, b.y + dy, b.w, b.h) for k, b in self.boxes.items()}
        self.bands = [(lane, top + dy, h) for lane, top, h in self.bands]


def _arrange(container: etree._Element, bands: list[str], lane_of: dict[str, str]) -> Arranged:
    """Rank the container's nodes into columns and stack them per lane band (recursively)."""
    res = Arranged()
    nodes = {n.get("id", ""): n for n in container
             if _local(n) in ACTIVITIES or _local(n).endswith(("Task", "Event", "Gateway"))}
    # Boundary events are not ranked: they ride on their host, so their flows count as the host's.
    hosts = {i: n.get("attachedToRef", "") for i, n in nodes.items() if _local(n) == "boundaryEvent"}
    anchor = {i: hosts[i] if hosts.get(i) in nodes else i for i in nodes}
    grid = [nid for nid in nodes if anchor[nid] == nid]
    attached = {g: [nid for nid in nodes if anchor[nid] == g and nid != g] for g in grid}
    succ: dict[str, list[tuple[str, str]]] = {g: [] for g in grid}
    for f in container:
        s, t = anchor.get(f.get("sourceRef", "")), anchor.get(f.get("targetRef", ""))
        if _local(f) == "sequenceFlow" and s is not None and t is not None:
            succ[s].append((f.get("id", ""), t))
    has_incoming = {t for out in succ.values() for _, t in out}
    # A DFS from the start events marks loop-closing (back) edges so longest-path ranking terminates.
    state: dict[str, int] = {}
    post: list[str] = []  # DFS post-order; reversed, it is a topological order of the forward edges

    def visit(v: str) -> None:
        state[v] = 1
        for fid, t in succ[v]:
            if state.get(t) == 1:
                res.back.add(fid)
            elif t not in state:
                visit(t)
        state[v] = 2
        post.append(v)

    for g in sorted(grid, key=lambda g: (_local(nodes[g]) != "startEvent", g in has_incoming)):
        if g not in state:
            visit(g)
    rank = dict.fromkeys(grid, 0)  # longest path from a source
    for v in reversed(post):
        rank.update({t: max(rank[t], rank[v] + 1) for fid, t in succ[v] if fid not in res.back})
    preds = {g: [v for v in grid for fid, t in succ[v] if t == g and fid not in res.back] for g in grid}
    size: dict[str, tuple[int, int]] = {}
    inner: dict[str, Arranged] = {}
    for g in grid:
        kind = _local(nodes[g])
        if kind in CONTAINERS:
            inner[g] = sub = _arrange(nodes[g], [""], {})
            size[g] = (max(sub.width, 120), max(sub.height, 80))
        else:  # widen hosts so several boundary events fit along the bottom edge without overlapping
            w, h = (36, 36) if kind.endswith("Event") else (50, 50) if kind.endswith("Gateway") else (100, 80)
            size[g] = (max(w, 44 * len(attached[g]) + 20), h)

    band_of = {g: lane_of.get(g, "") if lane_of.get(g, "") in bands else "" for g in grid}
    if "" not in bands and "" in band_of.values():
        bands = [*bands, ""]  # nodes outside every lane get an unlabelled band at the bottom
    ncols = max(rank.values(), default=-1) + 1
    col_w = [max([COL_W] + [size[g][0] + 80 for g in grid if rank[g] == c]) for c in range(ncols)]
    col_x = [sum(col_w[:c]) for c in range(ncols)]
    slot_h = {g: max(size[g][1], 80) + SLOT_GAP for g in grid}
    # Order each cell by the mean slot of its predecessors (a cheap barycentre) to limit crossings.
    cells: dict[tuple[str, int], list[str]] = {}
    slot: dict[str, int] = {}
    for c in range(ncols):
        for b in bands:
            cell = [g for g in grid if rank[g] == c and band_of[g] == b]
            cell.sort(key=lambda g: sum(slot[p] for p in preds[g]) / len(preds[g]) if preds[g] else 0.0)
            slot.update({g: i for i, g in enumerate(cell)})
            cells[(b, c)] = cell
    for b in bands:
        top = res.height
        cell_hs = [sum(slot_h[g] for g in cells[(b, c)]) for c in range(ncols)]
        band_h = max([LANE_MIN_H] + [h + SLOT_GAP for h in cell_hs])
        for c in range(ncols):
            y = top + (band_h - cell_hs[c]) // 2  # centre cells so single nodes line up with stacks
            for g in cells[(b, c)]:
                w, h = size[g]
                res.boxes[g] = Box(col_x[c] + (col_w[c] - w) // 2, y + (slot_h[g] - h) // 2, w, h)
                y += slot_h[g]
        res.bands.append((b, top, band_h))
        res.height += band_h
    res.width = sum(col_w)

    for g, sub in inner.items():
        box = res.boxes[g]
        sub.shift(box.x + (box.w - sub.width) // 2, box.y + (box.h - sub.height) // 2)
        res.boxes.update(sub.boxes)
        res.back |= sub.back
    for host, events in attached.items():  # right-aligned along the host's bottom edge
        hb = res.boxes[host]
        for i, e in enumerate(events):
            res.boxes[e] = Box(hb.right - 10 - 36 * (i + 1) - 8 * i, hb.bottom - 18, 36, 36)
    return res


def _lanes(process: etree._Element) -> tuple[list[str], dict[str, str], list[tuple[etree._Element, int]]]:
    """Leaf lanes become bands; a node belongs to the deepest lane that references it."""
    lanes = process.findall(f"{_b('laneSet')}//{_b('lane')}")
    leaves = [lane.get("id", "") for lane in lanes if lane.find(f"{_b('childLaneSet')}/{_b('lane')}") is None]
    lane_of: dict[str, str] = {}
    for lane in lanes:  # document order visits parents before children, so deeper lanes win
        leaf = next(x.get("id", "") for x in lane.iter(_b("lane")) if x.get("id", "") in leaves)
        lane_of.update({(r.text or "").strip(): leaf for r in lane.findall(_b("flowNodeRef"))})
    return leaves, lane_of, [(lane, sum(1 for _ in lane.iterancestors(_b("lane")))) for lane in lanes]


def _route(s: Box, t: Box, back: bool, from_bottom: bool) -> list[tuple[int, int]]:
    if back:  # loops run underneath the nodes: down, left, up into the target's bottom
        y = max(s.bottom, t.bottom) + 25
        # Tasks use their left quarter so the line misses boundary events (right-aligned on the bottom).
        sx, tx = (b.x + b.w // 4 if b.w >= 100 else b.cx for b in (s, t))
        sx, tx = (sx + 10, tx - 10) if sx == tx else (sx, tx)
        return [(sx, s.bottom), (sx, y), (tx, y), (tx, t.bottom)]
    if from_bottom:  # boundary events hang below the host, so their flows leave downwards
        if t.cy > s.bottom + 10:
            return [(s.cx, s.bottom), (s.cx, t.cy), (t.x, t.cy)]
        y, mx = s.bottom + 10, t.x - 30
        return [(s.cx, s.bottom), (s.cx, y), (mx, y), (mx, t.cy), (t.x, t.cy)]
    if s.cy == t.cy:
        return [(s.right, s.cy), (t.x, t.cy)]
    mx = (s.right + t.x) // 2
    return [(s.right, s.cy), (mx, s.cy), (mx, t.cy), (t.x, t.cy)]


class _Plane:
    """One BPMNDiagram/BPMNPlane; remembers every box so later edges (message flows) can find ends."""

    def __init__(self, root: etree._Element, element_id: str) -> None:
        diagram = etree.SubElement(root, f"{{{BPMNDI}}}BPMNDiagram", id=f"BPMNDiagram_{element_id}")
        self.plane = etree.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", id=f"BPMNPlane_{element_id}",
                                      bpmnElement=element_id)
        self.boxes: dict[str, Box] = {}

    def shape(self, element_id: str, box: Box, **attrs: str) -> None:
        self.boxes[element_id] = box
        shape = etree.SubElement(self.plane, f"{{{BPMNDI}}}BPMNShape", id=f"{element_id}_di",
                                 bpmnElement=element_id, **attrs)
        etree.SubElement(shape, f"{{{DC}}}Bounds", x=str(box.x), y=str(box.y), width=str(box.w),
                         height=str(box.h))

    def edge(self, element_id: str, points: list[tuple[int, int]]) -> None:
        edge = etree.SubElement(self.plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{element_id}_di",
                                bpmnElement=element_id)
        for x, y in points:
            etree.SubElement(edge, f"{{{DI}}}waypoint", x=str(x), y=str(y))


def _draw_process(dia: _Plane, process: etree._Element, x: int, y: int, pool: str | None) -> int:
    """Draw one process (inside a pool when ``pool`` is a participant id); return its bottom y."""
    leaves, lane_of, depth = _lanes(process)
    arr = _arrange(process, leaves or [""], lane_of)
    indent = 0 if pool is None else HEADER * (1 + (max(d for _, d in depth) + 1 if depth else 0))
    arr.shift(x + indent, y)
    width = indent + max(arr.width, 300 - indent)
    if pool is not None:
        dia.shape(pool, Box(x, y, width, arr.height), isHorizontal="true")
        bands = {lane: (top, top + h) for lane, top, h in arr.bands}
        for lane, d in depth:  # a parent lane spans its first to last leaf band
            spans = [bands[i] for i in (sub.get("id", "") for sub in lane.iter(_b("lane"))) if i in bands]
            if spans:
                top, bottom, lx = spans[0][0], spans[-1][1], x + HEADER * (d + 1)
                dia.shape(lane.get("id", ""), Box(lx, top, x + width - lx, bottom - top), isHorizontal="true")
    # Document order draws sub-processes before their children; boundary events go last, on top.
    kinds = {el.get("id", ""): _local(el) for el in process.iter(etree.Element) if el.get("id") in arr.boxes}
    for nid, kind in sorted(kinds.items(), key=lambda item: item[1] == "boundaryEvent"):
        dia.shape(nid, arr.boxes[nid], **({"isExpanded": "true"} if kind in CONTAINERS else {}))
    for flow in process.iter(_b("sequenceFlow")):
        source, fid = flow.get("sourceRef", ""), flow.get("id", "")
        s, t = arr.boxes.get(source), arr.boxes.get(flow.get("targetRef", ""))
        if s is not None and t is not None:
            dia.edge(fid, _route(s, t, fid in arr.back, kinds.get(source) == "boundaryEvent"))
    # Data objects/stores are not part of the flow: park them in a row under the process.
    bottom = y + arr.height
    refs = [r for r in process.iter(*(_b(k) for k in DATA_REFS)) if r.get("id")]
    for i, ref in enumerate(refs):
        dia.shape(ref.get("id", ""), Box(x + indent + 40 + 80 * i, bottom + 40, *DATA_REFS[_local(ref)]))
    for assoc in process.iter(_b("dataInputAssociation"), _b("dataOutputAssociation")):
        is_input = _local(assoc) == "dataInputAssociation"
        data = (assoc.findtext(_b("sourceRef" if is_input else "targetRef")) or "").strip()
        act, ref_box = dia.boxes.get(assoc.getparent().get("id", "")), dia.boxes.get(data)
        if assoc.get("id") and act is not None and ref_box is not None:
            ends = [(ref_box.cx, ref_box.y), (act.cx, act.bottom)]
            dia.edge(assoc.get("id", ""), ends if is_input else ends[::-1])
    return bottom + (130 if refs else 0)


def _ensure_collaboration(root: etree._Element, processes: list[etree._Element]) -> etree._Element | None:
    """Lanes only render inside a pool, so give every laned process a participant."""
    collab = root.find(_b("collaboration"))
    laned = [p for p in processes if p.find(f"{_b('laneSet')}/{_b('lane')}") is not None]
    if collab is None and laned:
        ids = {el.get("id") for el in root.iter(etree.Element)}
        cid = next(f"Collaboration_{n}" for n in range(1, len(ids) + 2) if f"Collaboration_{n}" not in ids)
        collab = etree.SubElement(root, _b("collaboration"), id=cid)
        processes[0].addprevious(collab)
    if collab is None:
        return None
    referenced = {p.get("processRef") for p in collab.findall(_b("participant"))}
    for pid, name in [(p.get("id", ""), p.get("name", "")) for p in laned if p.get("id") not in referenced]:
        attrs = {"id": f"Participant_{pid}", "name": name, "processRef": pid}
        part = etree.SubElement(collab, _b("participant"), {k: v for k, v in attrs.items() if v})
        # Schema order inside a collaboration: documentation, extensionElements, then participants.
        collab.insert(len([c for c in collab[:-1] if _local(c) in ("documentation", "extensionElements",
                                                                    "participant")]), part)
    return collab


def layout(xml: bytes) -> bytes:
    """Return ``xml`` with freshly computed BPMNDiagram elements, pretty-printed UTF-8."""
    parser = etree.XMLParser(strip_cdata=False, resolve_entities=False, no_network=True, load_dtd=False,
                             remove_comments=False, huge_tree=False)
    root = etree.fromstring(xml, parser=parser)  # noqa: S320 (entities and network disabled above)
    if root.tag != _b("definitions"):
        raise ValueError("not a bpmn:definitions document")
    for old in root.findall(f"{{{BPMNDI}}}BPMNDiagram"):
        root.remove(old)
    missing = {(p if p not in root.nsmap else p + "2"): ns
               for p, ns in (("bpmndi", BPMNDI), ("dc", DC), ("di", DI)) if ns not in root.nsmap.values()}
    # Prefixes may be used only inside attribute values (xsi:type="bpmn:..."), so keep them all.
    prefixes = sorted({p for el in root.iter() for p in el.nsmap if p})
    processes = root.findall(_b("process"))
    by_id = {p.get("id", ""): p for p in processes}
    collab = _ensure_collaboration(root, processes) if processes else root.find(_b("collaboration"))
    drawn: set[str] = set()
    if collab is not None:
        dia, y = _Plane(root, collab.get("id", "")), ORIGIN_Y
        for part in collab.findall(_b("participant")):
            process = by_id.get(part.get("processRef", ""))
            if process is not None and process.get("id") not in drawn:
                drawn.add(process.get("id", ""))
                y = _draw_process(dia, process, ORIGIN_X, y, part.get("id", "")) + POOL_GAP
            else:  # black-box pool (external party): an empty band for message flows to attach to
                width = max((b.right for b in dia.boxes.values()), default=ORIGIN_X + 600) - ORIGIN_X
                dia.shape(part.get("id", ""), Box(ORIGIN_X, y, width, 100), isHorizontal="true")
                y += 100 + POOL_GAP
        for flow in collab.findall(_b("messageFlow")):
            s, t = dia.boxes.get(flow.get("sourceRef", "")), dia.boxes.get(flow.get("targetRef", ""))
            if s is not None and t is not None:
                ends = [(s.cx, s.bottom), (t.cx, t.y)] if t.cy >= s.cy else [(s.cx, s.y), (t.cx, t.bottom)]
                dia.edge(flow.get("id", ""), ends)  # straight, between the edges facing each other
    for process in processes:  # processes outside any pool each get a diagram of their own
        if process.get("id") not in drawn:
            _draw_process(_Plane(root, process.get("id", "")), process, ORIGIN_X, ORIGIN_Y, None)
    if missing:  # declare DI prefixes once on the root instead of lxml's generated ns0/ns1
        etree.cleanup_namespaces(root, top_nsmap=missing, keep_ns_prefixes=prefixes)
    etree.indent(root, space="  ")  # rewrites only whitespace-only text, so scripts keep theirs
    body = etree.tostring(root.getroottree(), encoding="UTF-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite files in place; with ``--check`` only list stale ones (exit 1). Exit 2 on unreadable XML."""
    parser = argparse.ArgumentParser(prog="python -m rectiflow.bpmn_layout", description=__doc__)
    parser.add_argument("--check", action="store_true", help="list files whose DI is missing or stale")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    status = 0
    for path in args.files:
        content = path.read_bytes()
        try:
            new = layout(content)
        except (etree.XMLSyntaxError, ValueError) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            status = 2
            continue
        if new != content and args.check:
            print(f"{path}: diagram interchange missing or out of date (run python -m rectiflow.bpmn_layout)")
            status = max(status, 1)
        elif new != content:
            path.write_bytes(new)
    return status


if __name__ == "__main__":
    sys.exit(main())
