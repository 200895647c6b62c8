#!/usr/bin/env python3
"""Renders synthetic microscopy images with exact ground-truth masks for the built-in segmenter.

Usage: make-synthetic.py OUT_DIR [--size N] [--seed S] [--sets brightfield,fluorescence,...]

Writes OUT_DIR/<set>_<k>.png (8-bit gray image), OUT_DIR/<set>_<k>_gt.png (0/255 mask: pixel
centres inside an object) and OUT_DIR/manifest.json. Every random choice comes from numpy's
default_rng with fixed seeds, so a given size renders the same files on every run. Object sizes
scale with N, so 1024² or 4096² versions (for benchmarks) look like the 256² fixtures.

Sets (standard): brightfield (dark textured spheroids with soft edges on a lighter, unevenly lit
background) and fluorescence (bright cells on a dark background). Hard cases: vignette (corners
at half the centre's brightness, weak object contrast), halo (phase-contrast bright rim around
dark objects), debris (hundreds of small dark specks that are not objects), dimfluo (signal ~55
grey levels over the background, noise sigma ~14).

The ground truth is the geometric shape itself: a pixel is foreground when its centre lies
inside the object's boundary r(theta); the rendered intensity crosses 50 % of the object's
contrast exactly there (a logistic edge profile of the signed radial distance).
"""
import argparse
import json
import math
import os

import cv2
import numpy as np

SETS = {
    # name: (count, standard?)
    "brightfield": (3, True),
    "fluorescence": (3, True),
    "vignette": (2, False),
    "halo": (2, False),
    "debris": (2, False),
    "dimfluo": (2, False),
}


def smooth_field(rng, n, cells=4):
    """A smooth random field in about [-1, 1]: a cells×cells grid of noise, cubic-upsampled."""
    g = rng.standard_normal((cells + 3, cells + 3)).astype(np.float32)
    f = cv2.resize(g, (n + 3 * n // cells, n + 3 * n // cells), interpolation=cv2.INTER_CUBIC)
    o = (f.shape[0] - n) // 2
    f = f[o:o + n, o:o + n]
    return f / max(1e-6, float(np.abs(f).max()))


def texture(rng, n, scale):
    """Zero-mean band-limited texture with unit standard deviation (blurred white noise)."""
    t = cv2.GaussianBlur(rng.standard_normal((n, n)).astype(np.float32), (0, 0), scale)
    return t / max(1e-6, float(t.std()))


def place_objects(rng, n, count, rmin, rmax, margin=4, border=True, tries=4000):
    """Non-overlapping (cx, cy, R, harmonics, aspect, angle) tuples inside the image."""
    objs = []
    for _ in range(tries):
        if len(objs) == count:
            break
        r = rng.uniform(rmin, rmax)
        lo = r + margin if border else r + margin
        cx, cy = rng.uniform(lo, n - lo, 2)
        if any(math.hypot(cx - o[0], cy - o[1]) < r + o[2] + 2 * margin + 4 for o in objs):
            continue
        harm = [(k, rng.uniform(0, 0.035), rng.uniform(0, 2 * math.pi)) for k in (2, 3, 4, 5)]
        aspect = rng.uniform(0.8, 1.0)
        angle = rng.uniform(0, math.pi)
        objs.append((cx, cy, r, harm, aspect, angle))
    return objs


def signed_distance(n, obj):
    """Approximate signed distance (px, positive inside) of every pixel centre to the boundary."""
    cx, cy, r, harm, aspect, angle = obj
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    dx, dy = xx - cx, yy - cy
    ca, sa = math.cos(angle), math.sin(angle)
    u = dx * ca + dy * sa
    v = (-dx * sa + dy * ca) / aspect
    rho = np.sqrt(u * u + v * v)
    th = np.arctan2(v, u)
    rb = np.full_like(rho, r)
    for k, a, p in harm:
        rb += r * a * np.cos(k * th + p)
    # radial distance in the stretched frame, scaled back approximately to pixels
    scale = np.sqrt((u / np.maximum(rho, 1e-6)) ** 2 + (v * aspect / np.maximum(rho, 1e-6)) ** 2)
    return (rb - rho) * scale


def edge(d, w):
    return 1.0 / (1.0 + np.exp(-np.clip(d / w, -60, 60)))


def render(kind, n, seed):
    rng = np.random.default_rng(seed)
    gt = np.zeros((n, n), bool)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    rr = np.hypot(xx - n / 2 + 0.5, yy - n / 2 + 0.5) / math.hypot(n / 2, n / 2)
    if kind in ("brightfield", "vignette", "halo", "debris"):
        if kind == "brightfield":
            objs = place_objects(rng, n, int(rng.integers(3, 6)), 0.08 * n, 0.2 * n)
            contrast = (0.3, 0.5)
            illum = (1 + 0.10 * smooth_field(rng, n) + 0.08 * (xx / n - 0.5)).astype(np.float32)
        elif kind == "vignette":
            objs = place_objects(rng, n, int(rng.integers(3, 5)), 0.08 * n, 0.16 * n)
            contrast = (0.14, 0.18)
            illum = (1.0 / (1.0 + 0.4142 * rr * rr) ** 2).astype(np.float32)  # corners at 0.5
        else:
            objs = place_objects(rng, n, int(rng.integers(3, 5)), 0.08 * n, 0.18 * n)
            contrast = (0.3, 0.45)
            illum = (1 + 0.06 * smooth_field(rng, n)).astype(np.float32)
        bg = rng.uniform(170, 200)
        trans = np.ones((n, n), np.float32)
        tex = texture(rng, n, max(1.0, n / 200))
        for o in objs:
            d = signed_distance(n, o)
            gt |= d > 0
            c = rng.uniform(*contrast)
            core = np.clip(1 - np.hypot(xx - o[0], yy - o[1]) / o[2], 0, 1)  # darker necrotic core
            dark = c * (1 + 0.12 * tex + 0.25 * core) * edge(d, 1.0)
            trans *= 1 - np.clip(dark, 0, 0.95)
            if kind == "halo":
                trans += rng.uniform(0.18, 0.28) * np.exp(-((d + 3.0) ** 2) / (2 * 1.3 ** 2))
        if kind == "debris":
            for _ in range(int(300 * (n / 256) ** 2)):
                sx, sy = rng.uniform(0, n, 2)
                s = rng.uniform(0.6, 1.6)
                trans *= 1 - rng.uniform(0.3, 0.6) * np.exp(-((xx - sx) ** 2 + (yy - sy) ** 2) / (2 * s * s))
        img = bg * illum * trans
        img += rng.normal(0, 4.0, (n, n))
    else:
        if kind == "fluorescence":
            objs = place_objects(rng, n, int(rng.integers(5, 9)), 0.07 * n, 0.12 * n)
            amp = (110, 160)
            offset, noise = rng.uniform(15, 25), 4.0
            illum = (1 + 0.12 * smooth_field(rng, n)).astype(np.float32)
        else:
            objs = place_objects(rng, n, int(rng.integers(4, 7)), 0.07 * n, 0.12 * n)
            amp = (55, 55)
            offset, noise = 30.0, 14.0
            illum = (1 + 0.05 * smooth_field(rng, n)).astype(np.float32)
        sig = np.zeros((n, n), np.float32)
        tex = texture(rng, n, max(1.0, n / 150))
        for o in objs:
            d = signed_distance(n, o)
            gt |= d > 0
            sig += rng.uniform(*amp) * (1 + 0.1 * tex) * edge(d, 1.0)
        img = offset * (1 + 0.2 * (illum - 1)) + illum * sig
        img += rng.normal(0, noise, (n, n))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), gt, len(objs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated subset of: " + ", ".join(SETS))
    args = ap.parse_args()
    wanted = set(args.sets.split(","))
    os.makedirs(args.out, exist_ok=True)
    manifest = {"generator": "scripts/make-synthetic.py", "size": args.size, "seed": args.seed, "images": []}
    for si, (kind, (count, standard)) in enumerate(SETS.items()):
        if kind not in wanted:
            continue
        for k in range(count):
            img, gt, count_objects = render(kind, args.size, args.seed + 1000 * si + k)
            name = f"{kind}_{k}"
            cv2.imwrite(os.path.join(args.out, name + ".png"), img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
            cv2.imwrite(os.path.join(args.out, name + "_gt.png"), gt.astype(np.uint8) * 255,
                        [cv2.IMWRITE_PNG_COMPRESSION, 9, cv2.IMWRITE_PNG_BILEVEL, 1])
            polarity = "bright" if kind in ("fluorescence", "dimfluo") else "dark"
            manifest["images"].append({"name": name, "set": kind, "standard": standard,
                                       "polarity": polarity, "objects": count_objects,
                                       "foreground": int(gt.sum())})
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
