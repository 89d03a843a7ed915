#!/usr/bin/env bash
# The native build of the kernels, run by Maven (src/pom.xml, phase process-resources) as
#   kernels/build.sh <outDir> [<reportDir>]
# outDir is the classes directory, so what lands there travels in the jar:
#   native/linux-x86_64/libdragedit_emu.so   every kernels/*.cu compiled by g++ with the CUDA emulation
#                                            (emu/cuda_emu.h force-included) + the emulation runtime + JNI
#   cuda/kernels.ptx                         nvcc, compute_80, all kernels in one module (a generated unity file)
#   cuda/kernels_sm{80,86,89,90}.cubin       nvcc cubins of the same module
# and reportDir (default: the parent of outDir) gets ptxas-report.txt (registers, spills, shared memory of every
# kernel per architecture) and the intermediate files (kernels-obj/). A kernel that spills registers fails the
# build unless kernels/spill-allowlist.txt names it with a reason. Without nvcc the CUDA outputs are skipped
# ("nvcc not found: CUDA kernels not built"); without g++ the build fails. Each step is skipped when its outputs
# are newer than all of its inputs. Environment: CXX (default g++), DRAGEDIT_EMU_CXXFLAGS (added to g++'s flags),
# CUDA_HOME, JAVA_HOME, DRAGEDIT_NVCC (a path, or
# "none" to build as if nvcc were absent), DRAGEDIT_EMU_HEADERS=fallback (the emulation takes vector types and
# fp16/bf16 from kernels/emu/fallback/ instead of the CUDA toolkit, as it does where there is no toolkit).
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: kernels/build.sh <outDir> [<reportDir>]" >&2
    exit 2
fi
KERNELS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
OUT="$(cd "$1" && pwd)"
REPORT="${2:-$(dirname "$OUT")}"
mkdir -p "$REPORT"
REPORT="$(cd "$REPORT" && pwd)"
OBJ="$REPORT/kernels-obj"
JOBS="$(nproc 2>/dev/null || echo 2)"

say() { echo "kernels/build.sh: $*"; }
die() { echo "kernels/build.sh: error: $*" >&2; exit 1; }

# True when every output exists and is newer than every input: up_to_date OUT... -- IN...
up_to_date() {
    local outs=() f o
    while [[ $1 != -- ]]; do outs+=("$1"); shift; done
    shift
    for o in "${outs[@]}"; do
        [[ -e $o ]] || return 1
        for f in "$@"; do [[ $o -nt $f ]] || return 1; done
    done
    return 0
}

# Runs queued commands at most $JOBS at a time; each logs to its own file (shown when it fails) and leaves its
# exit status in <log>.rc (wait -n reaps jobs whose status a later wait could no longer see).
LOGS=() NAMES=()
run_bg() {
    local name=$1 log=$2
    shift 2
    while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || true; done
    rm -f "$log.rc"
    ( set +e; "$@" >"$log" 2>&1; echo $? >"$log.rc" ) &
    LOGS+=("$log") NAMES+=("$name")
}
wait_all() {
    local i failed=0
    wait
    for i in "${!LOGS[@]}"; do
        if [[ "$(cat "${LOGS[$i]}.rc" 2>/dev/null)" != 0 ]]; then
            echo "---- ${NAMES[$i]} failed:" >&2
            cat "${LOGS[$i]}" >&2
            failed=1
        elif grep -q -i "warning" "${LOGS[$i]}"; then
            grep -v -E "^ptxas info|bytes stack frame" "${LOGS[$i]}" || true  # the -v report goes to ptxas-report.txt
        fi
    done
    LOGS=() NAMES=()
    return $failed
}

shopt -s nullglob
CU=("$KERNELS"/*.cu)
CUH=("$KERNELS"/*.cuh)
(( ${#CU[@]} > 0 )) || die "no kernels/*.cu to build"

# ---- tools -----------------------------------------------------------------------------------------------------
CXX="${CXX:-g++}"
command -v "$CXX" >/dev/null 2>&1 || die "$CXX not found: the CUDA emulation library (libdragedit_emu.so) needs a C++20 g++ (12 or newer; Debian/Ubuntu: apt-get install g++)"
command -v python3 >/dev/null 2>&1 || die "python3 not found: kernels/tools/gen_registry.py writes the kernel table"
NVCC=""
if [[ -n ${DRAGEDIT_NVCC:-} && $DRAGEDIT_NVCC != none ]]; then
    [[ -x $DRAGEDIT_NVCC ]] || die "DRAGEDIT_NVCC=$DRAGEDIT_NVCC is not an executable"
    NVCC="$DRAGEDIT_NVCC"
elif [[ -z ${DRAGEDIT_NVCC:-} ]]; then
    for c in ${CUDA_HOME:+"$CUDA_HOME/bin/nvcc"} /usr/local/cuda/bin/nvcc "$(command -v nvcc || true)"; do
        if [[ -n $c && -x $c ]]; then NVCC="$c"; break; fi
    done
fi
CUDA_INC=""
if [[ ${DRAGEDIT_EMU_HEADERS:-} != fallback ]]; then
    for d in ${CUDA_HOME:+"$CUDA_HOME/include"} ${NVCC:+"$(dirname "$NVCC")/../include"} /usr/local/cuda/include; do
        if [[ -f $d/cuda_fp16.h ]]; then CUDA_INC="$(cd "$d" && pwd)"; break; fi
    done
fi
if [[ -n $CUDA_INC ]]; then
    EMU_INC=(-I"$CUDA_INC")
else
    EMU_INC=(-I"$KERNELS/emu/fallback")
    say "CUDA headers not used: the emulation gets vector types and fp16/bf16 from kernels/emu/fallback/"
fi
if [[ -z ${JAVA_HOME:-} || ! -f $JAVA_HOME/include/jni.h ]]; then
    JAVAC="$(command -v javac || true)"
    [[ -n $JAVAC ]] && JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$JAVAC")")")"
fi
[[ -n ${JAVA_HOME:-} && -f $JAVA_HOME/include/jni.h ]] || die "jni.h not found: set JAVA_HOME to a JDK (17+)"

# DRAGEDIT_EMU_CXXFLAGS adds flags (e.g. "-g -O0" to step through a kernel in gdb).
read -r -a EXTRA_CXXFLAGS <<<"${DRAGEDIT_EMU_CXXFLAGS:-}"

# ---- 1. kernel table + unity file ------------------------------------------------------------------------------
# Entry points are found after the preprocessor (so macros may write them), with __global__ kept as a marker.
mkdir -p "$OBJ/emu" "$OBJ/scan" "$OUT/native/linux-x86_64"
CXXFLAGS=(-std=c++20 -O2 -fPIC -pthread -fvisibility=hidden -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas "${EMU_INC[@]}"
          -I"$KERNELS" -I"$KERNELS/emu" "${EXTRA_CXXFLAGS[@]}")
# Everything compiled depends on the flags too: a change of compiler or headers rebuilds everything.
FLAGS_STAMP="$OBJ/flags.txt"
echo "$CXX ${CXXFLAGS[*]} $JAVA_HOME" >"$FLAGS_STAMP.new"
if cmp -s "$FLAGS_STAMP.new" "$FLAGS_STAMP"; then rm "$FLAGS_STAMP.new"; else mv "$FLAGS_STAMP.new" "$FLAGS_STAMP"; fi
HEADERS=("$KERNELS"/emu/*.h "$KERNELS"/emu/fallback/*.h "${CUH[@]}" "${BASH_SOURCE[0]}" "$FLAGS_STAMP")
SCANS=()
for cu in "${CU[@]}"; do
    ii="$OBJ/scan/$(basename "$cu" .cu).ii"
    SCANS+=("$ii")
    up_to_date "$ii" -- "$cu" "${HEADERS[@]}" && continue
    run_bg "preprocess $(basename "$cu")" "$ii.log" "$CXX" "${CXXFLAGS[@]}" -E -D__global__=__de_global__ \
        -include "$KERNELS/emu/cuda_emu.h" -x c++ "$cu" -o "$ii"
done
wait_all || die "preprocessing the kernels failed (above)"
REGISTRY="$OBJ/registry.cpp" UNITY="$OBJ/kernels_all.cu"
# The list of kernel files is an input too: deleting a .cu must regenerate the table.
printf '%s\n' "${CU[@]}" >"$OBJ/kernel-files.txt.new"
if cmp -s "$OBJ/kernel-files.txt.new" "$OBJ/kernel-files.txt"; then rm "$OBJ/kernel-files.txt.new"; else mv "$OBJ/kernel-files.txt.new" "$OBJ/kernel-files.txt"; fi
if ! up_to_date "$REGISTRY" "$UNITY" -- "${CU[@]}" "${SCANS[@]}" "$OBJ/kernel-files.txt" "$KERNELS/tools/gen_registry.py"; then
    python3 "$KERNELS/tools/gen_registry.py" --registry "$REGISTRY" --unity "$UNITY" --preprocessed "$OBJ/scan" "${CU[@]}"
    touch "$REGISTRY" "$UNITY"
fi

# ---- 2. the emulation library ----------------------------------------------------------------------------------
OBJS=()
compile() {  # compile NAME SOURCE EXTRA_FLAGS...
    local name=$1 src=$2 obj="$OBJ/emu/$1.o"
    shift 2
    OBJS+=("$obj")
    up_to_date "$obj" -- "$src" "${HEADERS[@]}" && return 0
    run_bg "$name" "$OBJ/emu/$name.log" "$CXX" "${CXXFLAGS[@]}" "$@" -c "$src" -o "$obj"
}
for cu in "${CU[@]}"; do
    compile "kernel_$(basename "$cu" .cu)" "$cu" -include "$KERNELS/emu/cuda_emu.h" -x c++
done
compile registry "$REGISTRY" -include "$KERNELS/emu/cuda_emu.h"
for src in runtime launch memory; do compile "$src" "$KERNELS/emu/$src.cpp"; done
compile jni "$KERNELS/emu/jni.cpp" -I"$JAVA_HOME/include" -I"$JAVA_HOME/include/linux"
wait_all || die "compiling the CUDA emulation failed (above)"
LIB="$OUT/native/linux-x86_64/libdragedit_emu.so"
if ! up_to_date "$LIB" -- "${OBJS[@]}"; then
    # libstdc++ linked in and every symbol but the JNI and C entry points local: the library loads into any JVM
    # whatever the system's libstdc++, and binds only to its own copy.
    printf '{ global: Java_*; dragedit_emu_*; local: *; };\n' >"$OBJ/emu/exports.map"
    "$CXX" -shared -o "$LIB" "${OBJS[@]}" -pthread -static-libstdc++ -static-libgcc -Wl,--version-script="$OBJ/emu/exports.map" \
        -Wl,-z,defs || die "linking $LIB failed"
    say "built $LIB (${#CU[@]} kernel files)"
fi

# ---- 3. CUDA: PTX, cubins, ptxas report ------------------------------------------------------------------------
if [[ -z $NVCC ]]; then
    echo "nvcc not found: CUDA kernels not built"
    exit 0
fi
ARCHS=(80 86 89 90)
ALLOW="$KERNELS/spill-allowlist.txt"
CUDA_OUT=("$OUT/cuda/kernels.ptx")
for a in "${ARCHS[@]}"; do CUDA_OUT+=("$OUT/cuda/kernels_sm$a.cubin"); done
CUDA_IN=("${CU[@]}" "${CUH[@]}" "$UNITY" "${BASH_SOURCE[0]}")
[[ -f $ALLOW ]] && CUDA_IN+=("$ALLOW")
if up_to_date "${CUDA_OUT[@]}" "$REPORT/ptxas-report.txt" -- "${CUDA_IN[@]}"; then
    exit 0
fi
TMP="$OBJ/cuda"
rm -rf "$TMP"
mkdir -p "$TMP" "$OUT/cuda"
NVFLAGS=(-std=c++20 -O3 -lineinfo -I"$KERNELS")
run_bg "nvcc ptx" "$TMP/ptx.log" "$NVCC" "${NVFLAGS[@]}" -ptx -arch=compute_80 "$UNITY" -o "$TMP/kernels.ptx"
for a in "${ARCHS[@]}"; do
    run_bg "nvcc sm_$a" "$TMP/sm$a.log" "$NVCC" "${NVFLAGS[@]}" -cubin -arch="sm_$a" -Xptxas -v "$UNITY" -o "$TMP/kernels_sm$a.cubin"
done
wait_all || die "nvcc failed (above)"
{
    echo "# ptxas -v of kernels/*.cu (generated by kernels/build.sh with $("$NVCC" --version | tail -1))"
    for a in "${ARCHS[@]}"; do
        echo
        echo "== sm_$a =="
        grep -E "ptxas|bytes stack frame" "$TMP/sm$a.log" || true
    done
} >"$TMP/ptxas-report.txt"

# Spilling functions: "<arch> <function> <stores> <loads>" from ptxas' "Function properties" blocks.
SPILLS="$(for a in "${ARCHS[@]}"; do
    awk -v arch="sm_$a" '/Function properties for/ { fn = $NF }
        /bytes spill stores/ { split($0, p, ","); s = p[2] + 0; l = p[3] + 0; if (s > 0 || l > 0) print arch, fn, s, l }' "$TMP/sm$a.log"
done)"
declare -A ALLOWED=()
if [[ -f $ALLOW ]]; then
    while read -r name reason; do
        [[ -z $name || $name == \#* ]] && continue
        [[ -n $reason ]] || die "$ALLOW: '$name' has no reason (format: <function> <why its spills are acceptable>)"
        ALLOWED[$name]=1
    done <"$ALLOW"
fi
BAD=""
while read -r arch fn stores loads; do
    [[ -z $arch ]] && continue
    if [[ -z ${ALLOWED[$fn]:-} ]]; then
        BAD+="  $arch $fn: $stores bytes spill stores, $loads bytes spill loads"$'\n'
    fi
done <<<"$SPILLS"
if [[ -n $BAD ]]; then
    cp "$TMP/ptxas-report.txt" "$REPORT/ptxas-report.txt"
    die "register spills (report: $REPORT/ptxas-report.txt); fix the kernel or list it in kernels/spill-allowlist.txt with a reason:"$'\n'"$BAD"
fi
for f in kernels.ptx "${ARCHS[@]/#/kernels_sm}"; do
    [[ $f == *.ptx ]] || f="$f.cubin"
    mv "$TMP/$f" "$OUT/cuda/$f"
done
mv "$TMP/ptxas-report.txt" "$REPORT/ptxas-report.txt"
say "built $OUT/cuda/kernels.ptx and cubins for sm_$(IFS=/; echo "${ARCHS[*]}"); ptxas report in $REPORT/ptxas-report.txt"
