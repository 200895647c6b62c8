// Process-wide settings an executable may opt into (see seg_shim.h).
#include "seg_shim.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int seg_keep_large_buffers(void) {
#if defined(__GLIBC__)
    // Serve buffers up to 32 MiB (a 4096² image of 16-bit samples, twice over) from the heap
    // instead of fresh mappings, and keep up to 256 MiB of freed heap instead of handing it back
    // to the kernel after every image; both only move memory between the process and the kernel.
    int ok = mallopt(M_MMAP_THRESHOLD, 32 << 20);
    ok &= mallopt(M_TRIM_THRESHOLD, 256 << 20);
    return ok ? 0 : -1;
#else
    return -1;
#endif
}
