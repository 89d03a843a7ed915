package dev.dragedit.ops.cpu;

import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The vector exp/tanh: accuracy against Math over the whole float range, and bit-identical results across JIT tiers. */
class VecMathTest {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private static float[] apply(boolean tanh, float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i += S.length()) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            (tanh ? VecMath.tanh(v) : VecMath.exp(v)).intoArray(y, i);
        }
        return y;
    }

    private static float[] sweep() {
        Random r = new Random(3);
        float[] x = new float[S.length() * 4096];
        for (int i = 0; i < x.length; i++) x[i] = (float) ((r.nextDouble() * 2 - 1) * (i % 3 == 0 ? 110 : i % 3 == 1 ? 10 : 0.7));
        float[] special = {0f, -0f, 1f, -1f, 88.72f, 88.73f, 89.5f, -87.3f, -100f, -103.9f, -104.5f, 1e-30f, -1e-30f,
                Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0.625f, -0.625f, 0.6249f, 9.1f, -9.1f, 20f};
        System.arraycopy(special, 0, x, 0, special.length);
        return x;
    }

    /** |a − b| in units of the last place of b (subnormal spacing below the normal range). */
    private static double ulps(float a, double exact) {
        float b = (float) exact;
        if (Float.isNaN(b)) return Float.isNaN(a) ? 0 : Double.POSITIVE_INFINITY;
        if (Float.isInfinite(b) || Float.isInfinite(a)) return a == b ? 0 : Double.POSITIVE_INFINITY;
        return Math.abs(a - exact) / Math.ulp(b);
    }

    @Test
    void expIsWithinTwoUlpsOverTheWholeRange() {
        float[] x = sweep(), y = apply(false, x);
        for (int i = 0; i < x.length; i++)
            assertTrue(ulps(y[i], Math.exp(x[i])) <= 2, "exp(" + x[i] + ") = " + y[i] + ", Math.exp " + Math.exp(x[i]));
    }

    @Test
    void tanhIsWithinThreeUlpsOverTheWholeRange() {
        float[] x = sweep(), y = apply(true, x);
        for (int i = 0; i < x.length; i++)
            assertTrue(ulps(y[i], Math.tanh(x[i])) <= 3, "tanh(" + x[i] + ") = " + y[i] + ", Math.tanh " + Math.tanh(x[i]));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(apply(true, new float[S.length()])[0] * -1f));
    }

    @Test
    void transcendentalOpsGiveTheSameBitsOnceCompiled() {
        float[] v = new float[4099];
        Random r = new Random(9);
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * 4);
        Tensor x = Tensor.of(v, v.length);
        for (Unary f : new Unary[]{Unary.SILU, Unary.GELU, Unary.SIGMOID, Unary.TANH, Unary.EXP, Unary.QUICK_GELU}) {
            float[] first = CpuOps.INSTANCE.unary(f, x).data().clone();
            for (int rep = 0; rep < 400; rep++) {
                float[] again = CpuOps.INSTANCE.unary(f, x).data();
                if (!Arrays.equals(first, again)) fail(f + " changed its result at repeat " + rep);
            }
        }
    }
}
