// libjpeg behind setjmp: see seg_shim.h for why.
#include "seg_shim.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

struct seg_error_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 32];
    seg_error_kind kind;
    int saw_eof_warning;
    int first_warning_code;
};

struct seg_jpeg_decoder {
    struct jpeg_decompress_struct cinfo;
    struct seg_error_mgr err;
    struct jpeg_progress_mgr progress;
    int max_scans;
    int header_read;
    int started;
};

static seg_error_kind classify(int code) {
    switch (code) {
    case JERR_INPUT_EMPTY:
    case JERR_INPUT_EOF:
        return SEG_ERR_TRUNCATED;
    case JERR_BAD_PRECISION:
    case JERR_SOF_UNSUPPORTED:
    case JERR_NOT_COMPILED:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_BAD_J_COLORSPACE:
    case JERR_NOTIMPL:
        return SEG_ERR_UNSUPPORTED;
    case JERR_IMAGE_TOO_BIG:
        return SEG_ERR_LIMIT;
    case JERR_OUT_OF_MEMORY:
    case JERR_TOO_LITTLE_DATA: // not really memory, but never user-reachable with our use
        return SEG_ERR_MEMORY;
    default:
        return SEG_ERR_CORRUPT;
    }
}

static void seg_error_exit(j_common_ptr cinfo) {
    struct seg_error_mgr *err = (struct seg_error_mgr *)cinfo->err;
    if (err->kind == SEG_ERR_NONE) {
        (*cinfo->err->format_message)(cinfo, err->message);
        err->kind = classify(err->pub.msg_code);
        if (err->pub.msg_code == JERR_OUT_OF_MEMORY) {
            // libjpeg says "Insufficient memory" when max_memory_to_use is exceeded: say so.
            snprintf(err->message, sizeof err->message, "the image needs more decoder memory than allowed");
            err->kind = SEG_ERR_LIMIT;
        } else if (err->saw_eof_warning && err->kind == SEG_ERR_CORRUPT) {
            // The memory source ran out, inserted a fake EOI (warning JWRN_JPEG_EOF), and the
            // marker reader then failed on it ("missing SOS marker", "Bogus marker length", ...):
            // the file is cut short, not damaged.
            char text[JMSG_LENGTH_MAX];
            snprintf(text, sizeof text, "%s", err->message);
            snprintf(err->message, sizeof err->message, "premature end of JPEG data (%s)", text);
            err->kind = SEG_ERR_TRUNCATED;
        }
    }
    longjmp(err->jump, 1);
}

static void seg_emit_message(j_common_ptr cinfo, int level) {
    struct seg_error_mgr *err = (struct seg_error_mgr *)cinfo->err;
    if (level < 0) {
        // A warning: count it and keep the first one's text; never print to stderr.
        if (err->pub.num_warnings == 0) {
            (*cinfo->err->format_message)(cinfo, err->message);
            err->first_warning_code = err->pub.msg_code;
        }
        if (err->pub.msg_code == JWRN_JPEG_EOF) err->saw_eof_warning = 1;
        err->pub.num_warnings++;
    }
}

static void seg_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void seg_progress(j_common_ptr cinfo) {
    struct seg_jpeg_decoder *d = (struct seg_jpeg_decoder *)((char *)cinfo - offsetof(struct seg_jpeg_decoder, cinfo));
    if (cinfo->is_decompressor) {
        j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
        if (d->max_scans > 0 && dinfo->input_scan_number > d->max_scans) {
            struct seg_error_mgr *err = (struct seg_error_mgr *)cinfo->err;
            snprintf(err->message, sizeof err->message, "more than %d progressive scans", d->max_scans);
            err->kind = SEG_ERR_LIMIT;
            longjmp(err->jump, 1);
        }
    }
}

seg_jpeg_decoder *seg_jpeg_create(long max_memory, int max_scans) {
    seg_jpeg_decoder *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->cinfo.err = jpeg_std_error(&d->err.pub);
    d->err.pub.error_exit = seg_error_exit;
    d->err.pub.emit_message = seg_emit_message;
    d->err.pub.output_message = seg_output_message;
    d->max_scans = max_scans;
    if (setjmp(d->err.jump)) {
        jpeg_destroy_decompress(&d->cinfo);
        free(d);
        return NULL;
    }
    jpeg_create_decompress(&d->cinfo);
    if (max_memory > 0) d->cinfo.mem->max_memory_to_use = max_memory;
    d->progress.progress_monitor = seg_progress;
    d->cinfo.progress = &d->progress;
    return d;
}

void seg_jpeg_destroy(seg_jpeg_decoder *d) {
    if (!d) return;
    jpeg_destroy_decompress(&d->cinfo);
    free(d);
}

static int fail_from_warnings(seg_jpeg_decoder *d) {
    // A warning means libjpeg padded or skipped data; a partial image is never accepted.
    if (d->err.saw_eof_warning) {
        snprintf(d->err.message, sizeof d->err.message, "premature end of JPEG data");
        d->err.kind = SEG_ERR_TRUNCATED;
    } else {
        d->err.kind = SEG_ERR_CORRUPT;
    }
    return -1;
}

int seg_jpeg_read_header(seg_jpeg_decoder *d, const uint8_t *data, size_t size, seg_jpeg_info *info) {
    if (setjmp(d->err.jump)) {
        // Sides over JPEG_MAX_DIMENSION fail inside jpeg_read_header, after SOF was parsed:
        // report the declared size so that the caller can say "too large".
        if (d->err.pub.msg_code == JERR_IMAGE_TOO_BIG) {
            info->width = (int)d->cinfo.image_width;
            info->height = (int)d->cinfo.image_height;
        }
        return -1;
    }
    jpeg_mem_src(&d->cinfo, data, (unsigned long)size);
    int rc = jpeg_read_header(&d->cinfo, TRUE);
    if (rc != JPEG_HEADER_OK) {
        snprintf(d->err.message, sizeof d->err.message, "no image in the JPEG data");
        d->err.kind = d->err.saw_eof_warning ? SEG_ERR_TRUNCATED : SEG_ERR_CORRUPT;
        return -1;
    }
    if (d->err.saw_eof_warning) return fail_from_warnings(d);
    d->header_read = 1;
    info->width = (int)d->cinfo.image_width;
    info->height = (int)d->cinfo.image_height;
    info->components = d->cinfo.num_components;
    info->color_space = (int)d->cinfo.jpeg_color_space;
    info->progressive = d->cinfo.progressive_mode ? 1 : 0;
    info->adobe_transform = d->cinfo.saw_Adobe_marker ? d->cinfo.Adobe_transform : -1;
    info->precision = d->cinfo.data_precision;
    return 0;
}

int seg_jpeg_start(seg_jpeg_decoder *d, seg_jpeg_output output, int scale_denom, int *width, int *height) {
    if (!d->header_read || d->started) {
        snprintf(d->err.message, sizeof d->err.message, d->started ? "decoding already started" : "header not read");
        d->err.kind = SEG_ERR_CORRUPT;
        return -1;
    }
    if (scale_denom != 1 && scale_denom != 2 && scale_denom != 4 && scale_denom != 8) {
        snprintf(d->err.message, sizeof d->err.message, "scale 1/%d is not one of 1, 1/2, 1/4, 1/8", scale_denom);
        d->err.kind = SEG_ERR_CORRUPT;
        return -1;
    }
    if (setjmp(d->err.jump)) return -1;
    switch (output) {
    case SEG_JPEG_OUT_GRAY: d->cinfo.out_color_space = JCS_GRAYSCALE; break;
    case SEG_JPEG_OUT_RGB: d->cinfo.out_color_space = JCS_RGB; break;
    case SEG_JPEG_OUT_CMYK: d->cinfo.out_color_space = JCS_CMYK; break;
    }
    d->cinfo.dct_method = JDCT_ISLOW;
    d->cinfo.scale_num = 1;
    d->cinfo.scale_denom = (unsigned)scale_denom;
    jpeg_start_decompress(&d->cinfo);
    d->started = 1;
    *width = (int)d->cinfo.output_width;
    *height = (int)d->cinfo.output_height;
    return 0;
}

int seg_jpeg_read_rows(seg_jpeg_decoder *d, uint8_t *dst, size_t stride, int count) {
    if (!d->started || count < 0 || (unsigned)count > d->cinfo.output_height - d->cinfo.output_scanline) {
        snprintf(d->err.message, sizeof d->err.message, "rows requested before start or beyond the image");
        d->err.kind = SEG_ERR_CORRUPT;
        return -1;
    }
    if (setjmp(d->err.jump)) return -1;
    JSAMPROW rows[16];
    int done = 0;
    while (done < count) {
        int want = count - done;
        if (want > 16) want = 16;
        for (int i = 0; i < want; i++) rows[i] = dst + (size_t)(done + i) * stride;
        JDIMENSION got = jpeg_read_scanlines(&d->cinfo, rows, (JDIMENSION)want);
        if (got == 0) {
            snprintf(d->err.message, sizeof d->err.message, "premature end of JPEG data");
            d->err.kind = SEG_ERR_TRUNCATED;
            return -1;
        }
        done += (int)got;
    }
    if (d->cinfo.output_scanline == d->cinfo.output_height) {
        jpeg_finish_decompress(&d->cinfo);
        if (d->err.pub.num_warnings > 0) return fail_from_warnings(d);
    }
    return 0;
}

int seg_jpeg_decode(seg_jpeg_decoder *d, seg_jpeg_output output, uint8_t *dst, size_t stride) {
    int width = 0, height = 0;
    if (seg_jpeg_start(d, output, 1, &width, &height) != 0) return -1;
    return seg_jpeg_read_rows(d, dst, stride, height);
}

const char *seg_jpeg_message(const seg_jpeg_decoder *d) { return d->err.message; }
seg_error_kind seg_jpeg_error_kind(const seg_jpeg_decoder *d) { return d->err.kind; }

// ---------------------------------------------------------------------------------------------

struct seg_jpeg_encoder_err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
};

static void seg_encode_error_exit(j_common_ptr cinfo) {
    struct seg_jpeg_encoder_err *err = (struct seg_jpeg_encoder_err *)cinfo->err;
    longjmp(err->jump, 1);
}

int seg_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, size_t stride, int quality,
                    uint8_t **out, size_t *out_size, char *message, size_t message_size) {
    struct jpeg_compress_struct cinfo;
    struct seg_jpeg_encoder_err err;
    // libjpeg's memory destination reallocates through these; they live on the heap so their
    // values survive the longjmp and the buffer can be freed on failure.
    struct dest_box { unsigned char *mem; unsigned long size; } *volatile box = NULL;
    *out = NULL;
    *out_size = 0;
    if (channels != 1 && channels != 3) {
        snprintf(message, message_size, "JPEG encoding takes 1 or 3 channels, not %d", channels);
        return -1;
    }
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = seg_encode_error_exit;
    err.pub.output_message = seg_output_message;
    if (setjmp(err.jump)) {
        char text[JMSG_LENGTH_MAX];
        (*cinfo.err->format_message)((j_common_ptr)&cinfo, text);
        snprintf(message, message_size, "%s", text);
        jpeg_destroy_compress(&cinfo);
        if (box) { free(box->mem); free(box); }
        return -1;
    }
    jpeg_create_compress(&cinfo);
    box = calloc(1, sizeof *box);
    if (!box) {
        snprintf(message, message_size, "out of memory");
        jpeg_destroy_compress(&cinfo);
        return -1;
    }
    jpeg_mem_dest(&cinfo, &box->mem, &box->size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    cinfo.optimize_coding = TRUE;
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = box->mem;
    *out_size = box->size;
    free(box);
    return 0;
}

void seg_free(void *pointer) { free(pointer); }
