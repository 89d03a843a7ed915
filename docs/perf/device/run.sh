#!/usr/bin/env bash
# The GPU checks, run on the lent machine from the repository root over what pack.sh made: the CUDA test classes and
# the fixture tests on the GPU, every kernel timed (bench kernels), a whole SD 1.5 edit timed (bench edit),
# compute-sanitizer memcheck and racecheck over the op-family tests. Each step is bounded by `timeout`.
# Usage: [STEPS='tests kernels edit sanitizer'] bash docs/perf/device/run.sh [PACKDIR]   (writes under $OUT)
# All four steps can take ~16 min, over one call's 10: run 'tests kernels' in one call, 'edit sanitizer' in the next.
set -u
steps=" ${STEPS:-tests kernels edit sanitizer} "; want() { [[ $steps == *" $1 "* ]]; }
pack=${1:-.gpu}; P=/tmp/p; T0=$SECONDS; mkdir -p $P "$OUT"
tar xJf "$pack/pay.tar.xz" -C $P && tar xJf "$pack/fix.tar.xz" -C $P || { echo "extract failed"; exit 1; }
J="$P/jre/bin/java --add-modules jdk.incubator.vector -XX:+UseParallelGC -Xmx48g"
CP=$P/classes:$P/test-classes:$(ls $P/lib/*.jar | tr '\n' ':')
export DRAGEDIT_FIXTURES=$P/fixtures
JU="$J -jar $P/junit-platform-console-standalone-1.10.2.jar -cp $CP --disable-banner --details=summary --details-theme=ascii"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
if want tests; then
echo "== tests $((SECONDS-T0)) s"
timeout 175 $JU --select-package dev.dragedit.cuda --select-class dev.dragedit.engine.EngineTest \
  --select-class dev.dragedit.models.sd.UNetFixtureTest --select-class dev.dragedit.models.sd.DdimSchedulerTest \
  --select-class dev.dragedit.drag.DragLoopFixtureTest --select-class dev.dragedit.drag.DenoiseTest \
  --select-class dev.dragedit.drag.MutualSelfAttentionTest >$OUT/tests.log 2>&1; echo "tests rc=$?"
grep -E "tests (successful|failed|aborted|found)" $OUT/tests.log
fi
if want kernels; then
echo "== bench kernels $((SECONDS-T0)) s (all 354 cases take ~200 s at --repeats 5)"
timeout 290 $J -cp $CP dev.dragedit.cli.Main bench kernels --device cuda --repeats 5 --warmup 2 --out $OUT/kernels.jsonl >$OUT/bench-kernels.txt 2>&1; echo "kernels rc=$?"
fi
if want edit; then
echo "== bench edit $((SECONDS-T0)) s"
timeout 220 $J -Xlog:gc:file=$OUT/gc.log -cp $CP dev.dragedit.cli.Main --device cuda bench edit --model sd15 --random-weights \
  --json $OUT/edit.jsonl >$OUT/bench-edit.txt 2>&1; echo "edit rc=$?"; tail -16 $OUT/bench-edit.txt
fi
if want sanitizer; then
S=compute-sanitizer; command -v $S >/dev/null || S=/usr/local/cuda/bin/compute-sanitizer
ops=""; for c in Conv Attention Norm Elementwise Shape StyleGan OpsAutograd Matmul Reduce Sampling; do ops="$ops --select-class dev.dragedit.cuda.ops.Cuda${c}Test"; done
for tool in memcheck racecheck; do
  echo "== $tool $((SECONDS-T0)) s"
  timeout 150 $S --tool $tool --print-limit 30 $JU $ops >>$OUT/sanitizer.log 2>&1; echo "$tool rc=$?"
done
grep -E "ERROR SUMMARY|RACECHECK SUMMARY|tests (successful|failed)" $OUT/sanitizer.log
fi
echo "done in $((SECONDS-T0)) s"
