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
 * JMH timing of group normalisation on Stable Diffusion's most common shape: [1, 320, 64, 64] in 32 groups with
 * affine gamma/beta (every ResNet block of the first UNet stage at 512×512 runs two of them). Memory-bound: the
 * forward reads x twice (statistics, then normalise) and writes y once, so compare with memory bandwidth, not FLOPs.
 * The backward returns {dx, dgamma, dbeta} so that JMH consumes them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GroupNormBench {
    private static final int GROUPS = 32;
    private static final float EPS = 1e-5f;

    @Param({"true", "false"})
    public boolean simd;

    private final Ops ops = CpuOps.INSTANCE;
    private Tensor x, gamma, beta, gy;

    @Setup
    public void setup() {
        BenchInputs.simd(simd);
        x = BenchInputs.uniform(1, -2f, 2f, 1, 320, 64, 64);     // [N, C, H, W]
        gamma = BenchInputs.uniform(2, 0.5f, 1.5f, 320);         // [C]
        beta = BenchInputs.uniform(3, -0.5f, 0.5f, 320);         // [C]
        gy = BenchInputs.uniform(4, -1f, 1f, 1, 320, 64, 64);    // [N, C, H, W]
    }

    @Benchmark
    public Tensor groupNormForward() {
        return ops.groupNorm(x, GROUPS, gamma, beta, EPS);
    }

    @Benchmark
    public Tensor[] groupNormBackward() {
        return ops.groupNormBackward(gy, x, GROUPS, gamma, EPS, true);
    }
}
