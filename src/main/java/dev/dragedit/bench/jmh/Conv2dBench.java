package dev.dragedit.bench.jmh;

import dev.dragedit.ops.Conv2dParams;
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
 * JMH timing of the 3×3 convolution (stride 1, padding 1, with bias) through {@link CpuOps}: 64→64 on a 64×64
 * map forward and backward (dx, dw and dbias: DragDiffusion's latent optimisation needs dx, its LoRA step dw),
 * and 320→320 forward on 32×32, the channel count of Stable Diffusion's first UNet stage on the latent of a
 * 256×256 image. The backward returns all three gradients so that JMH consumes them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class Conv2dBench {
    @Param({"true", "false"})
    public boolean simd;

    private final Ops ops = CpuOps.INSTANCE;
    private final Conv2dParams same3x3 = Conv2dParams.of(1, 1);
    private Tensor x64, w64, b64, gy64;
    private Tensor x320, w320, b320;

    @Setup
    public void setup() {
        BenchInputs.simd(simd);
        x64 = BenchInputs.uniform(1, -1f, 1f, 1, 64, 64, 64);        // [N, Cin, H, W]
        w64 = BenchInputs.uniform(2, -0.05f, 0.05f, 64, 64, 3, 3);   // [Cout, Cin, kh, kw]
        b64 = BenchInputs.uniform(3, -0.1f, 0.1f, 64);
        gy64 = BenchInputs.uniform(4, -1f, 1f, 1, 64, 64, 64);       // [N, Cout, Ho, Wo]
        x320 = BenchInputs.uniform(5, -1f, 1f, 1, 320, 32, 32);
        w320 = BenchInputs.uniform(6, -0.02f, 0.02f, 320, 320, 3, 3);
        b320 = BenchInputs.uniform(7, -0.1f, 0.1f, 320);
    }

    @Benchmark
    public Tensor conv3x3c64s64Forward() {
        return ops.conv2d(x64, w64, b64, same3x3);
    }

    @Benchmark
    public Tensor[] conv3x3c64s64Backward() {
        return ops.conv2dBackward(gy64, x64, w64, same3x3, true, true, true);
    }

    @Benchmark
    public Tensor conv3x3c320s32Forward() {
        return ops.conv2d(x320, w320, b320, same3x3);
    }
}
