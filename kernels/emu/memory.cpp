// Device memory of the CUDA emulation: host allocations with red zones, so a kernel that writes past either end
// of a buffer is caught after its launch instead of silently corrupting a neighbour. Each allocation is
//   [256-byte head red zone][user bytes][tail red zone, 256 bytes + padding to a multiple of 256]
// with user pointers 256-byte aligned like cudaMalloc's. The zones hold a position-dependent byte pattern (a
// constant fill would miss a kernel that happens to write the constant) and are checked for every live
// allocation after every launch. Fresh memory is filled with 0xFF bytes (a float NaN), like uninitialised GPU
// memory, so a missing initialisation shows up in tests instead of reading as zeros. Reads out of bounds are
// not caught.
#include "runtime.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace de_emu {
namespace {

constexpr size_t kRedZone = 256;
constexpr size_t kAlign = 256;

struct Allocation {
    unsigned char* base;
    size_t total;  // head zone + bytes + tail zone
    size_t bytes;  // what the caller asked for
};

struct Registry {
    std::mutex mu;
    std::map<uintptr_t, Allocation> live;  // keyed by user pointer
    unsigned char pattern[2 * kRedZone];
    Registry() {
        for (size_t k = 0; k < sizeof pattern; k++) pattern[k] = (unsigned char)(0xA7 ^ (k * 0x3D) ^ (k >> 3));
    }
};

Registry& registry() {
    static Registry* r = new Registry();  // never destroyed: allocations may be freed during JVM shutdown
    return *r;
}

std::string hex(const void* p) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)(uintptr_t)p);
    return buf;
}

void fill_zones(const Registry& r, const Allocation& a) {
    std::memcpy(a.base, r.pattern, kRedZone);
    std::memcpy(a.base + kRedZone + a.bytes, r.pattern, a.total - kRedZone - a.bytes);
}

// The allocation containing [p, p + bytes), or nullptr. An empty range may sit at the end: a pointer one past
// the last element is a valid kernel argument.
const Allocation* find(Registry& r, uintptr_t p, uint64_t bytes, uintptr_t* user_out) {
    auto it = r.live.upper_bound(p);
    if (it == r.live.begin()) return nullptr;
    --it;
    uintptr_t user = it->first;
    const Allocation& a = it->second;
    if (p - user > a.bytes || bytes > a.bytes - (p - user)) return nullptr;
    *user_out = user;
    return &a;
}

thread_local std::string api_message;

const char* message(std::string m) {
    if (m.empty()) return nullptr;
    api_message = std::move(m);
    return api_message.c_str();
}

std::string range_error(Registry& r, const char* what, const void* ptr, int64_t bytes) {
    if (bytes < 0) return std::string(what) + ": negative byte count " + std::to_string(bytes);
    uintptr_t p = (uintptr_t)ptr, user = 0;
    if (find(r, p, (uint64_t)bytes, &user)) return "";
    // Name the allocation the range starts in, if any, to tell an overrun from a stale pointer.
    auto it = r.live.upper_bound(p);
    if (it != r.live.begin()) {
        --it;
        if (p - it->first <= it->second.bytes) {
            return std::string(what) + ": " + std::to_string(bytes) + " bytes at offset " + std::to_string(p - it->first) +
                   " overrun the " + std::to_string(it->second.bytes) + "-byte device allocation at " + hex((void*)it->first);
        }
    }
    return std::string(what) + ": " + hex(ptr) + " is not inside a live device allocation (freed, or never allocated here)";
}

}  // namespace

std::string check_pointer_arg(const void* ptr) {
    if (ptr == nullptr) return "";
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    uintptr_t user = 0;
    if (find(r, (uintptr_t)ptr, 0, &user)) return "";
    return hex(ptr) + " is not inside a live device allocation (freed, or never allocated here)";
}

std::string check_red_zones(const char* kernel) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    std::string report;
    for (auto& [user, a] : r.live) {
        size_t tail = a.total - kRedZone - a.bytes;
        const unsigned char* head_p = a.base;
        const unsigned char* tail_p = a.base + kRedZone + a.bytes;
        bool head_ok = std::memcmp(head_p, r.pattern, kRedZone) == 0;
        bool tail_ok = std::memcmp(tail_p, r.pattern, tail) == 0;
        if (head_ok && tail_ok) continue;
        // Offsets relative to the user pointer: negative before the buffer, >= bytes after it.
        long long first = 0, last = 0;
        bool any = false;
        auto scan = [&](const unsigned char* z, size_t n, long long origin) {
            for (size_t k = 0; k < n; k++) {
                if (z[k] == r.pattern[k]) continue;
                if (!any) first = origin + (long long)k;
                last = origin + (long long)k;
                any = true;
            }
        };
        scan(head_p, kRedZone, -(long long)kRedZone);
        scan(tail_p, tail, (long long)a.bytes);
        if (!report.empty()) report += "; ";
        report += "kernel " + std::string(kernel) + " wrote out of bounds of a " + std::to_string(a.bytes) +
                  "-byte buffer at offset " + std::to_string(first) +
                  " (" + (last != first ? "bytes " + std::to_string(first) + ".." + std::to_string(last) + " damaged, " : "") +
                  "buffer " + hex((void*)user) + "; red zone restored)";
        fill_zones(r, a);
    }
    return report;
}

}  // namespace de_emu

using namespace de_emu;

DE_EMU_API void* dragedit_emu_alloc(int64_t bytes) {
    if (bytes < 0) return nullptr;
    size_t n = (size_t)bytes;
    if (n > (SIZE_MAX >> 2)) return nullptr;
    size_t total = (kRedZone + n + kRedZone + kAlign - 1) / kAlign * kAlign;
    void* base = nullptr;
    if (posix_memalign(&base, kAlign, total) != 0) return nullptr;
    Allocation a{(unsigned char*)base, total, n};
    unsigned char* user = a.base + kRedZone;
    std::memset(user, 0xFF, n);
    Registry& r = registry();
    fill_zones(r, a);
    std::lock_guard<std::mutex> lock(r.mu);
    r.live.emplace((uintptr_t)user, a);
    return user;
}

DE_EMU_API const char* dragedit_emu_free(void* ptr) {
    if (ptr == nullptr) return nullptr;
    Registry& r = registry();
    std::unique_lock<std::mutex> lock(r.mu);
    auto it = r.live.find((uintptr_t)ptr);
    if (it == r.live.end()) {
        uintptr_t user = 0;
        const Allocation* inside = find(r, (uintptr_t)ptr, 0, &user);
        lock.unlock();
        if (inside) {
            return message("free: " + hex(ptr) + " points at offset " + std::to_string((uintptr_t)ptr - user) + " of the " +
                           std::to_string(inside->bytes) + "-byte allocation at " + hex((void*)user) + ", not at its start");
        }
        return message("free: " + hex(ptr) + " is not a live device allocation (freed twice, or never allocated here)");
    }
    unsigned char* base = it->second.base;
    r.live.erase(it);
    lock.unlock();
    std::free(base);
    return nullptr;
}

DE_EMU_API const char* dragedit_emu_check_range(const char* what, const void* ptr, int64_t bytes) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    return message(range_error(r, what, ptr, bytes));
}

DE_EMU_API const char* dragedit_emu_memset(void* ptr, int value, int64_t bytes) {
    if (const char* e = dragedit_emu_check_range("memset", ptr, bytes)) return e;
    std::memset(ptr, value & 0xFF, (size_t)bytes);
    return nullptr;
}

DE_EMU_API const char* dragedit_emu_copy(void* dst, const void* src, int64_t bytes) {
    if (const char* e = dragedit_emu_check_range("copyDeviceToDevice (source)", src, bytes)) return e;
    if (const char* e = dragedit_emu_check_range("copyDeviceToDevice (destination)", dst, bytes)) return e;
    std::memmove(dst, src, (size_t)bytes);
    return nullptr;
}
