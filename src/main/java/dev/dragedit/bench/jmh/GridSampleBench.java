package dev.dragedit.bench.jmh;

import dev.dragedit.ops.Ops;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * JMH timing of bilinear grid_sample (zeros padding, align_corners=True) in the way DragGAN's motion supervision
 * and point tracking use it: 1000 scattered points read from a [1, 256, 64, 64] feature map. The forward gathers 4 corners
 * per point and channel; the backward scatters into dx (a full feature-map-sized gradient, mostly zeros) and
 * reduces into dgrid, so it measures the cost of the scatter and of clearing dx. Returns the results so JMH
 * consumes them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GridSampleBench {
    private static final int POINTS = 1000;

    @Param({"true", "false"})
    public boolean simd;

    private final Ops ops = CpuOps.INSTANCE;
    private Tensor x, grid, gy;

    @Setup
    public void setup() {
        BenchInputs.simd(simd);
        x = BenchInputs.uniform(1, -1f, 1f, 1, 256, 64, 64);        // [N, C, H, W]
        grid = BenchInputs.uniform(2, -1f, 1f, 1, 1, POINTS, 2);    // [N, Ho=1, Wo=points, (x, y)]
        gy = BenchInputs.uniform(3, -1f, 1f, 1, 256, 1, POINTS);    // [N, C, Ho, Wo]
    }

    @Benchmark
    public Tensor gridSampleForward() {
        return ops.gridSample(x, grid, true);
    }

    @Benchmark
    public Tensor[] gridSampleBackward() {
        return ops.gridSampleBackward(gy, x, grid, true, true, true);
    }
}
