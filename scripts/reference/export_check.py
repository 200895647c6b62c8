#!/usr/bin/env python3
"""Reference data for SegCore's polygon rasterizer and export formats.

  export_check.py fixtures OUT_DIR   writes the small JSON fixtures under Tests/SegCoreTests/Fixtures/export/
                                     from OpenCV (fillPoly, findContours/drawContours), pycocotools (RLE)
                                     and Python's csv module. Deterministic (fixed seeds).
  export_check.py verify DIR         checks files written by `segctl ... --format coco|geojson|csv|mask`
                                     (or by hand) with pycocotools, shapely, csv and Pillow.

Needs: opencv-python-headless, numpy, pycocotools, shapely, Pillow (/opt/seghub-venv has them).
"""
import csv
import io
import json
import math
import os
import sys

import cv2
import numpy as np


def runs(values):
    """Row-major run-length list [value, count, value, count, ...] of a flat integer sequence."""
    out = []
    prev, n = None, 0
    for v in values:
        v = int(v)
        if v == prev:
            n += 1
        else:
            if prev is not None:
                out += [prev, n]
            prev, n = v, 1
    if prev is not None:
        out += [prev, n]
    return out


def round_half_away(v):
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def draw_labels(width, height, polygons, dtype=np.uint16):
    """Polygon i (exterior + holes, one fillPoly call) drawn with value i+1, later ones on top."""
    img = np.zeros((height, width), dtype)
    for i, poly in enumerate(polygons):
        rings = []
        for ring in [poly["exterior"]] + poly.get("holes", []):
            pts = [[round_half_away(x), round_half_away(y)] for x, y in ring]
            if pts:
                rings.append(np.array(pts, np.int32).reshape(-1, 1, 2))
        if rings:
            cv2.fillPoly(img, rings, i + 1)
    return img


def random_polygon(rng, width, height, n, margin):
    return [[int(rng.integers(-margin, width + margin)), int(rng.integers(-margin, height + margin))] for _ in range(n)]


def rasterizer_cases():
    rng = np.random.default_rng(20240611)
    cases = []

    def add(name, width, height, polygons):
        img = draw_labels(width, height, polygons)
        cases.append({"name": name, "width": width, "height": height, "polygons": polygons, "labels": runs(img.ravel())})

    add("square with square hole", 12, 10,
        [{"exterior": [[1, 1], [1, 8], [10, 8], [10, 1]], "holes": [[[4, 3], [7, 3], [7, 6], [4, 6]]]}])
    add("square with three holes", 20, 12,
        [{"exterior": [[0, 0], [19, 0], [19, 11], [0, 11]],
          "holes": [[[2, 2], [5, 2], [5, 5], [2, 5]], [[8, 2], [10, 4], [8, 6], [6, 4]], [[13, 7], [16, 7], [16, 9]]]}])
    add("one pixel hole diamond", 7, 7,
        [{"exterior": [[1, 1], [1, 5], [5, 5], [5, 1]], "holes": [[[3, 2], [2, 3], [3, 4], [4, 3]]]}])
    add("thin triangle", 30, 9, [{"exterior": [[0, 0], [29, 3], [2, 8]]}])
    add("steep slopes", 16, 30, [{"exterior": [[3, 0], [9, 29], [14, 1], [8, 12]]}])
    add("self-intersecting star", 25, 25,
        [{"exterior": [[12, 0], [19, 24], [0, 8], [24, 8], [5, 24]]}])
    add("single pixel", 5, 4, [{"exterior": [[2, 1]]}])
    add("two-vertex line", 9, 6, [{"exterior": [[1, 1], [7, 4]]}])
    add("collinear out and back", 8, 3, [{"exterior": [[0, 1], [3, 1], [7, 1], [3, 1]]}])
    add("touching every border", 6, 5, [{"exterior": [[0, 0], [0, 4], [5, 4], [5, 0]]}])
    add("partly outside", 14, 11, [{"exterior": [[-7, -3], [20, 2], [9, 17], [-2, 8]]}])
    add("far outside crossing", 10, 10, [{"exterior": [[-500, -100], [600, 5], [-40, 900]]}])
    add("entirely outside", 6, 6, [{"exterior": [[-9, -9], [-2, -9], [-5, -3]]}])
    add("real-valued vertices", 14, 12,
        [{"exterior": [[1.49, 0.5], [12.5, 2.2], [11.7, 10.51], [-0.5, 9.4999]], "holes": [[[4.2, 4.6], [8.5, 4.4], [6.1, 7.5]]]}])
    add("overlapping labels", 16, 12,
        [{"exterior": [[0, 0], [10, 0], [10, 9], [0, 9]]}, {"exterior": [[5, 3], [15, 3], [15, 11], [5, 11]]},
         {"exterior": [[7, 5], [9, 5], [9, 7]]}])
    add("island inside hole", 13, 13,
        [{"exterior": [[0, 0], [12, 0], [12, 12], [0, 12]], "holes": [[[2, 3], [3, 2], [9, 2], [10, 3], [10, 9], [9, 10], [3, 10], [2, 9]]]},
         {"exterior": [[5, 5], [7, 5], [7, 7], [5, 7]]}])
    for k in range(40):
        w, h = int(rng.integers(4, 28)), int(rng.integers(4, 28))
        polys = []
        for _ in range(int(rng.integers(1, 4))):
            ext = random_polygon(rng, w, h, int(rng.integers(3, 9)), 4)
            holes = [random_polygon(rng, w, h, int(rng.integers(3, 6)), 0) for _ in range(int(rng.integers(0, 3)))]
            polys.append({"exterior": ext, "holes": holes})
        add(f"random {k}", w, h, polys)
    return cases


def traced_cases():
    """Random masks, their RETR_CCOMP / CHAIN_APPROX_SIMPLE contours from OpenCV, and the mask drawContours gives."""
    rng = np.random.default_rng(77)
    cases = []
    for k in range(40):
        h, w = int(rng.integers(1, 24)), int(rng.integers(1, 24))
        p = float(rng.choice([0.3, 0.5, 0.7, 0.85]))
        mask = (rng.random((h, w)) < p).astype(np.uint8) * 255
        if k % 3 == 0:  # smoother blobs with holes
            mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((2, 2), np.uint8))
        contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        drawn = np.zeros_like(mask)
        if contours:
            cv2.drawContours(drawn, contours, -1, 255, -1, hierarchy=hierarchy)
        assert (drawn == mask).all(), "drawContours does not give the mask back"
        items = []
        for i, c in enumerate(contours):
            parent = int(hierarchy[0][i][3])
            items.append({"points": c.reshape(-1, 2).tolist(), "parent": None if parent < 0 else parent})
        cases.append({"width": w, "height": h, "mask": runs((mask > 0).astype(np.uint8).ravel()), "contours": items})
    return cases


def rle_cases():
    """Masks and their COCO RLE (pycocotools, column-major) so the Swift encoder is checked independently."""
    from pycocotools import mask as mask_utils
    rng = np.random.default_rng(5)
    cases = []
    shapes = [(1, 1), (3, 5), (7, 4), (12, 9), (1, 17), (16, 1)]
    for k in range(24):
        h, w = shapes[k] if k < len(shapes) else (int(rng.integers(1, 20)), int(rng.integers(1, 20)))
        p = [0.0, 1.0, 0.5, 0.3][k % 4]
        m = (rng.random((h, w)) < p).astype(np.uint8)
        rle = mask_utils.encode(np.asfortranarray(m))
        compressed = rle["counts"].decode("ascii")
        # Uncompressed counts: runs of the column-major mask, starting with background; pycocotools must read
        # them back as the same mask and compress them to the same string.
        flat = m.ravel(order="F")
        counts, value, n = [], 0, 0
        for v in flat:
            if v == value:
                n += 1
            else:
                counts.append(n)
                value, n = v, 1
        counts.append(n)
        from_counts = mask_utils.frPyObjects({"counts": counts, "size": [h, w]}, h, w)
        assert (mask_utils.decode(from_counts) == m).all()
        assert from_counts["counts"].decode("ascii") == compressed
        assert rle_counts_from_string(compressed) == counts
        cases.append({
            "width": w, "height": h, "mask": runs(m.ravel()), "counts": counts, "compressed": compressed,
            "area": int(mask_utils.area(rle)), "bbox": [int(v) for v in mask_utils.toBbox(rle)],
        })
    return cases


def rle_counts_from_string(s):
    """pycocotools' rleFrString, transcribed, to list the counts it stores."""
    counts, p, m = [], 0, 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if m > 2:
            x += counts[m - 2]
        counts.append(x)
        m += 1
    return counts


def csv_cases():
    """Hostile cell values and how Python's csv module (RFC 4180 dialect) writes them."""
    names = ["plain.png", "comma,name.png", 'quote"name.png', "new\nline.png", "cr\rname.png", "ünïcødé 細胞.tif",
             " leading space", "=HYPERLINK(\"x\")", "", "semi;colon", "tab\tname"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for n in names:
        writer.writerow([n, "x"])
    return {"names": names, "csv": buf.getvalue()}


def write_fixtures(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    outputs = {
        "rasterizer.json": {"cases": rasterizer_cases()},
        "traced_roundtrip.json": {"cases": traced_cases()},
        "coco_rle.json": {"cases": rle_cases()},
        "csv_quoting.json": csv_cases(),
    }
    for name, data in outputs.items():
        path = os.path.join(out_dir, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"), ensure_ascii=False)
            f.write("\n")
        print(f"{path}: {os.path.getsize(path)} bytes")


# ---- verification of exported files -------------------------------------------------------------------------------

def verify(directory):
    problems = 0
    for root, _, files in os.walk(directory):
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                if name.endswith(".coco.json") or name == "coco.json":
                    verify_coco(path)
                elif name.endswith(".geojson"):
                    verify_geojson(path)
                elif name.endswith(".csv"):
                    verify_csv(path)
                elif name.endswith(".png"):
                    verify_png(path)
                else:
                    continue
                print(f"ok   {path}")
            except Exception as exc:  # report every file, then fail
                problems += 1
                print(f"FAIL {path}: {exc}")
    return problems


def verify_coco(path):
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    coco = COCO(path)
    for ann in coco.dataset["annotations"]:
        img = coco.imgs[ann["image_id"]]
        rle = coco.annToRLE(ann)
        m = mask_utils.decode(rle)
        assert m.shape == (img["height"], img["width"]), "mask size"
        if ann["iscrowd"]:
            assert int(mask_utils.area(rle)) == ann["area"], f"area {ann['area']} != {mask_utils.area(rle)}"
            assert [int(v) for v in mask_utils.toBbox(rle)] == ann["bbox"], "bbox"
        else:
            # pycocotools rasterizes polygons on its own half-pixel grid, not OpenCV's: report, do not fail
            ours = np.zeros(m.shape, np.uint8)
            cv2.fillPoly(ours, [np.array(ann["segmentation"][0], np.int32).reshape(-1, 1, 2)], 1)
            iou = float((ours & m).sum()) / max(1, float((ours | m).sum()))
            print(f"     annotation {ann['id']}: pycocotools polygon mask vs fillPoly IoU {iou:.3f}, "
                  f"area {int(m.sum())} vs {ann['area']}")


def verify_geojson(path):
    from shapely.geometry import shape
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    assert data["type"] == "FeatureCollection"
    for feat in data["features"]:
        geom = feat["geometry"]
        assert geom["type"] == "Polygon"
        for i, ring in enumerate(geom["coordinates"]):
            assert len(ring) >= 4 and ring[0] == ring[-1], "ring not closed or too short"
            area2 = sum(ring[k][0] * ring[k + 1][1] - ring[k + 1][0] * ring[k][1] for k in range(len(ring) - 1))
            assert (area2 >= 0) if i == 0 else (area2 <= 0), "ring orientation"
        shape(geom)


def verify_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    assert header[:3] == ["image", "polygon_id", "class"], header[:3]
    for r in rows[1:]:
        assert len(r) == len(header), "ragged row"


def verify_png(path):
    """Decodes with Pillow; next to an `X.spheroseg.json`, compares `X.png` with OpenCV's fillPoly of that list
    (object n: its external ring and internal rings in one fillPoly call, value n, in order)."""
    from PIL import Image
    with Image.open(path) as im:
        im.load()
        assert im.mode in ("L", "I;16", "I", "I;16B"), im.mode
        labels = np.array(im).astype(np.int64)
    polygons_path = path[:-len(".png")] + ".spheroseg.json"
    if not os.path.exists(polygons_path):
        return
    with open(polygons_path, encoding="utf-8") as f:
        entries = json.load(f)
    expected = np.zeros(labels.shape, np.uint16)
    externals = [e for e in entries if e["type"] == "external"]
    for n, ext in enumerate(externals, start=1):
        rings = [ext] + [e for e in entries if e.get("parent_id") == ext["id"]]
        pts = [np.array([[p["x"], p["y"]] for p in r["points"]], np.int32).reshape(-1, 1, 2) for r in rings]
        cv2.fillPoly(expected, pts, n)
    assert (expected.astype(np.int64) == labels).all(), f"{int((expected != labels).sum())} pixels differ from OpenCV"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "fixtures":
        write_fixtures(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "verify":
        sys.exit(1 if verify(sys.argv[2]) else 0)
    else:
        print(__doc__)
        sys.exit(64)
