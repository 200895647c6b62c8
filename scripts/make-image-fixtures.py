#!/usr/bin/env python3
"""Writes the image-decoder fixture matrix (RELIABILITY.md I8) and its expected samples.

Usage: /opt/seghub-venv/bin/python scripts/make-image-fixtures.py [OUT_DIR]
       (default OUT_DIR: Tests/SegCoreTests/Fixtures/images; also refreshes Fuzz/seeds/)

Every file is small (37×29: odd sizes so that JPEG MCUs are partial and 1/2/4-bit PNG rows do not
end on a byte boundary). JPEGs come from Debian's cjpeg/jpegtran (libjpeg-turbo 2.1.5), CMYK from
Pillow, YCCK from a 30-line libjpeg program compiled here; PNGs from the small writer below, so
that every colour type, bit depth, filter type, Adam7, text/iCCP chunks and APNG are covered.
TIFFs come from tifffile (with imagecodecs: LZW, Deflate, PackBits, JPEG; strips, tiles, planes,
pages, OME-XML and ImageJ hyperstacks), BMPs from Pillow and the small writer below (RLE, bit
fields, top-down rows, the core header).

Expected samples come from an independent decoder (OpenCV's bundled libjpeg-turbo 3.x and
libpng 1.6.5x through cv2.imdecode), or for TIFF and BMP from the arrays the files were written
from (checked against cv2/tifffile reading them back), never from SegCore. Where a file holds more
than 8 bits per sample, the 8-bit view (`gray8`) applies DESIGN.md's rule, computed here in numpy:
the 0.1st–99.9th nearest-rank percentile mapped linearly to 0–255.
  <name>.gray8   cv2 IMREAD_GRAYSCALE | IMREAD_IGNORE_ORIENTATION, w*h bytes
  <name>.gray16  cv2 IMREAD_GRAYSCALE | IMREAD_ANYDEPTH (16-bit files only), w*h little-endian u16
  <name>.raster  cv2 IMREAD_UNCHANGED | IMREAD_IGNORE_ORIENTATION, BGR(A) reordered to RGB(A),
                 interleaved (u16 little-endian for 16-bit); omitted when equal to the gray file.
cv2 has no 2-channel output: it returns gray+alpha as BGRA with B = G = R, which is checked here and
reduced to (gray, alpha). manifest.json lists each file with its header facts and tolerances.
Deterministic: same tools, same bytes (no timestamps, fixed patterns, zlib level 9).
"""
import io
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import cv2
import numpy as np
import tifffile
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
    gray16 = None
    if bit_depth == 16:
        gray16 = cv_decode(data, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH | no_orient)
        assert gray16.dtype == np.uint16, name
        write(f"{fmt}/{name}.gray16", le_bytes(gray16))
        entry["gray16"] = f"{fmt}/{name}.gray16"
        entry["full"] = entry["gray16"]
        entry["fullType"] = "uint16"
        # The 8-bit view of deep samples is the percentile stretch (DESIGN.md section 2), not cv2's high byte.
        write(f"{fmt}/{name}.gray8", le_bytes(stretch8(gray16)))
    else:
        write(f"{fmt}/{name}.gray8", le_bytes(gray))
        entry["full"] = f"{fmt}/{name}.gray8"
        entry["fullType"] = "uint8"
    entry["gray8"] = f"{fmt}/{name}.gray8"
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
    ext = {"jpeg": "jpg", "png": "png", "tiff": "tif", "bmp": "bmp"}[fmt]
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


# ----------------------------------------------------------------------------------------------
# Deep samples: DESIGN.md's 8-bit view, and expectations written from the source arrays.

def stretch8(values):
    """The 0.1st–99.9th nearest-rank percentile of the finite samples mapped to 0–255 (NaN → 0)."""
    v = np.asarray(values, dtype=np.float64)
    flat = np.sort(v[np.isfinite(v)].ravel())
    n = len(flat)
    lo = flat[int(math.floor(0.001 * (n - 1) + 0.5))]
    hi = flat[int(math.floor(0.999 * (n - 1) + 0.5))]
    with np.errstate(invalid="ignore"):
        if hi > lo:
            out = np.floor((v - lo) * 255 / (hi - lo) + 0.5)
        else:
            out = np.where(v > lo, 255.0, 0.0)
    out = np.where(np.isnan(out), 0, np.clip(out, 0, 255))
    return out.astype(np.uint8)


def luma8(rgb):
    """BT.601 luma with libjpeg's fixed-point weights (the rule SegCore documents)."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return ((19595 * r + 38470 * g + 7471 * b + 32768) >> 16).astype(np.uint8)


def luma16(rgb):
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return ((19595 * r + 38470 * g + 7471 * b + 32768) >> 16).astype(np.uint16)


def quantized16(f):
    """A float image on 16 bits: its finite range spread over 0–65535 (Float arithmetic, as SegCore)."""
    f = np.asarray(f, dtype=np.float32)
    fin = f[np.isfinite(f)]
    lo, hi = (float(fin.min()), float(fin.max())) if fin.size else (0.0, 0.0)
    span = hi - lo
    factor = np.float32(65535 / span if span > 0 else 0)
    x = (f - np.float32(lo)) * factor
    out = np.clip(np.floor(x + np.float32(0.5)), 0, 65535)
    return np.where(np.isnan(f), 0, out).astype(np.uint16)


def expect(name, fmt, data, *, width, height, channels, bit_depth, full, raster, note, pages=1, selection=None,
           tolerance=0, gray8=None, gray16=None, info_channels=None):
    """A decodable TIFF or BMP fixture whose expectations are the arrays it was written from.

    full: what `decode` gives (uint8, uint16 or float32 gray); raster: `decodeRaster`'s interleaved samples (None when
    the raster path refuses the file); gray8/gray16 default to the documented conversions of `full`."""
    ext = "tif" if fmt == "tiff" else "bmp"
    rel = f"{fmt}/{name}.{ext}"
    write(rel, data)
    full = np.asarray(full)
    kind = {np.dtype(np.uint8): "uint8", np.dtype(np.uint16): "uint16", np.dtype(np.float32): "float32"}[full.dtype]
    if gray8 is None:
        gray8 = full if kind == "uint8" else stretch8(full)
    if gray16 is None:
        gray16 = full.astype(np.uint16) * 257 if kind == "uint8" else (full if kind == "uint16" else quantized16(full))
    entry = {"name": name, "file": rel, "format": fmt, "width": width, "height": height,
             "channels": info_channels or channels, "bitDepth": bit_depth, "interlaced": False, "tolerance": tolerance,
             "note": note, "pages": pages, "fullType": kind}
    if selection:
        entry["selection"] = selection
    write(f"{fmt}/{name}.gray8", gray8.astype(np.uint8).tobytes())
    entry["gray8"] = f"{fmt}/{name}.gray8"
    write(f"{fmt}/{name}.gray16", gray16.astype("<u2").tobytes())
    entry["gray16"] = f"{fmt}/{name}.gray16"
    if kind == "uint8":
        entry["full"] = entry["gray8"] if np.array_equal(full, gray8) else None
        if entry["full"] is None:
            write(f"{fmt}/{name}.full", full.tobytes())
            entry["full"] = f"{fmt}/{name}.full"
    elif kind == "uint16":
        entry["full"] = entry["gray16"] if np.array_equal(full, gray16) else None
        if entry["full"] is None:
            write(f"{fmt}/{name}.full", full.astype("<u2").tobytes())
            entry["full"] = f"{fmt}/{name}.full"
    else:
        write(f"{fmt}/{name}.full", full.astype("<f4").tobytes())
        entry["full"] = f"{fmt}/{name}.full"
    if raster is not None:
        raster = np.asarray(raster)
        if raster.ndim == 2:
            raster = raster[:, :, None]
        entry["rasterChannels"] = int(raster.shape[2])
        entry["rasterBitDepth"] = {1: 8, 2: 16, 4: 32}[raster.dtype.itemsize]
        dtype = {1: "u1", 2: "<u2", 4: "<u4"}[raster.dtype.itemsize]
        write(f"{fmt}/{name}.raster", raster.astype(dtype).tobytes())
        entry["raster"] = f"{fmt}/{name}.raster"
    MANIFEST.append(entry)


# ----------------------------------------------------------------------------------------------
# TIFF

def tiff_bytes(array, **kw):
    buf = io.BytesIO()
    tifffile.imwrite(buf, array, **kw)
    return buf.getvalue()


def tiff_pages(pages, **kw):
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf, **{k: v for k, v in kw.items() if k == "bigtiff"}) as tw:
        for i, page in enumerate(pages):
            tw.write(page, **{k: v for k, v in kw.items() if k != "bigtiff" and (k != "description" or i == 0)})
    return buf.getvalue()


def read_back(data, key=0):
    """What tifffile (with imagecodecs) reads: a check that the file holds what was written."""
    with tifffile.TiffFile(io.BytesIO(data)) as t:
        return t.pages[key].asarray()


def tiff_fixtures():
    rgb = pattern_rgb8()
    gray = pattern_gray8()
    alpha = pattern_alpha8()
    g16 = pattern_16(0)
    rgb16 = np.stack([pattern_16(0), pattern_16(1), pattern_16(2)], -1)
    x, y, disk = grid()

    def gray_case(name, array, note, **kw):
        data = tiff_bytes(array, **kw)
        assert np.array_equal(read_back(data), array), name
        bits = array.dtype.itemsize * 8
        expect(name, "tiff", data, width=W, height=H, channels=1, bit_depth=bits, full=array, raster=array, note=note)

    gray_case("tiff-gray8", gray, "8-bit gray, uncompressed, 8 rows per strip", rowsperstrip=8)
    gray_case("tiff-gray8-lzw", gray, "8-bit gray, LZW with horizontal predictor", compression="lzw", predictor=True)
    gray_case("tiff-gray8-deflate", gray, "8-bit gray, Adobe Deflate", compression="adobe_deflate")
    gray_case("tiff-gray8-packbits", gray, "8-bit gray, PackBits", compression="packbits")
    gray_case("tiff-gray16-be", g16, "16-bit gray, big-endian (MM), uncompressed", byteorder=">")
    gray_case("tiff-gray16-lzw", g16, "16-bit gray, LZW with horizontal predictor", compression="lzw", predictor=True)
    gray_case("tiff-gray16-tiles", g16, "16-bit gray in 16×16 Deflate tiles (partial tiles at the edges)",
              compression="adobe_deflate", tile=(16, 16))
    # Microscopy: 12 bits used in a 16-bit container, and a narrow range (DSB 2018: 0–235).
    narrow = (g16 % 236).astype(np.uint16)
    gray_case("tiff-gray16-narrow", narrow, "16-bit gray with samples 0–235 only (the high byte is always 0)")
    gray_case("tiff-gray8-tiles", gray, "8-bit gray in 16×16 tiles", tile=(16, 16))

    # Float, signed and 32-bit samples: read as float32.
    f32 = ((g16.astype(np.float32) - 30000) / 1000).astype(np.float32)
    f32[3, 4] = np.nan
    data = tiff_bytes(f32, compression="adobe_deflate", predictor=3)
    assert np.array_equal(read_back(data), f32, equal_nan=True)
    expect("tiff-float32", "tiff", data, width=W, height=H, channels=1, bit_depth=32, full=f32, raster=None,
           note="32-bit float gray with one NaN, Deflate with the floating-point predictor (a mask it is not)")
    f64 = (g16.astype(np.float64) / 7).astype(np.float64)
    data = tiff_bytes(f64)
    expect("tiff-float64", "tiff", data, width=W, height=H, channels=1, bit_depth=64, full=f64.astype(np.float32),
           raster=None, note="64-bit float gray, read as float32")
    i16 = (g16.astype(np.int32) - 32768).astype(np.int16)
    data = tiff_bytes(i16)
    expect("tiff-int16", "tiff", data, width=W, height=H, channels=1, bit_depth=16, full=i16.astype(np.float32),
           raster=None, note="signed 16-bit gray (negative values), read as float32")
    u32 = (g16.astype(np.uint32) * 70001).astype(np.uint32)
    data = tiff_bytes(u32)
    expect("tiff-uint32", "tiff", data, width=W, height=H, channels=1, bit_depth=32, full=u32.astype(np.float32),
           raster=u32, note="32-bit unsigned gray (label masks): float32 for segmenting, exact as a raster")

    # Colour.
    data = tiff_bytes(rgb, compression="lzw", photometric="rgb")
    expect("tiff-rgb8-lzw", "tiff", data, width=W, height=H, channels=3, bit_depth=8, full=luma8(rgb), raster=rgb,
           note="8-bit RGB, contiguous, LZW")
    data = tiff_bytes(np.ascontiguousarray(np.moveaxis(rgb16, -1, 0)), photometric="rgb", planarconfig="separate")
    assert np.array_equal(read_back(data), np.moveaxis(rgb16, -1, 0))
    expect("tiff-rgb16-planar", "tiff", data, width=W, height=H, channels=3, bit_depth=16, full=luma16(rgb16),
           raster=rgb16, note="16-bit RGB in separate planes: luma at 16 bits")
    data = tiff_bytes(rgb, compression="lzw", photometric="rgb", predictor=True)
    assert np.array_equal(read_back(data), rgb)
    expect("tiff-rgb8-lzw-predictor", "tiff", data, width=W, height=H, channels=3, bit_depth=8, full=luma8(rgb),
           raster=rgb, note="8-bit RGB, LZW with the horizontal predictor (differences per channel)")

    # LZW strips long enough for every code width (9-12 bits) and table resets, which the 37x29
    # files never reach: a ramp with 10 bits of noise, 16-bit, strips of 32 rows (the last one
    # 24), with and without the horizontal predictor. SegHub decodes these with its own LZW
    # decoder; tifffile (imagecodecs) wrote them.
    wide_rng = np.random.default_rng(12)
    wy, wx = np.mgrid[0:120, 0:160]
    wide = (wx * 300 + wy * 97 + wide_rng.integers(0, 1024, (120, 160))).astype(np.uint16)
    for name, predictor in (("tiff-gray16-lzw-wide", False), ("tiff-gray16-lzw-wide-predictor", True)):
        data = tiff_bytes(wide, compression="lzw", predictor=predictor, rowsperstrip=32)
        assert np.array_equal(read_back(data), wide), name
        expect(name, "tiff", data, width=160, height=120, channels=1, bit_depth=16, full=wide, raster=wide,
               note=f"16-bit gray 160x120, LZW {'with' if predictor else 'without'} predictor, 32-row strips "
                    "(12-bit codes and table resets)")

    rgba = np.concatenate([rgb, alpha[:, :, None]], -1)
    data = tiff_bytes(rgba, photometric="rgb", extrasamples=["unassalpha"])
    expect("tiff-rgba8", "tiff", data, width=W, height=H, channels=4, bit_depth=8, full=luma8(rgb), raster=rgba,
           note="8-bit RGBA (unassociated alpha), alpha ignored for gray")
    rng = np.random.default_rng(11)
    pal = rng.integers(0, 65536, size=(3, 256), dtype=np.uint16)
    idx = ((x // 3 + (y // 3) * 5) % 20).astype(np.uint8)
    idx[disk] = 19
    data = tiff_bytes(idx, photometric="palette", colormap=pal)
    pal8 = (pal >> 8).astype(np.uint8).T
    expect("tiff-palette8", "tiff", data, width=W, height=H, channels=1, bit_depth=8, info_channels=3,
           full=luma8(pal8[idx]), raster=pal8[idx], note="8-bit palette (16-bit colour map entries)")
    bits = ((x + y) % 3 == 0)
    bits[disk] = True
    data = tiff_bytes(bits.astype(bool), photometric="miniswhite")
    assert np.array_equal(read_back(data).astype(bool), bits)
    expect("tiff-bilevel-miniswhite", "tiff", data, width=W, height=H, channels=1, bit_depth=1,
           full=np.where(bits, 0, 255).astype(np.uint8), raster=np.where(bits, 255, 0).astype(np.uint8),
           note="1-bit min-is-white: the gray view is inverted to min-is-black, the raster keeps the stored bits")
    g4 = ((x + 2 * y) % 16).astype(np.uint8)
    data = tiff_bytes(g4, bitspersample=4)
    assert np.array_equal(read_back(data), g4)
    expect("tiff-gray4", "tiff", data, width=W, height=H, channels=1, bit_depth=4,
           full=(g4.astype(int) * 255 // 15).astype(np.uint8), raster=(g4.astype(int) * 255 // 15).astype(np.uint8),
           note="4-bit gray, scaled to 0–255")
    # JPEG-in-TIFF (YCbCr): libtiff's JPEG codec converts to RGB; lossy, so expectations are cv2's
    # reading (its own libtiff and libjpeg), within 2 levels.
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "rgb.tif"), os.path.join(tmp, "jpeg.tif")
        with open(src, "wb") as f:
            f.write(tiff_bytes(rgb, photometric="rgb"))
        run(["tiffcp", "-c", "jpeg:95", "-r", "16", src, dst])  # libtiff's own writer: YCbCr 2×2 subsampled
        with open(dst, "rb") as f:
            data = f.read()
    assert tifffile.TiffFile(io.BytesIO(data)).pages[0].photometric == 6  # YCbCr
    cv_rgb = to_rgb_order(cv_decode(data, cv2.IMREAD_UNCHANGED))
    assert psnr(cv_rgb, rgb) > 25, psnr(cv_rgb, rgb)
    expect("tiff-jpeg-ycbcr", "tiff", data, width=W, height=H, channels=3, bit_depth=8, full=luma8(cv_rgb),
           raster=cv_rgb, tolerance=2, note="JPEG-compressed YCbCr TIFF (libtiff converts to RGB); cv2's decode ±2")
    # CMYK goes through libtiff's RGBA interface: expectations from cv2 (which uses the same interface).
    cmyk = np.stack([(x * 6) % 256, (y * 8) % 256, (x + y) % 256, np.full_like(x, 30)], -1).astype(np.uint8)
    data = tiff_bytes(cmyk, photometric="separated")
    cv_cmyk = to_rgb_order(cv_decode(data, cv2.IMREAD_UNCHANGED))
    cv_rgba = np.concatenate([cv_cmyk[:, :, :3], np.full((H, W, 1), 255, np.uint8)], -1)
    expect("tiff-cmyk", "tiff", data, width=W, height=H, channels=4, bit_depth=8, full=luma8(cv_cmyk[:, :, :3]),
           raster=cv_rgba, tolerance=1, note="CMYK (separated) through libtiff's RGBA interface; cv2's reading ±1")
    data = tiff_bytes(g16, bigtiff=True, compression="adobe_deflate")
    expect("tiff-bigtiff", "tiff", data, width=W, height=H, channels=1, bit_depth=16, full=g16, raster=g16,
           note="BigTIFF (64-bit offsets), 16-bit gray, Deflate")

    # Pages: a 3-page file read at page 2; an OME-TIFF and an ImageJ hyperstack read by channel/z/t.
    pages = [((g16.astype(np.int64) + 9000 * k) % 65536).astype(np.uint16) for k in range(3)]
    data = tiff_pages(pages, compression="lzw")
    assert np.array_equal(read_back(data, 2), pages[2])
    expect("tiff-pages-p2", "tiff", data, width=W, height=H, channels=1, bit_depth=16, full=pages[2], raster=pages[2],
           pages=3, selection={"page": 2}, note="3 pages, page 2 selected")
    # OME: 2 channels × 3 z-slices, DimensionOrder XYCZT (channel fastest), stored with z reversed
    # through TiffData elements: plane (c, z) is page 2·(2 − z) + c.
    planes = {(c, z): ((g16.astype(np.int64) * (c + 1) + 5000 * z) % 65536).astype(np.uint16)
              for c in range(2) for z in range(3)}
    order = [(c, z) for z in (2, 1, 0) for c in range(2)]
    tiffdata = "".join(f'<TiffData IFD="{i}" FirstC="{c}" FirstZ="{z}" FirstT="0" PlaneCount="1"/>'
                       for i, (c, z) in enumerate(order))
    ome = ('<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
           'UUID="urn:uuid:00000000-0000-4000-8000-000000000001"><Image ID="Image:0"><Pixels ID="Pixels:0" '
           f'DimensionOrder="XYCZT" Type="uint16" SizeX="{W}" SizeY="{H}" SizeC="2" SizeZ="3" SizeT="1">'
           f'<Channel ID="Channel:0:0"/><Channel ID="Channel:0:1"/>{tiffdata}</Pixels></Image></OME>')
    data = tiff_pages([planes[o] for o in order], description=ome, metadata=None)
    assert ome in (tifffile.TiffFile(io.BytesIO(data)).pages[0].description or "")
    expect("tiff-ome-c1-z0", "tiff", data, width=W, height=H, channels=1, bit_depth=16, full=planes[(1, 0)],
           raster=planes[(1, 0)], pages=6, selection={"channel": 1, "z": 0},
           note="OME-TIFF, 2 channels × 3 z, TiffData maps planes to pages in reverse z: channel 1, z 0 is page 5")
    stack = np.stack([[[((g16.astype(np.int64) + 3000 * (4 * t + 2 * z + c)) % 65536).astype(np.uint16)
                        for c in range(2)] for z in range(2)] for t in range(2)])  # TZCYX
    data = tiff_bytes(stack, imagej=True, metadata={"axes": "TZCYX"})
    expect("tiff-imagej-t1-z0-c1", "tiff", data, width=W, height=H, channels=1, bit_depth=16, full=stack[1, 0, 1],
           raster=stack[1, 0, 1], pages=8, selection={"channel": 1, "z": 0, "t": 1},
           note="ImageJ hyperstack, 2 channels × 2 z × 2 t (CZT order): channel 1, z 0, t 1 is page 5")


def tiff_rejected():
    g16 = pattern_16(0)
    good = tiff_bytes(g16, rowsperstrip=4)
    add_rejected("tiff-truncated", "tiff", good[: len(good) // 2], "truncatedImage",
                 "16-bit TIFF cut in half (strips beyond the end)",
                 info={"width": W, "height": H, "channels": 1, "bitDepth": 16, "interlaced": False, "pages": 1})
    half = tiff_bytes((g16 / 100).astype(np.float16))
    add_rejected("tiff-float16", "tiff", half, "unsupportedImageFeature", "16-bit floating-point samples",
                 info={"width": W, "height": H, "channels": 1, "bitDepth": 16, "interlaced": False, "pages": 1})
    twelve = bytearray(tiff_bytes(g16))
    # BitsPerSample is tag 258 (0x0102), type SHORT, one value: patch it to 12 in place.
    at = twelve.find(b"\x02\x01\x03\x00\x01\x00\x00\x00\x10\x00")
    assert at > 0
    twelve[at + 8] = 12
    add_rejected("tiff-bits12", "tiff", bytes(twelve), "unsupportedImageFeature", "12-bit samples",
                 info={"width": W, "height": H, "channels": 1, "bitDepth": 12, "interlaced": False, "pages": 1})


# ----------------------------------------------------------------------------------------------
# BMP

def bmp_file(width, height, bit_count, pixel_rows, *, palette=None, compression=0, masks=None, header=40,
             top_down=False):
    """A BMP from already packed rows (bottom row first unless top_down), the core header when header is 12."""
    data = b"".join(pixel_rows)
    pal = b""
    if palette is not None:
        pal = b"".join(bytes([b, g, r]) + (b"" if header == 12 else b"\x00") for r, g, b in palette)
    extra = b"".join(struct.pack("<I", m) for m in masks) if masks and header == 40 else b""
    if header == 12:
        dib = struct.pack("<IHHHH", 12, width, height, 1, bit_count)
    else:
        dib = struct.pack("<IiiHHIIiiII", 40, width, -height if top_down else height, 1, bit_count, compression,
                          len(data), 2835, 2835, len(palette) if palette is not None else 0, 0)
    offset = 14 + len(dib) + len(extra) + len(pal)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + dib + extra + pal + data


def pad4(row):
    return row + b"\x00" * ((4 - len(row) % 4) % 4)


def bmp_fixtures():
    rgb = pattern_rgb8()
    gray = pattern_gray8()
    alpha = pattern_alpha8()
    x, y, disk = grid()

    def pil_bytes(img, **kw):
        buf = io.BytesIO()
        img.save(buf, format="BMP", **kw)
        return buf.getvalue()

    data = pil_bytes(Image.fromarray(rgb, "RGB"))
    assert np.array_equal(to_rgb_order(cv_decode(data, cv2.IMREAD_UNCHANGED)), rgb)
    expect("bmp-rgb24", "bmp", data, width=W, height=H, channels=3, bit_depth=8, full=luma8(rgb), raster=rgb,
           note="24-bit BGR, bottom-up (Pillow)")
    data = pil_bytes(Image.fromarray(gray, "L"))
    expect("bmp-gray8", "bmp", data, width=W, height=H, channels=1, bit_depth=8, full=gray, raster=gray,
           note="8-bit with a gray palette (Pillow): one channel")
    rng = np.random.default_rng(5)
    pal = rng.integers(0, 256, size=(20, 3), dtype=np.uint8)
    idx = ((x // 3 + (y // 3) * 5) % 20).astype(np.uint8)
    idx[disk] = 19
    img = Image.fromarray(idx, "P")
    img.putpalette(pal.ravel().tolist() + [0] * (768 - 60))
    data = pil_bytes(img)
    assert np.array_equal(to_rgb_order(cv_decode(data, cv2.IMREAD_COLOR)), pal[idx])
    expect("bmp-palette8", "bmp", data, width=W, height=H, channels=3, bit_depth=8, full=luma8(pal[idx]),
           raster=pal[idx], note="8-bit palette (Pillow)")
    bits = ((x + y) % 3 == 0)
    bits[disk] = True
    data = pil_bytes(Image.fromarray(bits.astype(np.uint8) * 255, "L").convert("1"))
    assert np.array_equal(cv_decode(data, cv2.IMREAD_GRAYSCALE) > 127, bits)
    b1 = np.where(bits, 255, 0).astype(np.uint8)
    expect("bmp-bilevel", "bmp", data, width=W, height=H, channels=1, bit_depth=1, full=b1, raster=b1,
           note="1-bit, black and white palette (Pillow)")
    # 4-bit palette, RLE8, RLE4, 16-bit 5-6-5, 32-bit BGRA bit fields, top-down, core header: written here.
    pal16 = [tuple(int(v) for v in p) for p in pal[:16]]
    idx4 = idx % 16
    rows4 = [pad4(bytes((int(idx4[r, c]) << 4) | (int(idx4[r, c + 1]) if c + 1 < W else 0) for c in range(0, W, 2)))
             for r in range(H - 1, -1, -1)]
    data = bmp_file(W, H, 4, rows4, palette=pal16)
    pal16a = np.array(pal16, np.uint8)
    assert np.array_equal(to_rgb_order(cv_decode(data, cv2.IMREAD_COLOR)), pal16a[idx4])
    expect("bmp-palette4", "bmp", data, width=W, height=H, channels=3, bit_depth=4, full=luma8(pal16a[idx4]),
           raster=pal16a[idx4], note="4-bit palette, 16 colours")

    def rle8_row(row):
        out = b""
        c = 0
        while c < len(row):
            run = 1
            while c + run < len(row) and row[c + run] == row[c] and run < 255:
                run += 1
            if run >= 3 or len(row) - c < 3:
                out += bytes([run, row[c]])
                c += run
            else:  # an absolute run of 3 bytes, padded to a 16-bit boundary
                n = min(3, len(row) - c)
                out += bytes([0, n]) + bytes(row[c:c + n]) + (b"\x00" if n % 2 else b"")
                c += n
        return out + b"\x00\x00"
    rle = [rle8_row([int(v) for v in idx[r]]) for r in range(H - 1, -1, -1)]
    rle[-1] = rle[-1][:-2] + b"\x00\x01"  # the last row ends the bitmap
    data = bmp_file(W, H, 8, rle, palette=[tuple(int(v) for v in p) for p in pal], compression=1)
    assert np.array_equal(to_rgb_order(cv_decode(data, cv2.IMREAD_COLOR)), pal[idx])
    expect("bmp-rle8", "bmp", data, width=W, height=H, channels=3, bit_depth=8, full=luma8(pal[idx]),
           raster=pal[idx], note="8-bit run-length encoded (runs and absolute runs)")

    def rle4_row(row):
        out = b""
        c = 0
        while c < len(row):
            run = 1
            while c + run < len(row) and row[c + run] == row[c] and run < 255:
                run += 1
            out += bytes([run, (row[c] << 4) | row[c]])
            c += run
        return out + b"\x00\x00"
    rle = [rle4_row([int(v) for v in idx4[r]]) for r in range(H - 1, -1, -1)]
    rle[-1] = rle[-1][:-2] + b"\x00\x01"
    data = bmp_file(W, H, 4, rle, palette=pal16, compression=2)
    assert np.array_equal(to_rgb_order(cv_decode(data, cv2.IMREAD_COLOR)), pal16a[idx4])
    expect("bmp-rle4", "bmp", data, width=W, height=H, channels=3, bit_depth=4, full=luma8(pal16a[idx4]),
           raster=pal16a[idx4], note="4-bit run-length encoded")

    r5, g6, b5 = (rgb[..., 0] >> 3).astype(np.uint16), (rgb[..., 1] >> 2).astype(np.uint16), (rgb[..., 2] >> 3).astype(np.uint16)
    v565 = (r5 << 11) | (g6 << 5) | b5
    rows = [pad4(b"".join(struct.pack("<H", int(v)) for v in v565[r])) for r in range(H - 1, -1, -1)]
    data = bmp_file(W, H, 16, rows, compression=3, masks=[0xF800, 0x07E0, 0x001F])
    rgb565 = np.stack([r5.astype(int) * 255 // 31, g6.astype(int) * 255 // 63, b5.astype(int) * 255 // 31], -1).astype(np.uint8)
    expect("bmp-rgb565", "bmp", data, width=W, height=H, channels=3, bit_depth=8, full=luma8(rgb565), raster=rgb565,
           note="16-bit 5-6-5 bit fields, each field scaled to 0–255")
    bgra = np.concatenate([rgb[..., ::-1], alpha[:, :, None]], -1)
    rows = [bytes(bgra[r].ravel()) for r in range(H)]
    data = bmp_file(W, H, 32, rows, compression=3, masks=[0x00FF0000, 0x0000FF00, 0x000000FF], top_down=True)
    expect("bmp-bgrx32-topdown", "bmp", data, width=W, height=H, channels=3, bit_depth=8, full=luma8(rgb), raster=rgb,
           note="32-bit with RGB bit fields (alpha byte unused), top-down rows (negative height)")
    rows = [pad4(bytes(rgb[r, :, ::-1].ravel())) for r in range(H - 1, -1, -1)]
    data = bmp_file(W, H, 24, rows, header=12)
    # OpenCV 5 reads the core header as gray; Pillow reads it right.
    assert np.array_equal(np.array(Image.open(io.BytesIO(data))), rgb)
    expect("bmp-core24", "bmp", data, width=W, height=H, channels=3, bit_depth=8, full=luma8(rgb), raster=rgb,
           note="24-bit with the 12-byte core (OS/2 1.x) header")
    good = pil_bytes(Image.fromarray(rgb, "RGB"))
    add_rejected("bmp-truncated", "bmp", good[: len(good) // 2], "truncatedImage", "24-bit BMP cut in half",
                 info={"width": W, "height": H, "channels": 3, "bitDepth": 8, "interlaced": False, "pages": 1})


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    with tempfile.TemporaryDirectory() as tmp:
        jpeg_fixtures(tmp)
    png_fixtures()
    tiff_fixtures()
    tiff_rejected()
    bmp_fixtures()
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
