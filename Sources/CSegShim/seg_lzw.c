// TIFF LZW strips decoded straight into the image (see seg_lzw.h).
//
// Every LZW string after the first of a run is an earlier string plus one byte, and that earlier
// string was itself written to the output just before the byte. So a table entry is only where
// its string starts in this strip's output and how long it is: decoding a code is one copy from
// earlier output, with no per-code chain to walk backwards and no second buffer.
#include "seg_lzw.h"

#include <string.h>

enum {
    LZW_CLEAR = 256,
    LZW_EOI = 257,
    LZW_FIRST = 258,
    LZW_TABLE = 4096, // 12-bit codes
    LZW_MIN_BITS = 9,
    LZW_MAX_BITS = 12,
};

// Copies `n` bytes from earlier output: short strings (the common case) as two 8-byte words
// when the destination has room for them, anything else with memcpy. `src + n <= dst` always
// holds, so the source is never changed by the copy's own first `n` bytes.
static inline void seg_lzw_copy(uint8_t *dst, const uint8_t *src, size_t n, size_t room) {
    if (n <= 16 && room >= 16) {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + 8, &b, 8);
    } else {
        memcpy(dst, src, n);
    }
}

int seg_lzw_decode_strip(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size) {
    // Old-style (pre-TIFF 6, LSB-first) streams start 00 x1; libtiff reads those itself.
    if (in_size < 2 || (in[0] == 0 && (in[1] & 1)) || out_size > UINT32_MAX) return -1;
    uint32_t start[LZW_TABLE];
    uint16_t length[LZW_TABLE];
    uint64_t bits = 0; // the next unread bits, left-aligned
    unsigned count = 0; // how many of them are valid
    size_t ip = 0, o = 0;
    unsigned width = LZW_MIN_BITS, next = LZW_FIRST;
    size_t previous_start = 0, previous_length = 0; // 0: no previous string (start, or after Clear)
    const uint8_t *safe_end = in_size >= 8 ? in + in_size - 8 : in;
    while (o < out_size) {
        if (count < width) {
            if (in + ip < safe_end) {
                // Eight bytes at once, big-endian; keep only what fits behind the valid bits.
                uint64_t word;
                memcpy(&word, in + ip, 8);
                word = __builtin_bswap64(word);
                bits |= word >> count;
                unsigned take = (63 - count) >> 3;
                ip += take;
                count += take << 3;
                bits &= ~(~(uint64_t)0 >> count); // count <= 63 here: at most 7 bytes are taken
            } else {
                while (count <= 56 && ip < in_size) {
                    bits |= (uint64_t)in[ip++] << (56 - count);
                    count += 8;
                }
                if (count < width) return -1; // ran out before the strip was full
            }
        }
        unsigned code = (unsigned)(bits >> (64 - width));
        bits <<= width;
        count -= width;
        if (code == LZW_CLEAR) {
            width = LZW_MIN_BITS;
            next = LZW_FIRST;
            previous_length = 0;
            continue;
        }
        if (code == LZW_EOI) return -1; // the strip ended short: libtiff reports it
        size_t room = out_size - o, n;
        if (code < 256) {
            out[o] = (uint8_t)code;
            n = 1;
        } else if (previous_length == 0) {
            return -1; // a string code with no table to look it up in
        } else if (code < next) {
            n = length[code];
            seg_lzw_copy(out + o, out + start[code], n <= room ? n : room, room);
        } else if (code == next) {
            // The string being defined by this very code: the previous one plus its own first byte.
            n = previous_length + 1;
            if (n <= room) {
                seg_lzw_copy(out + o, out + previous_start, previous_length, room);
                out[o + previous_length] = out[previous_start];
            } else {
                seg_lzw_copy(out + o, out + previous_start, room, room);
            }
        } else {
            return -1; // a code not yet defined: corrupt, libtiff says how
        }
        if (previous_length != 0) {
            if (next >= LZW_TABLE) return -1; // an encoder that forgot to clear; libtiff tolerates more
            start[next] = (uint32_t)previous_start;
            length[next] = (uint16_t)(previous_length + 1);
            next++;
            // "Early change": the code width grows one code before the table fills it.
            if (next >= (1u << width) - 1 && width < LZW_MAX_BITS) width++;
        }
        previous_start = o;
        previous_length = n;
        o += n <= room ? n : room;
    }
    return 0;
}

void seg_lzw_undo_horizontal_predictor(uint8_t *rows, size_t row_count, size_t row_bytes, size_t samples_per_pixel,
                                       int bits) {
    for (size_t r = 0; r < row_count; r++) {
        uint8_t *row = rows + r * row_bytes;
        if (bits == 8) {
            for (size_t i = samples_per_pixel; i < row_bytes; i++) row[i] = (uint8_t)(row[i] + row[i - samples_per_pixel]);
        } else if (bits == 16) {
            size_t n = row_bytes / 2;
            uint16_t *s = (uint16_t *)(void *)row;
            for (size_t i = samples_per_pixel; i < n; i++) s[i] = (uint16_t)(s[i] + s[i - samples_per_pixel]);
        } else {
            size_t n = row_bytes / 4;
            uint32_t *s = (uint32_t *)(void *)row;
            for (size_t i = samples_per_pixel; i < n; i++) s[i] = s[i] + s[i - samples_per_pixel];
        }
    }
}
