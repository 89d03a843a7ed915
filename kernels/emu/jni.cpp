// JNI entry points of dev.dragedit.cuda.EmulatedNative (see src/main/java/dev/dragedit/cuda/EmulatedNative.java):
// thin wrappers over the emulation's C API (runtime.h). Launch failures come back as the String the Java side
// expects (null on success); misuse of memory (unknown pointer, range outside its allocation) throws
// IllegalArgumentException. No C++ exception crosses into the JVM and nothing here aborts the process.
#include <jni.h>

#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "runtime.h"

#define DE_JNI(ret, name) extern "C" JNIEXPORT ret JNICALL Java_dev_dragedit_cuda_EmulatedNative_##name

namespace {

void throw_java(JNIEnv* env, const char* cls, const char* msg) {
    if (env->ExceptionCheck()) return;  // one pending exception at a time; the first is the cause
    jclass c = env->FindClass(cls);
    if (c != nullptr) env->ThrowNew(c, msg);
}

// Throws IllegalArgumentException with msg when msg is non-null; returns whether it did.
bool raise(JNIEnv* env, const char* msg) {
    if (msg == nullptr) return false;
    throw_java(env, "java/lang/IllegalArgumentException", msg);
    return true;
}

void* ptr(jlong p) { return reinterpret_cast<void*>(static_cast<uintptr_t>(p)); }

// Checks [off, off + count) of a Java array of length len and the device range of count elements.
bool check_copy(JNIEnv* env, const char* what, jarray array, jint off, jint count, jlong device, size_t elem) {
    if (array == nullptr) {
        throw_java(env, "java/lang/NullPointerException", (std::string(what) + ": array is null").c_str());
        return false;
    }
    jsize len = env->GetArrayLength(array);
    if (off < 0 || count < 0 || off > len || count > len - off) {
        std::string m = std::string(what) + ": range [" + std::to_string(off) + ", " + std::to_string((long long)off + count) +
                        ") is outside the array of length " + std::to_string(len);
        throw_java(env, "java/lang/ArrayIndexOutOfBoundsException", m.c_str());
        return false;
    }
    return !raise(env, dragedit_emu_check_range(what, ptr(device), int64_t(count) * int64_t(elem)));
}

}  // namespace

DE_JNI(jlong, alloc)(JNIEnv*, jclass, jlong bytes) {
    return static_cast<jlong>(reinterpret_cast<uintptr_t>(dragedit_emu_alloc(bytes)));
}

DE_JNI(void, free)(JNIEnv* env, jclass, jlong p) { raise(env, dragedit_emu_free(ptr(p))); }

DE_JNI(void, memset)(JNIEnv* env, jclass, jlong p, jint value, jlong bytes) {
    raise(env, dragedit_emu_memset(ptr(p), value, bytes));
}

DE_JNI(void, copyInFloats)(JNIEnv* env, jclass, jlong dst, jfloatArray src, jint off, jint count) {
    if (check_copy(env, "copyInFloats", src, off, count, dst, sizeof(jfloat))) {
        env->GetFloatArrayRegion(src, off, count, static_cast<jfloat*>(ptr(dst)));
    }
}

DE_JNI(void, copyOutFloats)(JNIEnv* env, jclass, jlong src, jfloatArray dst, jint off, jint count) {
    if (check_copy(env, "copyOutFloats", dst, off, count, src, sizeof(jfloat))) {
        env->SetFloatArrayRegion(dst, off, count, static_cast<const jfloat*>(ptr(src)));
    }
}

DE_JNI(void, copyInBytes)(JNIEnv* env, jclass, jlong dst, jbyteArray src, jint off, jint count) {
    if (check_copy(env, "copyInBytes", src, off, count, dst, 1)) {
        env->GetByteArrayRegion(src, off, count, static_cast<jbyte*>(ptr(dst)));
    }
}

DE_JNI(void, copyOutBytes)(JNIEnv* env, jclass, jlong src, jbyteArray dst, jint off, jint count) {
    if (check_copy(env, "copyOutBytes", dst, off, count, src, 1)) {
        env->SetByteArrayRegion(dst, off, count, static_cast<const jbyte*>(ptr(src)));
    }
}

DE_JNI(void, copyDeviceToDevice)(JNIEnv* env, jclass, jlong dst, jlong src, jlong bytes) {
    raise(env, dragedit_emu_copy(ptr(dst), ptr(src), bytes));
}

DE_JNI(jobjectArray, kernelNames)(JNIEnv* env, jclass) {
    int n = dragedit_emu_kernel_count();
    jclass string_class = env->FindClass("java/lang/String");
    if (string_class == nullptr) return nullptr;
    jobjectArray names = env->NewObjectArray(n, string_class, nullptr);
    if (names == nullptr) return nullptr;
    for (int i = 0; i < n; i++) {
        jstring s = env->NewStringUTF(dragedit_emu_kernel_name(i));
        if (s == nullptr) return nullptr;
        env->SetObjectArrayElement(names, i, s);
        env->DeleteLocalRef(s);
    }
    return names;
}

DE_JNI(jstring, launch)(JNIEnv* env, jclass, jstring name, jint gx, jint gy, jint gz, jint bx, jint by, jint bz,
                        jint shared_bytes, jlongArray arg_bits, jbyteArray arg_kinds) {
    if (name == nullptr) return env->NewStringUTF("launch: kernel name is null");
    const char* utf = env->GetStringUTFChars(name, nullptr);
    if (utf == nullptr) return nullptr;  // OutOfMemoryError pending
    std::string kernel(utf);
    env->ReleaseStringUTFChars(name, utf);
    jsize nbits = arg_bits ? env->GetArrayLength(arg_bits) : 0;
    jsize nkinds = arg_kinds ? env->GetArrayLength(arg_kinds) : 0;
    if (nbits != nkinds) {
        std::string m = "kernel " + kernel + ": " + std::to_string(nbits) + " argument values but " + std::to_string(nkinds) + " kinds";
        return env->NewStringUTF(m.c_str());
    }
    std::vector<int64_t> bits(size_t(nbits) + 1);
    std::vector<char> kinds(size_t(nkinds) + 1);
    if (nbits > 0) {
        env->GetLongArrayRegion(arg_bits, 0, nbits, reinterpret_cast<jlong*>(bits.data()));
        env->GetByteArrayRegion(arg_kinds, 0, nkinds, reinterpret_cast<jbyte*>(kinds.data()));
    }
    const int grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
    const char* err = dragedit_emu_launch(kernel.c_str(), grid, block, shared_bytes, bits.data(), kinds.data(), nbits);
    return err ? env->NewStringUTF(err) : nullptr;
}

DE_JNI(jlong, launchCount)(JNIEnv* env, jclass, jstring name) {
    if (name == nullptr) return -1;
    const char* utf = env->GetStringUTFChars(name, nullptr);
    if (utf == nullptr) return -1;
    jlong n = dragedit_emu_launch_count(utf);
    env->ReleaseStringUTFChars(name, utf);
    return n;
}
