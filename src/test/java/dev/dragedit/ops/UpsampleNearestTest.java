package dev.dragedit.ops;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;

import static dev.dragedit.ops.OpTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * upsampleNearest2x (torch interpolate(scale_factor=2, mode='nearest') of the last two dims, any rank ≥ 2) and its
 * backward (sum over each 2×2 block), against a float64 reference, SIMD on and off. Widths of 8 and more exercise
 * the vector path, odd widths its scalar tail.
 */
class UpsampleNearestTest {

    /** out[..., i, j] = x[..., floor(i/2), floor(j/2)]. */
    static double[] ref(double[] x, int[] shape) {
        int r = shape.length, h = shape[r - 2], w = shape[r - 1];
        int planes = x.length / (h * w);
        double[] out = new double[x.length * 4];
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < 2 * h; i++)
                for (int j = 0; j < 2 * w; j++)
                    out[(p * 2 * h + i) * 2 * w + j] = x[(p * h + i / 2) * w + j / 2];
        return out;
    }

    static int[] upShape(int[] shape) {
        int[] o = shape.clone();
        o[o.length - 2] *= 2;
        o[o.length - 1] *= 2;
        return o;
    }

    static void checkForward(int[] shape, long seed) {
        Tensor x = randn(new Random(seed), shape);
        double[] expected = ref(f64(x), shape);
        bothSimdPaths(() -> assertClose("upsampleNearest2x " + Arrays.toString(shape),
                expected, upShape(shape), ops().upsampleNearest2x(x), 0, 0));
    }

    static void checkBackward(int[] shape, long seed) {
        Random r = new Random(seed);
        Tensor x = randn(r, shape);
        int[] os = upShape(shape);
        double[] gy = randomGy(r, x.numel() * 4);
        Tensor gyT = toTensor(gy, os);
        Function<double[][], double[]> fn = v -> ref(v[0], shape);
        bothSimdPaths(() -> {
            Tensor dx = ops().upsampleNearest2xBackward(gyT);
            assertArrayEquals(shape, dx.shape(), "upsampleNearest2xBackward shape");
            checkGrad("upsampleNearest2xBackward " + Arrays.toString(shape), fn, inputs(x), 0, gy, dx);
        });
    }

    @Test
    void eachPixelBecomesATwoByTwoBlockForOddSizes() {
        checkForward(new int[]{2, 3, 5, 7}, 1);
        checkForward(new int[]{1, 1, 1, 1}, 2);
        checkForward(new int[]{1, 2, 3, 37}, 3);
    }

    @Test
    void anyRankOfAtLeastTwoIsUpsampledInItsLastTwoDims() {
        checkForward(new int[]{7, 5}, 4);
        checkForward(new int[]{3, 9, 16}, 5);
        checkForward(new int[]{2, 1, 3, 4, 9}, 6);
    }

    @Test
    void knownSmallExample() {
        Tensor x = Tensor.of(new float[]{1, 2, 3, 4}, 2, 2);
        bothSimdPaths(() -> assertClose("upsampleNearest2x 2×2", new double[]{
                1, 1, 2, 2,
                1, 1, 2, 2,
                3, 3, 4, 4,
                3, 3, 4, 4}, new int[]{4, 4}, ops().upsampleNearest2x(x), 0, 0));
    }

    @Test
    void backwardSumsEachTwoByTwoBlock() {
        checkBackward(new int[]{2, 3, 5, 7}, 7);
        checkBackward(new int[]{1, 1, 1, 1}, 8);
        checkBackward(new int[]{3, 11}, 9);
        checkBackward(new int[]{2, 2, 3, 17}, 10);
    }

    /** Large enough that the op splits the rows over threads. */
    @Test
    void largeInputsSplitAcrossThreadsMatchReference() {
        int[] shape = {2, 8, 40, 41};
        checkForward(shape, 13);
        Random r = new Random(14);
        int[] os = upShape(shape);
        Tensor gy = randn(r, os);
        double[] g = f64(gy), expected = new double[g.length / 4];
        int h = shape[2], w = shape[3];
        for (int p = 0; p < expected.length / (h * w); p++)
            for (int i = 0; i < 2 * h; i++)
                for (int j = 0; j < 2 * w; j++)
                    expected[(p * h + i / 2) * w + j / 2] += g[(p * 2 * h + i) * 2 * w + j];
        bothSimdPaths(() -> assertClose("upsampleNearest2xBackward large", expected, shape,
                ops().upsampleNearest2xBackward(gy), F32_ATOL, F32_RTOL));
    }

    @Test
    void emptyLeadingDimensionGivesEmptyResult() {
        Tensor y = ops().upsampleNearest2x(Tensor.zeros(0, 3, 4, 5));
        assertArrayEquals(new int[]{0, 3, 8, 10}, y.shape());
        assertArrayEquals(new int[]{0, 3, 4, 5}, ops().upsampleNearest2xBackward(Tensor.zeros(0, 3, 8, 10)).shape());
    }

    @Test
    void inputIsNotModified() {
        Tensor x = randn(new Random(11), 2, 3, 9);
        float[] before = x.data().clone();
        ops().upsampleNearest2x(x);
        Tensor gy = randn(new Random(12), 2, 6, 18);
        float[] gyBefore = gy.data().clone();
        ops().upsampleNearest2xBackward(gy);
        assertArrayEquals(before, x.data());
        assertArrayEquals(gyBefore, gy.data());
    }

    @Test
    void badArgumentsAreRejectedWithUsefulMessages() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops().upsampleNearest2x(Tensor.zeros(5)));
        assertTrue(e.getMessage().contains("upsampleNearest2x") && e.getMessage().contains("[5]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops().upsampleNearest2xBackward(Tensor.zeros(2, 6, 7)));
        assertTrue(e.getMessage().contains("[2, 6, 7]") && e.getMessage().contains("even"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops().upsampleNearest2x(Tensor.zeros(DType.F64, 2, 2)));
        assertTrue(e.getMessage().contains("x") && e.getMessage().contains("F64") && e.getMessage().contains("F32"), e.getMessage());
    }
}
