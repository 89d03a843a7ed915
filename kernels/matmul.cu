// Matrix products of the CUDA backend (dev.dragedit.cuda.ops.CudaMatmul): a batched SGEMM and the two small
// kernels around it that torch.nn.functional.linear and its backward need.
//
//   sgemm_batched_f32    C_b = alpha · op(A_b) · op(B_b) + beta · C_b for b = blockIdx.z, all row-major:
//                        op(A) is M×K, stored [M, lda] (transA = 0) or [K, lda] read transposed (transA = 1);
//                        op(B) is K×N, stored [K, ldb] (transB = 0) or [N, ldb] read transposed (transB = 1);
//                        C is [M, ldc]. Operand b starts strideX elements after operand b−1 (0: shared by every
//                        batch). beta = 0 never reads C, so C may hold garbage (NaN) then, as in BLAS.
//                        Launch: block (128), grid (ceil(M/64), ceil(N/64), batch ≤ 65535) — M on x, whose limit
//                        is 2^31−1, since the tall side of a linear layer (batch · tokens) is M.
//   linear_bias_fwd_f32  y[r, c] = bias[c] for r < rows: presets a linear's output so the GEMM adds onto it
//                        (beta = 1). Grid-stride; any 1-D launch.
//   linear_bias_bwd_f32  out[y, c] = Σ_{r in chunk y} gy[r, c], chunk y = rows [y·rowsPerChunk, (y+1)·rowsPerChunk):
//                        column sums (the bias gradient), in one pass (grid.y = 1) or two (partials, then the
//                        same kernel over the partials), always in the same order, so results are deterministic.
//                        Launch: block (32, 8), grid (ceil(cols/32), chunks).
//
// The SGEMM is the classic shared-memory tiling (e.g. the CUTLASS "SIMT" GEMM, or Simon Boehm's "How to optimize a
// CUDA matmul kernel"): a 128-thread block owns a 64×64 tile of C and walks K in steps of 16. Each step stages a
// 64×16 tile of op(A) and a 16×64 tile of op(B) in shared memory, both k-major (As[k][m], Bs[k][n]), and every
// thread accumulates an 8×4 micro-tile in registers: rows ty + 8·i, columns tx + 16·j (strided rather than
// adjacent, so that a warp's shared reads of a row of Bs are 16 consecutive words — no bank conflicts — and its
// writes of C are 64-byte runs). The transposes are handled by the tile loads: each of the four (transA, transB)
// combinations is its own template instance whose loads walk the operand's contiguous axis with consecutive
// threads, so global reads stay coalesced whichever way an operand is stored; the +1 padding of the tiles keeps the
// transposing shared stores nearly conflict-free. The next tile's global loads are issued into registers before
// the current tile's arithmetic, hiding their latency behind it. Out-of-range rows, columns and k are loaded as
// zeros and never stored. Tensor-core (mma.sync / wgmma) variants are a later step; the storage type is a template
// parameter (accumulation is always fp32), so f16/bf16 entry points are one-line wrappers.
#include "common.cuh"

#if defined(DE_CUDA_EMULATION)
#define MM_UNROLL
#else
#define MM_UNROLL _Pragma("unroll")
#endif

namespace matmul_detail {

constexpr int BM = 64, BN = 64, BK = 16;   // block tile of C and the K step
constexpr int TM = 8, TN = 4;              // per-thread micro-tile
constexpr int TX = BN / TN, TY = BM / TM;  // 16 × 8 threads
constexpr int THREADS = TX * TY;           // 128
constexpr int A_LOADS = BM * BK / THREADS; // 8 elements of A per thread per K step
constexpr int B_LOADS = BK * BN / THREADS; // 8 elements of B per thread per K step
constexpr int PAD = 1;

static_assert(THREADS % BK == 0 && THREADS % BM == 0 && THREADS % BN == 0, "tile loads assume these divide");

// Thread t's share of the 64×16 tile of op(A) at (m0, k0). Not transposed, A[m, k] = A[m·lda + k]: consecutive
// threads take consecutive k of one row. Transposed, A[m, k] = A[k·lda + m]: consecutive threads take consecutive m.
template <class T, bool TRANS_A>
__device__ __forceinline__ void load_a(const T* __restrict__ A, int lda, int M, int K, int m0, int k0, int t,
                                       float (&r)[A_LOADS]) {
    MM_UNROLL
    for (int i = 0; i < A_LOADS; i++) {
        int m, k;
        if (!TRANS_A) { k = t % BK; m = t / BK + i * (THREADS / BK); }
        else          { m = t % BM; k = t / BM + i * (THREADS / BM); }
        int gm = m0 + m, gk = k0 + k;
        float v = 0.0f;
        if (gm < M && gk < K)
            v = de_to_float(TRANS_A ? A[(long long)gk * lda + gm] : A[(long long)gm * lda + gk]);
        r[i] = v;
    }
}

template <bool TRANS_A>
__device__ __forceinline__ void store_a(float (*As)[BM + PAD], int t, const float (&r)[A_LOADS]) {
    MM_UNROLL
    for (int i = 0; i < A_LOADS; i++) {
        if (!TRANS_A) As[t % BK][t / BK + i * (THREADS / BK)] = r[i];
        else          As[t / BM + i * (THREADS / BM)][t % BM] = r[i];
    }
}

// The 16×64 tile of op(B) at (k0, n0). Not transposed, B[k, n] = B[k·ldb + n]: consecutive threads take consecutive
// n. Transposed, B[k, n] = B[n·ldb + k]: consecutive threads take consecutive k of one stored row.
template <class T, bool TRANS_B>
__device__ __forceinline__ void load_b(const T* __restrict__ B, int ldb, int N, int K, int k0, int n0, int t,
                                       float (&r)[B_LOADS]) {
    MM_UNROLL
    for (int i = 0; i < B_LOADS; i++) {
        int k, n;
        if (!TRANS_B) { n = t % BN; k = t / BN + i * (THREADS / BN); }
        else          { k = t % BK; n = t / BK + i * (THREADS / BK); }
        int gk = k0 + k, gn = n0 + n;
        float v = 0.0f;
        if (gk < K && gn < N)
            v = de_to_float(TRANS_B ? B[(long long)gn * ldb + gk] : B[(long long)gk * ldb + gn]);
        r[i] = v;
    }
}

template <bool TRANS_B>
__device__ __forceinline__ void store_b(float (*Bs)[BN + PAD], int t, const float (&r)[B_LOADS]) {
    MM_UNROLL
    for (int i = 0; i < B_LOADS; i++) {
        if (!TRANS_B) Bs[t / BN + i * (THREADS / BN)][t % BN] = r[i];
        else          Bs[t % BK][t / BK + i * (THREADS / BK)] = r[i];
    }
}

// One 64×64 tile of C = alpha·op(A)·op(B) + beta·C; A, B, C already offset to this block's batch. The shared tiles
// come from the entry point, so the four instances share one allocation instead of each declaring its own.
template <class T, class TC, bool TRANS_A, bool TRANS_B>
__device__ __forceinline__ void gemm_tile(const T* __restrict__ A, const T* __restrict__ B, TC* __restrict__ C,
                                          int M, int N, int K, int lda, int ldb, int ldc, float alpha, float beta,
                                          float (*As)[BM + PAD], float (*Bs)[BN + PAD]) {
    const int t = threadIdx.x, tx = t % TX, ty = t / TX;
    const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
    float acc[TM][TN];
    MM_UNROLL
    for (int i = 0; i < TM; i++) {
        MM_UNROLL
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;
    }
    float ra[A_LOADS], rb[B_LOADS];
    load_a<T, TRANS_A>(A, lda, M, K, m0, 0, t, ra);
    load_b<T, TRANS_B>(B, ldb, N, K, 0, n0, t, rb);
    for (int k0 = 0; k0 < K; k0 += BK) {
        store_a<TRANS_A>(As, t, ra);
        store_b<TRANS_B>(Bs, t, rb);
        __syncthreads();
        if (k0 + BK < K) {  // uniform over the block: the next tile's loads overlap this tile's arithmetic
            load_a<T, TRANS_A>(A, lda, M, K, m0, k0 + BK, t, ra);
            load_b<T, TRANS_B>(B, ldb, N, K, k0 + BK, n0, t, rb);
        }
        MM_UNROLL
        for (int k = 0; k < BK; k++) {
            float a[TM], b[TN];
            MM_UNROLL
            for (int i = 0; i < TM; i++) a[i] = As[k][ty + i * TY];
            MM_UNROLL
            for (int j = 0; j < TN; j++) b[j] = Bs[k][tx + j * TX];
            MM_UNROLL
            for (int i = 0; i < TM; i++) {
                MM_UNROLL
                for (int j = 0; j < TN; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
            }
        }
        __syncthreads();  // the next iteration overwrites tiles other threads may still be reading
    }
    MM_UNROLL
    for (int i = 0; i < TM; i++) {
        int gm = m0 + ty + i * TY;
        if (gm >= M) continue;
        TC* row = C + (long long)gm * ldc;
        MM_UNROLL
        for (int j = 0; j < TN; j++) {
            int gn = n0 + tx + j * TX;
            if (gn >= N) continue;
            float v = alpha * acc[i][j];
            if (beta != 0.0f) v = fmaf(beta, de_to_float(row[gn]), v);
            row[gn] = de_from_float<TC>(v);
        }
    }
}

template <class T, class TC>
__device__ __forceinline__ void sgemm_batched(const T* A, const T* B, TC* C, int M, int N, int K, int lda, int ldb,
                                              int ldc, long long strideA, long long strideB, long long strideC,
                                              int transA, int transB, float alpha, float beta) {
    __shared__ float As[BK][BM + PAD];  // op(A) tile, k-major
    __shared__ float Bs[BK][BN + PAD];  // op(B) tile, k-major
    A += blockIdx.z * strideA;
    B += blockIdx.z * strideB;
    C += blockIdx.z * strideC;
    if (transA) {
        if (transB) gemm_tile<T, TC, true, true>(A, B, C, M, N, K, lda, ldb, ldc, alpha, beta, As, Bs);
        else        gemm_tile<T, TC, true, false>(A, B, C, M, N, K, lda, ldb, ldc, alpha, beta, As, Bs);
    } else {
        if (transB) gemm_tile<T, TC, false, true>(A, B, C, M, N, K, lda, ldb, ldc, alpha, beta, As, Bs);
        else        gemm_tile<T, TC, false, false>(A, B, C, M, N, K, lda, ldb, ldc, alpha, beta, As, Bs);
    }
}

template <class T>
__device__ __forceinline__ void bias_fill(T* y, const T* bias, long long rows, int cols) {
    long long total = rows * cols;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x)
        y[i] = bias[i % cols];
}

// Block (32, 8): lane tx owns column blockIdx.x·32 + tx, so each warp reads 32 consecutive floats of a row; the 8
// warps take every 8th row of the chunk and their partial sums meet in shared memory.
template <class T>
__device__ __forceinline__ void column_sums(const T* gy, float* out, long long rows, int cols, long long rowsPerChunk) {
    __shared__ float part[8][33];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int c = blockIdx.x * 32 + tx;
    long long r0 = (long long)blockIdx.y * rowsPerChunk;
    long long r1 = r0 + rowsPerChunk < rows ? r0 + rowsPerChunk : rows;
    float s = 0.0f;
    if (c < cols)
        for (long long r = r0 + ty; r < r1; r += 8) s += de_to_float(gy[r * cols + c]);
    part[ty][tx] = s;
    __syncthreads();
    if (ty == 0 && c < cols) {
        float total = part[0][tx];
        MM_UNROLL
        for (int w = 1; w < 8; w++) total += part[w][tx];
        out[(long long)blockIdx.y * cols + c] = total;
    }
}

}  // namespace matmul_detail

extern "C" __global__ void __launch_bounds__(128)
sgemm_batched_f32(const float* A, const float* B, float* C, int M, int N, int K, int lda, int ldb, int ldc,
                  long long strideA, long long strideB, long long strideC, int transA, int transB, float alpha,
                  float beta) {
    matmul_detail::sgemm_batched<float, float>(A, B, C, M, N, K, lda, ldb, ldc, strideA, strideB, strideC, transA, transB,
                                        alpha, beta);
}

extern "C" __global__ void linear_bias_fwd_f32(float* __restrict__ y, const float* __restrict__ bias, long long rows,
                                               int cols) {
    matmul_detail::bias_fill<float>(y, bias, rows, cols);
}

extern "C" __global__ void __launch_bounds__(256)
linear_bias_bwd_f32(const float* __restrict__ gy, float* __restrict__ out, long long rows, int cols,
                    long long rowsPerChunk) {
    matmul_detail::column_sums<float>(gy, out, rows, cols, rowsPerChunk);
}

// 16-bit storage: the same tiling, operands converted to fp32 as they are staged. gemm_batched_<t> stores C as t;
// gemm_batched_acc_<t> keeps C in fp32 (a sum accumulated over several launches with beta = 1, e.g. a weight
// gradient over sample tiles, must not be rounded to 16 bits between them).
#define DE_GEMM_ENTRY(NAME, T, TC)                                                                                  \
    extern "C" __global__ void __launch_bounds__(128)                                                               \
    NAME(const T* A, const T* B, TC* C, int M, int N, int K, int lda, int ldb, int ldc, long long strideA,          \
         long long strideB, long long strideC, int transA, int transB, float alpha, float beta) {                   \
        matmul_detail::sgemm_batched<T, TC>(A, B, C, M, N, K, lda, ldb, ldc, strideA, strideB, strideC, transA,     \
                                            transB, alpha, beta);                                                   \
    }
DE_GEMM_ENTRY(gemm_batched_f16, __half, __half)
DE_GEMM_ENTRY(gemm_batched_bf16, __nv_bfloat16, __nv_bfloat16)
DE_GEMM_ENTRY(gemm_batched_acc_f16, __half, float)
DE_GEMM_ENTRY(gemm_batched_acc_bf16, __nv_bfloat16, float)

extern "C" __global__ void linear_bias_fwd_f16(__half* __restrict__ y, const __half* __restrict__ bias, long long rows,
                                               int cols) {
    matmul_detail::bias_fill<__half>(y, bias, rows, cols);
}
extern "C" __global__ void linear_bias_fwd_bf16(__nv_bfloat16* __restrict__ y, const __nv_bfloat16* __restrict__ bias,
                                                long long rows, int cols) {
    matmul_detail::bias_fill<__nv_bfloat16>(y, bias, rows, cols);
}
// The column sums read 16-bit gradients and write fp32 (partials and, for the bias gradient, a final fp32 vector that
// CudaMatmul converts); the second pass over fp32 partials is linear_bias_bwd_f32.
extern "C" __global__ void __launch_bounds__(256)
linear_bias_bwd_f16(const __half* __restrict__ gy, float* __restrict__ out, long long rows, int cols, long long rowsPerChunk) {
    matmul_detail::column_sums<__half>(gy, out, rows, cols, rowsPerChunk);
}
extern "C" __global__ void __launch_bounds__(256)
linear_bias_bwd_bf16(const __nv_bfloat16* __restrict__ gy, float* __restrict__ out, long long rows, int cols,
                     long long rowsPerChunk) {
    matmul_detail::column_sums<__nv_bfloat16>(gy, out, rows, cols, rowsPerChunk);
}
