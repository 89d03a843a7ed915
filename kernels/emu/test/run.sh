#!/usr/bin/env bash
# Native tests of the CUDA emulation, outside Maven: builds kernels/ with kernels/build.sh into a scratch
# directory ($DRAGEDIT_EMU_TEST_DIR, default /tmp/dragedit-emu-test), then runs driver.cpp (every selftest kernel
# against a host loop, the failure paths, the matmul timing) with the default worker count and with 4 and 1
# workers, repeats it with the emulation built on the fallback headers (no CUDA toolkit), and calls the JNI entry
# points once from Java through the real dev.dragedit.cuda.EmulatedNative when a JDK is there. When nvcc exists,
# build.sh has also compiled every kernel to PTX and sm_80..sm_90 cubins, so both compilers accept the sources.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KERNELS="$(cd "$HERE/../.." && pwd)"
REPO="$(cd "$KERNELS/.." && pwd)"
SCRATCH="${DRAGEDIT_EMU_TEST_DIR:-/tmp/dragedit-emu-test}"
CXX="${CXX:-g++}"

run_driver() {  # run_driver BUILD_DIR LABEL
    local dir=$1 label=$2 lib="$1/classes/native/linux-x86_64"
    "$CXX" -std=c++20 -O2 -Wall -Wextra -I"$KERNELS/emu" "$HERE/driver.cpp" -o "$dir/driver" -L"$lib" -ldragedit_emu \
        -Wl,-rpath,"$lib"
    for threads in "" 4 1; do
        echo "== driver ($label, workers: ${threads:-default})"
        DRAGEDIT_EMU_THREADS="$threads" "$dir/driver"
    done
}

bash "$KERNELS/build.sh" "$SCRATCH/cuda/classes" "$SCRATCH/cuda"
run_driver "$SCRATCH/cuda" "CUDA headers"
# As on a machine without the CUDA toolkit: no nvcc, no CUDA headers.
rm -rf "$SCRATCH/fallback/classes/cuda"
DRAGEDIT_NVCC=none DRAGEDIT_EMU_HEADERS=fallback bash "$KERNELS/build.sh" "$SCRATCH/fallback/classes" "$SCRATCH/fallback"
[[ ! -e $SCRATCH/fallback/classes/cuda ]] || { echo "build.sh without nvcc wrote CUDA outputs" >&2; exit 1; }
run_driver "$SCRATCH/fallback" "fallback headers"

NATIVE="$REPO/src/main/java/dev/dragedit/cuda/EmulatedNative.java"
if command -v javac >/dev/null && [[ -f $NATIVE ]]; then
    echo "== JNI smoke test through $NATIVE"
    rm -rf "$SCRATCH/java" && mkdir -p "$SCRATCH/java"
    javac -d "$SCRATCH/java" "$NATIVE" "$HERE/JniSmoke.java"
    java -Xcheck:jni -Ddragedit.emu.lib="$SCRATCH/cuda/classes/native/linux-x86_64/libdragedit_emu.so" \
        -cp "$SCRATCH/java" dev.dragedit.cuda.JniSmoke
else
    echo "== JNI smoke test skipped (no javac or no $NATIVE)"
fi
echo "emulation tests passed"
