package dev.dragedit.ops.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API loops of the resampling ops ({@link CpuSampling}, {@link ResizeBilinear}). Each method does whole
 * vectors and returns the first index it did not do; the caller finishes with its scalar loop, which performs the
 * same float operations in the same order, so SIMD on and off agree to the last bit (no FMA is used for that reason).
 * <p>
 * Loops made of gathers with little arithmetic around them stay scalar: the horizontal pass of the bilinear resize
 * and all of grid sampling. On the AMD EPYC / JDK 17 they were measured on, vector gathers were no faster than
 * scalar loads: the grid-sample forward took 68 ms with gathers and 59 ms scalar (1280 channels of 64×64, a
 * 128×64 grid, one thread) and its dgrid sums were 1.5× slower.
 * This class is only loaded when {@link Simd#enabled()}, so the scalar paths run without the incubator module.
 */
final class SamplingSimd {
    private SamplingSimd() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Lane i of the low/high output vector takes input lane i/2 of the low/high half. */
    private static final VectorShuffle<Float> DUP_LO = VectorShuffle.fromOp(F, i -> i / 2);
    private static final VectorShuffle<Float> DUP_HI = VectorShuffle.fromOp(F, i -> L / 2 + i / 2);

    /** o[oo + 2j] = o[oo + 2j + 1] = x[xo + j]. */
    static int duplicateColumns(float[] x, int xo, float[] o, int oo, int w) {
        int j = 0;
        for (; j + L <= w; j += L) {
            FloatVector v = FloatVector.fromArray(F, x, xo + j);
            v.rearrange(DUP_LO).intoArray(o, oo + 2 * j);
            v.rearrange(DUP_HI).intoArray(o, oo + 2 * j + L);
        }
        return j;
    }

    /** o[oo + k] = a[ao + k] + b[bo + k]. */
    static int addRows(float[] a, int ao, float[] b, int bo, float[] o, int oo, int n) {
        int k = 0;
        for (int bound = F.loopBound(n); k < bound; k += L)
            FloatVector.fromArray(F, a, ao + k).add(FloatVector.fromArray(F, b, bo + k)).intoArray(o, oo + k);
        return k;
    }

    /** o[oo + k] = w0·a[k] + w1·b[k]. */
    static int blendRows(float[] a, float[] b, float w0, float w1, float[] o, int oo, int n) {
        int k = 0;
        for (int bound = F.loopBound(n); k < bound; k += L)
            FloatVector.fromArray(F, a, k).mul(w0).add(FloatVector.fromArray(F, b, k).mul(w1)).intoArray(o, oo + k);
        return k;
    }

    /** d[dOff + k] += a·t[tOff + k]. */
    static int axpy(float a, float[] t, int tOff, float[] d, int dOff, int n) {
        int k = 0;
        for (int bound = F.loopBound(n); k < bound; k += L)
            FloatVector.fromArray(F, d, dOff + k).add(FloatVector.fromArray(F, t, tOff + k).mul(a)).intoArray(d, dOff + k);
        return k;
    }
}
