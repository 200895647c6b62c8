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
    // Serve large buffers from the heap instead of fresh mappings, and keep up to 256 MiB of freed
    // heap instead of handing it back to the kernel after every image: a mapping is zero-filled
    // by the kernel page by page as it is first touched, which costs as much as decoding an
    // uncompressed image. glibc caps M_MMAP_THRESHOLD at 32 MiB, and a 4096² image of 16-bit
    // samples is 32 MiB plus the array's header, so mappings are turned off instead (M_MMAP_MAX
    // 0); glibc still maps a request that no heap can hold. Both only move memory between the
    // process and the kernel.
    int ok = mallopt(M_MMAP_MAX, 0);
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
