"""Reference fixtures for SegCore's polygon simplifier and shape metrics, computed with OpenCV.

`write_fixtures(fixtures_dir)` writes `fixtures_dir / "metrics" / "polygons.json"`: a fixed, seeded
set of polygons (rings from `cv2.findContours(RETR_CCOMP, CHAIN_APPROX_SIMPLE)` on generated masks,
plus random float polygons) with what OpenCV says about each of them:

- `approx`: per ring (exterior first, then holes) and per epsilon in `EPSILONS`, the vertices of
  `cv2.approxPolyDP(ring, eps, closed=True)`; `approxOpenEps2`: the exterior as an open curve, ε = 2;
- `contourArea` per ring, `arcLength` of each ring's ε = 2 approximation (closed);
- `hull` (`cv2.convexHull`), its `contourArea` and closed `arcLength`;
- `minAreaRect` (plus `minAreaRectCandidates`, the equal-area alternatives found by brute
  force), `fitEllipse` (null under 5 points), `boundingRect`, `moments`-based centroid;
- `caliperMax`: the largest distance between two hull vertices, by numpy brute force;
- `metrics`: the DESIGN.md formulas evaluated on those OpenCV values.

Float polygons use coordinates that are multiples of 1/4 in [0, 256): OpenCV computes on float32
and such coordinates make its float32 differences and products exact, so the comparison with
SegCore's float64 code is meaningful.

Run directly (`python scripts/reference/metrics.py FIXTURES_DIR`) or through scripts/make-reference.py.
"""

from __future__ import annotations

import json
import math
import pathlib
import sys

import cv2
import numpy as np

EPSILONS = [0.5, 1.0, 2.0, 3.7]
FLT_EPSILON = float(np.finfo(np.float32).eps)


# ---------------------------------------------------------------------------------------------
# Masks


def _disk(size, cx, cy, r):
    m = np.zeros((size, size), np.uint8)
    # shift = 4: sub-pixel centre and radius
    cv2.circle(m, (int(round(cx * 16)), int(round(cy * 16))), int(round(r * 16)), 255, -1, cv2.LINE_8, 4)
    return m


def _ellipse(size, cx, cy, a, b, angle):
    m = np.zeros((size, size), np.uint8)
    cv2.ellipse(m, ((cx, cy), (2 * a, 2 * b), angle), 255, -1, cv2.LINE_8)
    return m


def _rotated_rect(size, cx, cy, w, h, angle):
    m = np.zeros((size, size), np.uint8)
    pts = np.round(cv2.boxPoints(((cx, cy), (w, h), angle))).astype(np.int32)
    cv2.fillPoly(m, [pts], 255)
    return m


def _masks():
    """Yields (name, mask) pairs, deterministic."""
    for r in [1, 2, 3, 4.5, 7, 12.3, 20, 33]:
        size = int(2 * r + 9)
        yield f"disk_r{r}", _disk(size, size / 2 - 0.3, size / 2 + 0.2, r)
    for (a, b) in [(30, 12), (20, 8), (40, 25), (9, 4)]:
        for ang in [0, 17, 30, 45, 60, 73, 90, 121]:
            yield f"ellipse_{a}x{b}_a{ang}", _ellipse(2 * a + 10, a + 5, a + 5, a, b, ang)
    for (rr, ri, off) in [(20, 8, 0), (25, 14, 4), (12, 3, 0), (30, 25, 2)]:
        m = _disk(2 * rr + 10, rr + 5, rr + 5, rr)
        m[_disk(2 * rr + 10, rr + 5 + off, rr + 5 - off / 2, ri) > 0] = 0
        yield f"ring_{rr}_{ri}_{off}", m
    # blob with several holes, a 1-px hole and an island inside a hole
    m = _ellipse(90, 45, 45, 40, 30, 20)
    m[_disk(90, 30, 40, 8) > 0] = 0
    m[_disk(90, 58, 50, 10) > 0] = 0
    m[_disk(90, 58, 50, 4) > 0] = 255
    m[44, 45] = 0
    m[_rotated_rect(90, 45, 62, 12, 5, 30) > 0] = 0
    yield "blob_holes", m
    for n in [1, 2, 3, 4, 10, 31]:
        m = np.zeros((n + 4, n + 4), np.uint8)
        m[2:2 + n, 2:2 + n] = 255
        yield f"square_{n}", m
    m = np.zeros((30, 50), np.uint8)
    m[5:22, 3:44] = 255
    yield "rect_41x17", m
    for (w, h, ang) in [(30, 10, 15), (40, 6, 33), (25, 25, 45), (50, 3, 70), (18, 11, 100)]:
        yield f"rrect_{w}x{h}_a{ang}", _rotated_rect(70, 35, 35, w, h, ang)
    for (x1, y1, x2, y2) in [(2, 5, 30, 5), (3, 3, 3, 25), (2, 2, 25, 25), (2, 3, 40, 17), (5, 30, 28, 2)]:
        m = np.zeros((45, 45), np.uint8)
        cv2.line(m, (x1, y1), (x2, y2), 255, 1, cv2.LINE_8)
        yield f"line_{x1}_{y1}_{x2}_{y2}", m
    small = {
        "px1": [(0, 0)],
        "px2_h": [(0, 0), (1, 0)],
        "px2_d": [(0, 0), (1, 1)],
        "px3_l": [(0, 0), (0, 1), (1, 1)],
        "px3_line": [(0, 0), (1, 0), (2, 0)],
        "px4_sq": [(0, 0), (1, 0), (0, 1), (1, 1)],
        "px4_t": [(0, 0), (1, 0), (2, 0), (1, 1)],
        "px4_s": [(1, 0), (2, 0), (0, 1), (1, 1)],
        "px4_diag": [(0, 0), (1, 1), (2, 2), (3, 3)],
        "px5_plus": [(1, 0), (0, 1), (1, 1), (2, 1), (1, 2)],
        "px5_x": [(0, 0), (2, 0), (1, 1), (0, 2), (2, 2)],
    }
    for name, pts in small.items():
        m = np.zeros((8, 8), np.uint8)
        for (x, y) in pts:
            m[y + 2, x + 2] = 255
        yield f"small_{name}", m
    rng = np.random.default_rng(20240611)
    for i in range(5):
        noise = rng.normal(0, 1, (60, 60)).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), 2.0 + (i % 4))
        thr = float(np.quantile(noise, 0.55 + 0.03 * (i % 5)))
        m = np.where(noise > thr, 255, 0).astype(np.uint8)
        yield f"noise_{i}", m


def _int_polygons():
    """Exterior rings with their holes from every mask (CCOMP, SIMPLE)."""
    for name, mask in _masks():
        contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        if hierarchy is None:
            continue
        h = hierarchy[0]
        k = 0
        for i, c in enumerate(contours):
            if h[i][3] != -1:
                continue
            holes = []
            j = h[i][2]
            while j != -1:
                holes.append(contours[j].reshape(-1, 2))
                j = h[j][0]
            yield f"{name}#{k}", c.reshape(-1, 2).astype(np.int32), [x.astype(np.int32) for x in holes]
            k += 1


def _star(rng, n, cx, cy, r0, jitter):
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = r0 * (1 + jitter * rng.uniform(-1, 1, n))
    pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], axis=1)
    pts = np.round(pts * 4) / 4  # multiples of 1/4: exact in float32 arithmetic (see module doc)
    # drop consecutive duplicates (cyclically) so every ring has distinct neighbours
    keep = [p for i, p in enumerate(pts) if not np.array_equal(p, pts[i - 1])]
    return np.array(keep, np.float32)


def _float_polygons():
    rng = np.random.default_rng(77)
    for i in range(16):
        n = int(rng.integers(5, 70))
        ext = _star(rng, n, 128, 128, float(rng.uniform(20, 110)), float(rng.uniform(0.05, 0.6)))
        holes = []
        if i % 4 == 3:
            holes.append(_star(rng, 12, 128, 128, 8, 0.3)[::-1].copy())
        yield f"float_{i}", ext, holes
    yield "float_triangle", np.array([[10.5, 20.25], [60, 22.75], [30.25, 70]], np.float32), []
    yield "float_collinear", np.array([[0, 0], [10.5, 5.25], [21, 10.5]], np.float32), []


# ---------------------------------------------------------------------------------------------
# Measurements


def _ring_centroid_terms(ring):
    m = cv2.moments(ring)
    return m["m00"], m["m10"], m["m01"]


def _min_area_rect_candidates(hull):
    """[longer, shorter] sides of every rectangle flush with a hull edge whose area is within 1e-9
    (relative) of the smallest, by numpy brute force. More than one means OpenCV's choice among
    equal-area rectangles is decided by float32 rounding in its calipers."""
    n = len(hull)
    if n < 3:
        return []
    rects = []
    for i in range(n):
        a, b = hull[i], hull[(i + 1) % n]
        u = (b - a) / np.linalg.norm(b - a)
        al = (hull - a) @ u
        aw = (hull - a) @ np.array([-u[1], u[0]])
        w, h = al.max() - al.min(), aw.max() - aw.min()
        rects.append((w * h, max(w, h), min(w, h)))
    best = min(r[0] for r in rects)
    out = []
    for area, lo, sh in rects:
        if area <= best * (1 + 1e-9) and not any(abs(lo - x) < 1e-9 and abs(sh - y) < 1e-9 for x, y in out):
            out.append([lo, sh])
    return out


def _fit_ellipse_flags(ring):
    """Whether fitEllipse takes its random-perturbation branch (singular design matrix), as
    OpenCV's fitEllipseNoDirect decides it: w[0] * FLT_EPSILON > w[4]."""
    p = ring.astype(np.float32).astype(np.float64)
    n = len(p)
    c = p.astype(np.float32).sum(axis=0, dtype=np.float32) / np.float32(n)
    d = (p.astype(np.float32) - c).astype(np.float64)
    s = float(np.abs(d).sum())
    scale = 100.0 / (s if s > FLT_EPSILON else FLT_EPSILON)
    px, py = d[:, 0] * scale, d[:, 1] * scale
    A = np.stack([-px * px, -py * py, -px * py, px, py], axis=1)
    w = np.linalg.svd(A, compute_uv=False)
    return bool(w[0] * FLT_EPSILON > w[4]), float(w[4] / w[0])


def _measure(name, ext, holes, is_float):
    rings = [ext] + list(holes)
    approx = []
    for r in rings:
        approx.append([cv2.approxPolyDP(r, eps, True).reshape(-1, 2).tolist() for eps in EPSILONS])
    areas = [float(cv2.contourArea(r)) for r in rings]
    eps2 = [cv2.approxPolyDP(r, 2.0, True) for r in rings]
    arcs = [float(cv2.arcLength(a, True)) for a in eps2]
    hull = cv2.convexHull(ext)
    hull_area = float(cv2.contourArea(hull))
    hull_perim = float(cv2.arcLength(hull, True))
    (rcx, rcy), (rw, rh), rang = cv2.minAreaRect(ext)
    bx, by, bw, bh = cv2.boundingRect(ext)
    ellipse = None
    degenerate, wratio = False, None
    if len(ext) >= 5:
        (ecx, ecy), (ew, eh), eang = cv2.fitEllipse(ext)
        ellipse = [ecx, ecy, ew, eh, eang]
        if len(ext) > 5:
            degenerate, wratio = _fit_ellipse_flags(ext)
    hp = hull.reshape(-1, 2).astype(np.float64)
    candidates = _min_area_rect_candidates(hp)
    dif = hp[:, None, :] - hp[None, :, :]
    caliper = float(np.sqrt((dif ** 2).sum(axis=2).max())) if len(hp) > 0 else 0.0

    area = max(0.0, areas[0] - sum(areas[1:]))
    perimeter = arcs[0]
    pwh = sum(arcs)
    eqd = math.sqrt(4 * area / math.pi)
    m00 = m10 = m01 = 0.0
    for k, r in enumerate(rings):
        a, x, y = _ring_centroid_terms(r)
        sign = 1.0 if k == 0 else -1.0
        m00 += sign * a
        m10 += sign * x
        m01 += sign * y
    if area > 0:
        centroid = [m10 / m00, m01 / m00]
    else:
        e = ext.astype(np.float64)
        centroid = [float(e[:, 0].mean()), float(e[:, 1].mean())]
    fmax, fmin = max(rw, rh), min(rw, rh)
    metrics = {
        "area": area,
        "perimeter": perimeter,
        "perimeterWithHoles": pwh,
        "equivalentDiameter": eqd,
        "circularity": min(1.0, 4 * math.pi * area / pwh ** 2) if pwh > 0 else 0.0,
        "compactness": pwh ** 2 / (4 * math.pi * area) if area > 0 else 0.0,
        "convexity": hull_perim / pwh if pwh > 0 else 0.0,
        "solidity": area / hull_area if hull_area > 0 else 0.0,
        "sphericity": math.pi * eqd / pwh if pwh > 0 else 0.0,
        "extent": area / (bw * bh) if bw * bh > 0 else 0.0,
        "boundingBox": [bx, by, bw, bh],
        "feretMax": fmax,
        "feretMin": fmin,
        "feretAspectRatio": fmax / fmin if fmin > 0 else 0.0,
        "caliperMax": caliper,
        "majorAxis": max(ellipse[2], ellipse[3]) if ellipse else 0.0,
        "minorAxis": min(ellipse[2], ellipse[3]) if ellipse else 0.0,
        "centroid": centroid,
    }
    return {
        "name": name,
        "float": is_float,
        "exterior": ext.tolist(),
        "holes": [h.tolist() for h in holes],
        "approx": approx,
        "approxOpenEps2": cv2.approxPolyDP(ext, 2.0, False).reshape(-1, 2).tolist(),
        "contourArea": areas,
        "arcLengthEps2": arcs,
        "hull": hull.reshape(-1, 2).tolist(),
        "hullArea": hull_area,
        "hullPerimeter": hull_perim,
        "minAreaRect": [rcx, rcy, rw, rh, rang],
        "minAreaRectCandidates": candidates,
        "fitEllipse": ellipse,
        "ellipseDegenerate": degenerate,
        "ellipseSingularRatio": wratio,
        "boundingRect": [bx, by, bw, bh],
        "metrics": metrics,
    }


def write_fixtures(fixtures_dir: pathlib.Path) -> None:
    """Writes fixtures_dir/metrics/polygons.json (deterministic: fixed seeds, fixed shapes)."""
    out = pathlib.Path(fixtures_dir) / "metrics"
    out.mkdir(parents=True, exist_ok=True)
    polys = []
    for name, ext, holes in _int_polygons():
        polys.append(_measure(name, ext, holes, False))
    for name, ext, holes in _float_polygons():
        polys.append(_measure(name, ext, holes, True))
    doc = {
        "generator": "scripts/reference/metrics.py",
        "opencv": cv2.__version__,
        "epsilons": EPSILONS,
        "polygons": polys,
    }
    text = json.dumps(doc, separators=(",", ":"))
    (out / "polygons.json").write_text(text + "\n")
    (out / "README.md").write_text(
        "Generated by `scripts/reference/metrics.py` (OpenCV "
        + cv2.__version__
        + "); never edited by hand. See that module's docstring for the format.\n"
    )


if __name__ == "__main__":
    write_fixtures(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "Tests/SegCoreTests/Fixtures"))
