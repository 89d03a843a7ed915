#!/usr/bin/env bash
# Packs what a GPU machine without Java or Maven needs to run dragedit's GPU checks (used on a lent H200, where only
# the working tree and a carried folder travel, 64 MiB in all): a jlinked Java 17 runtime, the engine's classes with
# the sm_90 cubin and the PTX only, the test classes, the runtime jars (JCuda's natives without the PTX compiler),
# JUnit's console launcher, and the fixtures the GPU tests read (unet-tiny, ddim, drag-loop: the others do not fit).
# Usage: docs/perf/device/pack.sh [OUTDIR]   (default .gpu, to be listed in .git/info/exclude); then on the machine:
#   bash docs/perf/device/run.sh OUTDIR     (logs and JSON lines under $OUT)
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd); cd "$root"
out=${1:-.gpu}; work=$(mktemp -d)
mvn -o -q -B -pl src test-compile
mvn -o -q -B -pl src dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" -Dmdep.includeScope=test >/dev/null
mvn -q -B dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.10.2 >/dev/null
mkdir -p "$work/p/lib"
cp -r src/target/classes "$work/p/classes"; rm -f "$work"/p/classes/cuda/kernels_sm8*.cubin
cp -r src/target/test-classes "$work/p/test-classes"
# JUnit comes as the console launcher; commons-math3 serves only JMH, which the device checks do not run (2 MB saved).
for j in $(tr ':' ' ' <"$work/cp.txt"); do case $j in *junit*|*opentest4j*|*apiguardian*|*commons-math3*) ;; *) cp "$j" "$work/p/lib/" ;; esac; done
zip -q -d "$work"/p/lib/jcuda-natives-*.jar 'lib/libJNvPTXCompiler*' || true
cp ~/.m2/repository/org/junit/platform/junit-platform-console-standalone/1.10.2/*.jar "$work/p/"
jlink --add-modules java.base,java.desktop,jdk.incubator.vector,jdk.unsupported,java.management,java.logging,java.xml \
      --compress=0 --strip-debug --no-header-files --no-man-pages --output "$work/p/jre" 2>/dev/null
rm -f "$work"/p/jre/lib/libawt_xawt.so "$work"/p/jre/lib/libsplashscreen.so "$work"/p/jre/lib/libjsound.so
mkdir -p "$out"
tar cf - -C "$work/p" . | xz -T0 -6 >"$out/pay.tar.xz"
fixtures=$(cd "$root/.." && pwd)/shared
tar cf - -C "$fixtures" fixtures/unet-tiny fixtures/ddim fixtures/drag-loop | xz -T0 -6 >"$out/fix.tar.xz"
rm -rf "$work"
echo "packed: $(du -cb "$out"/*.tar.xz | tail -1 | cut -f1) bytes in $out (with the tracked tree, keep it under 64 MiB)"
