// Counts heap allocations in the process that links this module, by interposing
// malloc and friends (glibc). Link it only into executables and test bundles that
// need allocation counts (tests of the zero-allocation hot paths, benchmarks);
// it is not part of the library products. No stable API.
#ifndef CRECRL_MALLOC_COUNTER_H
#define CRECRL_MALLOC_COUNTER_H

/// The number of allocation calls (malloc, calloc, realloc, aligned allocations)
/// since the process started, over all threads. Always 0 where interposition is
/// unavailable (other C libraries, sanitizer builds); check `recrl_malloc_counter_active()`.
long recrl_malloc_count(void);

/// 1 when this build interposes the allocator (glibc, no sanitizer), else 0.
int recrl_malloc_counter_active(void);

/// 1 when this module was compiled with a sanitizer (address, thread, memory), which
/// compiles the interposer out, else 0.
int recrl_malloc_counter_sanitized(void);

#endif
