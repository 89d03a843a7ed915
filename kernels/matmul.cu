// Matrix products of the CUDA backend (dev.dragedit.cuda.ops.CudaMatmul): a batched SGEMM, a tensor-core GEMM for
// fp16/bf16 operands, and the two small kernels around them that torch.nn.functional.linear and its backward need.
//
//   sgemm_batched_f32    C_b = alpha · op(A_b) · op(B_b) + beta · C_b for b = blockIdx.z, all row-major:
//                        op(A) is M×K, stored [M, lda] (transA = 0) or [K, lda] read transposed (transA = 1);
//                        op(B) is K×N, stored [K, ldb] (transB = 0) or [N, ldb] read transposed (transB = 1);
//                        C is [M, ldc]. Operand b starts strideX elements after operand b−1 (0: shared by every
//                        batch). beta = 0 never reads C, so C may hold garbage (NaN) then, as in BLAS.
//                        Launch: block (128), grid (ceil(M/64), ceil(N/64), batch ≤ 65535) — M on x, whose limit
//                        is 2^31−1, since the tall side of a linear layer (batch · tokens) is M.
//   gemm_tc_f16/_bf16    the same product, parameters and launch geometry for fp16 / bf16 A, B and C, on tensor
//   gemm_tc_acc_f16/_bf16  cores (mma.sync m16n8k16, fp32 accumulation); the _acc_ variants keep C in fp32.
//   linear_bias_fwd_f32  y[r, c] = bias[c] for r < rows: presets a linear's output so the GEMM adds onto it
//                        (beta = 1). Grid-stride; any 1-D launch. Also _f16, _bf16.
//   linear_bias_bwd_f32  out[y, c] = Σ_{r in chunk y} gy[r, c], chunk y = rows [y·rowsPerChunk, (y+1)·rowsPerChunk):
//                        column sums (the bias gradient), in one pass (grid.y = 1) or two (partials, then the
//                        same kernel over the partials), always in the same order, so results are deterministic.
//                        Launch: block (32, 8), grid (ceil(cols/32), chunks). _f16/_bf16 read 16-bit, write fp32.
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
// zeros and never stored.
//
// The tensor-core GEMM (namespace matmul_tc) keeps the SGEMM's block tile, thread count, grid and prefetch, so
// CudaMatmul launches both alike; only the inner product changes. A block of 4 warps owns a 64×64 tile of C, each
// warp a 32×32 quarter (2 × 2 warps) as 2 × 4 MMA tiles of 16×8, with 2·4·4 = 32 fp32 accumulators per thread in
// registers. K advances 32 at a time: the 64×32 tiles of op(A) and op(B)ᵀ are staged in shared memory as 16-bit
// values, both "k-contiguous" — As[m][k], Bs[n][k], as 32-bit words holding the pair (k, k+1) — because that is
// how an mma.sync.m16n8k16.row.col fragment reads them: each register a lane passes is one aligned word, A's at
// (row g or g+8, word q or q+4) and B's at (column g, word q or q+4), g = lane/4, q = lane%4 (kernels/mma.cuh).
// Rows are padded from 16 to 20 words, so the 8 rows × 4 words a warp reads per fragment fall in 32 different
// banks; the loads that stage a transposed operand (m- or n-contiguous in memory) store down a column of the tile
// and take 4-way conflicts, once per K step against 16 conflict-free fragment reads. Global loads are 16-bit and
// coalesced for every layout as in the SGEMM (16 threads per row pair run, or 64 threads along m / n), zeros
// outside the matrix, so ragged M, N and K need no special case; the next K step's loads are held in 16 registers
// during this step's 16 MMAs per warp. Epilogue straight from the accumulators (the c-fragment layout: rows g and
// g+8, columns 2q and 2q+1 of each 16×8 tile), with alpha, and beta·C read only when beta ≠ 0. Not yet done:
// 128-bit global loads and ldmatrix (need aligned leading dimensions), cp.async multi-stage pipelining, a larger
// block tile for big problems — none of which changes the fragment arithmetic the tests pin down.
#include "common.cuh"
#include "mma.cuh"

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

// ---- tensor-core GEMM for fp16 / bf16 operands (design in the file header) ---------------------------------------
namespace matmul_tc {

constexpr int BM = 64, BN = 64, BK = 32;     // block tile of C and the K step
constexpr int WM = 32, WN = 32;              // warp tile: the 4 warps form 2 × 2
constexpr int THREADS = 128;
constexpr int KW = BK / 2;                   // 32-bit words (k pairs) in a tile row
constexpr int LDW = KW + 4;                  // padded row: 20 words, so 8 rows × 4 words of a fragment hit 32 banks
constexpr int LOADS = BM * KW / THREADS;     // words of each operand a thread stages per K step (8)

static_assert(BM == BN && BM == 2 * WM && BN == 2 * WN && THREADS == 4 * 32, "2 × 2 warps of 32 × 32");
static_assert(THREADS % KW == 0 && THREADS % BM == 0, "tile loads assume these divide");

// Stages the 64 × 32 tile of one operand at (r0, k0) — r is m for A, n for B — as words S[r][k/2] holding the k
// pair (k, k+1). K_CONTIG: element (r, k) is P[r·ld + k] (A not transposed, B transposed): 16 consecutive threads
// take the 16 k pairs of one row. Otherwise it is P[k·ld + r] (A transposed, B not): 64 consecutive threads take
// consecutive r of rows k and k+1. Either way a warp's loads are contiguous runs of memory. Outside the matrix
// (r ≥ R, k ≥ K) the values are zeros, which add nothing to the products.
template <class T, bool K_CONTIG>
__device__ __forceinline__ void load_tile(const T* __restrict__ P, int ld, int R, int K, int r0, int k0, int t,
                                          uint32_t (&w)[LOADS]) {
    const T zero = de_from_float<T>(0.0f);
    MM_UNROLL
    for (int i = 0; i < LOADS; i++) {
        int r, kw;
        if (K_CONTIG) { kw = t % KW; r = t / KW + i * (THREADS / KW); }
        else          { r = t % BM; kw = t / BM + i * (THREADS / BM); }
        int gr = r0 + r, gk = k0 + 2 * kw;
        T lo = zero, hi = zero;
        if (gr < R) {
            if (K_CONTIG) {
                const T* p = P + (long long)gr * ld + gk;
                if (gk < K) lo = p[0];
                if (gk + 1 < K) hi = p[1];
            } else {
                if (gk < K) lo = P[(long long)gk * ld + gr];
                if (gk + 1 < K) hi = P[(long long)(gk + 1) * ld + gr];
            }
        }
        w[i] = de_pack2(lo, hi);
    }
}

template <bool K_CONTIG>
__device__ __forceinline__ void store_tile(uint32_t (*S)[LDW], int t, const uint32_t (&w)[LOADS]) {
    MM_UNROLL
    for (int i = 0; i < LOADS; i++) {
        if (K_CONTIG) S[t / KW + i * (THREADS / KW)][t % KW] = w[i];
        else          S[t % BM][t / BM + i * (THREADS / BM)] = w[i];
    }
}

// One 64 × 64 tile of C = alpha·op(A)·op(B) + beta·C; A, B, C already offset to this block's batch.
template <class T, class TC, bool TRANS_A, bool TRANS_B>
__device__ __forceinline__ void gemm_tile(const T* __restrict__ A, const T* __restrict__ B, TC* __restrict__ C,
                                          int M, int N, int K, int lda, int ldb, int ldc, float alpha, float beta,
                                          uint32_t (*As)[LDW], uint32_t (*Bs)[LDW]) {
    const int t = threadIdx.x, lane = t & 31, warp = t >> 5;
    const int g = lane >> 2, q = lane & 3;  // the PTX fragment layout's groupID and threadID_in_group
    const int wm = (warp & 1) * WM, wn = (warp >> 1) * WN;
    const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
    float acc[2][4][4];  // [m16 tile][n8 tile][c register]
    MM_UNROLL
    for (int i = 0; i < 2; i++) {
        MM_UNROLL
        for (int j = 0; j < 4; j++) {
            MM_UNROLL
            for (int r = 0; r < 4; r++) acc[i][j][r] = 0.0f;
        }
    }
    uint32_t ra[LOADS], rb[LOADS];
    load_tile<T, !TRANS_A>(A, lda, M, K, m0, 0, t, ra);
    load_tile<T, TRANS_B>(B, ldb, N, K, n0, 0, t, rb);
    for (int k0 = 0; k0 < K; k0 += BK) {
        store_tile<!TRANS_A>(As, t, ra);
        store_tile<TRANS_B>(Bs, t, rb);
        __syncthreads();
        if (k0 + BK < K) {  // uniform over the block: the next tile's loads overlap this tile's MMAs
            load_tile<T, !TRANS_A>(A, lda, M, K, m0, k0 + BK, t, ra);
            load_tile<T, TRANS_B>(B, ldb, N, K, n0, k0 + BK, t, rb);
        }
        MM_UNROLL
        for (int kk = 0; kk < KW; kk += 8) {  // two k16 steps, 8 words each
            uint32_t af[2][4], bf[4][2];
            MM_UNROLL
            for (int i = 0; i < 2; i++) {
                int row = wm + 16 * i + g;
                af[i][0] = As[row][kk + q];
                af[i][1] = As[row + 8][kk + q];
                af[i][2] = As[row][kk + q + 4];
                af[i][3] = As[row + 8][kk + q + 4];
            }
            MM_UNROLL
            for (int j = 0; j < 4; j++) {
                int col = wn + 8 * j + g;
                bf[j][0] = Bs[col][kk + q];
                bf[j][1] = Bs[col][kk + q + 4];
            }
            MM_UNROLL
            for (int i = 0; i < 2; i++) {
                MM_UNROLL
                for (int j = 0; j < 4; j++) DeMma<T>::run(acc[i][j], af[i], bf[j], acc[i][j]);
            }
        }
        __syncthreads();  // the next iteration overwrites tiles other warps may still be reading
    }
    MM_UNROLL
    for (int i = 0; i < 2; i++) {
        MM_UNROLL
        for (int r = 0; r < 4; r += 2) {
            int gm = m0 + wm + 16 * i + g + 8 * (r >> 1);
            if (gm >= M) continue;
            TC* row = C + (long long)gm * ldc;
            MM_UNROLL
            for (int j = 0; j < 4; j++) {
                MM_UNROLL
                for (int e = 0; e < 2; e++) {
                    int gn = n0 + wn + 8 * j + 2 * q + e;
                    if (gn >= N) continue;
                    float v = alpha * acc[i][j][r + e];
                    if (beta != 0.0f) v = fmaf(beta, de_to_float(row[gn]), v);
                    row[gn] = de_from_float<TC>(v);
                }
            }
        }
    }
}

template <class T, class TC>
__device__ __forceinline__ void gemm_tc(const T* A, const T* B, TC* C, int M, int N, int K, int lda, int ldb, int ldc,
                                        long long strideA, long long strideB, long long strideC, int transA, int transB,
                                        float alpha, float beta) {
    __shared__ __align__(16) uint32_t As[BM][LDW];  // op(A) tile, As[m][k/2]
    __shared__ __align__(16) uint32_t Bs[BN][LDW];  // op(B) tile, Bs[n][k/2]
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

}  // namespace matmul_tc

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

// 16-bit operands: the tensor-core GEMM (matmul_tc above). gemm_tc_<t> stores C as t; gemm_tc_acc_<t> keeps C in
// fp32 (a sum accumulated over several launches with beta = 1, e.g. a weight gradient over sample tiles, must not be
// rounded to 16 bits between them).
#define DE_GEMM_TC_ENTRY(NAME, T, TC)                                                                               \
    extern "C" __global__ void __launch_bounds__(128)                                                               \
    NAME(const T* A, const T* B, TC* C, int M, int N, int K, int lda, int ldb, int ldc, long long strideA,          \
         long long strideB, long long strideC, int transA, int transB, float alpha, float beta) {                   \
        matmul_tc::gemm_tc<T, TC>(A, B, C, M, N, K, lda, ldb, ldc, strideA, strideB, strideC, transA, transB,       \
                                  alpha, beta);                                                                     \
    }
DE_GEMM_TC_ENTRY(gemm_tc_f16, __half, __half)
DE_GEMM_TC_ENTRY(gemm_tc_bf16, __nv_bfloat16, __nv_bfloat16)
DE_GEMM_TC_ENTRY(gemm_tc_acc_f16, __half, float)
DE_GEMM_TC_ENTRY(gemm_tc_acc_bf16, __nv_bfloat16, float)

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
