#!/usr/bin/env python3
"""Copy front-end distribution files from node_modules/ into webapp/static/vendor/.

Nothing is fetched from a CDN: run `npm ci` once (needs the npm registry), then this
script. It copies a file only when the target is missing or differs, keeps each
package's relative layout (webapp/static/vendor/<package>/<path>) so that CSS font
URLs still resolve, and (re)builds the bpmn-auto-layout browser bundle with the local
esbuild when that bundle is missing or older than package-lock.json.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "webapp" / "static" / "vendor"
LOCKFILE = ROOT / "package-lock.json"
BUILD_SCRIPT = ROOT / "scripts" / "build_autolayout.mjs"
AUTOLAYOUT_OUT = VENDOR / "bpmn-auto-layout" / "bpmn-auto-layout.js"

# (package, path or glob inside the package). A glob must match at least one file.
ASSETS: tuple[tuple[str, str], ...] = (
    ("bpmn-js", "dist/bpmn-viewer.production.min.js"),
    ("bpmn-js", "dist/bpmn-navigated-viewer.production.min.js"),
    ("bpmn-js", "dist/bpmn-modeler.production.min.js"),
    ("bpmn-js", "dist/assets/diagram-js.css"),
    ("bpmn-js", "dist/assets/bpmn-js.css"),
    ("bpmn-js", "dist/assets/bpmn-font/css/bpmn.css"),
    ("bpmn-js", "dist/assets/bpmn-font/font/bpmn.*"),
    ("dmn-js", "dist/dmn-modeler.production.min.js"),
    ("dmn-js", "dist/assets/*.css"),
    ("dmn-js", "dist/assets/dmn-font/css/dmn.css"),
    ("dmn-js", "dist/assets/dmn-font/font/dmn.*"),
    ("echarts", "dist/echarts.min.js"),
    ("swagger-ui-dist", "swagger-ui.css"),
    ("swagger-ui-dist", "swagger-ui-bundle.js"),
    ("swagger-ui-dist", "swagger-ui-standalone-preset.js"),
)


class MissingAssetError(Exception):
    """A required file is not in node_modules/."""


def resolve_sources() -> list[tuple[Path, Path]]:
    """Return (source, destination) pairs; raise MissingAssetError on the first gap."""
    pairs: list[tuple[Path, Path]] = []
    for package, pattern in ASSETS:
        pkg_dir = NODE_MODULES / package
        if any(ch in pattern for ch in "*?["):
            matches = sorted(p for p in pkg_dir.glob(pattern) if p.is_file())
        else:
            matches = [pkg_dir / pattern] if (pkg_dir / pattern).is_file() else []
        if not matches:
            raise MissingAssetError(f"node_modules/{package}/{pattern}")
        pairs.extend((src, VENDOR / package / src.relative_to(pkg_dir)) for src in matches)
    return pairs


def copy_if_changed(src: Path, dst: Path) -> bool:
    """Copy src to dst unless dst already has identical content. Return True if copied."""
    if dst.is_file() and filecmp.cmp(src, dst, shallow=False):
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp{os.getpid()}")
    shutil.copy2(src, tmp)
    os.replace(tmp, dst)  # atomic: a running server never serves a half-written file
    return True


def autolayout_is_stale() -> bool:
    if not AUTOLAYOUT_OUT.is_file():
        return True
    built = AUTOLAYOUT_OUT.stat().st_mtime
    return any(dep.stat().st_mtime > built for dep in (LOCKFILE, BUILD_SCRIPT) if dep.is_file())


def build_autolayout() -> None:
    """Bundle bpmn-auto-layout with the esbuild from node_modules (no downloads)."""
    for needed in ("bpmn-auto-layout/package.json", "esbuild/package.json"):
        if not (NODE_MODULES / needed).is_file():
            raise MissingAssetError(f"node_modules/{needed}")
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("`node` is not on PATH; it is needed to build the bpmn-auto-layout bundle")
    result = subprocess.run([node, str(BUILD_SCRIPT)], cwd=ROOT, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{BUILD_SCRIPT.relative_to(ROOT)} failed (exit {result.returncode})")


def main() -> int:
    try:
        if not NODE_MODULES.is_dir():
            raise MissingAssetError("node_modules/")
        pairs = resolve_sources()
        copied: list[Path] = []
        for src, dst in pairs:
            if copy_if_changed(src, dst):
                copied.append(dst)
                print(f"copied {dst.relative_to(ROOT)}", flush=True)
        built = autolayout_is_stale()
        if built:
            build_autolayout()
    except MissingAssetError as exc:
        print(f"vendor_assets: missing {exc}. Run `npm ci` in {ROOT} first.", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"vendor_assets: {exc}", file=sys.stderr)
        return 1
    print(
        f"vendor_assets: {len(copied)} copied, {len(pairs) - len(copied)} up to date, "
        f"bpmn-auto-layout bundle {'built' if built else 'up to date'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
