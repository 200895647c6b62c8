// SegHub's C shim around libjpeg and libpng.
//
// libjpeg's error_exit and libpng's error handler must not return, and Swift cannot call
// setjmp: a longjmp across Swift frames is undefined behaviour. Every function here sets its
// own jump buffer, makes the library calls, and returns 0 (success) or -1 (failure) with the
// message and its kind stored in the handle. The longjmp only ever crosses C frames.
#ifndef SEGHUB_SEG_SHIM_H
#define SEGHUB_SEG_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Why a call failed.
typedef enum {
    SEG_ERR_NONE = 0,
    SEG_ERR_TRUNCATED = 1,
    SEG_ERR_CORRUPT = 2,
    SEG_ERR_UNSUPPORTED = 3,
    SEG_ERR_LIMIT = 4,
    SEG_ERR_MEMORY = 5,
} seg_error_kind;

// ---------------------------------------------------------------------------------------------
// JPEG decoding

typedef struct seg_jpeg_decoder seg_jpeg_decoder;

/// Header facts of a JPEG.
typedef struct {
    int width;
    int height;
    int components;     // components in the file (1, 3, 4)
    int color_space;    // J_COLOR_SPACE of the file
    int progressive;    // 1 for progressive (multi-scan) files
    int adobe_transform;// Adobe APP14 transform, -1 when there is no Adobe marker
    int precision;      // sample precision (8)
} seg_jpeg_info;

/// Output layouts the decoder can produce.
typedef enum {
    SEG_JPEG_OUT_GRAY = 1,  // one channel: luma straight from libjpeg (Y of YCbCr, or gray)
    SEG_JPEG_OUT_RGB = 3,   // three channels
    SEG_JPEG_OUT_CMYK = 4,  // four channels, as stored (Adobe files are usually inverted)
} seg_jpeg_output;

/// Creates a decoder; `max_memory` caps libjpeg's working memory (bytes), `max_scans` the number
/// of progressive scans. Returns NULL when out of memory.
seg_jpeg_decoder *seg_jpeg_create(long max_memory, int max_scans);
void seg_jpeg_destroy(seg_jpeg_decoder *decoder);

/// Reads the header of `data` (which must stay valid until seg_jpeg_finish or destroy).
int seg_jpeg_read_header(seg_jpeg_decoder *decoder, const uint8_t *data, size_t size, seg_jpeg_info *info);

/// Decodes the whole image into `dst` (rows of `stride` bytes) in the requested layout.
int seg_jpeg_decode(seg_jpeg_decoder *decoder, seg_jpeg_output output, uint8_t *dst, size_t stride);

/// Starts decoding at 1/`scale_denom` of the size (1, 2, 4 or 8: libjpeg scales in the DCT, so a
/// reduced image costs a fraction of the work and memory) and reports the output size.
int seg_jpeg_start(seg_jpeg_decoder *decoder, seg_jpeg_output output, int scale_denom, int *width, int *height);

/// Decodes the next `count` output rows into `dst` (rows of `stride` bytes), after seg_jpeg_start;
/// after the last row it finishes the file (a warning then fails it, as in seg_jpeg_decode).
int seg_jpeg_read_rows(seg_jpeg_decoder *decoder, uint8_t *dst, size_t stride, int count);

const char *seg_jpeg_message(const seg_jpeg_decoder *decoder);
seg_error_kind seg_jpeg_error_kind(const seg_jpeg_decoder *decoder);

// ---------------------------------------------------------------------------------------------
// JPEG encoding

/// Encodes 8-bit gray (channels 1) or RGB (channels 3) pixels as a baseline JPEG of `quality`.
/// On success `*out` is a malloc'd buffer of `*out_size` bytes that the caller frees with
/// seg_free. On failure `message` (of `message_size` bytes) holds the reason.
int seg_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, size_t stride, int quality,
                    uint8_t **out, size_t *out_size, char *message, size_t message_size);

// ---------------------------------------------------------------------------------------------
// PNG decoding

typedef struct seg_png_decoder seg_png_decoder;

/// Header facts of a PNG.
typedef struct {
    int width;
    int height;
    int bit_depth;    // 1, 2, 4, 8, 16
    int color_type;   // PNG_COLOR_TYPE_*
    int interlaced;   // 1 for Adam7
    int has_trns;     // a tRNS chunk is present
} seg_png_info;

enum {
    SEG_PNG_STRIP_16 = 1,      // 16-bit samples become 8-bit (v >> 8, as OpenCV does)
    SEG_PNG_TO_GRAY = 2,       // colour becomes gray with BT.601 weights
    SEG_PNG_STRIP_ALPHA = 4,   // drop alpha
};

/// Creates a decoder; `max_dimension` bounds width and height before anything is allocated.
seg_png_decoder *seg_png_create(int max_dimension);
void seg_png_destroy(seg_png_decoder *decoder);

/// Reads the signature and header chunks of `data` (which must stay valid until destroy).
int seg_png_read_header(seg_png_decoder *decoder, const uint8_t *data, size_t size, seg_png_info *info);

/// Sets up transformations (palette and low bit depths are always expanded to 8 bits, tRNS to
/// alpha unless STRIP_ALPHA) and reports the output layout.
int seg_png_prepare(seg_png_decoder *decoder, int flags, int *channels, int *bit_depth, size_t *row_bytes);

/// Decodes every row into `dst` (rows of `stride` bytes; 16-bit samples in host byte order) and
/// reads to IEND.
int seg_png_decode(seg_png_decoder *decoder, uint8_t *dst, size_t stride);

/// Decodes the next `count` rows into `dst` (rows of `stride` bytes), after prepare and instead of
/// seg_png_decode; after the last row it reads to IEND. Non-interlaced files only: an Adam7 file
/// fails with SEG_ERR_UNSUPPORTED before any row is read (its rows need the whole image).
int seg_png_read_rows(seg_png_decoder *decoder, uint8_t *dst, size_t stride, int count);

const char *seg_png_message(const seg_png_decoder *decoder);
seg_error_kind seg_png_error_kind(const seg_png_decoder *decoder);

// ---------------------------------------------------------------------------------------------
// PNG encoding

/// Encodes gray (1), gray+alpha (2), RGB (3) or RGBA (4) pixels of 8 or 16 bits (16-bit samples
/// in host byte order). `compression` is zlib's level 0–9. Output as for seg_jpeg_encode.
int seg_png_encode(const void *pixels, int width, int height, int channels, int bit_depth, size_t stride,
                   int compression, uint8_t **out, size_t *out_size, char *message, size_t message_size);

/// A PNG written a few rows at a time (only the compressed output grows in memory).
typedef struct seg_png_stream seg_png_stream;

/// Starts a PNG as seg_png_encode would; NULL for a bad layout or when out of memory.
seg_png_stream *seg_png_stream_create(int width, int height, int channels, int bit_depth, int compression);
/// Appends `count` rows of `stride` bytes.
int seg_png_stream_write_rows(seg_png_stream *stream, const void *rows, size_t stride, int count);
/// Ends the file once every row is written; `*out` then belongs to the caller (seg_free).
int seg_png_stream_finish(seg_png_stream *stream, uint8_t **out, size_t *out_size);
const char *seg_png_stream_message(const seg_png_stream *stream);
void seg_png_stream_destroy(seg_png_stream *stream);

// ---------------------------------------------------------------------------------------------
// TIFF decoding (libtiff)
//
// libtiff reports errors through handlers and return codes, not longjmp: the shim installs
// per-handle handlers (so nothing is printed and nothing global is touched), caps libtiff's
// own allocations, reads from memory, and stores the first error message in the handle.

typedef struct seg_tiff_decoder seg_tiff_decoder;

/// Facts of one TIFF directory (page).
typedef struct {
    uint32_t width;
    uint32_t height;
    int bits_per_sample;    // 1, 2, 4, 8, 16, 32 or 64 (others are reported and refused by the caller)
    int sample_format;      // 1 unsigned, 2 signed, 3 IEEE float
    int samples_per_pixel;
    int extra_samples;      // how many of the samples are extra (alpha and others), at the end
    int photometric;        // PHOTOMETRIC_*
    int planar;             // 1 contiguous, 2 separate planes
    int compression;        // COMPRESSION_*
    int tiled;              // 1 when the page is stored in tiles
    uint32_t tile_width;
    uint32_t tile_height;
    uint32_t rows_per_strip;
    int codec_available;    // libtiff can decode this compression
} seg_tiff_info;

/// Creates a decoder whose libtiff allocations may not exceed `max_alloc` bytes each. NULL when out of memory.
seg_tiff_decoder *seg_tiff_create(size_t max_alloc);
void seg_tiff_destroy(seg_tiff_decoder *decoder);

/// Whether LZW strips go through the shim's own decoder where it applies (1, the default) or all
/// through libtiff's (0: for tests that compare the two).
void seg_tiff_use_own_lzw(seg_tiff_decoder *decoder, int enabled);

/// How many strips the shim's own LZW decoder has read on this handle (the rest went to libtiff).
uint64_t seg_tiff_own_lzw_strips(const seg_tiff_decoder *decoder);

/// Opens `data` (which must stay valid until destroy) and reads the first directory.
int seg_tiff_open(seg_tiff_decoder *decoder, const uint8_t *data, size_t size);

/// Counts the directories (pages), up to `limit`; libtiff detects loops in the IFD chain.
int seg_tiff_count_pages(seg_tiff_decoder *decoder, uint32_t limit, uint32_t *count);

/// Makes page `page` (0-based) current and describes it.
int seg_tiff_select(seg_tiff_decoder *decoder, uint32_t page, seg_tiff_info *info);

/// The current page's ImageDescription (NUL-terminated, owned by libtiff, valid until the next
/// select), or NULL when it has none.
const char *seg_tiff_description(seg_tiff_decoder *decoder);

/// The current page's colour map (three arrays of 2^bits_per_sample 16-bit entries), or -1.
int seg_tiff_colormap(seg_tiff_decoder *decoder, const uint16_t **red, const uint16_t **green, const uint16_t **blue);

/// Reads the current page's samples into `dst`: rows of `row_bytes`, samples interleaved
/// (separate planes are merged), host byte order, as stored otherwise; samples of fewer than 8
/// bits become one byte each holding the raw value. `row_bytes` must be at least
/// width * samples_per_pixel * max(1, bits_per_sample / 8).
int seg_tiff_read(seg_tiff_decoder *decoder, uint8_t *dst, size_t row_bytes);

/// Rows per strip, or the tile height, of the current page (at most its height): the unit that
/// seg_tiff_read_rows reads.
uint32_t seg_tiff_band_height(const seg_tiff_decoder *decoder);

/// Reads rows `y_begin` ..< `y_end` of the current page into `dst` (its first row is `y_begin`),
/// as seg_tiff_read does the whole page. Both ends lie on the band grid (or `y_end` is the height).
int seg_tiff_read_rows(seg_tiff_decoder *decoder, uint8_t *dst, size_t row_bytes, uint32_t y_begin, uint32_t y_end);

/// Reads the current page through libtiff's RGBA interface (8-bit RGBA, top row first): for
/// photometric interpretations the caller does not convert itself (CMYK, YCbCr, CIELab).
int seg_tiff_read_rgba(seg_tiff_decoder *decoder, uint32_t *dst);

const char *seg_tiff_message(const seg_tiff_decoder *decoder);
seg_error_kind seg_tiff_error_kind(const seg_tiff_decoder *decoder);

// ---------------------------------------------------------------------------------------------
// Shared

/// Makes glibc's malloc keep large buffers: they come from the heap rather than fresh mappings
/// (M_MMAP_MAX 0), and up to 256 MiB of freed heap stays with the process. Without it, each
/// decoded and segmented image maps, faults in (zero-filled) and releases its buffers anew: about
/// 20 % of a 4096² image's segmentation time, and half the decoding time of an uncompressed
/// 16-bit TIFF. Returns 0, or -1 where it does not apply (not glibc).
int seg_keep_large_buffers(void);

/// Asks the kernel to back the whole 2 MiB pages of a large, not yet touched buffer with
/// transparent huge pages (Linux, where THP is in `madvise` mode): a 32 MiB image then takes 16
/// page faults instead of 8192, which cost more than the decoding of an uncompressed file. A
/// no-op elsewhere.
void seg_advise_huge_pages(void *pointer, size_t bytes);

// ---------------------------------------------------------------------------------------------
// Band-by-band previews (seg_rows.c)

/// Counts the first `colour` of `channels` 16-bit samples of `pixels` pixels into a 65 536-bin histogram.
void seg_histogram16(const uint16_t *src, size_t pixels, int channels, int colour, uint64_t *histogram);
/// The first `colour` samples of each pixel through `lut` (65 536 entries), packed `colour` per pixel.
void seg_display16(const uint16_t *src, size_t pixels, int channels, int colour, const uint8_t *lut, uint8_t *dst);
/// The first `colour` samples of each pixel, packed `colour` per pixel.
void seg_display8(const uint8_t *src, size_t pixels, int channels, int colour, uint8_t *dst);
/// One source row's horizontal area average: `row` (of `row_length` floats) is zeroed, then each
/// weight k adds sample `sources[k]` × `weights[k]` to output pixel `targets[k]`, channel by channel.
void seg_area_row(const uint8_t *src, int channels, const int32_t *targets, const int32_t *sources, const float *weights,
                  size_t count, float *row, size_t row_length);
/// sum[i] += row[i] × weight.
void seg_area_accumulate(float *sum, const float *row, float weight, size_t count);
/// dst[i] = sum[i] + 0.5 clamped to 0–255 and truncated; sum is zeroed for the next output row.
void seg_area_emit(float *sum, uint8_t *dst, size_t count);

/// Frees a buffer returned by an encoder.
void seg_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
