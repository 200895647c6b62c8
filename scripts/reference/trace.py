"""Reference fixtures for SegCore's contour tracer, computed with OpenCV's `cv2.findContours`.

`write_fixtures(fixtures_dir)` writes, under `fixtures_dir / "trace"`, for each generated mask
NAME:

- `NAME.png`: the mask, 8-bit gray, 0 = background, 255 = foreground (written by cv2);
- `NAME.json`: what `cv2.findContours` returns for it in all four combinations of
  `RETR_CCOMP`/`RETR_TREE` and `CHAIN_APPROX_NONE`/`CHAIN_APPROX_SIMPLE`:

      {"name", "width", "height",
       "foreground": number of non-zero pixels, "checksum": sum over them of (x * 7919 + y * 104729) mod 2^32,
       "contours": [{"hole": bool, "none": [x0, y0, x1, y1, ...], "simple": [...]}, ...],
       "ccompParent": [parent index or -1, ...],
       "treeOrder": [index into contours, ...], "treeParent": [parent index or -1, ...]}

  `contours` are in RETR_CCOMP order (NONE and SIMPLE list the same borders in the same order;
  the script checks it); `hole` is OpenCV's CCOMP answer (a contour with a parent).
  RETR_TREE lists the same borders in another order: its i-th contour is
  `contours[treeOrder[i]]`, and `treeParent[i]` indexes the TREE list. Parents are OpenCV's
  hierarchy[i][3]. Coordinates are flat `[x, y, x, y, ...]` to keep the files small.

- `index.json`: the names, the OpenCV version and the totals (masks, contours, vertices).

Everything is deterministic (fixed seeds, fixed shapes). Run directly
(`python scripts/reference/trace.py FIXTURES_DIR`) or through scripts/make-reference.py.
"""

from __future__ import annotations

import json
import pathlib
import sys

import cv2
import numpy as np

# ---------------------------------------------------------------------------------------------
# Masks


def _blobs_with_holes(seed, w, h, count):
    """Filled ellipses with round and square holes, some with islands inside the holes."""
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), np.uint8)
    for _ in range(count):
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        a, b = int(rng.integers(6, 22)), int(rng.integers(6, 22))
        cv2.ellipse(m, (cx, cy), (a, b), float(rng.uniform(0, 180)), 0, 360, 255, -1)
        for _ in range(int(rng.integers(0, 3))):
            hx = cx + int(rng.integers(-a // 2, a // 2 + 1))
            hy = cy + int(rng.integers(-b // 2, b // 2 + 1))
            r = int(rng.integers(1, max(2, min(a, b) // 2)))
            if rng.random() < 0.5:
                cv2.circle(m, (hx, hy), r, 0, -1)
            else:
                m[max(0, hy - r) : hy + r, max(0, hx - r) : hx + r] = 0
            if r >= 3 and rng.random() < 0.6:
                cv2.circle(m, (hx, hy), r // 3, 255, -1)
    return m


def _nested_islands(depth, size):
    """Concentric square rings: ring, hole, island ring, hole, ... `depth` islands deep."""
    m = np.zeros((size, size), np.uint8)
    step = size // (4 * depth + 2)
    for level in range(2 * depth):
        lo = step * (level + 1)
        hi = size - lo
        m[lo:hi, lo:hi] = 255 if level % 2 == 0 else 0
    # A disc with a hole at the centre: round borders among the square ones.
    c = size // 2
    cv2.circle(m, (c, c), step, 255, -1)
    cv2.circle(m, (c, c), max(1, step // 2), 0, -1)
    return m


def _nested_circles(depth, size):
    """Concentric discs alternating foreground and background, `depth` islands deep."""
    m = np.zeros((size, size), np.uint8)
    c = size // 2
    for i in range(2 * depth + 1):
        cv2.circle(m, (c, c), c - 2 - 3 * i, 255 if i % 2 == 0 else 0, -1)
    return m


def _touching():
    """8-connected contacts: squares meeting at corners, diagonal chains, diagonal-only holes."""
    m = np.zeros((40, 48), np.uint8)
    m[2:8, 2:8] = 255
    m[8:14, 8:14] = 255  # corner to corner with the first: one component
    m[14:18, 2:8] = 255  # meets the second square at a corner too
    for i in range(12):  # a diagonal chain of single pixels
        m[20 + i, 2 + i] = 255
    for i in range(10):  # an anti-diagonal chain crossing nothing
        m[20 + i, 30 - i] = 255
    # A diamond of diagonal pixels: its inside is a hole (background is 4-connected).
    for k in range(6):
        m[4 + k, 30 + k] = m[4 + k, 30 - k] = 255
        m[14 - k, 30 + k] = m[14 - k, 30 - k] = 255
    # Two holes that touch only diagonally are two holes.
    m[24:34, 34:46] = 255
    m[26:29, 36:39] = 0
    m[29:32, 39:42] = 0
    # A hole whose only gap to the outside is diagonal is still a hole.
    m[2:10, 38:46] = 255
    m[4:8, 40:44] = 0
    m[2, 38] = 0
    m[3, 39] = 0
    return m


def _lines():
    """1-pixel lines: horizontal, vertical, diagonal, L, cross, staircase, zigzag, a closed loop."""
    m = np.zeros((44, 52), np.uint8)
    m[2, 2:20] = 255
    m[5:22, 2] = 255
    for i in range(15):
        m[6 + i, 6 + i] = 255
        m[6 + i, 40 - i] = 255
    m[30, 4:16] = 255
    m[24:31, 15] = 255  # an L
    m[34, 20:31] = 255
    m[29:40, 25] = 255  # a cross
    for i in range(8):  # a 4-connected staircase
        m[24 + i, 34 + i] = 255
        m[24 + i, 35 + i] = 255
    for i in range(10):  # zigzag
        m[40 + (i % 2), 36 + i] = 255
    cv2.rectangle(m, (42, 2), (50, 12), 255, 1)  # a 1-px closed loop with a hole
    m[43, 2:50] = 255  # along the bottom border
    m[0:44, 51] = 255  # along the right border
    return m


def _single_pixels():
    m = np.zeros((21, 23), np.uint8)
    for y, x in [(0, 0), (0, 22), (20, 0), (20, 22), (0, 11), (10, 0), (10, 22), (20, 11), (5, 5), (5, 7), (7, 5), (9, 9), (15, 16)]:
        m[y, x] = 255
    return m


def _checkerboard(w, h, cell):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.where(((yy // cell) + (xx // cell)) % 2 == 0, 255, 0).astype(np.uint8)


def _border_objects():
    """Shapes on every border and corner, plus a frame that leaves one hole inside."""
    m = np.zeros((36, 40), np.uint8)
    m[0:4, 0:5] = 255
    m[0:3, 36:40] = 255
    m[33:36, 0:2] = 255
    m[30:36, 35:40] = 255
    m[0:2, 15:25] = 255
    m[34:36, 12:20] = 255
    m[10:20, 0:3] = 255
    m[12:22, 37:40] = 255
    m[16:19, 18:22] = 255
    f = np.zeros((20, 26), np.uint8)
    f[:, :] = 255
    f[1:-1, 1:-1] = 0
    f[8:12, 10:14] = 255
    return m, f


def _necks():
    """1-pixel necks and 1-pixel rings, where a border passes a pixel more than once."""
    m = np.zeros((30, 44), np.uint8)
    m[2:9, 2:9] = 255
    m[8:15, 8:15] = 255  # overlapping corner -> 1-px wide neck
    m[5, 9:20] = 255  # a 1-px bridge to another square
    m[2:9, 19:26] = 255
    cv2.circle(m, (34, 8), 6, 255, 1)  # 1-px ring
    cv2.circle(m, (34, 22), 6, 255, 1)
    m[14, 34] = 255  # joins the two rings: a figure eight
    m[20:28, 2:12] = 255
    m[21:27, 3:11] = 0
    m[24, 3:11] = 255  # a 1-px bar splitting the hole
    m[22:26, 16:28] = 255
    m[23, 17:27] = 0  # a 1-px slit hole
    return m


def _noise(seed, w, h, density):
    rng = np.random.default_rng(seed)
    return np.where(rng.random((h, w)) < density, 255, 0).astype(np.uint8)


def _blocky_noise(seed, w, h, cell, density):
    rng = np.random.default_rng(seed)
    small = rng.random((h // cell + 1, w // cell + 1)) < density
    big = np.kron(small, np.ones((cell, cell), bool))[:h, :w]
    flip = rng.random((h, w)) < 0.04
    return np.where(big ^ flip, 255, 0).astype(np.uint8)


def _spheroids(seed, w, h):
    """Round blobs of different sizes with a few holes, islands, and blobs cut by the border."""
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), np.uint8)
    for _ in range(9):
        cx, cy = int(rng.integers(-10, w + 10)), int(rng.integers(-10, h + 10))
        r = int(rng.integers(8, 34))
        cv2.ellipse(m, (cx, cy), (r, int(r * rng.uniform(0.75, 1.0))), float(rng.uniform(0, 180)), 0, 360, 255, -1)
        for _ in range(int(rng.integers(0, 3))):
            hx, hy = cx + int(rng.integers(-r // 2, r // 2 + 1)), cy + int(rng.integers(-r // 2, r // 2 + 1))
            hr = max(2, r // 5)
            cv2.circle(m, (hx, hy), hr, 0, -1)
            if rng.random() < 0.5:
                cv2.circle(m, (hx, hy), max(0, hr // 3), 255, -1)
    return m


def _row(seed, n):
    rng = np.random.default_rng(seed)
    return np.where(rng.random((1, n)) < 0.5, 255, 0).astype(np.uint8)


def masks():
    """(name, mask) pairs, in a fixed order."""
    out = [
        ("blobs_1", _blobs_with_holes(1, 120, 96, 10)),
        ("blobs_2", _blobs_with_holes(2, 96, 120, 14)),
        ("blobs_3", _blobs_with_holes(3, 64, 64, 8)),
        ("nested_squares_5", _nested_islands(5, 92)),
        ("nested_circles_5", _nested_circles(5, 80)),
        ("touching", _touching()),
        ("lines", _lines()),
        ("single_pixels", _single_pixels()),
        ("checker_1px", _checkerboard(33, 29, 1)),
        ("checker_1px_inverted", 255 - _checkerboard(17, 16, 1)),
        ("checker_2px", _checkerboard(30, 26, 2)),
        ("checker_3px", _checkerboard(31, 31, 3)),
        ("full", np.full((13, 19), 255, np.uint8)),
        ("empty", np.zeros((7, 11), np.uint8)),
        ("full_1x1", np.full((1, 1), 255, np.uint8)),
        ("empty_1x1", np.zeros((1, 1), np.uint8)),
        ("full_2x2", np.full((2, 2), 255, np.uint8)),
        ("border_objects", _border_objects()[0]),
        ("frame", _border_objects()[1]),
        ("necks", _necks()),
        ("row_1x64", _row(11, 64)),
        ("row_1x9_full", np.full((1, 9), 255, np.uint8)),
        ("column_57x1", _row(12, 57).T.copy()),
        ("column_6x1_full", np.full((6, 1), 255, np.uint8)),
        ("pair_1x2", np.array([[255, 0]], np.uint8)),
        ("pair_2x1", np.array([[0], [255]], np.uint8)),
        ("blocky_1", _blocky_noise(21, 60, 50, 3, 0.45)),
        ("blocky_2", _blocky_noise(22, 50, 60, 2, 0.6)),
        ("spheroids_1", _spheroids(31, 200, 150)),
        ("spheroids_2", _spheroids(32, 160, 200)),
    ]
    for i, d in enumerate([0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95]):
        out.append((f"noise_{int(d * 100):02d}", _noise(40 + i, 48, 40, d)))
    return out


# ---------------------------------------------------------------------------------------------
# Reference output


def _flat(c):
    return [int(v) for v in c.reshape(-1)]


def _find(mask, mode, method):
    contours, hierarchy = cv2.findContours(mask, mode, method)
    if len(contours) == 0:
        return [], []
    return [_flat(c) for c in contours], [int(p) for p in hierarchy[0][:, 3]]


def reference(mask):
    """The fixture document's contour part for one mask (see the module docstring)."""
    cc_none, cc_par = _find(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    cc_simple, cc_par_s = _find(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    tr_none, tr_par = _find(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_NONE)
    tr_simple, tr_par_s = _find(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    assert cc_par == cc_par_s and tr_par == tr_par_s, "SIMPLE and NONE disagree on the hierarchy"
    assert len(cc_none) == len(cc_simple) == len(tr_none) == len(tr_simple)
    for a, b in zip(cc_none, cc_simple):
        assert set(zip(b[0::2], b[1::2])) <= set(zip(a[0::2], a[1::2])), "SIMPLE vertex not on the NONE border"
    index = {}
    for i, pts in enumerate(cc_none):
        key = (cc_par[i] != -1, tuple(pts))
        assert key not in index, "two identical borders"
        index[key] = i
    # Match TREE's borders to CCOMP's by their full vertex lists; holes are the odd levels.
    order = []
    for i, pts in enumerate(tr_none):
        depth, p = 0, tr_par[i]
        while p != -1:
            depth, p = depth + 1, tr_par[p]
        j = index[(depth % 2 == 1, tuple(pts))]
        assert tr_simple[i] == cc_simple[j]
        order.append(j)
    assert sorted(order) == list(range(len(cc_none)))
    contours = [{"hole": cc_par[i] != -1, "none": cc_none[i], "simple": cc_simple[i]} for i in range(len(cc_none))]
    return {"contours": contours, "ccompParent": cc_par, "treeOrder": order, "treeParent": tr_par}


# ---------------------------------------------------------------------------------------------
# The behaviour DESIGN.md documents, checked on every fixture against OpenCV's own output


def _steps(pts):
    """Unit steps between consecutive vertices (cyclic) of a NONE contour given as [(x, y)]."""
    n = len(pts)
    return [(pts[(i + 1) % n][0] - pts[i][0], pts[(i + 1) % n][1] - pts[i][1]) for i in range(n)]


def _signed_area2(pts):
    n = len(pts)
    return sum(pts[i][0] * pts[(i + 1) % n][1] - pts[(i + 1) % n][0] * pts[i][1] for i in range(n))


def check_documented_facts(mask, doc):
    """Asserts, on OpenCV's output for `mask`, each rule DESIGN.md section 2 states for tracing."""
    h, w = mask.shape
    fg = mask != 0
    _, comp = cv2.connectedComponents(fg.astype(np.uint8), connectivity=8)
    padded = np.pad(~fg, 1, constant_values=True).astype(np.uint8)
    _, bg = cv2.connectedComponents(padded, connectivity=4)
    bg = bg[1:-1, 1:-1]
    outside = 1  # the padded corner (0, 0) is the first pixel of the outermost background
    first = {}
    for labels, kind in ((comp, "fg"), (bg, "bg")):
        flat = labels.reshape(-1)
        values, idx = np.unique(flat, return_index=True)
        for v, i in zip(values, idx):
            first[(kind, int(v))] = (int(i % w), int(i // w))
    contours = doc["contours"]
    starts = []
    for c in contours:
        pts = list(zip(c["none"][0::2], c["none"][1::2]))
        simple = list(zip(c["simple"][0::2], c["simple"][1::2]))
        x, y = pts[0]
        if not c["hole"]:
            # An outer contour starts at its component's first pixel in raster order ...
            assert first[("fg", int(comp[y, x]))] == (x, y)
        else:
            # ... a hole contour at the foreground pixel left of the hole's first pixel.
            label = int(bg[y, x + 1])
            assert label != outside and first[("bg", label)] == (x + 1, y)
        starts.append(y * w + x)
        steps = _steps(pts)
        if len(pts) > 1:
            assert all(max(abs(dx), abs(dy)) == 1 for dx, dy in steps), "steps are 8-neighbour moves"
        # Outer contours run counter-clockwise on screen, holes clockwise (y down).
        area2 = _signed_area2(pts)
        assert (area2 <= 0) if not c["hole"] else (area2 > 0)
        # SIMPLE is NONE without the vertices whose incoming and outgoing steps are equal.
        n = len(pts)
        kept = [pts[i] for i in range(n) if n == 1 or steps[i - 1] != steps[i]]
        assert simple == kept, "SIMPLE rule"
        # A single pixel is one vertex; a 1-pixel hole is a 4-vertex diamond.
        if c["hole"] and np.count_nonzero(bg == bg[y, x + 1]) == 1:
            assert len(pts) == 4 and len(simple) == 4
        if not c["hole"] and np.count_nonzero(comp == comp[y, x]) == 1:
            assert pts == [(x, y)]
    # A straight 1-pixel line of L pixels: 2(L - 1) vertices, 2 with SIMPLE.
    for c in contours:
        pts = list(zip(c["none"][0::2], c["none"][1::2]))
        x, y = pts[0]
        if c["hole"]:
            continue
        ys, xs = np.nonzero(comp == comp[y, x])
        length = len(xs)
        if length >= 2 and (len(set(xs)) == 1 or len(set(ys)) == 1 or len(set(xs - ys)) == 1 or len(set(xs + ys)) == 1):
            if len(set(xs)) == length or len(set(ys)) == length:  # no two pixels share the line's axis
                assert len(pts) == 2 * (length - 1) and len(c["simple"]) == 4
    # RETR_CCOMP: outer contours newest (largest raster start) first, each followed at once by
    # its holes, newest first too.
    par = doc["ccompParent"]
    current = -1
    for i, p in enumerate(par):
        if p == -1:
            assert current == -1 or starts[i] < starts[current]
            current, last_hole = i, None
            assert not contours[i]["hole"]
        else:
            assert p == current and contours[i]["hole"]
            assert last_hole is None or starts[i] < starts[last_hole]
            last_hole = i
    # RETR_TREE: depth first from the image frame, children newest first; holes are the odd levels.
    order, tpar = doc["treeOrder"], doc["treeParent"]
    children = {}
    for i, p in enumerate(tpar):
        children.setdefault(p, []).append(i)
    for p, kids in children.items():
        assert [starts[order[k]] for k in kids] == sorted((starts[order[k]] for k in kids), reverse=True)
        assert all(contours[order[k]]["hole"] == (p != -1 and not contours[order[p]]["hole"]) for k in kids)
    expected, stack = [], [-1]
    while stack:
        node = stack.pop()
        if node != -1:
            expected.append(node)
        stack.extend(reversed(children.get(node, [])))
    assert expected == list(range(len(tpar))), "TREE is a depth-first listing"
    # A hole's CCOMP parent is the TREE parent of the same hole.
    position = {j: i for i, j in enumerate(order)}
    for i, p in enumerate(par):
        if p != -1:
            assert order[tpar[position[i]]] == p


def checksum(mask):
    ys, xs = np.nonzero(mask)
    return int((xs.astype(np.int64) * 7919 + ys.astype(np.int64) * 104729).sum() % (1 << 32))


def write_fixtures(fixtures_dir: pathlib.Path) -> None:
    """Writes fixtures_dir/trace/{NAME.png, NAME.json, index.json, README.md}."""
    out = pathlib.Path(fixtures_dir) / "trace"
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("*.png")) + list(out.glob("*.json")):
        old.unlink()
    names, n_contours, n_vertices = [], 0, 0
    for name, mask in masks():
        mask = np.ascontiguousarray(mask, np.uint8)
        assert set(np.unique(mask)) <= {0, 255}
        h, w = mask.shape
        doc = {"name": name, "width": w, "height": h, "foreground": int(np.count_nonzero(mask)), "checksum": checksum(mask)}
        doc.update(reference(mask))
        check_documented_facts(mask, doc)
        assert cv2.imwrite(str(out / f"{name}.png"), mask)
        assert np.array_equal(cv2.imread(str(out / f"{name}.png"), cv2.IMREAD_UNCHANGED), mask)
        (out / f"{name}.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")
        names.append(name)
        n_contours += len(doc["contours"])
        n_vertices += sum((len(c["none"]) + len(c["simple"])) // 2 for c in doc["contours"])
    index = {
        "generator": "scripts/reference/trace.py",
        "opencv": cv2.__version__,
        "masks": names,
        "contours": n_contours,
        "vertices": n_vertices,
    }
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    (out / "README.md").write_text(
        "Generated by `scripts/reference/trace.py` (OpenCV "
        + cv2.__version__
        + "); never edited by hand. See that module's docstring for the format.\n"
    )


if __name__ == "__main__":
    write_fixtures(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "Tests/SegCoreTests/Fixtures"))
