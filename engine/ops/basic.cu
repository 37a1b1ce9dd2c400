// basic.cu — CUDA side of the core kernels (see basic.h). All memory-bound:
// fill writes 4n bytes, axpy reads 8n and writes 4n bytes per call.
#include "engine/cuda/launch.cuh"
#include "engine/cuda/runtime.h"
#include "engine/ops/basic.h"

namespace nanofed::cuda {

namespace {
template <typename T>
__global__ void fill_kernel(T* y, T value, int64_t n) { NF_KERNEL_LOOP(i, n) y[i] = value; }
template <typename T>
__global__ void arange_kernel(T* y, T start, T step, int64_t n) {
  NF_KERNEL_LOOP(i, n) y[i] = start + step * (T)i;
}
__global__ void axpy_kernel(float alpha, const float* __restrict__ x, float* __restrict__ y, int64_t n) {
  NF_KERNEL_LOOP(i, n) y[i] += alpha * x[i];
}
__global__ void affine_kernel(float* y, float scale, float shift, int64_t n) {
  NF_KERNEL_LOOP(i, n) y[i] = y[i] * scale + shift;
}
__global__ void threshold_below_kernel(float* y, float p, int64_t n) {
  NF_KERNEL_LOOP(i, n) y[i] = y[i] < p ? 1.0f : 0.0f;
}
// cuRAND's (0,1] -> [0,1): 1.0 (probability ~2^-25) becomes 0. Not 1-u: in float, 1-u rounds
// to exactly 1.0f for every u < 2^-25, which would leave 1.0 in the output.
__global__ void half_open_uniform_kernel(float* y, int64_t n) {
  NF_KERNEL_LOOP(i, n) y[i] = y[i] < 1.0f ? y[i] : 0.0f;
}
template <typename T>
void launch_fill(T* y, T value, int64_t n) {
  launch_per_element(fill_kernel<T>, n, y, value, n);
}
}  // namespace

void fill_f32(float* y, float value, int64_t n) { launch_fill(y, value, n); }
void fill_i32(int32_t* y, int32_t value, int64_t n) { launch_fill(y, value, n); }
void fill_u8(uint8_t* y, uint8_t value, int64_t n) { launch_fill(y, value, n); }

void arange_f32(float* y, float start, float step, int64_t n) {
  launch_per_element(arange_kernel<float>, n, y, start, step, n);
}
void arange_i32(int32_t* y, int32_t start, int32_t step, int64_t n) {
  launch_per_element(arange_kernel<int32_t>, n, y, start, step, n);
}

void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
  launch_per_element(axpy_kernel, n, alpha, x, y, n);
}

void affine_inplace_f32(float* y, float scale, float shift, int64_t n) {
  launch_per_element(affine_kernel, n, y, scale, shift, n);
}

void threshold_below_f32(float* y, float p, int64_t n) {
  launch_per_element(threshold_below_kernel, n, y, p, n);
}

namespace {
// cuRAND's Philox generator, re-seeded and positioned at `offset` for each draw so a draw
// depends only on (seed, offset).
curandGenerator_t philox_at(uint64_t seed, uint64_t offset) {
  curandGenerator_t gen = curand();
  CURAND_CHECK(curandSetPseudoRandomGeneratorSeed(gen, seed));
  CURAND_CHECK(curandSetGeneratorOffset(gen, offset));
  return gen;
}
}  // namespace

// curandGenerateUniform returns (0,1]; 1.0 is mapped to 0.
void uniform_f32(float* y, int64_t n, uint64_t seed, uint64_t offset) {
  if (n == 0) return;
  curandGenerator_t gen = philox_at(seed, offset);
  CURAND_CHECK(curandGenerateUniform(gen, y, (size_t)n));
  half_open_uniform_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(y, n);
  NF_KERNEL_CHECK();
}

// curandGenerateNormal needs an even count: an odd n draws n+1 into a scratch block.
void normal_f32(float* y, int64_t n, uint64_t seed, uint64_t offset) {
  if (n == 0) return;
  curandGenerator_t gen = philox_at(seed, offset);
  if (n % 2 == 0) {
    CURAND_CHECK(curandGenerateNormal(gen, y, (size_t)n, 0.0f, 1.0f));
    return;
  }
  float* scratch = (float*)device_malloc((size_t)(n + 1) * sizeof(float));
  CURAND_CHECK(curandGenerateNormal(gen, scratch, (size_t)(n + 1), 0.0f, 1.0f));
  CUDA_CHECK(cudaMemcpyAsync(y, scratch, (size_t)n * sizeof(float), cudaMemcpyDeviceToDevice, stream()));
  device_free(scratch, (size_t)(n + 1) * sizeof(float));
}

}  // namespace nanofed::cuda
