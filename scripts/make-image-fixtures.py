#!/usr/bin/env python3
"""Writes the image-decoder fixture matrix (RELIABILITY.md I8) and its expected samples.

Usage: /opt/seghub-venv/bin/python scripts/make-image-fixtures.py [OUT_DIR]
       (default OUT_DIR: Tests/SegCoreTests/Fixtures/images; also refreshes Fuzz/seeds/)

Every file is small (37×29: odd sizes so that JPEG MCUs are partial and 1/2/4-bit PNG rows do not
end on a byte boundary). JPEGs come from Debian's cjpeg/jpegtran (libjpeg-turbo 2.1.5), CMYK from
Pillow, YCCK from a 30-line libjpeg program compiled here; PNGs from the small writer below, so
that every colour type, bit depth, filter type, Adam7, text/iCCP chunks and APNG are covered.

Expected samples come from an independent decoder (OpenCV's bundled libjpeg-turbo 3.x and
libpng 1.6.5x through cv2.imdecode), never from SegCore:
  <name>.gray8   cv2 IMREAD_GRAYSCALE | IMREAD_IGNORE_ORIENTATION, w*h bytes
  <name>.gray16  cv2 IMREAD_GRAYSCALE | IMREAD_ANYDEPTH (16-bit files only), w*h little-endian u16
  <name>.raster  cv2 IMREAD_UNCHANGED | IMREAD_IGNORE_ORIENTATION, BGR(A) reordered to RGB(A),
                 interleaved (u16 little-endian for 16-bit); omitted when equal to the gray file.
cv2 has no 2-channel output: it returns gray+alpha as BGRA with B = G = R, which is checked here and
reduced to (gray, alpha). manifest.json lists each file with its header facts and tolerances.
Deterministic: same tools, same bytes (no timestamps, fixed patterns, zlib level 9).
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import cv2
import numpy as np
from PIL import Image, ImageCms

W, H = 37, 29
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Tests/SegCoreTests/Fixtures/images")
SEEDS = os.path.join(ROOT, "Fuzz/seeds")
MANIFEST = []


# ----------------------------------------------------------------------------------------------
# Source patterns: smooth ramps plus a hard-edged disk (real edges for JPEG, varied bytes for PNG).

def grid():
    y, x = np.mgrid[0:H, 0:W]
    disk = ((x - 20) ** 2 + (y - 13) ** 2) < 64
    return x, y, disk


def pattern_rgb8():
    x, y, disk = grid()
    r = (x * 6 + 10) % 256
    g = (y * 8 + 5) % 256
    b = (255 - (x + y) * 3) % 256
    rgb = np.stack([r, g, b], axis=-1)
    rgb[disk] = [230, 40, 90]
    return rgb.astype(np.uint8)


def pattern_gray8():
    x, y, disk = grid()
    g = (x * 5 + y * 3 + 17) % 256
    g[disk] = 240 - (x[disk] * 2)
    return g.astype(np.uint8)


def pattern_alpha8():
    x, y, _ = grid()
    return ((x * 7 + y * 11) % 256).astype(np.uint8)


def pattern_16(channel):
    # Both bytes vary, so reducing to the high byte or rounding would be visible.
    x, y, disk = grid()
    v = (x * 1771 + y * 389 + channel * 12345 + 77) % 65536
    v[disk] = (50000 + channel * 4000 + x[disk] * 13) % 65536
    return v.astype(np.uint16)


# ----------------------------------------------------------------------------------------------
# A small PNG writer: all colour types and depths, the five filter types, Adam7, extra chunks.

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(row, depth):
    """row: 1-D array of samples (channels interleaved)."""
    if depth == 16:
        return row.astype(">u2").tobytes()
    if depth == 8:
        return row.astype(np.uint8).tobytes()
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(row), per):
        byte = 0
        for j in range(per):
            v = int(row[i + j]) if i + j < len(row) else 0
            byte |= v << (8 - depth * (j + 1))
        out.append(byte)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(rows, bpp, first_filter=0):
    """Applies filter type (first_filter + y) % 5 to each row: None, Sub, Up, Average, Paeth."""
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for y, raw in enumerate(rows):
        ft = (first_filter + y) % 5
        f = bytearray(len(raw))
        for i in range(len(raw)):
            a = raw[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ft]
            f[i] = (raw[i] - pred) & 0xFF
        out.append(ft)
        out += f
        prev = raw
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def image_data(samples, depth, interlace):
    """samples: H×W×C array of sample values."""
    h, w, c = samples.shape
    bpp = max(1, c * depth // 8)
    if not interlace:
        rows = [pack_row(samples[y].reshape(-1), depth) for y in range(h)]
        return filter_rows(rows, bpp)
    out = b""
    for k, (x0, y0, dx, dy) in enumerate(ADAM7):
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        rows = [pack_row(sub[y].reshape(-1), depth) for y in range(sub.shape[0])]
        out += filter_rows(rows, bpp, first_filter=k)
    return out


def make_png(samples, depth, color_type, interlace=False, palette=None, trns=None, extra_before=b"", extra_after=b"",
             idat=None):
    h, w = samples.shape[:2]
    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0))
    out += extra_before
    if palette is not None:
        out += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    data = zlib.compress(image_data(samples, depth, interlace), 9) if idat is None else idat
    out += chunk(b"IDAT", data)
    out += extra_after
    out += chunk(b"IEND", b"")
    return out


# ----------------------------------------------------------------------------------------------
# Expected samples from cv2.

def cv_decode(data, flags):
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if img is None:
        raise SystemExit("cv2 could not decode a fixture")
    return img


def to_rgb_order(img):
    if img.ndim == 2:
        return img[:, :, None]
    if img.shape[2] == 3:
        return img[:, :, ::-1]
    if img.shape[2] == 4:
        return img[:, :, [2, 1, 0, 3]]
    return img


def le_bytes(a):
    return a.astype("<u2").tobytes() if a.dtype == np.uint16 else a.astype(np.uint8).tobytes()


def write(rel, data):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def add(name, fmt, data, *, channels, bit_depth, interlaced=False, tolerance=0, gray_alpha=False, note="",
        check_gray=None, check_raster=None, check_tolerance=0, check_psnr=None):
    """Writes a decodable fixture and its expectations.

    check_gray / check_raster: the source samples, compared with cv2's result (within
    check_tolerance, or above check_psnr dB for lossy files) to make sure the fixture really holds
    what we meant to write.
    """
    ext = "jpg" if fmt == "jpeg" else "png"
    rel = f"{fmt}/{name}.{ext}"
    write(rel, data)
    no_orient = cv2.IMREAD_IGNORE_ORIENTATION
    gray = cv_decode(data, cv2.IMREAD_GRAYSCALE | no_orient)
    assert gray.shape == (H, W) or (name.startswith("scans") or name.startswith("one-pixel")), name
    h, w = gray.shape
    entry = {
        "name": name, "file": rel, "format": fmt, "width": w, "height": h, "channels": channels,
        "bitDepth": bit_depth, "interlaced": interlaced, "tolerance": tolerance, "note": note,
    }
    write(f"{fmt}/{name}.gray8", le_bytes(gray))
    entry["gray8"] = f"{fmt}/{name}.gray8"
    gray16 = None
    if bit_depth == 16:
        gray16 = cv_decode(data, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH | no_orient)
        assert gray16.dtype == np.uint16, name
        write(f"{fmt}/{name}.gray16", le_bytes(gray16))
        entry["gray16"] = f"{fmt}/{name}.gray16"
    raw = to_rgb_order(cv_decode(data, cv2.IMREAD_UNCHANGED | no_orient))
    if gray_alpha:
        assert raw.shape[2] == 4 and (raw[:, :, 0] == raw[:, :, 1]).all() and (raw[:, :, 1] == raw[:, :, 2]).all(), name
        raw = raw[:, :, [0, 3]]
    entry["rasterChannels"] = int(raw.shape[2])
    entry["rasterBitDepth"] = 16 if raw.dtype == np.uint16 else 8
    same16 = gray16 is not None and raw.shape[2] == 1 and np.array_equal(raw[:, :, 0], gray16)
    same8 = raw.dtype == np.uint8 and raw.shape[2] == 1 and np.array_equal(raw[:, :, 0], gray)
    if same16:
        entry["raster"] = entry["gray16"]
    elif same8:
        entry["raster"] = entry["gray8"]
    else:
        write(f"{fmt}/{name}.raster", le_bytes(raw))
        entry["raster"] = f"{fmt}/{name}.raster"
    if check_gray is not None:
        diff = np.abs(gray.astype(int) - check_gray.astype(int)).max()
        assert diff <= check_tolerance, (name, "gray", diff)
    if check_raster is not None:
        src = check_raster if check_raster.ndim == 3 else check_raster[:, :, None]
        if check_psnr is not None:
            assert psnr(raw, src) > check_psnr, (name, "raster", psnr(raw, src))
        else:
            diff = np.abs(raw.astype(int) - src.astype(int)).max()
            assert diff <= check_tolerance, (name, "raster", diff)
    MANIFEST.append(entry)
    return data


def add_rejected(name, fmt, data, error, note, *, info=None):
    ext = "jpg" if fmt == "jpeg" else "png"
    rel = f"{fmt}/{name}.{ext}"
    write(rel, data)
    entry = {"name": name, "file": rel, "format": fmt, "error": error, "note": note}
    if info:
        entry.update(info)
    MANIFEST.append(entry)


# ----------------------------------------------------------------------------------------------
# JPEG

YCCK_HELPER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
/* usage: ycck W H in.cmyk out.jpg — writes inverted (Adobe) CMYK samples as a YCCK JPEG. */
int main(int argc, char **argv) {
    int w = atoi(argv[1]), h = atoi(argv[2]);
    unsigned char *px = malloc((size_t)w * h * 4);
    FILE *in = fopen(argv[3], "rb");
    if (fread(px, 4, (size_t)w * h, in) != (size_t)w * h) return 1;
    fclose(in);
    struct jpeg_compress_struct c; struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    FILE *out = fopen(argv[4], "wb");
    jpeg_stdio_dest(&c, out);
    c.image_width = w; c.image_height = h; c.input_components = 4; c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, JCS_YCCK); /* also writes the Adobe APP14 marker, transform 2 */
    jpeg_set_quality(&c, 92, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = px + (size_t)c.next_scanline * w * 4;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    fclose(out);
    return 0;
}
"""


def run(args, **kw):
    subprocess.run(args, check=True, **kw)


def cjpeg(tmp, src_path, *flags):
    out = os.path.join(tmp, "out.jpg")
    run(["cjpeg", *flags, "-outfile", out, src_path])
    with open(out, "rb") as f:
        return f.read()


def psnr(a, b):
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def exif_app1(orientation):
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
    tiff += struct.pack("<HHII", 0x0112, 3, 1, orientation) + struct.pack("<I", 0)
    body = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def repeat_last_scan(data, count):
    """Returns `data` (a progressive JPEG whose last scan is a full-precision first scan, Ah = Al = 0)
    with that scan (SOS header plus entropy-coded data) repeated until the file has `count` scans.
    Re-sending such a scan is legal and rewrites the same coefficients, so libjpeg decodes the
    result to the same image without a warning (jpegtran itself refuses scripts over 100 scans)."""
    start = data.rindex(b"\xff\xda")
    end = data.rindex(b"\xff\xd9")
    scan = data[start:end]
    have = data.count(b"\xff\xda")
    return data[:end] + scan * (count - have) + data[end:]


def jpeg_fixtures(tmp):
    rgb = pattern_rgb8()
    gray = pattern_gray8()
    ppm = os.path.join(tmp, "src.ppm")
    pgm = os.path.join(tmp, "src.pgm")
    cv2.imwrite(ppm, rgb[:, :, ::-1])
    cv2.imwrite(pgm, gray)

    # Source-vs-cv2 sanity bound for lossy files: ≥ 30 dB PSNR at quality 90 on these patterns.
    def lossy_ok(name, data, src_gray):
        got = cv_decode(data, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)
        assert psnr(got, src_gray) > 30, (name, psnr(got, src_gray))

    src_luma = cv2.cvtColor(rgb[:, :, ::-1], cv2.COLOR_BGR2GRAY)
    base_gray = cjpeg(tmp, pgm, "-quality", "90")
    lossy_ok("baseline-gray", base_gray, gray)
    add("baseline-gray", "jpeg", base_gray, channels=1, bit_depth=8, note="cjpeg -quality 90, 1 component")
    base = cjpeg(tmp, ppm, "-quality", "90")
    lossy_ok("baseline-color", base, src_luma)
    add("baseline-color", "jpeg", base, channels=3, bit_depth=8, note="cjpeg -quality 90, YCbCr 4:2:0")
    b444 = cjpeg(tmp, ppm, "-quality", "90", "-sample", "1x1")
    add("baseline-color-444", "jpeg", b444, channels=3, bit_depth=8, note="YCbCr 4:4:4")
    b422 = cjpeg(tmp, ppm, "-quality", "90", "-sample", "2x1")
    add("baseline-color-422", "jpeg", b422, channels=3, bit_depth=8, note="YCbCr 4:2:2")
    prog = cjpeg(tmp, ppm, "-quality", "90", "-progressive")
    lossy_ok("progressive", prog, src_luma)
    add("progressive", "jpeg", prog, channels=3, bit_depth=8, interlaced=True, note="cjpeg -progressive")
    progg = cjpeg(tmp, pgm, "-quality", "90", "-progressive")
    add("progressive-gray", "jpeg", progg, channels=1, bit_depth=8, interlaced=True, note="cjpeg -progressive, gray")
    arith = cjpeg(tmp, ppm, "-quality", "90", "-arithmetic")
    lossy_ok("arithmetic", arith, src_luma)
    add("arithmetic", "jpeg", arith, channels=3, bit_depth=8, note="cjpeg -arithmetic (SOF9)")
    rst = cjpeg(tmp, ppm, "-quality", "90", "-restart", "1B")
    assert b"\xff\xd0" in rst
    add("restart", "jpeg", rst, channels=3, bit_depth=8, note="cjpeg -restart 1B: RSTn after every MCU")
    opt = cjpeg(tmp, ppm, "-quality", "75", "-optimize", "-dct", "float")
    add("optimized-q75", "jpeg", opt, channels=3, bit_depth=8, note="optimised Huffman tables, quality 75")

    # EXIF orientation 6 (rotate 90° CW to display): inserted into the baseline file, so the
    # decoded samples must equal baseline-color's exactly, in the stored 37×29 grid.
    exif = base[:2] + exif_app1(6) + base[2:]
    add("exif-orientation-6", "jpeg", exif, channels=3, bit_depth=8,
        note="baseline-color plus APP1 Exif Orientation=6; orientation is ignored (stored grid)")

    # CMYK (Pillow writes Adobe APP14 transform 0 with inverted samples, as Photoshop does) and
    # YCCK (libjpeg, Adobe transform 2). cv2 converts with k - ((255 - c) * k >> 8) and 14-bit
    # luma weights; SegCore with c * k / 255 rounded and libjpeg's 16-bit weights, so samples may
    # differ by rounding: tolerance 2 (measured ≤ 1 on these files, see the script's assertions).
    cmyk_img = Image.fromarray(rgb, "RGB").convert("CMYK")
    path = os.path.join(tmp, "cmyk.jpg")
    cmyk_img.save(path, "JPEG", quality=92)
    with open(path, "rb") as f:
        cmyk = f.read()
    assert b"Adobe" in cmyk
    add("cmyk-adobe", "jpeg", cmyk, channels=4, bit_depth=8, tolerance=2,
        note="Pillow CMYK, Adobe APP14 transform 0, inverted samples", check_raster=rgb, check_psnr=25)
    helper_c = os.path.join(tmp, "ycck.c")
    helper = os.path.join(tmp, "ycck")
    with open(helper_c, "w") as f:
        f.write(YCCK_HELPER)
    run(["cc", "-O1", "-o", helper, helper_c, "-ljpeg"])
    inv = 255 - np.asarray(cmyk_img, dtype=np.uint8)  # Adobe convention: stored = 255 - ink
    raw_path = os.path.join(tmp, "src.cmyk")
    inv.tofile(raw_path)
    out = os.path.join(tmp, "ycck.jpg")
    run([helper, str(W), str(H), raw_path, out])
    with open(out, "rb") as f:
        ycck = f.read()
    add("ycck-adobe", "jpeg", ycck, channels=4, bit_depth=8, tolerance=2,
        note="libjpeg JCS_YCCK, Adobe APP14 transform 2, inverted samples", check_raster=rgb, check_psnr=25)

    # Rejected: 12-bit (SOF0 precision byte 8 -> 12) and lossless (SOF0 -> SOF3).
    sof = base_gray.index(b"\xff\xc0")
    assert base_gray[sof + 4] == 8
    b12 = bytearray(base_gray)
    b12[sof + 4] = 12
    add_rejected("bits12", "jpeg", bytes(b12), "unsupportedImageFeature", "baseline-gray with SOF0 precision 12")
    sof3 = bytearray(base_gray)
    sof3[sof + 1] = 0xC3
    add_rejected("lossless-sof3", "jpeg", bytes(sof3), "unsupportedImageFeature", "baseline-gray with SOF0 -> SOF3")

    # Scan limit (I4): an 8×8 gray progressive file (DC, AC 1-62, then an AC 63-63 scan repeated) with
    # exactly 500 scans decodes; 1000 scans are refused by the shim's progress monitor.
    small = os.path.join(tmp, "small.pgm")
    cv2.imwrite(small, gray[8:16, 8:16])
    small_path = os.path.join(tmp, "small.jpg")
    with open(small_path, "wb") as f:
        f.write(cjpeg(tmp, small, "-quality", "95"))
    script = os.path.join(tmp, "scans.txt")
    with open(script, "w") as f:
        f.write("0: 0 0 0 0;\n0: 1 62 0 0;\n0: 63 63 0 0;\n")
    out = os.path.join(tmp, "prog2.jpg")
    run(["jpegtran", "-scans", script, "-outfile", out, small_path])
    with open(out, "rb") as f:
        prog2 = f.read()
    s500 = repeat_last_scan(prog2, 500)
    assert s500.count(b"\xff\xda") == 500
    expected = cv_decode(prog2, cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(cv_decode(s500, cv2.IMREAD_GRAYSCALE), expected)
    add("scans-500", "jpeg", s500, channels=1, bit_depth=8, interlaced=True,
        note="8×8 progressive, exactly 500 scans (the limit): decodes")
    s1000 = repeat_last_scan(prog2, 1000)
    assert s1000.count(b"\xff\xda") == 1000
    add_rejected("scans-1000", "jpeg", s1000, "corruptImage",
                 "8×8 progressive, 1000 scans (> 500): refused by the scan limit (RELIABILITY I4)",
                 info={"width": 8, "height": 8, "channels": 1, "bitDepth": 8, "interlaced": True,
                       "messageContains": "progressive scans"})


# ----------------------------------------------------------------------------------------------
# PNG

def png_fixtures():
    rgb = pattern_rgb8()
    gray = pattern_gray8()
    alpha = pattern_alpha8()
    x, y, disk = grid()

    for depth in (1, 2, 4):
        top = (1 << depth) - 1
        g = ((x + y * 2) % (top + 1)).astype(np.uint8)
        g[disk] = top
        data = make_png(g[:, :, None], depth, 0)
        add(f"gray{depth}", "png", data, channels=1, bit_depth=depth, note=f"{depth}-bit gray",
            check_gray=(g.astype(int) * 255 // top).astype(np.uint8))
    add("gray8", "png", make_png(gray[:, :, None], 8, 0), channels=1, bit_depth=8, note="8-bit gray", check_gray=gray)
    g16 = pattern_16(0)
    add("gray16", "png", make_png(g16[:, :, None], 16, 0), channels=1, bit_depth=16,
        note="16-bit gray: kept exactly by decodeGray16", check_raster=g16)
    add("gray-alpha8", "png", make_png(np.stack([gray, alpha], -1), 8, 4), channels=2, bit_depth=8, gray_alpha=True,
        note="8-bit gray+alpha", check_gray=gray)
    a16 = pattern_16(3)
    add("gray-alpha16", "png", make_png(np.stack([g16, a16], -1), 16, 4), channels=2, bit_depth=16, gray_alpha=True,
        note="16-bit gray+alpha", check_raster=np.stack([g16, a16], -1))
    add("rgb8", "png", make_png(rgb, 8, 2), channels=3, bit_depth=8, note="8-bit RGB", check_raster=rgb)
    rgb16 = np.stack([pattern_16(0), pattern_16(1), pattern_16(2)], -1)
    add("rgb16", "png", make_png(rgb16, 16, 2), channels=3, bit_depth=16, note="16-bit RGB", check_raster=rgb16)
    rgba = np.concatenate([rgb, alpha[:, :, None]], -1)
    add("rgba8", "png", make_png(rgba, 8, 6), channels=4, bit_depth=8, note="8-bit RGBA", check_raster=rgba)
    rgba16 = np.stack([pattern_16(0), pattern_16(1), pattern_16(2), a16], -1)
    add("rgba16", "png", make_png(rgba16, 16, 6), channels=4, bit_depth=16, note="16-bit RGBA", check_raster=rgba16)

    # Palette: 20 colours, 8-bit and 4-bit indices; tRNS for the first 7 entries only.
    rng = np.random.default_rng(7)
    pal = rng.integers(0, 256, size=(20, 3), dtype=np.uint8)
    idx = ((x // 3 + (y // 3) * 5) % 20).astype(np.uint8)
    idx[disk] = 19
    add("palette8", "png", make_png(idx[:, :, None], 8, 3, palette=pal), channels=3, bit_depth=8,
        note="8-bit palette, 20 entries", check_raster=pal[idx])
    idx4 = idx % 16
    add("palette4", "png", make_png(idx4[:, :, None], 4, 3, palette=pal[:16]), channels=3, bit_depth=4,
        note="4-bit palette", check_raster=pal[idx4])
    trns = bytes([0, 40, 80, 120, 160, 200, 255])
    full_a = np.array(list(trns) + [255] * 13, dtype=np.uint8)
    add("palette-trns", "png", make_png(idx[:, :, None], 8, 3, palette=pal, trns=trns), channels=4, bit_depth=8,
        note="8-bit palette with a 7-entry tRNS", check_raster=np.concatenate([pal[idx], full_a[idx][:, :, None]], -1))

    # Adam7: RGB 8-bit and 1-bit gray (passes narrower than a byte), and 16-bit RGBA.
    add("adam7-rgb8", "png", make_png(rgb, 8, 2, interlace=True), channels=3, bit_depth=8, interlaced=True,
        note="Adam7 interlaced RGB", check_raster=rgb)
    g1 = ((x + y) % 2).astype(np.uint8)
    g1[disk] = 1
    add("adam7-gray1", "png", make_png(g1[:, :, None], 1, 0, interlace=True), channels=1, bit_depth=1,
        interlaced=True, note="Adam7 interlaced 1-bit gray", check_gray=g1 * 255)
    add("adam7-rgba16", "png", make_png(rgba16, 16, 6, interlace=True), channels=4, bit_depth=16, interlaced=True,
        note="Adam7 interlaced 16-bit RGBA", check_raster=rgba16)

    # Compressed ancillary chunks: tEXt, zTXt, compressed iTXt, and a real sRGB iCCP profile.
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    # Deterministic: a fixed creation date (header bytes 24-35) and no profile ID (84-99, zero =
    # "not computed", which the ICC spec allows).
    icc[24:36] = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
    icc[84:100] = bytes(16)
    icc = bytes(icc)
    text = chunk(b"tEXt", b"Software\x00make-image-fixtures.py")
    text += chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"spheroid " * 200, 9))
    text += chunk(b"iTXt", b"Description\x00\x01\x00en\x00Beschreibung\x00" + zlib.compress("Zellkügelchen ".encode() * 50, 9))
    iccp = chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(icc, 9))
    add("text-chunks", "png", make_png(rgb, 8, 2, extra_before=iccp + text, extra_after=text), channels=3,
        bit_depth=8, note="tEXt, zTXt, compressed iTXt (before and after IDAT), compressed iCCP", check_raster=rgb)

    # A zTXt that inflates to 16 MB (over libpng's 8 MB chunk limit): the chunk is dropped, the
    # image still decodes.
    bomb = chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"\x00" * (16 << 20), 9))
    add("ztxt-bomb", "png", make_png(gray[:, :, None], 8, 0, extra_before=bomb), channels=1, bit_depth=8,
        note="zTXt inflating to 16 MB (> libpng's 8 MB chunk_malloc_max); image decodes", check_gray=gray)

    # APNG: fcTL before IDAT (the default image is frame 0), then a different second frame in fdAT.
    # libpng decodes only the default image.
    def fctl(seq, w, h):
        return chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, w, h, 0, 0, 1, 10, 0, 0))
    frame2 = zlib.compress(image_data(255 - rgb, 8, False), 9)
    before = chunk(b"acTL", struct.pack(">II", 2, 0)) + fctl(0, W, H)
    after = fctl(1, W, H) + chunk(b"fdAT", struct.pack(">I", 2) + frame2)
    # Tolerance 1: OpenCV 5 reads APNG through its animation path (frame to BGR, then cvtColor),
    # whose luma rounding differs from libpng's rgb_to_gray (used for rgb8, same IDAT) by up to 1.
    # The raster is exact, and the tests also require apng == rgb8 sample for sample.
    add("apng", "png", make_png(rgb, 8, 2, extra_before=before, extra_after=after), channels=3, bit_depth=8,
        tolerance=1, note="APNG, 2 frames: only the default image (IDAT) is decoded", check_raster=rgb)

    # 1×1 edge case.
    one = np.array([[[200]]], dtype=np.uint8)
    add("one-pixel", "png", make_png(one, 8, 0), channels=1, bit_depth=8, note="1×1 gray")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    with tempfile.TemporaryDirectory() as tmp:
        jpeg_fixtures(tmp)
    png_fixtures()
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"generator": "scripts/make-image-fixtures.py", "fixtures": MANIFEST}, f, indent=1)
        f.write("\n")
    # Fuzz seeds (RELIABILITY.md F4): every fixture image except the 16 MB zTXt bomb (slow to
    # inflate on every mutation), plus the two pixel-flood headers the tests build in code.
    if os.path.isdir(SEEDS):
        shutil.rmtree(SEEDS)
    os.makedirs(SEEDS)
    for e in MANIFEST:
        if e["name"] != "ztxt-bomb":
            shutil.copy(os.path.join(OUT, e["file"]), os.path.join(SEEDS, e["file"].replace("/", "-")))
    flood = make_png(np.zeros((1, 1, 1), np.uint8), 8, 0)
    flood = flood[:16] + struct.pack(">II", 100000, 100000) + flood[24:29]
    flood = flood[:8] + chunk(b"IHDR", flood[16:29]) + flood[33:]
    with open(os.path.join(SEEDS, "flood-100000x100000.png"), "wb") as f:
        f.write(flood)
    with open(os.path.join(OUT, "jpeg/baseline-gray.jpg"), "rb") as f:
        jpg = bytearray(f.read())
    sof = jpg.index(b"\xff\xc0")
    jpg[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
    with open(os.path.join(SEEDS, "flood-65000x65000.jpg"), "wb") as f:
        f.write(bytes(jpg))
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"{len(MANIFEST)} fixtures, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
