package dev.dragedit.ops;

import dev.dragedit.ops.cpu.Simd;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `java -jar dragedit.jar` without `--add-modules jdk.incubator.vector` must still work, on the scalar paths: this
 * runs every op, forward and backward, in a child JVM that lacks the incubator module. A class that names a Vector
 * API type outside a SIMD-only path fails here with NoClassDefFoundError.
 */
class WithoutVectorApiTest {

    @Test
    void everyOpRunsInAJvmWithoutTheIncubatorModule() throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"), Main.class.getName()))
                .redirectErrorStream(true).start();
        boolean done = p.waitFor(120, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) p.destroyForcibly();
        assertTrue(done, "child JVM timed out:\n" + out);
        assertEquals(0, p.exitValue(), "child JVM failed:\n" + out);
        assertTrue(out.contains("simd=false") && out.contains("all ops ran"), out);
    }

    /** Runs in the child JVM. */
    public static final class Main {
        public static void main(String[] args) {
            Ops o = OpTestSupport.ops();
            Random r = new Random(7);
            Tensor x = OpTestSupport.randn(r, 2, 4, 6, 6);
            Tensor w = OpTestSupport.randn(r, 4, 4, 3, 3);
            Tensor b = OpTestSupport.randn(r, 4);
            Tensor m = OpTestSupport.randn(r, 2, 3, 5);
            Tensor q = OpTestSupport.randn(r, 1, 2, 5, 8);
            Conv2dParams cp = Conv2dParams.of(1, 1);
            for (Unary f : Unary.values()) o.unaryBackward(f, o.unary(f, o.affine(x, 0.1f, 2f)), x);
            Tensor y = o.add(o.mul(x, b.reshape(1, 4, 1, 1)), o.div(x, o.affine(x, 0f, 3f)));
            o.sumTo(o.expand(b.reshape(4, 1, 1), new int[]{2, 4, 6, 6}), new int[]{4, 1, 1});
            o.clampBackward(y, o.clamp(y, -1, 1), -1, 1);
            Tensor xg = OpTestSupport.randn(r, 2, 6);
            o.gegluBackward(o.geglu(xg), xg);
            o.sum(y, new int[]{1}, true);
            o.mean(y, new int[0], false);
            o.l1LossBackward(Tensor.scalar(1), x, y);
            o.mseLossBackward(Tensor.scalar(1), x, y);
            o.matmul(m, m, false, true);
            o.linearBackward(OpTestSupport.randn(r, 2, 3, 4), m, OpTestSupport.randn(r, 4, 5), true, true, true);
            o.conv2dBackward(o.conv2d(x, w, b, cp), x, w, cp, true, true, true);
            o.convTranspose2dBackward(o.convTranspose2d(x, w, b, Conv2dParams.of(2, 0), 1, 1), x, w, Conv2dParams.of(2, 0), 1, 1, true, true, true);
            Tensor st = OpTestSupport.randn(r, 2, 4);
            o.modulatedConv2dBackward(o.modulatedConv2d(x, w, st, true, 1), x, w, st, true, 1);
            Tensor fir = Tensor.full(1f / 16, 4, 4);
            Tensor u = o.upfirdn2d(x, fir, 2, 2, 1, 1, 2, 1, 2, 1);
            o.upfirdn2dBackward(u, x.shape(), fir, 2, 2, 1, 1, 2, 1, 2, 1);
            o.biasActBackward(x, o.biasAct(x, b, 0.2f, 1.4f, 1f), true, 0.2f, 1.4f, 1f);
            o.groupNormBackward(o.groupNorm(x, 2, b, b, 1e-5f), x, 2, b, 1e-5f, true);
            o.layerNormBackward(m, o.layerNorm(m, null, null, 1e-5f), null, 1e-5f, false);
            o.softmaxBackward(m, o.softmax(m));
            o.attentionBackward(o.attention(q, q, q, 0.3f, true), q, q, q, 0.3f, true);
            o.upsampleNearest2xBackward(o.upsampleNearest2x(x));
            o.resizeBilinearBackward(o.resizeBilinear(x, 9, 4), 6, 6);
            Tensor grid = OpTestSupport.uniform(r, -1.1f, 1.1f, 2, 3, 3, 2);
            o.gridSampleBackward(o.gridSample(x, grid, false), x, grid, false, true, true);
            Tensor cat = o.concat(new Tensor[]{x, x}, 1);
            o.sliceBackward(o.slice(cat, 1, 2, 7), cat.shape(), 1, 2, 7);
            o.padBackward(o.pad(o.permute(x, new int[]{0, 2, 3, 1}), new int[]{1, 1, 2, 0}, 0f), new int[]{1, 1, 2, 0});
            Tensor p = x.copy(), g = OpTestSupport.randn(r, 2, 4, 6, 6);
            o.adamStep(p, g, Tensor.zeros(p.shape()), Tensor.zeros(p.shape()), 1, AdamParams.adamW(1e-3f, 0.01f));
            System.out.println("simd=" + Simd.enabled() + " all ops ran");
        }
    }
}
