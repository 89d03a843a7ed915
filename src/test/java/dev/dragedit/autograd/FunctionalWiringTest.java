package dev.dragedit.autograd;

import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.OpTestSupport;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks that every {@link Functional} wrapper routes each input's gradient to the right input with the right shape.
 * The ops' own backward passes are pinned in float64 by the op tests; here the whole path (forward through the
 * wrapper, tape, backward) is compared with float32 central differences of the same wrapper, which is precise
 * enough to catch a swapped or mis-shaped gradient (the tolerance is for float32 differencing noise, not the op).
 */
class FunctionalWiringTest {
    private final Functional F = new Functional(OpTestSupport.ops());

    private record Case(String name, int[][] shapes, Function<Tensor[], Tensor> f) {}

    private static int[] s(int... d) { return d; }

    private List<Case> cases() {
        List<Case> c = new ArrayList<>();
        c.add(new Case("add", new int[][]{s(2, 3), s(3)}, t -> F.add(t[0], t[1])));
        c.add(new Case("sub", new int[][]{s(2, 1), s(1, 3)}, t -> F.sub(t[0], t[1])));
        c.add(new Case("mul", new int[][]{s(2, 3), s(2, 1)}, t -> F.mul(t[0], t[1])));
        c.add(new Case("div", new int[][]{s(2, 3), s(3)}, t -> F.div(t[0], F.affine(F.square(t[1]), 1f, 1f))));
        c.add(new Case("clamp+silu+gelu", new int[][]{s(7)}, t -> F.gelu(F.silu(F.clamp(t[0], -0.7f, 0.9f)))));
        c.add(new Case("geglu", new int[][]{s(2, 6)}, t -> F.geglu(t[0])));
        c.add(new Case("noiseInjection", new int[][]{s(1, 2, 3, 3), s(1, 1, 3, 3), s()}, t -> F.noiseInjection(t[0], t[1], t[2])));
        c.add(new Case("sum dims", new int[][]{s(2, 3, 4)}, t -> F.sum(t[0], new int[]{1}, false)));
        c.add(new Case("mean keepdim", new int[][]{s(2, 3, 4)}, t -> F.mean(t[0], new int[]{-1, 0}, true)));
        c.add(new Case("l1", new int[][]{s(5), s(5)}, t -> F.l1Loss(t[0], t[1])));
        c.add(new Case("mse", new int[][]{s(5), s(5)}, t -> F.mseLoss(t[0], t[1])));
        c.add(new Case("matmul", new int[][]{s(2, 3, 4), s(4, 5)}, t -> F.matmul(t[0], t[1])));
        c.add(new Case("matmul tA tB", new int[][]{s(4, 3), s(2, 5, 4)}, t -> F.matmul(t[0], t[1], true, true)));
        c.add(new Case("linear", new int[][]{s(2, 3), s(4, 3), s(4)}, t -> F.linear(t[0], t[1], t[2])));
        c.add(new Case("conv2d", new int[][]{s(1, 2, 5, 4), s(3, 2, 3, 3), s(3)}, t -> F.conv2d(t[0], t[1], t[2], Conv2dParams.of(1, 1))));
        c.add(new Case("convTranspose2d", new int[][]{s(1, 2, 3, 3), s(2, 3, 3, 3), s(3)},
                t -> F.convTranspose2d(t[0], t[1], t[2], Conv2dParams.of(2, 0), 0, 0)));
        c.add(new Case("modulatedConv2d", new int[][]{s(2, 3, 4, 4), s(2, 3, 3, 3), s(2, 3)},
                t -> F.modulatedConv2d(t[0], t[1], F.affine(t[2], 0.2f, 1f), true, 1)));
        c.add(new Case("upfirdn2d", new int[][]{s(1, 2, 3, 3)},
                t -> F.upfirdn2d(t[0], Tensor.of(new float[]{1, 3, 3, 1, 3, 9, 9, 3, 3, 9, 9, 3, 1, 3, 3, 1}, 4, 4), 2, 2, 1, 1, 2, 1, 2, 1)));
        c.add(new Case("biasAct", new int[][]{s(2, 3, 2), s(3)}, t -> F.biasAct(t[0], t[1], 0.2f, 1.41f, 1.5f)));
        c.add(new Case("groupNorm", new int[][]{s(2, 4, 3), s(4), s(4)}, t -> F.groupNorm(t[0], 2, t[1], t[2], 1e-5f)));
        c.add(new Case("layerNorm", new int[][]{s(3, 5), s(5), s(5)}, t -> F.layerNorm(t[0], t[1], t[2], 1e-5f)));
        c.add(new Case("softmax", new int[][]{s(2, 5)}, t -> F.softmax(t[0])));
        c.add(new Case("attention", new int[][]{s(1, 2, 3, 4), s(1, 2, 5, 4), s(1, 2, 5, 3)}, t -> F.attention(t[0], t[1], t[2], 0.5f, false)));
        c.add(new Case("upsampleNearest2x", new int[][]{s(1, 2, 2, 3)}, t -> F.upsampleNearest2x(t[0])));
        c.add(new Case("resizeBilinear", new int[][]{s(1, 1, 3, 4)}, t -> F.resizeBilinear(t[0], 5, 3)));
        c.add(new Case("gridSample", new int[][]{s(1, 2, 4, 5), s(1, 2, 3, 2)},
                t -> F.gridSample(t[0], F.affine(t[1], 0.3f, 0.05f), false)));
        c.add(new Case("reshape+permute", new int[][]{s(2, 3, 4)}, t -> F.permute(F.reshape(t[0], 6, 4), 1, 0)));
        c.add(new Case("concat+slice", new int[][]{s(2, 3), s(2, 2)}, t -> F.slice(F.concat(1, t[0], t[1]), 1, 1, 4)));
        c.add(new Case("pad", new int[][]{s(2, 3)}, t -> F.pad(t[0], new int[]{1, 2, 0, 1}, 0.5f)));
        return c;
    }

    @TestFactory
    List<DynamicTest> everyWrapperRoutesGradientsToTheRightInputs() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Case c : cases()) tests.add(DynamicTest.dynamicTest(c.name, () -> check(c)));
        return tests;
    }

    private void check(Case c) {
        Random r = new Random(c.name.hashCode());
        Tensor[] in = new Tensor[c.shapes.length];
        for (int i = 0; i < in.length; i++) in[i] = OpTestSupport.randn(r, c.shapes[i]).requiresGrad(true);
        Tensor y = c.f.apply(in);
        Tensor gy = OpTestSupport.randn(r, y.shape());
        Tape.backward(y, gy);
        for (int i = 0; i < in.length; i++) {
            assertNotNull(in[i].grad(), c.name + ": input " + i + " got no gradient");
            double[] num = new double[in[i].numel()];
            float[] x = in[i].data();
            double max = 0;
            for (int e = 0; e < x.length; e++) {
                float orig = x[e];
                float h = 1e-2f * Math.max(1f, Math.abs(orig));
                x[e] = orig + h;
                double lp = loss(c, in, gy);
                x[e] = orig - h;
                double lm = loss(c, in, gy);
                x[e] = orig;
                num[e] = (lp - lm) / (2.0 * h);
                max = Math.max(max, Math.abs(num[e]));
            }
            double[] got = OpTestSupport.f64(in[i].grad());
            for (int e = 0; e < num.length; e++) {
                if (Math.abs(got[e] - num[e]) > 2e-2 * Math.max(1, max))
                    fail(c.name + ": d/d(input " + i + ")[" + e + "] = " + got[e] + ", differences give " + num[e]);
            }
        }
    }

    private double loss(Case c, Tensor[] in, Tensor gy) {
        try (var g = Tape.noGrad()) {
            Tensor y = c.f.apply(in);
            double s = 0;
            for (int i = 0; i < y.numel(); i++) s += (double) y.getFloat(i) * gy.getFloat(i);
            return s;
        }
    }
}
