#!/usr/bin/env python3
"""Writes the benchmark corpus: spheroid images and masks at 1024² and 4096², an 8192² mask
with many objects, a 1024² one-pixel checkerboard mask (the worst case for hierarchy
building), and 16-bit microscopy-like TIFFs at 4096² (a nuclei field with touching nuclei on a
camera offset, uncompressed and LZW). Deterministic (fixed seeds). Usage: make_corpus.py OUT_DIR"""
import pathlib
import sys

import cv2
import numpy as np


def spheroid_scene(size: int, count: int, seed: int):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c = size / 2
    # Uneven illumination: a vignette and a linear gradient.
    r2 = ((xx - c) ** 2 + (yy - c) ** 2) / (c * c)
    background = 200 - 45 * r2 + 15 * (xx / size)
    mask = np.zeros((size, size), np.uint8)
    image = background.copy()
    for _ in range(count):
        r = rng.uniform(0.03, 0.09) * size
        cx, cy = rng.uniform(r + 2, size - r - 2, 2)
        a, b = r, r * rng.uniform(0.75, 1.0)
        ang = rng.uniform(0, np.pi)
        ca, sa = np.cos(ang), np.sin(ang)
        u = ((xx - cx) * ca + (yy - cy) * sa) / a
        v = (-(xx - cx) * sa + (yy - cy) * ca) / b
        d = u * u + v * v
        inside = d <= 1
        mask[inside] = 255
        # A necrotic core (a hole in about a third of them).
        if rng.uniform() < 0.35:
            mask[d <= 0.08] = 0
        image = np.where(inside, image - 90 * (1 - 0.4 * d), image)
    image += rng.normal(0, 6, image.shape)
    image = cv2.GaussianBlur(image, (0, 0), 1.2)
    return np.clip(image, 0, 255).astype(np.uint8), mask


def many_objects_mask(size: int, seed: int):
    rng = np.random.default_rng(seed)
    mask = np.zeros((size, size), np.uint8)
    for _ in range(6000):
        r = int(rng.uniform(4, 40))
        cx, cy = rng.integers(0, size, 2)
        cv2.ellipse(mask, (int(cx), int(cy)), (r, int(r * rng.uniform(0.5, 1))), float(rng.uniform(0, 180)), 0, 360, 255, -1)
        if rng.uniform() < 0.3:
            cv2.circle(mask, (int(cx), int(cy)), max(1, r // 4), 0, -1)
    return mask


def nuclei_field(size: int, seed: int):
    """A 16-bit fluorescence field: about one nucleus per 2000 px² (radius 8-14 px, a quarter of
    them touching a neighbour), texture, blur, a camera offset of 1000 and Poisson-like noise."""
    rng = np.random.default_rng(seed)
    signal = np.zeros((size, size), np.float32)
    count = size * size // 2000
    centres = rng.uniform(16, size - 16, (count, 2))
    for i, (cx, cy) in enumerate(centres):
        if i % 4 == 1:  # a touching neighbour of the previous nucleus
            px, py = centres[i - 1]
            ang = rng.uniform(0, 2 * np.pi)
            cx, cy = px + 20 * np.cos(ang), py + 20 * np.sin(ang)
        a = rng.uniform(8, 14)
        b = a * rng.uniform(0.6, 1.0)
        cv2.ellipse(signal, (int(cx), int(cy)), (int(a), int(b)), float(rng.uniform(0, 180)), 0, 360,
                    float(rng.uniform(600, 3000)), -1)
    signal = cv2.GaussianBlur(signal, (0, 0), 1.5)
    image = 1000 + signal + rng.normal(0, 1, signal.shape).astype(np.float32) * np.sqrt(signal + 25)
    return np.clip(image, 0, 65535).astype(np.uint16)


def main(out: pathlib.Path):
    out.mkdir(parents=True, exist_ok=True)
    for size, count, seed in ((1024, 12, 1), (4096, 40, 2)):
        image, mask = spheroid_scene(size, count, seed)
        cv2.imwrite(str(out / f"spheroids-{size}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        cv2.imwrite(str(out / f"spheroids-{size}.png"), image)
        color = cv2.merge([image, np.clip(image.astype(np.int16) + 12, 0, 255).astype(np.uint8), image])
        cv2.imwrite(str(out / f"spheroids-{size}-color.jpg"), color, [cv2.IMWRITE_JPEG_QUALITY, 90])
        cv2.imwrite(str(out / f"spheroids-{size}-color.png"), color)
        cv2.imwrite(str(out / f"mask-spheroids-{size}.png"), mask)
    cv2.imwrite(str(out / "mask-many-8192.png"), many_objects_mask(8192, 3))
    yy, xx = np.mgrid[0:1024, 0:1024]
    cv2.imwrite(str(out / "mask-checkerboard-1024.png"), (((xx + yy) % 2) * 255).astype(np.uint8))
    noise = (np.random.default_rng(4).uniform(size=(2048, 2048)) < 0.5).astype(np.uint8) * 255
    cv2.imwrite(str(out / "mask-noise-2048.png"), noise)
    import tifffile  # the TIFF corpus needs tifffile and imagecodecs (LZW)

    nuclei = nuclei_field(4096, 5)
    tifffile.imwrite(out / "nuclei-4096-u16.tif", nuclei, rowsperstrip=64)
    tifffile.imwrite(out / "nuclei-4096-u16-lzw.tif", nuclei, compression="lzw", rowsperstrip=64)
    cv2.imwrite(str(out / "nuclei-4096-u16.png"), nuclei)


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "bench-out/corpus"))
