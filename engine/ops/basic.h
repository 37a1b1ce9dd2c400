// basic.h — the few kernels the core itself needs: fill, arange, axpy (gradient
// accumulation), casts, and random fills. Tensor-level users: engine/tensor.cpp,
// engine/autograd.cpp. Raw-pointer kernels, same name on both devices.
#pragma once
#include <cstdint>
#include "engine/dispatch.h"

// Kernels: the same list on both devices (see engine/dispatch.h).
#define NF_BASIC_KERNELS                                                                          \
void fill_f32(float* y, float value, int64_t n);                                                  \
void fill_i32(int32_t* y, int32_t value, int64_t n);                                              \
void fill_u8(uint8_t* y, uint8_t value, int64_t n);                                               \
void arange_f32(float* y, float start, float step, int64_t n);                                    \
void arange_i32(int32_t* y, int32_t start, int32_t step, int64_t n);                              \
void axpy_f32(float alpha, const float* x, float* y, int64_t n);  /* y += alpha * x */            \
void uniform_f32(float* y, int64_t n, uint64_t seed, uint64_t offset);  /* [0,1) */               \
void normal_f32(float* y, int64_t n, uint64_t seed, uint64_t offset);  /* N(0,1) */               \
void affine_inplace_f32(float* y, float scale, float shift, int64_t n);  /* y = y*scale+shift */  \
void threshold_below_f32(float* y, float p, int64_t n);  /* y = (y < p) ? 1 : 0 */                \

NF_DECLARE_KERNELS(NF_BASIC_KERNELS)
