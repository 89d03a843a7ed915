// Internal state of the CUDA emulation's scheduler, shared by runtime.cpp (fibers, barriers, warp collectives,
// running a block) and launch.cpp (the worker pool and the launch entry point).
#pragma once

#include "cuda_emu.h"
#include "runtime.h"

#include <atomic>
#include <mutex>
#include <string>

namespace de_emu {

constexpr int kMaxThreads = 1024;
constexpr size_t kStackBytes = 64 * 1024;
constexpr size_t kGuardBytes = 4096;  // PROT_NONE below each stack: an overflow faults instead of corrupting
constexpr size_t kMaxDynamicShared = 48 * 1024;

enum class FState : unsigned char { Runnable, Running, AtBarrier, AtWarp, Done };

struct Fiber {
    void* sp;
    uint3 tid;
    FState state;
    int pred;            // __syncthreads_count/and/or argument
    int bar_mode;        // 0 plain, 1 count, 2 and, 3 or
    int bar_result;
    int wkind;
    unsigned wmask;
    int wsrc;            // source lane of a shuffle (own lane when out of range)
    uint64_t win, wout;  // value given to / result of a warp collective (an MMA gives a MmaLane*)
};

struct Job;

struct Worker {
    void* sched_sp = nullptr;
    Fiber* fibers = nullptr;
    unsigned char* stacks = nullptr;  // kMaxThreads slots of [guard][stack]
    int prepared = 0;                 // slots whose guard page is in place
    unsigned char* dsmem = nullptr;
    int queue[kMaxThreads];
    int qhead = 0, qcount = 0;
    int nthreads = 0, live = 0, arrived = 0;
    int bar_count = 0;  // predicates true among the fibers at the barrier
    Fiber* cur = nullptr;
    Job* job = nullptr;
    bool failed = false;
    std::string error;
};


// One launch, shared by the workers that run its blocks.
struct Job {
    const DeKernel* kernel;
    void** params;
    uint3 grid, block;
    int shared_bytes;
    long long nblocks;
    std::atomic<long long> next{0};
    std::atomic<bool> failed{false};
    std::mutex error_mu;
    std::string error;  // the first failure
};

Worker* new_worker();
void bind_worker(Worker* w);  // makes w the calling thread's worker
bool run_block(Worker& w);    // runs block blockIdx of w.job; false with w.error set on failure

}  // namespace de_emu
