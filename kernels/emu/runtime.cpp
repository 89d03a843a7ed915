// The scheduler of the CUDA emulation. A launch hands its blocks to a persistent pool of worker threads (one per
// core); a worker runs one block at a time, each CUDA thread of the block a fiber with its own small stack, all
// fibers of the block on that worker's OS thread, so __shared__ (thread_local) is per block and needs no locks.
// A fiber runs until it waits (__syncthreads, a warp collective) or returns; the worker then resumes the next
// runnable fiber. Switching is a hand-written x86-64 stack switch (callee-saved registers + rsp): swapcontext
// does a signal-mask system call per switch, which made a 512x529x503 tiled matmul ten times slower.
//
// Rules kept from the GPU: a __syncthreads completes when every non-exited thread of the block has arrived (PTX:
// bar.sync waits for the non-exited threads; all __syncthreads of a block are the same barrier 0); a warp
// collective completes when every non-exited lane named in its mask has arrived with the same mask and kind (the
// tensor-core MMA, a collective too, needs all 32 lanes and computes the warp's 16×8 product in scalar code). A
// block in which no fiber can run while some wait is a deadlock: the launch fails naming the kernel, the block
// and what the threads wait for. A blocking fiber switches straight to the next runnable one (one stack switch
// per resume, not two through the worker's own stack).
#include "cuda_emu.h"
#include "runtime.h"
#include "scheduler.h"

#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

__thread uint3 threadIdx;
__thread uint3 blockIdx;
__thread uint3 blockDim;
__thread uint3 gridDim;

// void de_emu_switch(void** save_sp, void* load_sp): pushes the callee-saved registers on the current stack,
// stores rsp in *save_sp, loads load_sp and pops the registers saved there. MXCSR and the x87 control word are
// not switched: every fiber runs with the worker's floating-point environment.
extern "C" void de_emu_switch(void** save_sp, void* load_sp);
asm(R"(
    .text
    .globl de_emu_switch
    .hidden de_emu_switch
    .type de_emu_switch, @function
    .p2align 4
de_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size de_emu_switch, .-de_emu_switch
)");

namespace de_emu {

__thread Worker* tl_worker;

const char* kind_name(int kind) {
    static const char* names[] = {"__syncwarp", "__shfl_sync", "__shfl_up_sync", "__shfl_down_sync", "__shfl_xor_sync",
                                  "__ballot_sync", "__any_sync", "__all_sync", "__match_any_sync", "__match_all_sync",
                                  "__reduce_add_sync", "__reduce_min_sync", "__reduce_max_sync", "__reduce_min_sync",
                                  "__reduce_max_sync", "__reduce_and_sync", "__reduce_or_sync", "__reduce_xor_sync",
                                  "de_mma_m16n8k16_f16", "de_mma_m16n8k16_bf16"};
    return kind >= 0 && kind < int(sizeof names / sizeof *names) ? names[kind] : "warp op";
}

std::string dim_str(uint3 d) {
    return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
}

std::string hex32(unsigned m) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", m);
    return buf;
}

void push(Worker& w, int i) {
    w.queue[(w.qhead + w.qcount) % kMaxThreads] = i;
    w.qcount++;
}

int pop(Worker& w) {
    int i = w.queue[w.qhead];
    w.qhead = (w.qhead + 1) % kMaxThreads;
    w.qcount--;
    return i;
}

// Ends the current fiber with an error: the block is abandoned (its other fibers are never resumed; their stacks
// are reset for the next block) and the launch reports the message.
[[noreturn]] void fail(Worker& w, std::string msg) {
    Fiber& f = *w.cur;
    w.failed = true;
    w.error = "block " + dim_str(blockIdx) + " thread " + dim_str(f.tid) + ": " + msg;
    msg.clear();
    msg.shrink_to_fit();  // this stack is never unwound
    f.state = FState::Done;
    de_emu_switch(&f.sp, w.sched_sp);
    __builtin_unreachable();
}

// Leaves fiber f (already marked waiting or done) for the next runnable fiber, or for the worker's scheduler loop
// when none is left. Whoever resumes f has set w.cur and threadIdx for it.
void switch_away(Worker& w, Fiber& f) {
    if (w.qcount > 0) {
        Fiber& next = w.fibers[pop(w)];
        w.cur = &next;
        next.state = FState::Running;
        threadIdx = next.tid;
        de_emu_switch(&f.sp, next.sp);
    } else {
        de_emu_switch(&f.sp, w.sched_sp);
    }
}

// Releases the block barrier once every live fiber waits at it; self (the arriving fiber, or null when a fiber's
// exit completed the barrier) keeps running instead of being queued.
void complete_block_barrier(Worker& w, Fiber* self) {
    int count = w.bar_count, arrived = w.arrived;
    for (int i = 0; i < w.nthreads; i++) {
        Fiber& f = w.fibers[i];
        if (f.state != FState::AtBarrier) continue;
        f.bar_result = f.bar_mode == 1 ? count : f.bar_mode == 2 ? (count == arrived) : f.bar_mode == 3 ? (count > 0) : 0;
        if (&f == self) {
            f.state = FState::Running;
        } else {
            f.state = FState::Runnable;
            push(w, i);
        }
    }
    w.arrived = 0;
    w.bar_count = 0;
}

int block_barrier(int pred, int mode) {
    Worker* wp = tl_worker;
    if (wp == nullptr || wp->cur == nullptr) return pred;  // not inside a kernel launch
    Worker& w = *wp;
    Fiber& f = *w.cur;
    f.state = FState::AtBarrier;
    f.bar_mode = mode;
    w.bar_count += pred != 0;
    w.arrived++;
    if (w.arrived == w.live) {
        complete_block_barrier(w, &f);
    } else {
        switch_away(w, f);
    }
    return f.bar_result;
}

// 16-bit storage bits -> fp32, exactly (every f16 and bf16 value is a float).
static float f16_bits_to_float(uint32_t h) {
    uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0x1f) return from_bits<float>(sign | 0x7f800000u | (mant << 13));  // inf, NaN (payload kept)
    if (exp == 0) {
        float v = std::ldexp(float(mant), -24);  // zero or subnormal: mant · 2^-24
        return sign ? -v : v;
    }
    return from_bits<float>(sign | ((exp + 112) << 23) | (mant << 13));
}
static float bf16_bits_to_float(uint32_t b) { return from_bits<float>((b & 0xffffu) << 16); }

// mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.f32 for a whole warp, from the fragment layout of the PTX ISA
// ("Matrix Fragments for mma.m16n8k16 with floating point type"): lane l has groupID g = l >> 2 and
// threadID_in_group t = l % 4; register a[r] holds A[g + 8·(r & 1)][2t + 8·(r >> 1) + {0, 1}] (low half first),
// b[r] holds B[2t + 8r + {0, 1}][g], and c[r], d[r] are element [g + 8·(r >> 1)][2t + (r & 1)] of C, D.
// D = C + A·B with one fp32 FMA per product in increasing k (the 16-bit inputs are exact in fp32; the GPU's
// order and internal precision of the accumulation are unspecified, so results may differ in the last bits).
static void complete_mma(Fiber* lanes, bool bf16) {
    float A[16][16], B[16][8], D[16][8];
    auto cvt = bf16 ? bf16_bits_to_float : f16_bits_to_float;
    for (int l = 0; l < 32; l++) {
        const MmaLane& f = *reinterpret_cast<const MmaLane*>(lanes[l].win);
        int g = l >> 2, t = l & 3;
        for (int r = 0; r < 4; r++) {
            int row = g + 8 * (r & 1), col = 2 * t + 8 * (r >> 1);
            A[row][col] = cvt(f.a[r] & 0xffffu);
            A[row][col + 1] = cvt(f.a[r] >> 16);
        }
        for (int r = 0; r < 2; r++) {
            int k = 2 * t + 8 * r;
            B[k][g] = cvt(f.b[r] & 0xffffu);
            B[k + 1][g] = cvt(f.b[r] >> 16);
        }
        for (int r = 0; r < 4; r++) D[g + 8 * (r >> 1)][2 * t + (r & 1)] = f.c[r];
    }
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 8; j++) {
            float s = D[i][j];
            for (int k = 0; k < 16; k++) s = std::fma(A[i][k], B[k][j], s);
            D[i][j] = s;
        }
    // Written only now: a lane's d may be its own c, which other lanes' results needed above.
    for (int l = 0; l < 32; l++) {
        const MmaLane& f = *reinterpret_cast<const MmaLane*>(lanes[l].win);
        int g = l >> 2, t = l & 3;
        for (int r = 0; r < 4; r++) f.d[r] = D[g + 8 * (r >> 1)][2 * t + (r & 1)];
    }
}

// Completes the warp collective that lane `idx` waits in, if every non-exited lane of its mask has arrived.
bool try_complete_warp(Worker& w, int idx, Fiber* self) {
    Fiber* F = w.fibers;
    int base = idx & ~31;
    unsigned mask = F[idx].wmask;
    int kind = F[idx].wkind;
    int nlanes = std::min(32, w.nthreads - base);
    unsigned exist = nlanes == 32 ? ~0u : (1u << nlanes) - 1;
    unsigned group = 0;
    for (unsigned m = mask & exist; m; m &= m - 1) {
        int j = __builtin_ctz(m);
        Fiber& g = F[base + j];
        if (g.state == FState::Done) continue;
        if (g.state != FState::AtWarp) return false;
        if (g.wmask != mask || g.wkind != kind) {
            fail(w, std::string("lanes of warp ") + std::to_string(base / 32) + " disagree: thread " + dim_str(F[idx].tid) +
                        " is in " + kind_name(kind) + "(mask " + hex32(mask) + ") while thread " + dim_str(g.tid) + " is in " +
                        kind_name(g.wkind) + "(mask " + hex32(g.wmask) + ")");
        }
        group |= 1u << j;
    }
    if (kind == WARP_MMA_F16 || kind == WARP_MMA_BF16) {
        // mma.sync.aligned: every lane of the warp takes part (PTX: undefined if a thread of the warp has exited).
        if (nlanes < 32) {
            fail(w, std::string(kind_name(kind)) + " in warp " + std::to_string(base / 32) + ", which has only " +
                        std::to_string(nlanes) + " threads: the block size must be a multiple of 32");
        }
        if (group != ~0u) {
            int gone = __builtin_ctz(~group);
            fail(w, std::string(kind_name(kind)) + " needs all 32 lanes of warp " + std::to_string(base / 32) +
                        ", but thread " + dim_str(F[base + gone].tid) + " has exited");
        }
        complete_mma(F + base, kind == WARP_MMA_BF16);
    }
    uint64_t common = 0;
    if (kind == WARP_BALLOT || kind == WARP_ANY || kind == WARP_ALL) {
        unsigned b = 0;
        for (unsigned m = group; m; m &= m - 1) b |= (F[base + __builtin_ctz(m)].win != 0) << __builtin_ctz(m);
        common = kind == WARP_BALLOT ? b : kind == WARP_ANY ? (b != 0) : (b == group);
    } else if (kind >= WARP_REDUCE_ADD && kind <= WARP_REDUCE_XOR) {
        bool first = true;
        for (unsigned m = group; m; m &= m - 1) {
            uint32_t v = uint32_t(F[base + __builtin_ctz(m)].win);
            uint32_t c = uint32_t(common);
            if (first) {
                c = v;
                first = false;
            } else if (kind == WARP_REDUCE_ADD) {
                c += v;
            } else if (kind == WARP_REDUCE_MIN_U) {
                c = std::min(c, v);
            } else if (kind == WARP_REDUCE_MAX_U) {
                c = std::max(c, v);
            } else if (kind == WARP_REDUCE_MIN_I) {
                c = uint32_t(std::min(int32_t(c), int32_t(v)));
            } else if (kind == WARP_REDUCE_MAX_I) {
                c = uint32_t(std::max(int32_t(c), int32_t(v)));
            } else if (kind == WARP_REDUCE_AND) {
                c &= v;
            } else if (kind == WARP_REDUCE_OR) {
                c |= v;
            } else {
                c ^= v;
            }
            common = c;
        }
    } else if (kind == WARP_MATCH_ALL) {
        uint64_t v0 = F[base + __builtin_ctz(group)].win;
        bool same = true;
        for (unsigned m = group; m; m &= m - 1) same = same && F[base + __builtin_ctz(m)].win == v0;
        common = same ? group : 0;
    }
    for (unsigned m = group; m; m &= m - 1) {
        Fiber& g = F[base + __builtin_ctz(m)];
        if (kind >= WARP_SHFL_IDX && kind <= WARP_SHFL_XOR) {
            g.wout = (group >> g.wsrc & 1) ? F[base + g.wsrc].win : g.win;
        } else if (kind == WARP_MATCH_ANY) {
            unsigned same = 0;
            for (unsigned k = group; k; k &= k - 1) same |= (F[base + __builtin_ctz(k)].win == g.win) << __builtin_ctz(k);
            g.wout = same;
        } else {
            g.wout = common;
        }
    }
    for (unsigned m = group; m; m &= m - 1) {
        int i = base + __builtin_ctz(m);
        Fiber& g = F[i];
        if (&g == self) {
            g.state = FState::Running;
        } else {
            g.state = FState::Runnable;
            push(w, i);
        }
    }
    return true;
}

// A returning fiber may be the last one a barrier or a warp collective was waiting for.
[[noreturn]] void fiber_exit(Worker& w) {
    Fiber& f = *w.cur;
    int idx = int(&f - w.fibers);
    f.state = FState::Done;
    w.live--;
    int base = idx & ~31, nlanes = std::min(32, w.nthreads - base);
    for (int j = 0; j < nlanes; j++) {
        Fiber& g = w.fibers[base + j];
        if (g.state == FState::AtWarp && (g.wmask >> (idx & 31) & 1)) try_complete_warp(w, base + j, nullptr);
    }
    if (w.arrived > 0 && w.arrived == w.live) complete_block_barrier(w, nullptr);
    switch_away(w, f);
    __builtin_unreachable();
}

uint64_t warp_op(int kind, unsigned mask, uint64_t value, int arg, int width) {
    Worker* wp = tl_worker;
    if (wp == nullptr || wp->cur == nullptr) return value;
    Worker& w = *wp;
    Fiber& f = *w.cur;
    int idx = int(&f - w.fibers), lane = idx & 31;
    if (!(mask >> lane & 1)) {
        fail(w, std::string(kind_name(kind)) + " with mask " + hex32(mask) + " called by lane " + std::to_string(lane) +
                    ", which the mask does not name");
    }
    if (width < 1 || width > 32 || (width & (width - 1)) != 0) {
        fail(w, std::string(kind_name(kind)) + " with width " + std::to_string(width) + " (must be a power of 2 up to 32)");
    }
    int in_group = lane & (width - 1), group_start = lane - in_group, src = lane;
    if (kind == WARP_SHFL_IDX) {
        src = group_start + (arg & (width - 1));
    } else if (kind == WARP_SHFL_UP) {
        if (arg >= 0 && in_group >= arg) src = lane - arg;
    } else if (kind == WARP_SHFL_DOWN) {
        if (arg >= 0 && in_group + arg < width) src = lane + arg;
    } else if (kind == WARP_SHFL_XOR) {
        int s = lane ^ (arg & 31);
        if (s < group_start + width) src = s;  // later groups give the caller's own value
    }
    f.wkind = kind;
    f.wmask = mask;
    f.win = value;
    f.wsrc = src;
    f.state = FState::AtWarp;
    if (!try_complete_warp(w, idx, &f)) switch_away(w, f);
    return f.wout;
}

unsigned active_mask() {
    Worker* wp = tl_worker;
    if (wp == nullptr || wp->cur == nullptr) return 1;
    Worker& w = *wp;
    int base = int(w.cur - w.fibers) & ~31, nlanes = std::min(32, w.nthreads - base);
    unsigned m = 0;
    for (int j = 0; j < nlanes; j++) m |= (w.fibers[base + j].state != FState::Done) << j;
    return m;
}

void* dynamic_shared() { return tl_worker ? tl_worker->dsmem : nullptr; }

void trap(const char* what) {
    Worker* wp = tl_worker;
    if (wp && wp->cur) fail(*wp, what);
    std::fprintf(stderr, "dragedit CUDA emulation: %s outside a kernel launch\n", what);
    std::abort();  // only reachable by calling device code from host code, never through a launch
}

long long clock_ticks() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace de_emu

void __syncthreads() { de_emu::block_barrier(0, 0); }
int __syncthreads_count(int p) { return de_emu::block_barrier(p, 1); }
int __syncthreads_and(int p) { return de_emu::block_barrier(p, 2); }
int __syncthreads_or(int p) { return de_emu::block_barrier(p, 3); }

// Kernels' assert() lands here (a hidden definition in this library takes precedence over glibc's for the
// library's own references): a failed assertion fails the launch instead of aborting the JVM.
extern "C" void __assert_fail(const char* expr, const char* file, unsigned int line, const char* func) noexcept {
    char what[1024];  // not a std::string: the failing fiber's stack is never unwound
    std::snprintf(what, sizeof what, "assert(%s) failed at %s:%u (%s)", expr, file, line, func);
    de_emu::trap(what);
}

namespace de_emu {

// The first code a fiber runs (entered by de_emu_switch's ret from a prepared stack).
extern "C" [[noreturn]] void de_emu_fiber_entry() {
    Worker& w = *tl_worker;
    std::string thrown;
    try {
        w.job->kernel->trampoline(w.job->params);
    } catch (const std::exception& e) {
        thrown = e.what();
        if (thrown.empty()) thrown = "std::exception";
    } catch (...) {
        thrown = "an exception";
    }
    if (!thrown.empty()) fail(w, "kernel threw " + thrown);
    fiber_exit(w);
}

// Stack slot i of a worker: [guard page][kStackBytes]. The slots are reserved at once (MAP_NORESERVE: only
// touched pages cost memory) and get their guard page when first used.
static void prepare_stacks(Worker& w, int n) {
    if (w.stacks == nullptr) {
        size_t bytes = size_t(kMaxThreads) * (kGuardBytes + kStackBytes);
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) throw std::runtime_error("cannot reserve fiber stacks (mmap of " + std::to_string(bytes) + " bytes failed)");
        w.stacks = static_cast<unsigned char*>(p);
    }
    for (; w.prepared < n; w.prepared++) {
        if (mprotect(w.stacks + size_t(w.prepared) * (kGuardBytes + kStackBytes), kGuardBytes, PROT_NONE) != 0) {
            throw std::runtime_error("cannot protect a fiber stack guard page (mprotect failed)");
        }
    }
}

Worker* new_worker() {
    Worker* w = new Worker();
    w->fibers = new Fiber[kMaxThreads]();
    w->dsmem = static_cast<unsigned char*>(aligned_alloc(256, kMaxDynamicShared));
    if (w->dsmem == nullptr) throw std::bad_alloc();
    return w;
}

void bind_worker(Worker* w) { tl_worker = w; }

// Runs the block blockIdx (already set) of w.job on this worker thread; false with w.error on failure.
bool run_block(Worker& w) {
    const Job& job = *w.job;
    int n = int(job.block.x * job.block.y * job.block.z);
    prepare_stacks(w, n);
    w.nthreads = n;
    w.live = n;
    w.arrived = 0;
    w.bar_count = 0;
    w.qhead = w.qcount = 0;
    w.failed = false;
    w.error.clear();
    // Shared memory is uninitialised on the GPU: NaN bytes make a kernel that forgets to fill it fail loudly.
    if (job.shared_bytes > 0) std::memset(w.dsmem, 0xFF, size_t(job.shared_bytes));
    for (int i = 0; i < n; i++) {
        Fiber& f = w.fibers[i];
        f = Fiber();
        f.tid = uint3{unsigned(i) % job.block.x, unsigned(i) / job.block.x % job.block.y, unsigned(i) / (job.block.x * job.block.y)};
        // A stack that de_emu_switch "returns" into de_emu_fiber_entry from: six callee-saved registers, the
        // entry address, and a null return address for the entry function (the 16-byte ABI alignment holds
        // at its first instruction: rsp = top - 8).
        // Stack tops staggered by a cache line per fiber: at one page offset, every switch would hit the same
        // few cache sets.
        auto* top = reinterpret_cast<uint64_t*>(w.stacks + size_t(i + 1) * (kGuardBytes + kStackBytes) - size_t(i % 64) * 64);
        top[-1] = 0;
        top[-2] = reinterpret_cast<uint64_t>(&de_emu_fiber_entry);
        for (int r = 3; r <= 8; r++) top[-r] = 0;
        f.sp = top - 8;
        f.state = FState::Runnable;
        push(w, i);
    }
    while (w.qcount > 0) {
        int i = pop(w);
        Fiber& f = w.fibers[i];
        w.cur = &f;
        f.state = FState::Running;
        threadIdx = f.tid;
        de_emu_switch(&w.sched_sp, f.sp);
        if (w.failed) break;
    }
    w.cur = nullptr;
    if (w.failed) return false;
    if (w.live == 0) return true;
    int at_barrier = 0, at_warp = 0, warp_example = -1, barrier_example = -1;
    for (int i = 0; i < n; i++) {
        if (w.fibers[i].state == FState::AtBarrier) {
            at_barrier++;
            if (barrier_example < 0) barrier_example = i;
        } else if (w.fibers[i].state == FState::AtWarp) {
            at_warp++;
            if (warp_example < 0) warp_example = i;
        }
    }
    std::string msg = "block " + dim_str(blockIdx) + ": deadlock, no thread can proceed: " + std::to_string(at_barrier) +
                      " threads wait at __syncthreads";
    if (barrier_example >= 0) msg += " (e.g. thread " + dim_str(w.fibers[barrier_example].tid) + ")";
    msg += ", " + std::to_string(at_warp) + " wait in warp collectives";
    if (warp_example >= 0) {
        const Fiber& f = w.fibers[warp_example];
        msg += std::string(" (e.g. thread ") + dim_str(f.tid) + " in " + kind_name(f.wkind) + " with mask " + hex32(f.wmask) +
               ", whose other lanes never arrive)";
    }
    msg += ", " + std::to_string(n - w.live) + " exited";
    w.error = msg;
    return false;
}

}  // namespace de_emu
