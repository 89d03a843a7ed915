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
 * JMH timing of scaled dot-product self-attention, non-causal, at Stable Diffusion's shape for a 32×32 latent
 * (a 256×256 image): B=1, H=8 heads, L=1024 tokens, D=40 per head (320 channels / 8), scale 1/√D. About
 * 4·H·L²·D = 1.3 GFLOP in the two products plus a softmax over H·L² = 8.4M scores, so it shows whether the
 * kernel is bound by the products or by the L×L score rows.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class AttentionBench {
    private static final int B = 1, H = 8, L = 1024, D = 40;

    @Param({"true", "false"})
    public boolean simd;

    private final Ops ops = CpuOps.INSTANCE;
    private final float scale = (float) (1 / Math.sqrt(D));
    private Tensor q, k, v;

    @Setup
    public void setup() {
        BenchInputs.simd(simd);
        q = BenchInputs.uniform(1, -1f, 1f, B, H, L, D);   // [B, H, Lq, D]
        k = BenchInputs.uniform(2, -1f, 1f, B, H, L, D);   // [B, H, Lk, D]
        v = BenchInputs.uniform(3, -1f, 1f, B, H, L, D);   // [B, H, Lk, Dv]
    }

    @Benchmark
    public Tensor attentionForward() {
        return ops.attention(q, k, v, scale, false);
    }
}
