/* Code paths: which instruction sets this CPU and build run, and the kernel
 * table for each. */
#include "kernels/kernels.h"

int ctrng_isa_available(int isa)
{
    switch (isa) {
    case CTRNG_ISA_AUTO:
    case CTRNG_ISA_PORTABLE: return 1;
#ifdef CTRNG_HAVE_AVX2
    case CTRNG_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
#ifdef CTRNG_HAVE_AVX512
    case CTRNG_ISA_AVX512:
        __builtin_cpu_init();
#ifdef CTRNG_AVX512_AS_AVX2 /* a test build: csrc/kernels/avx512.c compiled for AVX2 */
        return __builtin_cpu_supports("avx2") ? 1 : 0;
#else /* (libgcc also checks that the OS saves the AVX-512 registers) */
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
#endif
#endif
    default: return 0;
    }
}

const ctrng_kernels *ctrng_kernels_for(int isa)
{
#ifdef CTRNG_HAVE_AVX512
    if ((isa == CTRNG_ISA_AUTO || isa == CTRNG_ISA_AVX512) && ctrng_isa_available(CTRNG_ISA_AVX512))
        return &ctrng_kernels_avx512;
#endif
#ifdef CTRNG_HAVE_AVX2
    if ((isa == CTRNG_ISA_AUTO || isa == CTRNG_ISA_AVX2) && ctrng_isa_available(CTRNG_ISA_AVX2))
        return &ctrng_kernels_avx2;
#endif
    if (isa == CTRNG_ISA_AUTO || isa == CTRNG_ISA_PORTABLE) return &ctrng_kernels_portable;
    return NULL;
}
