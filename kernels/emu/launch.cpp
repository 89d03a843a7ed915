// Kernel launches of the CUDA emulation: looks the kernel up in the generated table, checks the launch the way
// the GPU would refuse it (block over 1024 threads, grid dims out of range, too much dynamic shared memory) and
// the arguments against the kernel's declared parameters, then hands the blocks to a persistent pool of worker
// threads (one per core, or DRAGEDIT_EMU_THREADS) and, after the last block, verifies every buffer's red zones.
// Launches are serialised: one kernel runs at a time, like a single CUDA stream. Every failure comes back as a
// message naming the kernel and the launch geometry; nothing here throws past the API or aborts.
#include "scheduler.h"

#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace de_emu {
namespace {

struct Pool {
    std::mutex mu;
    std::condition_variable work_cv, done_cv;
    Job* job = nullptr;
    unsigned long long generation = 0;
    int finished = 0;
    int size = 0;
    std::mutex launch_mu;
    std::vector<std::atomic<long long>> counts;
    Pool() : counts(size_t(de_kernel_table_size)) {}
};

// Never destroyed: the workers block on it until the process exits (a joinable std::thread destroyed at exit
// would terminate the JVM).
Pool& pool() {
    static Pool* p = new Pool();
    return *p;
}

void run_job_blocks(Worker& w, Job& job) {
    w.job = &job;
    blockDim = job.block;
    gridDim = job.grid;
    while (!job.failed.load(std::memory_order_relaxed)) {
        long long b = job.next.fetch_add(1, std::memory_order_relaxed);
        if (b >= job.nblocks) break;
        blockIdx = uint3{unsigned(b % job.grid.x), unsigned(b / job.grid.x % job.grid.y), unsigned(b / job.grid.x / job.grid.y)};
        bool ok;
        try {
            ok = run_block(w);
        } catch (const std::exception& e) {
            ok = false;
            w.error = e.what();
        }
        if (!ok) {
            std::lock_guard<std::mutex> lock(job.error_mu);
            if (!job.failed.exchange(true)) job.error = w.error;
        }
    }
}

void worker_main(Worker* w) {
    // Asynchronous signals (the JVM's among them) must not land on a fiber's small stack.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    bind_worker(w);
    Pool& p = pool();
    unsigned long long seen = 0;
    for (;;) {
        Job* job;
        {
            std::unique_lock<std::mutex> lock(p.mu);
            p.work_cv.wait(lock, [&] { return p.generation != seen; });
            seen = p.generation;
            job = p.job;
        }
        run_job_blocks(*w, *job);
        {
            std::lock_guard<std::mutex> lock(p.mu);
            if (++p.finished == p.size) p.done_cv.notify_one();
        }
    }
}

// Starts the workers on the first launch (called with launch_mu held).
void start_pool(Pool& p) {
    if (p.size > 0) return;
    int n = int(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("DRAGEDIT_EMU_THREADS")) {
        int v = std::atoi(env);
        if (v > 0) n = v;
    }
    n = std::max(1, std::min(n, 256));
    // Counted as they start: should the system refuse a thread, the pool runs with those it has.
    for (int i = 0; i < n; i++) {
        try {
            Worker* w = new_worker();
            std::thread(worker_main, w).detach();
        } catch (const std::exception&) {
            if (p.size == 0) throw;
            return;
        }
        p.size++;
    }
}

const DeKernel* lookup(const char* name) {
    const DeKernel* end = de_kernel_table + de_kernel_table_size;
    const DeKernel* k = std::lower_bound(de_kernel_table, end, name,
                                         [](const DeKernel& e, const char* n) { return std::strcmp(e.name, n) < 0; });
    return k != end && std::strcmp(k->name, name) == 0 ? k : nullptr;
}

std::string check_geometry(uint3 grid, uint3 block, int shared_bytes, const int g[3], const int b[3]) {
    for (int d = 0; d < 3; d++) {
        if (b[d] < 1) return "block dimension " + std::string(1, "xyz"[d]) + " is " + std::to_string(b[d]) + " (must be >= 1)";
        if (g[d] < 1) return "grid dimension " + std::string(1, "xyz"[d]) + " is " + std::to_string(g[d]) + " (must be >= 1)";
    }
    if (block.x > 1024 || block.y > 1024 || block.z > 64) return "block exceeds the per-dimension limits (1024, 1024, 64)";
    if ((unsigned long long)block.x * block.y * block.z > 1024) {
        return "block has " + std::to_string((unsigned long long)block.x * block.y * block.z) + " threads, more than 1024";
    }
    if (grid.y > 65535 || grid.z > 65535) return "grid y and z must be at most 65535";
    if (shared_bytes < 0 || size_t(shared_bytes) > kMaxDynamicShared) {
        return "dynamic shared memory of " + std::to_string(shared_bytes) + " bytes is outside 0.." +
               std::to_string(kMaxDynamicShared) + " (the limit without a cuFuncSetAttribute opt-in)";
    }
    return "";
}

std::string launch(const char* name, const int g[3], const int b[3], int shared_bytes, const int64_t* args,
                   const char* kinds, int nargs) {
    uint3 grid{unsigned(g[0]), unsigned(g[1]), unsigned(g[2])}, block{unsigned(b[0]), unsigned(b[1]), unsigned(b[2])};
    std::string geometry = "grid (" + std::to_string(g[0]) + "," + std::to_string(g[1]) + "," + std::to_string(g[2]) +
                           ") block (" + std::to_string(b[0]) + "," + std::to_string(b[1]) + "," + std::to_string(b[2]) + ")";
    std::string where = "kernel " + std::string(name) + " " + geometry + ": ";
    const DeKernel* k = lookup(name);
    if (k == nullptr) return where + "unknown kernel (not an extern \"C\" __global__ function of kernels/*.cu)";
    std::string bad = check_geometry(grid, block, shared_bytes, g, b);
    if (!bad.empty()) return where + bad;
    std::string got(kinds ? kinds : "", kinds ? size_t(std::max(nargs, 0)) : 0);
    if (got != k->kinds) {
        return where + "arguments of kinds \"" + got + "\" do not match the parameters (" + k->signature + "), kinds \"" +
               k->kinds + "\" (p pointer, i int/unsigned, f float, l long long)";
    }
    std::vector<uint64_t> slots(size_t(nargs) + 1);
    std::vector<void*> params(size_t(nargs) + 1);
    for (int i = 0; i < nargs; i++) {
        slots[i] = uint64_t(args[i]);
        params[i] = &slots[i];
        if (kinds[i] == 'p') {
            std::string e = check_pointer_arg(reinterpret_cast<const void*>(uintptr_t(args[i])));
            if (!e.empty()) return where + "argument " + std::to_string(i) + " (pointer): " + e;
        }
    }
    Pool& p = pool();
    Job job;
    job.kernel = k;
    job.params = params.data();
    job.grid = grid;
    job.block = block;
    job.shared_bytes = shared_bytes;
    job.nblocks = (long long)grid.x * grid.y * grid.z;
    std::string oob;
    {
        std::lock_guard<std::mutex> launch_lock(p.launch_mu);
        start_pool(p);
        p.counts[size_t(k - de_kernel_table)].fetch_add(1, std::memory_order_relaxed);
        {
            std::lock_guard<std::mutex> lock(p.mu);
            p.job = &job;
            p.finished = 0;
            p.generation++;
        }
        p.work_cv.notify_all();
        std::unique_lock<std::mutex> lock(p.mu);
        p.done_cv.wait(lock, [&] { return p.finished == p.size; });
        p.job = nullptr;
        lock.unlock();
        // Before the next launch may start, and after a failed one too: a deadlocked block may have written out
        // of bounds before it hung.
        oob = check_red_zones(name);
    }
    if (job.failed) return where + job.error + (oob.empty() ? "" : "; " + oob);
    if (!oob.empty()) return oob + "; launch " + geometry;
    return "";
}

thread_local std::string api_message;

const char* message(std::string m) {
    if (m.empty()) return nullptr;
    api_message = std::move(m);
    return api_message.c_str();
}

}  // namespace
}  // namespace de_emu

using namespace de_emu;

DE_EMU_API const char* dragedit_emu_launch(const char* name, const int grid[3], const int block[3], int shared_bytes,
                                           const int64_t* args, const char* kinds, int nargs) {
    try {
        if (name == nullptr) return message("launch: null kernel name");
        if (nargs < 0 || (nargs > 0 && (args == nullptr || kinds == nullptr))) return message("launch: bad argument list");
        return message(launch(name, grid, block, shared_bytes, args, kinds, nargs));
    } catch (const std::exception& e) {
        return message(std::string("launch of ") + name + " failed: " + e.what());
    }
}

DE_EMU_API int dragedit_emu_kernel_count() { return de_kernel_table_size; }

DE_EMU_API const char* dragedit_emu_kernel_name(int index) {
    return index >= 0 && index < de_kernel_table_size ? de_kernel_table[index].name : nullptr;
}

DE_EMU_API int64_t dragedit_emu_launch_count(const char* name) {
    const DeKernel* k = name ? lookup(name) : nullptr;
    return k ? pool().counts[size_t(k - de_kernel_table)].load() : -1;
}

DE_EMU_API int dragedit_emu_worker_count() {
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.launch_mu);
    start_pool(p);
    return p.size;
}
