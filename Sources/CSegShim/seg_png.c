// libpng behind setjmp: see seg_shim.h for why.
#include "seg_shim.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

struct seg_png_decoder {
    png_structp png;
    png_infop info;
    jmp_buf jump;
    const uint8_t *data;
    size_t size;
    size_t offset;
    int max_dimension;
    int header_read;
    int prepared;
    int height;
    int next_row;     // rows handed out by seg_png_read_rows
    size_t row_bytes;
    char message[256];
    seg_error_kind kind;
    int limit_exceeded;   // libpng warned that a side exceeds the user limit
    int stream_damaged;   // libpng downgraded a zlib error in IDAT to a warning
};

static void seg_png_error(png_structp png, png_const_charp text) {
    struct seg_png_decoder *d = png_get_error_ptr(png);
    if (d->kind == SEG_ERR_NONE) {
        snprintf(d->message, sizeof d->message, "%s", text ? text : "PNG error");
        d->kind = SEG_ERR_CORRUPT;
        if (d->limit_exceeded)
            d->kind = SEG_ERR_LIMIT; // png_check_IHDR warns about each bad field, then errors "Invalid IHDR data"
        else if (text && (strstr(text, "Image width exceeds user limit") || strstr(text, "Image height exceeds user limit") ||
                     strstr(text, "chunk data is too large") || strstr(text, "Insufficient memory")))
            d->kind = SEG_ERR_LIMIT;
        else if (text && (strstr(text, "Not enough image data") || strstr(text, "Read Error")))
            d->kind = SEG_ERR_TRUNCATED;
    }
    longjmp(d->jump, 1);
}

static void seg_png_warning(png_structp png, png_const_charp text) {
    // Warnings (unknown chunks, bad ancillary CRCs handled as benign) are not fatal and never printed.
    (void)png;
    (void)text;
}

static void seg_png_read_warning(png_structp png, png_const_charp text) {
    // Only two warnings matter: the user-limit ones png_check_IHDR emits before failing with the
    // generic "Invalid IHDR data", and a zlib error found while finishing the IDAT stream (a bad
    // Adler-32 in the last IDAT chunk, after every row was read), which libpng treats as benign.
    // Trailing data after a complete image ("Too much image data", "Extra compressed data") is
    // harmless and stays a warning.
    struct seg_png_decoder *d = png_get_error_ptr(png);
    if (!text) return;
    if (strstr(text, "exceeds user limit")) d->limit_exceeded = 1;
    if (strncmp(text, "IDAT", 4) == 0 && !strstr(text, "Too much image data") && !strstr(text, "Extra compressed data") &&
        !d->stream_damaged) {
        d->stream_damaged = 1;
        snprintf(d->message, sizeof d->message, "%s", text);
    }
}

static void seg_png_read(png_structp png, png_bytep out, size_t length) {
    struct seg_png_decoder *d = png_get_io_ptr(png);
    if (length > d->size - d->offset) {
        snprintf(d->message, sizeof d->message, "premature end of PNG data");
        d->kind = SEG_ERR_TRUNCATED;
        longjmp(d->jump, 1);
    }
    memcpy(out, d->data + d->offset, length);
    d->offset += length;
}

seg_png_decoder *seg_png_create(int max_dimension) {
    seg_png_decoder *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->max_dimension = max_dimension;
    d->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d, seg_png_error, seg_png_read_warning);
    if (!d->png) {
        free(d);
        return NULL;
    }
    d->info = png_create_info_struct(d->png);
    if (!d->info) {
        png_destroy_read_struct(&d->png, NULL, NULL);
        free(d);
        return NULL;
    }
    return d;
}

void seg_png_destroy(seg_png_decoder *d) {
    if (!d) return;
    png_destroy_read_struct(&d->png, &d->info, NULL);
    free(d);
}

int seg_png_read_header(seg_png_decoder *d, const uint8_t *data, size_t size, seg_png_info *out) {
    if (setjmp(d->jump)) {
        // Over the user limit, libpng stops before png_get_IHDR: report the declared size from
        // the IHDR chunk itself (libpng has checked that it is the first chunk).
        if (d->kind == SEG_ERR_LIMIT && d->limit_exceeded && size >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
            out->width = (int)(((uint32_t)data[16] << 24 | (uint32_t)data[17] << 16 | (uint32_t)data[18] << 8 | data[19]) & 0x7FFFFFFF);
            out->height = (int)(((uint32_t)data[20] << 24 | (uint32_t)data[21] << 16 | (uint32_t)data[22] << 8 | data[23]) & 0x7FFFFFFF);
        }
        return -1;
    }
    d->data = data;
    d->size = size;
    d->offset = 0;
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        snprintf(d->message, sizeof d->message, "not a PNG signature");
        d->kind = SEG_ERR_CORRUPT;
        return -1;
    }
    png_set_read_fn(d->png, d, seg_png_read);
    if (d->max_dimension > 0) png_set_user_limits(d->png, (png_uint_32)d->max_dimension, (png_uint_32)d->max_dimension);
    png_set_chunk_malloc_max(d->png, 8000000);
    png_set_chunk_cache_max(d->png, 1000);
    png_read_info(d->png, d->info);
    png_uint_32 w = 0, h = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(d->png, d->info, &w, &h, &bit_depth, &color_type, &interlace, NULL, NULL);
    out->width = (int)w;
    out->height = (int)h;
    out->bit_depth = bit_depth;
    out->color_type = color_type;
    out->interlaced = interlace != PNG_INTERLACE_NONE;
    out->has_trns = png_get_valid(d->png, d->info, PNG_INFO_tRNS) ? 1 : 0;
    d->header_read = 1;
    return 0;
}

int seg_png_prepare(seg_png_decoder *d, int flags, int *channels, int *bit_depth, size_t *row_bytes) {
    if (!d->header_read) {
        snprintf(d->message, sizeof d->message, "header not read");
        d->kind = SEG_ERR_CORRUPT;
        return -1;
    }
    if (setjmp(d->jump)) return -1;
    int color_type = png_get_color_type(d->png, d->info);
    int depth = png_get_bit_depth(d->png, d->info);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(d->png);
    if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(d->png);
    if (png_get_valid(d->png, d->info, PNG_INFO_tRNS)) {
        if (flags & SEG_PNG_STRIP_ALPHA) {
            // tRNS only adds transparency: ignoring it keeps the colour values as stored.
        } else {
            png_set_tRNS_to_alpha(d->png);
        }
    }
    if (flags & SEG_PNG_STRIP_ALPHA) png_set_strip_alpha(d->png);
    if (depth == 16) {
        if (flags & SEG_PNG_STRIP_16) {
            png_set_strip_16(d->png);
        } else {
            // PNG stores big-endian samples; we hand out host-order UInt16.
            const int probe = 1;
            if (*(const char *)&probe == 1) png_set_swap(d->png);
        }
    }
    if ((flags & SEG_PNG_TO_GRAY) && (color_type & PNG_COLOR_MASK_COLOR)) {
        // ITU-R BT.601 luma on the stored values (no gamma linearisation), as OpenCV does.
        png_set_rgb_to_gray_fixed(d->png, 1, 29900, 58700);
    }
    png_set_interlace_handling(d->png);
    png_read_update_info(d->png, d->info);
    *channels = png_get_channels(d->png, d->info);
    *bit_depth = png_get_bit_depth(d->png, d->info);
    d->row_bytes = png_get_rowbytes(d->png, d->info);
    d->height = (int)png_get_image_height(d->png, d->info);
    *row_bytes = d->row_bytes;
    d->prepared = 1;
    return 0;
}

int seg_png_decode(seg_png_decoder *d, uint8_t *dst, size_t stride) {
    if (!d->prepared) {
        snprintf(d->message, sizeof d->message, "decoder not prepared");
        d->kind = SEG_ERR_CORRUPT;
        return -1;
    }
    if (stride < d->row_bytes) {
        snprintf(d->message, sizeof d->message, "row stride too small");
        d->kind = SEG_ERR_CORRUPT;
        return -1;
    }
    png_bytep *rows = malloc(sizeof(png_bytep) * (size_t)(d->height > 0 ? d->height : 1));
    if (!rows) {
        snprintf(d->message, sizeof d->message, "out of memory");
        d->kind = SEG_ERR_MEMORY;
        return -1;
    }
    png_bytep *volatile rows_v = rows;
    if (setjmp(d->jump)) {
        free(rows_v);
        return -1;
    }
    for (int y = 0; y < d->height; y++) rows[y] = dst + (size_t)y * stride;
    png_read_image(d->png, rows);
    png_read_end(d->png, NULL);
    free(rows);
    if (d->stream_damaged) {
        d->kind = SEG_ERR_CORRUPT;
        return -1;
    }
    return 0;
}

int seg_png_read_rows(seg_png_decoder *d, uint8_t *dst, size_t stride, int count) {
    if (!d->prepared || stride < d->row_bytes || count < 0 || count > d->height - d->next_row) {
        snprintf(d->message, sizeof d->message, "rows requested out of order or beyond the image");
        d->kind = SEG_ERR_CORRUPT;
        return -1;
    }
    if (png_get_interlace_type(d->png, d->info) != PNG_INTERLACE_NONE) {
        snprintf(d->message, sizeof d->message, "an interlaced PNG cannot be read row by row");
        d->kind = SEG_ERR_UNSUPPORTED;
        return -1;
    }
    if (setjmp(d->jump)) return -1;
    for (int i = 0; i < count; i++) png_read_row(d->png, dst + (size_t)i * stride, NULL);
    d->next_row += count;
    if (d->next_row == d->height) {
        png_read_end(d->png, NULL);
        if (d->stream_damaged) {
            d->kind = SEG_ERR_CORRUPT;
            return -1;
        }
    }
    return 0;
}

const char *seg_png_message(const seg_png_decoder *d) { return d->message; }
seg_error_kind seg_png_error_kind(const seg_png_decoder *d) { return d->kind; }

// ---------------------------------------------------------------------------------------------

struct seg_png_writer {
    uint8_t *buffer;
    size_t size;
    size_t capacity;
    int failed;
    jmp_buf jump;
    char *message;
    size_t message_size;
};

static void seg_png_write_error(png_structp png, png_const_charp text) {
    struct seg_png_writer *w = png_get_error_ptr(png);
    snprintf(w->message, w->message_size, "%s", text ? text : "PNG error");
    longjmp(w->jump, 1);
}

static void seg_png_write(png_structp png, png_bytep data, size_t length) {
    struct seg_png_writer *w = png_get_io_ptr(png);
    if (w->size + length > w->capacity) {
        size_t capacity = w->capacity ? w->capacity : 65536;
        while (capacity < w->size + length) capacity *= 2;
        uint8_t *grown = realloc(w->buffer, capacity);
        if (!grown) png_error(png, "out of memory");
        w->buffer = grown;
        w->capacity = capacity;
    }
    memcpy(w->buffer + w->size, data, length);
    w->size += length;
}

static void seg_png_flush(png_structp png) { (void)png; }

struct seg_png_stream {
    struct seg_png_writer writer;
    png_structp png;
    png_infop info;
    int height;
    int rows;
    char message[256];
};

seg_png_stream *seg_png_stream_create(int width, int height, int channels, int bit_depth, int compression) {
    if (channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16) || width <= 0 || height <= 0) return NULL;
    seg_png_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->writer.message = s->message;
    s->writer.message_size = sizeof s->message;
    s->height = height;
    s->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s->writer, seg_png_write_error, seg_png_warning);
    s->info = s->png ? png_create_info_struct(s->png) : NULL;
    if (!s->png || !s->info) {
        png_destroy_write_struct(&s->png, NULL);
        free(s);
        return NULL;
    }
    if (setjmp(s->writer.jump)) {
        png_destroy_write_struct(&s->png, &s->info);
        free(s->writer.buffer);
        free(s);
        return NULL;
    }
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_write_fn(s->png, &s->writer, seg_png_write, seg_png_flush);
    png_set_compression_level(s->png, compression);
    png_set_IHDR(s->png, s->info, (png_uint_32)width, (png_uint_32)height, bit_depth, types[channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(s->png, s->info);
    if (bit_depth == 16) {
        const int probe = 1;
        if (*(const char *)&probe == 1) png_set_swap(s->png);
    }
    return s;
}

int seg_png_stream_write_rows(seg_png_stream *s, const void *rows, size_t stride, int count) {
    if (s->writer.failed || count < 0 || count > s->height - s->rows) {
        if (!s->writer.failed) snprintf(s->message, sizeof s->message, "more rows than the image has");
        s->writer.failed = 1;
        return -1;
    }
    if (setjmp(s->writer.jump)) {
        s->writer.failed = 1;
        return -1;
    }
    for (int y = 0; y < count; y++) png_write_row(s->png, (png_const_bytep)((const uint8_t *)rows + (size_t)y * stride));
    s->rows += count;
    return 0;
}

int seg_png_stream_finish(seg_png_stream *s, uint8_t **out, size_t *out_size) {
    *out = NULL;
    *out_size = 0;
    if (s->writer.failed || s->rows != s->height) {
        if (!s->writer.failed) snprintf(s->message, sizeof s->message, "%d of %d rows written", s->rows, s->height);
        s->writer.failed = 1;
        return -1;
    }
    if (setjmp(s->writer.jump)) {
        s->writer.failed = 1;
        return -1;
    }
    png_write_end(s->png, s->info);
    *out = s->writer.buffer;
    *out_size = s->writer.size;
    s->writer.buffer = NULL;
    s->writer.size = 0;
    return 0;
}

const char *seg_png_stream_message(const seg_png_stream *s) { return s->message; }

void seg_png_stream_destroy(seg_png_stream *s) {
    if (!s) return;
    png_destroy_write_struct(&s->png, &s->info);
    free(s->writer.buffer);
    free(s);
}

int seg_png_encode(const void *pixels, int width, int height, int channels, int bit_depth, size_t stride,
                   int compression, uint8_t **out, size_t *out_size, char *message, size_t message_size) {
    *out = NULL;
    *out_size = 0;
    seg_png_stream *s = seg_png_stream_create(width, height, channels, bit_depth, compression);
    if (!s) {
        if (channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16) || width <= 0 || height <= 0)
            snprintf(message, message_size, "cannot encode %dx%d with %d channels of %d bits", width, height, channels,
                     bit_depth);
        else
            snprintf(message, message_size, "out of memory");
        return -1;
    }
    int rc = seg_png_stream_write_rows(s, pixels, stride, height);
    if (rc == 0) rc = seg_png_stream_finish(s, out, out_size);
    if (rc != 0) snprintf(message, message_size, "%s", s->message);
    seg_png_stream_destroy(s);
    return rc;
}
