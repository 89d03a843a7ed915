// The interface of the CUDA emulation runtime (runtime.cpp) to its callers: the generated kernel table
// (registry.cpp, written by kernels/tools/gen_registry.py), the JNI layer (jni.cpp) and the native test driver
// (test/driver.cpp). The test driver lives outside the library, so the entry points it uses are a C API with
// error strings: no C++ types or exceptions cross the shared-library boundary.
#pragma once

#include <cstdint>

#define DE_EMU_API extern "C" __attribute__((visibility("default")))

// One entry per `extern "C" __global__` function of kernels/*.cu, sorted by name (strcmp order).
struct DeKernel {
    const char* name;
    void (*trampoline)(void** params);  // reads params[i] as the i-th parameter's type, calls the kernel
    const char* kinds;                  // one character per parameter: p pointer, i int32/uint32, f float, l int64
    const char* signature;              // the parameter list as declared, for error messages
};
extern const DeKernel de_kernel_table[] __attribute__((visibility("hidden")));
extern const int de_kernel_table_size __attribute__((visibility("hidden")));

// All functions returning const char* give nullptr on success, else a message that stays valid until the
// calling thread's next call into this API.
DE_EMU_API void* dragedit_emu_alloc(int64_t bytes);  // nullptr when bytes < 0 or memory is exhausted
DE_EMU_API const char* dragedit_emu_free(void* ptr);  // nullptr frees nothing
DE_EMU_API const char* dragedit_emu_memset(void* ptr, int value, int64_t bytes);
// Checks that [ptr, ptr + bytes) lies inside one live allocation; what names the caller in the message.
DE_EMU_API const char* dragedit_emu_check_range(const char* what, const void* ptr, int64_t bytes);
DE_EMU_API const char* dragedit_emu_copy(void* dst, const void* src, int64_t bytes);  // device to device
DE_EMU_API int dragedit_emu_kernel_count();
DE_EMU_API const char* dragedit_emu_kernel_name(int index);
DE_EMU_API int64_t dragedit_emu_launch_count(const char* name);  // -1 for an unknown kernel
// grid and block are 3 dims each; args: one 64-bit slot per parameter (value in the low bits), kinds as DeKernel.
DE_EMU_API const char* dragedit_emu_launch(const char* name, const int grid[3], const int block[3], int shared_bytes,
                                           const int64_t* args, const char* kinds, int nargs);
DE_EMU_API int dragedit_emu_worker_count();

#include <string>

namespace de_emu {
// memory.cpp, for the launcher: "" when ptr is null or inside a live allocation, else why not.
__attribute__((visibility("hidden"))) std::string check_pointer_arg(const void* ptr);
// memory.cpp: verifies (and restores) the red zones of every live allocation; "" when all are intact, else one
// "kernel K wrote out of bounds of a B-byte buffer at offset O ..." per damaged buffer.
__attribute__((visibility("hidden"))) std::string check_red_zones(const char* kernel);
}  // namespace de_emu
