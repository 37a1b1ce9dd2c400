// hd.h — NF_HD marks a function compiled for both the CPU reference and the CUDA kernels, so
// per-element math is written once and the two devices cannot drift apart. Use only what both
// sides have: <math.h> float functions (sqrtf, fminf, floorf, expf, ...), no std:: calls.
#pragma once

#ifdef __CUDACC__
#define NF_HD __host__ __device__ __forceinline__
#else
#define NF_HD inline
#endif
