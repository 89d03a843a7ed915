package dev.dragedit.bench.jmh;

import dev.dragedit.ops.Ops;
import dev.dragedit.ops.Unary;
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
 * JMH timing of the element-wise ops on 1M floats ([1, 256, 64, 64], 4 MiB, larger than L2): SiLU and the exact
 * erf GELU (transcendental-bound, so they show the cost of exp/erf per element), and add, both same-shape and with
 * a per-channel [1, 256, 1, 1] operand broadcast over H·W as the UNet adds its time embedding — the pair shows
 * what the broadcasting index arithmetic costs over a plain streaming add.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ElementwiseBench {
    @Param({"true", "false"})
    public boolean simd;

    private final Ops ops = CpuOps.INSTANCE;
    private Tensor x, y, channel;

    @Setup
    public void setup() {
        BenchInputs.simd(simd);
        x = BenchInputs.uniform(1, -4f, 4f, 1, 256, 64, 64);        // [N, C, H, W], 2^20 elements
        y = BenchInputs.uniform(2, -4f, 4f, 1, 256, 64, 64);        // [N, C, H, W]
        channel = BenchInputs.uniform(3, -1f, 1f, 1, 256, 1, 1);    // [N, C, 1, 1]
    }

    @Benchmark
    public Tensor siluForward() {
        return ops.unary(Unary.SILU, x);
    }

    @Benchmark
    public Tensor geluForward() {
        return ops.unary(Unary.GELU, x);
    }

    @Benchmark
    public Tensor addSameShape() {
        return ops.add(x, y);
    }

    @Benchmark
    public Tensor addBroadcastPerChannel() {
        return ops.add(x, channel);
    }
}
