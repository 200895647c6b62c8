// Our own decoder for TIFF's LZW strips, used by seg_tiff.c for the common case (MSB-first codes,
// one plane, whole-byte samples); anything it does not expect goes back to libtiff, so libtiff
// stays the judge of corrupt files and of old or odd encoders. Private to the shim.
#ifndef SEG_LZW_H
#define SEG_LZW_H

#include <stddef.h>
#include <stdint.h>

/// Decodes one LZW strip (`in`, `in_size` bytes) into exactly `out_size` bytes at `out`. Returns 0
/// when `out` is full (later codes, EOI included, are not read, as libtiff does), or -1 for
/// anything else: old-style LZW, a code not yet defined, a table that overflows, data that ends
/// or reaches EOI before `out` is full. `out` is then partly written and the caller decodes the
/// strip again with libtiff.
int seg_lzw_decode_strip(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size);

/// Undoes TIFF's horizontal differencing (predictor 2) in place on `row_count` rows of
/// `row_bytes`, for 8-, 16- or 32-bit samples in host byte order, `samples_per_pixel` interleaved.
void seg_lzw_undo_horizontal_predictor(uint8_t *rows, size_t row_count, size_t row_bytes, size_t samples_per_pixel,
                                       int bits);

#endif
