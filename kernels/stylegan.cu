// StyleGAN2 ops: upfirdn2d and bias_act (lrelu), forward and backward, matching dev.dragedit.ops.cpu.Upfirdn2d and
// StyleGanBiasAct (themselves the semantics of torch_utils/ops/upfirdn2d.py and bias_act.py, _ref variants).
//
//   upfirdn2d_fwd_f32     y[p, oy, ox] = Σ_{iy, ix} x[p, iy, ix] · f'[iy·upY − oy·downY + padY0, ix·upX − ox·downX + padX0]
//                         x [P = N·C, H, W], f [fh, fw], y [P, outH, outW]; f' = f flipped in both axes when flip != 0
//                         (the forward: a true convolution), f itself for the adjoint. Only the input samples whose
//                         taps land inside the filter are visited (no zero-inserted image is built): per output about
//                         (fh/upY)·(fw/upX) products. The filter goes to dynamic shared memory once per block (fh·fw
//                         floats), since every thread of the block reads all of it. One thread per output element,
//                         consecutive threads on consecutive ox (coalesced stores, nearby loads), grid-stride loop.
//                         Launch: block 256, grid ≤ cover(P·outH·outW), shared fh·fw·4 bytes.
//                         The backward is this kernel with flip = 0, up/down swapped and the padding derived in
//                         CudaStyleGan (the CPU code's formula).
//   biasact_fwd_f32       y = clamp(lrelu_alpha(x + bias[c]) · gain, ±clamp) (clamp ≤ 0: none); c = (i / inner) % C,
//                         bias may be null. Elementwise, grid-stride; block 256.
//   biasact_bwd_f32       dx = gy · gain · (y > 0 ? 1 : alpha), 0 where clamp > 0 and !(|y| < clamp) (a value exactly
//                         at the bound counts as clamped, as in the reference CUDA kernel). Elementwise; block 256.
//   biasact_dbias_bwd_f32 dbias[c] = Σ_{n, j} dx[n, c, j], recomputed from gy and y: one block per channel, each
//                         thread strides over the channel's N·inner elements (contiguous runs of inner, coalesced),
//                         then warp shuffles and one shared-memory pass — no atomics, so it is deterministic.
//                         Launch: grid C, block 256 (a multiple of 32, ≤ 1024).
//   modconv_weight_fwd_f32 the per-sample weights of StyleGAN2's modulated convolution (fused_modconv):
//                         wN[n·Cout + o, j] = w[o, j]·s[n, j / k2]·d[n, o], d = (Σ_j (w·s)² + 1e-8)^−½ (1 without
//                         demodulation), j over the row of Cin·k2 weights (k2 = kh·kw); dcoef[n·Cout + o] = d when
//                         dcoef is not null. One block per row (n, o): threads stride over the row (coalesced), the
//                         sum of squares is a warp-shuffle + shared-memory block reduction. Grid N·Cout, block 128.
//                         The convolution itself is a grouped conv2d (groups = N) in CudaConv.
//   modconv_dv_bwd_f32    in place on G = dL/dwN: dv = d·G − d³·A·v with A = Σ_j G·v, v = w·s (demodulation only;
//                         without it dv = G). Same geometry as the weight kernel.
//   modconv_dw_bwd_f32    dw[o, j] = Σ_n dv[n·Cout + o, j]·s[n, j / k2]: one thread per weight, grid-stride, block 256.
//   modconv_ds_bwd_f32    ds[n, i] = Σ_{o, k} dv[n·Cout + o, i·k2 + k]·w[o, i·k2 + k]: one warp per (n, i), lanes
//                         stride over the Cout·k2 products, warp-shuffle sum. Block 256 (8 warps), grid cover(N·Cin, 8).
#include "common.cuh"

namespace {

__device__ __forceinline__ int sg_floor_div(int a, int b) {
    int q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

template <class T>
__device__ void upfirdn2d_impl(const T* __restrict__ x, const float* __restrict__ f, T* __restrict__ y,
                               int planes, int H, int W, int outH, int outW, int fh, int fw, int upX, int upY,
                               int downX, int downY, int padX0, int padY0, int flip) {
    DE_DYNAMIC_SHARED(float, fs);
    int taps = fh * fw;
    for (int i = threadIdx.x; i < taps; i += blockDim.x) fs[i] = flip ? f[taps - 1 - i] : f[i];
    __syncthreads();
    long long total = (long long)planes * outH * outW;
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (long long)blockDim.x * gridDim.x) {
        int ox = (int)(idx % outW);
        long long rest = idx / outW;
        int oy = (int)(rest % outH);
        long long p = rest / outH;
        // Input row iy contributes with tap ky = iy·upY − oy·downY + padY0 ∈ [0, fh).
        int by = oy * downY - padY0, bx = ox * downX - padX0;
        int iy0 = max(0, -sg_floor_div(-by, upY)), iy1 = min(H - 1, sg_floor_div(by + fh - 1, upY));
        int ix0 = max(0, -sg_floor_div(-bx, upX)), ix1 = min(W - 1, sg_floor_div(bx + fw - 1, upX));
        const T* xp = x + p * H * W;
        float acc = 0.0f;
        for (int iy = iy0; iy <= iy1; iy++) {
            const float* frow = fs + (iy * upY - by) * fw;
            const T* xrow = xp + (long long)iy * W;
            for (int ix = ix0; ix <= ix1; ix++) acc += de_to_float(xrow[ix]) * frow[ix * upX - bx];
        }
        y[idx] = de_from_float<T>(acc);
    }
}

template <class T>
__device__ void biasact_fwd_impl(const T* __restrict__ x, const float* __restrict__ bias, T* __restrict__ y,
                                 long long n, int channels, int inner, float alpha, float gain, float clamp) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)blockDim.x * gridDim.x) {
        float v = de_to_float(x[i]);
        if (bias != nullptr) v += bias[(i / inner) % channels];
        v = v > 0.0f ? v : v * alpha;
        v *= gain;
        if (clamp > 0.0f) v = fminf(fmaxf(v, -clamp), clamp);
        y[i] = de_from_float<T>(v);
    }
}

template <class T>
__device__ __forceinline__ float biasact_grad(T gy, T y, float pos, float neg, float clamp) {
    float yv = de_to_float(y);
    float g = de_to_float(gy) * (yv > 0.0f ? pos : neg);
    if (clamp > 0.0f && !(fabsf(yv) < clamp)) g = 0.0f;
    return g;
}

template <class T>
__device__ void biasact_bwd_impl(const T* __restrict__ gy, const T* __restrict__ y, T* __restrict__ dx, long long n,
                                 float alpha, float gain, float clamp) {
    float pos = gain, neg = alpha * gain;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)blockDim.x * gridDim.x)
        dx[i] = de_from_float<T>(biasact_grad(gy[i], y[i], pos, neg, clamp));
}

template <class T>
__device__ void biasact_dbias_impl(const T* __restrict__ gy, const T* __restrict__ y, float* __restrict__ dbias,
                                   int batch, int channels, int inner, float alpha, float gain, float clamp) {
    __shared__ float warp_sums[32];
    int c = blockIdx.x;
    float pos = gain, neg = alpha * gain;
    long long per = (long long)batch * inner;
    float acc = 0.0f;
    for (long long j = threadIdx.x; j < per; j += blockDim.x) {
        long long nIdx = j / inner, k = j % inner;
        long long i = (nIdx * channels + c) * inner + k;
        acc += biasact_grad(gy[i], y[i], pos, neg, clamp);
    }
    acc = de_warp_sum(acc);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warp_sums[warp] = acc;
    __syncthreads();
    if (warp == 0) {
        float v = lane < (int)(blockDim.x >> 5) ? warp_sums[lane] : 0.0f;
        v = de_warp_sum(v);
        if (lane == 0) dbias[c] = v;
    }
}

__device__ float block_sum(float v, float* warp_sums) {
    v = de_warp_sum(v);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    v = lane < (int)(blockDim.x >> 5) ? warp_sums[lane] : 0.0f;
    v = de_warp_sum(v);
    __syncthreads();  // warp_sums may be reused by the caller's next reduction
    return v;
}

template <class T>
__device__ void modconv_weight_impl(const T* __restrict__ w, const float* __restrict__ styles, T* __restrict__ wN,
                                    float* __restrict__ dcoef, int cout, int cin, int k2, int demod) {
    __shared__ float warp_sums[32];
    int r = blockIdx.x, n = r / cout, o = r % cout, row = cin * k2;
    const T* wr = w + (long long)o * row;
    const float* s = styles + (long long)n * cin;
    T* out = wN + (long long)r * row;
    float dc = 1.0f;
    if (demod) {
        float ss = 0.0f;
        for (int j = threadIdx.x; j < row; j += blockDim.x) {
            float v = de_to_float(wr[j]) * s[j / k2];
            ss += v * v;
        }
        ss = block_sum(ss, warp_sums);
        dc = rsqrtf(ss + 1e-8f);
        if (dcoef != nullptr && threadIdx.x == 0) dcoef[r] = dc;
    }
    for (int j = threadIdx.x; j < row; j += blockDim.x) out[j] = de_from_float<T>(de_to_float(wr[j]) * s[j / k2] * dc);
}

template <class T>
__device__ void modconv_dv_impl(T* __restrict__ g, const T* __restrict__ w, const float* __restrict__ styles,
                                const float* __restrict__ dcoef, int cout, int cin, int k2) {
    __shared__ float warp_sums[32];
    int r = blockIdx.x, n = r / cout, o = r % cout, row = cin * k2;
    const T* wr = w + (long long)o * row;
    const float* s = styles + (long long)n * cin;
    T* gr = g + (long long)r * row;
    float a = 0.0f;
    for (int j = threadIdx.x; j < row; j += blockDim.x) a += de_to_float(gr[j]) * de_to_float(wr[j]) * s[j / k2];
    a = block_sum(a, warp_sums);
    float dc = dcoef[r], c3 = dc * dc * dc * a;
    // Each thread rewrites only the elements it read, so updating G in place is safe.
    for (int j = threadIdx.x; j < row; j += blockDim.x)
        gr[j] = de_from_float<T>(de_to_float(gr[j]) * dc - c3 * (de_to_float(wr[j]) * s[j / k2]));
}

template <class T>
__device__ void modconv_dw_impl(const T* __restrict__ dv, const float* __restrict__ styles, T* __restrict__ dw,
                                int batch, int cout, int cin, int k2) {
    long long row = (long long)cin * k2, total = (long long)cout * row;
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += (long long)blockDim.x * gridDim.x) {
        int i = (int)((idx % row) / k2);
        float acc = 0.0f;
        for (int n = 0; n < batch; n++) acc += de_to_float(dv[(long long)n * total + idx]) * styles[(long long)n * cin + i];
        dw[idx] = de_from_float<T>(acc);
    }
}

template <class T>
__device__ void modconv_ds_impl(const T* __restrict__ dv, const T* __restrict__ w, float* __restrict__ ds,
                                int batch, int cout, int cin, int k2) {
    int warps = blockDim.x >> 5, lane = threadIdx.x & 31;
    long long pair = (long long)blockIdx.x * warps + (threadIdx.x >> 5);
    if (pair >= (long long)batch * cin) return;  // whole warps leave together, so the shuffles stay full-warp
    int n = (int)(pair / cin), i = (int)(pair % cin), row = cin * k2, per = cout * k2;
    float acc = 0.0f;
    for (int t = lane; t < per; t += 32) {
        int o = t / k2, k = t % k2;
        long long j = (long long)o * row + (long long)i * k2 + k;
        acc += de_to_float(dv[(long long)n * cout * row + j]) * de_to_float(w[j]);
    }
    acc = de_warp_sum(acc);
    if (lane == 0) ds[pair] = acc;
}

}  // namespace

extern "C" __global__ void upfirdn2d_fwd_f32(const float* __restrict__ x, const float* __restrict__ f,
                                             float* __restrict__ y, int planes, int H, int W, int outH, int outW,
                                             int fh, int fw, int upX, int upY, int downX, int downY, int padX0,
                                             int padY0, int flip) {
    upfirdn2d_impl<float>(x, f, y, planes, H, W, outH, outW, fh, fw, upX, upY, downX, downY, padX0, padY0, flip);
}

extern "C" __global__ void biasact_fwd_f32(const float* __restrict__ x, const float* __restrict__ bias,
                                           float* __restrict__ y, long long n, int channels, int inner, float alpha,
                                           float gain, float clamp) {
    biasact_fwd_impl<float>(x, bias, y, n, channels, inner, alpha, gain, clamp);
}

extern "C" __global__ void biasact_bwd_f32(const float* __restrict__ gy, const float* __restrict__ y,
                                           float* __restrict__ dx, long long n, float alpha, float gain, float clamp) {
    biasact_bwd_impl<float>(gy, y, dx, n, alpha, gain, clamp);
}

extern "C" __global__ void biasact_dbias_bwd_f32(const float* __restrict__ gy, const float* __restrict__ y,
                                                 float* __restrict__ dbias, int batch, int channels, int inner,
                                                 float alpha, float gain, float clamp) {
    biasact_dbias_impl<float>(gy, y, dbias, batch, channels, inner, alpha, gain, clamp);
}

extern "C" __global__ void modconv_weight_fwd_f32(const float* __restrict__ w, const float* __restrict__ styles,
                                                  float* __restrict__ wN, float* __restrict__ dcoef, int cout, int cin,
                                                  int k2, int demod) {
    modconv_weight_impl<float>(w, styles, wN, dcoef, cout, cin, k2, demod);
}

extern "C" __global__ void modconv_dv_bwd_f32(float* __restrict__ g, const float* __restrict__ w,
                                              const float* __restrict__ styles, const float* __restrict__ dcoef,
                                              int cout, int cin, int k2) {
    modconv_dv_impl<float>(g, w, styles, dcoef, cout, cin, k2);
}

extern "C" __global__ void modconv_dw_bwd_f32(const float* __restrict__ dv, const float* __restrict__ styles,
                                              float* __restrict__ dw, int batch, int cout, int cin, int k2) {
    modconv_dw_impl<float>(dv, styles, dw, batch, cout, cin, k2);
}

extern "C" __global__ void modconv_ds_bwd_f32(const float* __restrict__ dv, const float* __restrict__ w,
                                              float* __restrict__ ds, int batch, int cout, int cin, int k2) {
    modconv_ds_impl<float>(dv, w, ds, batch, cout, cin, k2);
}
