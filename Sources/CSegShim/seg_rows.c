// Per-sample loops of the band-by-band previews (ImagePreviews, RowShrinker), in C so that they run
// optimised in debug builds too (a 10000×10000 bomb passes 300 million samples through each).
// Floating-point contraction is off: every sum is rounded as Swift rounds it, so the previews stay
// bit for bit those of the whole-image path.
#pragma STDC FP_CONTRACT OFF
#include "seg_shim.h"

void seg_histogram16(const uint16_t *src, size_t pixels, int channels, int colour, uint64_t *histogram) {
    for (size_t p = 0; p < pixels; p++) {
        const uint16_t *pixel = src + p * (size_t)channels;
        for (int c = 0; c < colour; c++) histogram[pixel[c]]++;
    }
}

void seg_display16(const uint16_t *src, size_t pixels, int channels, int colour, const uint8_t *lut, uint8_t *dst) {
    for (size_t p = 0; p < pixels; p++) {
        const uint16_t *pixel = src + p * (size_t)channels;
        for (int c = 0; c < colour; c++) dst[p * (size_t)colour + (size_t)c] = lut[pixel[c]];
    }
}

void seg_display8(const uint8_t *src, size_t pixels, int channels, int colour, uint8_t *dst) {
    for (size_t p = 0; p < pixels; p++) {
        const uint8_t *pixel = src + p * (size_t)channels;
        for (int c = 0; c < colour; c++) dst[p * (size_t)colour + (size_t)c] = pixel[c];
    }
}

void seg_area_row(const uint8_t *src, int channels, const int32_t *targets, const int32_t *sources, const float *weights,
                  size_t count, float *row, size_t row_length) {
    for (size_t i = 0; i < row_length; i++) row[i] = 0;
    for (size_t k = 0; k < count; k++) {
        const uint8_t *s = src + (size_t)sources[k] * (size_t)channels;
        float *d = row + (size_t)targets[k] * (size_t)channels;
        const float w = weights[k];
        for (int c = 0; c < channels; c++) {
            float product = (float)s[c] * w;
            d[c] = d[c] + product;
        }
    }
}

void seg_area_accumulate(float *sum, const float *row, float weight, size_t count) {
    for (size_t i = 0; i < count; i++) {
        float product = row[i] * weight;
        sum[i] = sum[i] + product;
    }
}

void seg_area_emit(float *sum, uint8_t *dst, size_t count) {
    for (size_t i = 0; i < count; i++) {
        float v = sum[i] + 0.5f;
        if (v < 0) v = 0;
        if (v > 255) v = 255;
        dst[i] = (uint8_t)v;
        sum[i] = 0;
    }
}
