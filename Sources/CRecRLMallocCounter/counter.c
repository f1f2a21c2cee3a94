#include "CRecRLMallocCounter.h"
#include <stddef.h>
#include <errno.h> /* defines __GLIBC__ on glibc */

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define RECRL_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RECRL_SANITIZED 1
#endif

/* A sanitizer runtime interposes the allocator itself: a second interposer would bypass it
   and runs instrumented code before the runtime is initialised, so sanitized builds do not
   count. */
#if defined(__linux__) && defined(__GLIBC__) && !defined(RECRL_SANITIZED)
#include <errno.h>
#include <stdatomic.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static _Atomic long recrl_allocations = 0;

static inline void bump(void) { atomic_fetch_add_explicit(&recrl_allocations, 1, memory_order_relaxed); }

void *malloc(size_t n) { bump(); return __libc_malloc(n); }
void *calloc(size_t n, size_t s) { bump(); return __libc_calloc(n, s); }
void *realloc(void *p, size_t n) { bump(); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t a, size_t n) { bump(); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { bump(); return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    bump();
    void *p = __libc_memalign(a, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

long recrl_malloc_count(void) { return atomic_load_explicit(&recrl_allocations, memory_order_relaxed); }
int recrl_malloc_counter_active(void) { return 1; }
#else
long recrl_malloc_count(void) { return 0; }
int recrl_malloc_counter_active(void) { return 0; }
#endif

#if defined(RECRL_SANITIZED)
int recrl_malloc_counter_sanitized(void) { return 1; }
#else
int recrl_malloc_counter_sanitized(void) { return 0; }
#endif
