// Process-wide settings an executable may opt into (see seg_shim.h).
#include "seg_shim.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <stdint.h>
#include <sys/mman.h>
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

void seg_advise_huge_pages(void *pointer, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // Only whole 2 MiB pages inside the buffer; the kernel ignores the advice where transparent
    // huge pages are off, and it changes nothing but how the memory is mapped.
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)pointer + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)pointer + bytes) & ~(huge - 1);
    if (end > start) (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)pointer;
    (void)bytes;
#endif
}
