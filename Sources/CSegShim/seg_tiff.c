// libtiff from memory, with per-handle error handlers and capped allocations: see seg_shim.h.
#include "seg_lzw.h"
#include "seg_shim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

struct seg_tiff_decoder {
    TIFF *tif;
    TIFFOpenOptions *options;
    const uint8_t *data;
    uint64_t size;
    uint64_t offset;
    size_t max_alloc;
    seg_tiff_info info;
    int selected;
    int own_lzw; // our LZW decoder for the strips it handles (1 unless a test compares it with libtiff's)
    uint64_t own_lzw_strips; // strips our LZW decoder has read
    char message[256];
    seg_error_kind kind;
};

static seg_error_kind seg_tiff_classify(const char *text) {
    static const char *truncated[] = {"Read error", "Not enough data", "Seek error", "Unexpected EOF", "end of file",
                                      "Cannot read", "Premature", "premature", "truncated"};
    static const char *limits[] = {"Memory allocation", "Out of memory", "exceeds limit", "Maximum allowed", "too large",
                                   "Too large", "larger than", "exceeds the maximum"};
    for (size_t i = 0; i < sizeof truncated / sizeof *truncated; i++)
        if (strstr(text, truncated[i])) return SEG_ERR_TRUNCATED;
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++)
        if (strstr(text, limits[i])) return SEG_ERR_LIMIT;
    return SEG_ERR_CORRUPT;
}

static void seg_tiff_fail(seg_tiff_decoder *d, seg_error_kind kind, const char *text) {
    if (d->kind != SEG_ERR_NONE) return;
    snprintf(d->message, sizeof d->message, "%s", text);
    d->kind = kind;
}

// libtiff's error handler: keep the first message (module and text), print nothing.
static int seg_tiff_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap) {
    (void)tif;
    seg_tiff_decoder *d = user;
    if (!d || d->kind != SEG_ERR_NONE) return 1;
    char text[200];
    vsnprintf(text, sizeof text, fmt, ap);
    if (module && *module)
        snprintf(d->message, sizeof d->message, "%s: %s", module, text);
    else
        snprintf(d->message, sizeof d->message, "%s", text);
    d->kind = seg_tiff_classify(text);
    return 1;
}

// Warnings (unknown tags, odd but readable fields) are not fatal and never printed.
static int seg_tiff_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap) {
    (void)tif;
    (void)user;
    (void)module;
    (void)fmt;
    (void)ap;
    return 1;
}

static tmsize_t seg_tiff_proc_read(thandle_t handle, void *buffer, tmsize_t size) {
    seg_tiff_decoder *d = handle;
    if (size <= 0 || d->offset >= d->size) return 0;
    uint64_t available = d->size - d->offset;
    uint64_t n = (uint64_t)size < available ? (uint64_t)size : available;
    memcpy(buffer, d->data + d->offset, (size_t)n);
    d->offset += n;
    return (tmsize_t)n;
}

static tmsize_t seg_tiff_proc_write(thandle_t handle, void *buffer, tmsize_t size) {
    (void)handle;
    (void)buffer;
    (void)size;
    return 0;
}

static toff_t seg_tiff_proc_seek(thandle_t handle, toff_t offset, int whence) {
    seg_tiff_decoder *d = handle;
    uint64_t base = whence == SEEK_CUR ? d->offset : whence == SEEK_END ? d->size : 0;
    if (offset > UINT64_MAX - base) return (toff_t)-1;
    d->offset = base + offset; // past the end is allowed; reads there return 0 bytes
    return d->offset;
}

static int seg_tiff_proc_close(thandle_t handle) {
    (void)handle;
    return 0;
}

static toff_t seg_tiff_proc_size(thandle_t handle) {
    seg_tiff_decoder *d = handle;
    return d->size;
}

// The bytes are already in memory: hand libtiff the buffer itself (it only reads through it).
static int seg_tiff_proc_map(thandle_t handle, void **base, toff_t *size) {
    seg_tiff_decoder *d = handle;
    *base = (void *)d->data;
    *size = d->size;
    return 1;
}

static void seg_tiff_proc_unmap(thandle_t handle, void *base, toff_t size) {
    (void)handle;
    (void)base;
    (void)size;
}

seg_tiff_decoder *seg_tiff_create(size_t max_alloc) {
    seg_tiff_decoder *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->options = TIFFOpenOptionsAlloc();
    if (!d->options) {
        free(d);
        return NULL;
    }
    d->max_alloc = max_alloc;
    d->own_lzw = 1;
    TIFFOpenOptionsSetMaxSingleMemAlloc(d->options, (tmsize_t)max_alloc);
    TIFFOpenOptionsSetErrorHandlerExtR(d->options, seg_tiff_error, d);
    TIFFOpenOptionsSetWarningHandlerExtR(d->options, seg_tiff_warning, d);
    return d;
}

void seg_tiff_destroy(seg_tiff_decoder *d) {
    if (!d) return;
    if (d->tif) TIFFClose(d->tif);
    if (d->options) TIFFOpenOptionsFree(d->options);
    free(d);
}

void seg_tiff_use_own_lzw(seg_tiff_decoder *d, int enabled) { d->own_lzw = enabled ? 1 : 0; }

uint64_t seg_tiff_own_lzw_strips(const seg_tiff_decoder *d) { return d->own_lzw_strips; }

int seg_tiff_open(seg_tiff_decoder *d, const uint8_t *data, size_t size) {
    d->data = data;
    d->size = size;
    d->offset = 0;
    d->tif = TIFFClientOpenExt("image", "rm", (thandle_t)d, seg_tiff_proc_read, seg_tiff_proc_write, seg_tiff_proc_seek,
                               seg_tiff_proc_close, seg_tiff_proc_size, seg_tiff_proc_map, seg_tiff_proc_unmap, d->options);
    if (!d->tif) {
        seg_tiff_fail(d, SEG_ERR_CORRUPT, "not a readable TIFF");
        return -1;
    }
    return 0;
}

int seg_tiff_count_pages(seg_tiff_decoder *d, uint32_t limit, uint32_t *count) {
    if (!d->tif) return -1;
    // Walks the IFD chain without reading the directories' contents; a loop ends the count.
    tdir_t n = TIFFNumberOfDirectories(d->tif);
    if (n == 0) {
        seg_tiff_fail(d, SEG_ERR_CORRUPT, "the TIFF has no image directory");
        return -1;
    }
    *count = n > limit ? limit : n;
    return 0;
}

static int seg_tiff_describe(seg_tiff_decoder *d, seg_tiff_info *out) {
    TIFF *tif = d->tif;
    uint32_t w = 0, h = 0;
    uint16_t bps = 1, fmt = SAMPLEFORMAT_UINT, spp = 1, photometric = 0xFFFF, planar = PLANARCONFIG_CONTIG;
    uint16_t compression = COMPRESSION_NONE;
    uint16_t extra_count = 0;
    uint16_t *extra = NULL;
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h)) {
        seg_tiff_fail(d, SEG_ERR_CORRUPT, "the TIFF page has no image size");
        return -1;
    }
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &fmt);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &extra_count, &extra);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric)) {
        // A missing photometric interpretation is common in scientific files: gray, or RGB for 3+ samples.
        photometric = spp - extra_count >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
    }
    memset(out, 0, sizeof *out);
    out->width = w;
    out->height = h;
    out->bits_per_sample = bps;
    out->sample_format = fmt;
    out->samples_per_pixel = spp;
    out->extra_samples = extra_count;
    out->photometric = photometric;
    out->planar = planar;
    out->compression = compression;
    out->tiled = TIFFIsTiled(tif) ? 1 : 0;
    out->codec_available = TIFFIsCODECConfigured(compression) ? 1 : 0;
    if (out->tiled) {
        TIFFGetField(tif, TIFFTAG_TILEWIDTH, &out->tile_width);
        TIFFGetField(tif, TIFFTAG_TILELENGTH, &out->tile_height);
    } else {
        uint32_t rps = h;
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
        out->rows_per_strip = rps == 0 || rps > h ? h : rps;
    }
    if (compression == COMPRESSION_JPEG && photometric == PHOTOMETRIC_YCBCR) {
        // libjpeg inside libtiff converts YCbCr to RGB for us.
        TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
        out->photometric = PHOTOMETRIC_RGB;
    }
    d->info = *out;
    d->selected = 1;
    return 0;
}

int seg_tiff_select(seg_tiff_decoder *d, uint32_t page, seg_tiff_info *info) {
    if (!d->tif) return -1;
    d->selected = 0;
    if (TIFFCurrentDirectory(d->tif) != page) {
        if (!TIFFSetDirectory(d->tif, (tdir_t)page)) {
            seg_tiff_fail(d, SEG_ERR_CORRUPT, "the TIFF page cannot be read");
            return -1;
        }
    }
    if (d->kind != SEG_ERR_NONE) return -1;
    return seg_tiff_describe(d, info);
}

const char *seg_tiff_description(seg_tiff_decoder *d) {
    if (!d->tif || !d->selected) return NULL;
    const char *text = NULL;
    if (!TIFFGetField(d->tif, TIFFTAG_IMAGEDESCRIPTION, &text)) return NULL;
    return text;
}

int seg_tiff_colormap(seg_tiff_decoder *d, const uint16_t **red, const uint16_t **green, const uint16_t **blue) {
    if (!d->tif || !d->selected) return -1;
    uint16_t *r = NULL, *g = NULL, *b = NULL;
    if (!TIFFGetField(d->tif, TIFFTAG_COLORMAP, &r, &g, &b) || !r || !g || !b) {
        seg_tiff_fail(d, SEG_ERR_CORRUPT, "the palette TIFF has no colour map");
        return -1;
    }
    *red = r;
    *green = g;
    *blue = b;
    return 0;
}

// Copies `count` samples of a decoded row into `dst` at sample stride `step` (1 for contiguous
// rows, samples_per_pixel when merging one plane of a separate-plane image). Sub-byte samples
// become one byte each.
static void seg_tiff_copy_samples(const uint8_t *src, uint8_t *dst, size_t count, int bits, size_t step) {
    if (bits >= 8) {
        size_t bytes = (size_t)bits / 8;
        if (step == 1) {
            memcpy(dst, src, count * bytes);
        } else {
            for (size_t i = 0; i < count; i++) memcpy(dst + i * step * bytes, src + i * bytes, bytes);
        }
        return;
    }
    const unsigned mask = (1u << bits) - 1;
    for (size_t i = 0; i < count; i++) {
        size_t bit = i * (size_t)bits;
        unsigned shift = 8 - (unsigned)bits - (unsigned)(bit % 8);
        dst[i * step] = (uint8_t)((src[bit / 8] >> shift) & mask);
    }
}

// Whether the current page's strips can go through our LZW decoder (seg_lzw.c), and with which
// predictor: 0 when they cannot, PREDICTOR_NONE or PREDICTOR_HORIZONTAL when they can. Our decoder
// takes MSB-first LZW with no predictor, or horizontal differencing on 8-bit samples or on 16-
// and 32-bit ones in host byte order; libtiff reads everything else (bit-reversed fill order,
// the floating-point predictor, byte-swapped wide samples).
static int seg_tiff_own_lzw_predictor(seg_tiff_decoder *d) {
    TIFF *tif = d->tif;
    if (!d->own_lzw || d->info.compression != COMPRESSION_LZW || !TIFFIsCODECConfigured(COMPRESSION_LZW)) return 0;
    const int bits = d->info.bits_per_sample;
    if (bits != 8 && bits != 16 && bits != 32) return 0;
    if (bits > 8 && TIFFIsByteSwapped(tif)) return 0;
    uint16_t fill = FILLORDER_MSB2LSB, predictor = PREDICTOR_NONE;
    TIFFGetFieldDefaulted(tif, TIFFTAG_FILLORDER, &fill);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PREDICTOR, &predictor);
    if (fill != FILLORDER_MSB2LSB) return 0;
    if (predictor != PREDICTOR_NONE && predictor != PREDICTOR_HORIZONTAL) return 0;
    return predictor;
}

// Decodes strip `strip` with our LZW decoder straight from the file's bytes into `out` (`want`
// bytes). Returns 0 when it did, 1 when the file ends inside the strip (an error is recorded:
// libtiff refuses such a strip too, but names a row it has not set), or -1 whenever
// libtiff should read the strip instead (our decoder met anything it does not handle, see
// seg_lzw.h, or the strip's table entries are odd).
static int seg_tiff_own_lzw_strip(seg_tiff_decoder *d, uint32_t strip, uint8_t *out, size_t want) {
    int error = 0;
    uint64_t offset = TIFFGetStrileOffsetWithErr(d->tif, strip, &error);
    if (error) return -1;
    uint64_t bytes = TIFFGetStrileByteCountWithErr(d->tif, strip, &error);
    // A count larger than the whole file is a damaged table, not a cut file: libtiff's to judge.
    if (error || bytes == 0 || bytes > d->size) return -1;
    if (offset >= d->size || bytes > d->size - offset) {
        char text[160];
        snprintf(text, sizeof text, "TIFF strip %u ends beyond the file: %llu of its %llu bytes are present", strip,
                 (unsigned long long)(offset >= d->size ? 0 : d->size - offset), (unsigned long long)bytes);
        seg_tiff_fail(d, SEG_ERR_TRUNCATED, text);
        return 1;
    }
    return seg_lzw_decode_strip(d->data + offset, (size_t)bytes, out, want);
}

uint32_t seg_tiff_band_height(const seg_tiff_decoder *d) {
    if (!d->selected) return 0;
    uint32_t band = d->info.tiled ? d->info.tile_height : d->info.rows_per_strip;
    return band == 0 || band > d->info.height ? d->info.height : band;
}

int seg_tiff_read(seg_tiff_decoder *d, uint8_t *dst, size_t row_bytes) {
    if (!d->tif || !d->selected) return -1;
    return seg_tiff_read_rows(d, dst, row_bytes, 0, d->info.height);
}

int seg_tiff_read_rows(seg_tiff_decoder *d, uint8_t *dst, size_t row_bytes, uint32_t y_begin, uint32_t y_end) {
    if (!d->tif || !d->selected) return -1;
    const seg_tiff_info *in = &d->info;
    const uint32_t band = seg_tiff_band_height(d);
    if (band == 0 || y_begin % band != 0 || y_begin >= y_end || y_end > in->height ||
        (y_end != in->height && y_end % band != 0)) {
        seg_tiff_fail(d, SEG_ERR_CORRUPT, "TIFF rows requested off the strip or tile grid");
        return -1;
    }
    TIFF *tif = d->tif;
    const int bits = in->bits_per_sample;
    const size_t out_sample = bits >= 8 ? (size_t)bits / 8 : 1;
    const int planes = in->planar == PLANARCONFIG_SEPARATE ? in->samples_per_pixel : 1;
    const size_t per_pixel = (size_t)(in->planar == PLANARCONFIG_SEPARATE ? 1 : in->samples_per_pixel);
    const size_t spp = (size_t)in->samples_per_pixel;
    if (row_bytes < (size_t)in->width * spp * out_sample) {
        seg_tiff_fail(d, SEG_ERR_CORRUPT, "row buffer too small");
        return -1;
    }
    if (in->tiled) {
        const uint32_t tw = in->tile_width, th = in->tile_height;
        if (tw == 0 || th == 0) {
            seg_tiff_fail(d, SEG_ERR_CORRUPT, "the TIFF declares tiles of zero size");
            return -1;
        }
        // A tile's bytes, as libtiff computes them (checked against overflow and the allocation cap).
        tmsize_t tile_size = TIFFTileSize(tif);
        const size_t tile_row = ((size_t)tw * per_pixel * (size_t)bits + 7) / 8;
        // The spec makes tiles multiples of 16 that may overhang the image by less than a tile:
        // anything larger would only make us allocate (and libtiff inflate) what no pixel needs.
        if (tw > in->width + 16 || th > in->height + 16 || tile_size <= 0 || (size_t)tile_size < tile_row * th || (size_t)tile_size > d->max_alloc) {
            seg_tiff_fail(d, SEG_ERR_LIMIT, "the TIFF's tiles are larger than allowed");
            return -1;
        }
        uint8_t *tile = malloc((size_t)tile_size);
        if (!tile) {
            seg_tiff_fail(d, SEG_ERR_MEMORY, "out of memory for a TIFF tile");
            return -1;
        }
        for (int plane = 0; plane < planes; plane++) {
            for (uint32_t y0 = y_begin; y0 < y_end; y0 += th) {
                for (uint32_t x0 = 0; x0 < in->width; x0 += tw) {
                    uint32_t index = TIFFComputeTile(tif, x0, y0, 0, (uint16_t)plane);
                    if (TIFFReadEncodedTile(tif, index, tile, tile_size) < 0 || d->kind != SEG_ERR_NONE) {
                        seg_tiff_fail(d, SEG_ERR_CORRUPT, "a TIFF tile cannot be decoded");
                        free(tile);
                        return -1;
                    }
                    uint32_t rows = in->height - y0 < th ? in->height - y0 : th;
                    uint32_t cols = in->width - x0 < tw ? in->width - x0 : tw;
                    for (uint32_t r = 0; r < rows; r++) {
                        uint8_t *out = dst + (size_t)(y0 - y_begin + r) * row_bytes + ((size_t)x0 * spp + (size_t)plane) * out_sample;
                        seg_tiff_copy_samples(tile + (size_t)r * tile_row, out, (size_t)cols * per_pixel, bits,
                                              planes > 1 ? spp : 1);
                    }
                }
            }
        }
        free(tile);
        return 0;
    }
    const uint32_t rps = in->rows_per_strip;
    const size_t strip_row = ((size_t)in->width * per_pixel * (size_t)bits + 7) / 8;
    // The buffer holds what we ask libtiff for (rows × our row size), whatever it computes for
    // the strip itself (subsampling or odd tags can make that smaller).
    const size_t strip_bytes = strip_row * (size_t)rps;
    if (rps == 0 || strip_row == 0 || strip_bytes / rps != strip_row || strip_bytes > d->max_alloc) {
        seg_tiff_fail(d, SEG_ERR_LIMIT, "the TIFF's strips are larger than allowed");
        return -1;
    }
    if (planes == 1 && bits % 8 == 0 && row_bytes == strip_row) {
        // Whole-byte samples, one plane, rows as the caller lays them out: each strip is decoded
        // straight into its rows (an uncompressed file is then copied once, as libtiff reads it).
        const int predictor = seg_tiff_own_lzw_predictor(d);
        for (uint32_t y0 = y_begin; y0 < y_end; y0 += rps) {
            uint32_t rows = in->height - y0 < rps ? in->height - y0 : rps;
            tmsize_t want = (tmsize_t)(strip_row * rows);
            uint32_t strip = TIFFComputeStrip(tif, y0, 0);
            uint8_t *out = dst + (size_t)(y0 - y_begin) * row_bytes;
            if (predictor) {
                int own = seg_tiff_own_lzw_strip(d, strip, out, (size_t)want);
                if (own > 0) return -1;
                if (own == 0) {
                    d->own_lzw_strips++;
                    if (predictor == PREDICTOR_HORIZONTAL)
                        seg_lzw_undo_horizontal_predictor(out, rows, strip_row, spp, bits);
                    continue;
                }
            }
            tmsize_t got = TIFFReadEncodedStrip(tif, strip, out, want);
            if (got < want || d->kind != SEG_ERR_NONE) {
                seg_tiff_fail(d, got < 0 ? SEG_ERR_CORRUPT : SEG_ERR_TRUNCATED, "a TIFF strip is incomplete");
                return -1;
            }
        }
        return 0;
    }
    uint8_t *strip = malloc(strip_bytes);
    if (!strip) {
        seg_tiff_fail(d, SEG_ERR_MEMORY, "out of memory for a TIFF strip");
        return -1;
    }
    for (int plane = 0; plane < planes; plane++) {
        for (uint32_t y0 = y_begin; y0 < y_end; y0 += rps) {
            uint32_t rows = in->height - y0 < rps ? in->height - y0 : rps;
            uint32_t index = TIFFComputeStrip(tif, y0, (uint16_t)plane);
            tmsize_t want = (tmsize_t)(strip_row * rows);
            tmsize_t got = TIFFReadEncodedStrip(tif, index, strip, want);
            if (got < want || d->kind != SEG_ERR_NONE) {
                seg_tiff_fail(d, got < 0 ? SEG_ERR_CORRUPT : SEG_ERR_TRUNCATED, "a TIFF strip is incomplete");
                free(strip);
                return -1;
            }
            for (uint32_t r = 0; r < rows; r++) {
                uint8_t *out = dst + (size_t)(y0 - y_begin + r) * row_bytes + (size_t)plane * out_sample;
                seg_tiff_copy_samples(strip + (size_t)r * strip_row, out, (size_t)in->width * per_pixel, bits,
                                      planes > 1 ? spp : 1);
            }
        }
    }
    free(strip);
    return 0;
}

int seg_tiff_read_rgba(seg_tiff_decoder *d, uint32_t *dst) {
    if (!d->tif || !d->selected) return -1;
    char message[1024] = {0};
    if (!TIFFRGBAImageOK(d->tif, message)) {
        seg_tiff_fail(d, SEG_ERR_UNSUPPORTED, message[0] ? message : "this TIFF colour layout is not supported");
        return -1;
    }
    if (!TIFFReadRGBAImageOriented(d->tif, d->info.width, d->info.height, dst, ORIENTATION_TOPLEFT, 1) ||
        d->kind != SEG_ERR_NONE) {
        seg_tiff_fail(d, SEG_ERR_CORRUPT, "the TIFF cannot be decoded");
        return -1;
    }
    return 0;
}

const char *seg_tiff_message(const seg_tiff_decoder *d) { return d->message[0] ? d->message : "TIFF error"; }

seg_error_kind seg_tiff_error_kind(const seg_tiff_decoder *d) { return d->kind; }
