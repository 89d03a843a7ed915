package dev.dragedit.bench.jmh;

import dev.dragedit.ops.cpu.Gemm;
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
 * JMH timing of {@link Gemm#sgemm} (C = A·B, row-major, beta 0) on the two shapes that matter: the square 1024³
 * (2.1 GFLOP, the number to compare with OpenBLAS) and 64×576×4096, the im2col GEMM of a 3×3 64→64 convolution
 * on a 64×64 map (weights [Cout, Cin·9] times columns [Cin·9, H·W]), which is short and wide and so stresses the
 * packing and the edges of the blocking rather than the micro-kernel alone. The output array is returned so that
 * JMH consumes it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GemmBench {
    @Param({"true", "false"})
    public boolean simd;

    private float[] a1024, b1024, c1024;
    private float[] aConv, bConv, cConv;

    @Setup
    public void setup() {
        BenchInputs.simd(simd);
        a1024 = BenchInputs.uniformArray(1, -1f, 1f, 1024 * 1024);                  // [1024, 1024]
        b1024 = BenchInputs.uniformArray(2, -1f, 1f, 1024 * 1024);                  // [1024, 1024]
        c1024 = new float[1024 * 1024];
        aConv = BenchInputs.uniformArray(3, -1f, 1f, 64 * 576);                     // weights [64, 576]
        bConv = BenchInputs.uniformArray(4, -1f, 1f, 576 * 4096);                   // columns [576, 4096]
        cConv = new float[64 * 4096];                                               // [64, 4096]
    }

    @Benchmark
    public float[] sgemm1024() {
        Gemm.sgemm(false, false, 1024, 1024, 1024, 1f, a1024, 0, 1024, b1024, 0, 1024, 0f, c1024, 0, 1024);
        return c1024;
    }

    @Benchmark
    public float[] sgemmConv64x576x4096() {
        Gemm.sgemm(false, false, 64, 4096, 576, 1f, aConv, 0, 576, bConv, 0, 4096, 0f, cConv, 0, 4096);
        return cConv;
    }
}
