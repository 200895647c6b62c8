#!/usr/bin/env python3
"""Writes SegCore's OpenCV reference fixtures (deterministic: fixed seeds, fixed shapes).

Usage: python scripts/make-reference.py [FIXTURES_DIR]   (default Tests/SegCoreTests/Fixtures)

Calls `write_fixtures(...)` of each module in REFERENCE_MODULES under scripts/reference/
(trace: contour tracing; metrics: simplification and shape metrics; export_check: rasterizer,
COCO RLE and CSV references, written into the `export` subfolder). Needs
opencv-python-headless and numpy, e.g. from the venv that scripts/lib/common.sh's seg_venv makes.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import sys

# module name → subfolder passed to write_fixtures ("" = the fixtures root; the module picks its own folder)
REFERENCE_MODULES = {"trace": "", "metrics": "", "export_check": "export"}


def main(argv: list[str]) -> int:
    scripts = pathlib.Path(__file__).resolve().parent
    fixtures = pathlib.Path(argv[1]) if len(argv) > 1 else scripts.parent / "Tests" / "SegCoreTests" / "Fixtures"
    sys.path.insert(0, str(scripts))
    wrote = []
    for name, subfolder in REFERENCE_MODULES.items():
        if importlib.util.find_spec(f"reference.{name}") is None:
            print(f"skipping reference.{name}: not present", file=sys.stderr)
            continue
        module = importlib.import_module(f"reference.{name}")
        module.write_fixtures(fixtures / subfolder if subfolder else fixtures)
        wrote.append(name)
    print(f"wrote {', '.join(wrote) or 'nothing'} under {fixtures}", file=sys.stderr)
    return 0 if wrote else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
