package dev.dragedit.ops;

import dev.dragedit.ops.cpu.Gemm;
import dev.dragedit.ops.cpu.Simd;

import java.util.Random;

/**
 * Hand-run GFLOP/s table of {@link Gemm#sgemm} (not a test). One line per configuration:
 * {@code sgemm simd NN | 1024×1024×1024 | 9.87 ms | 217.6 GFLOP/s}, the best of several timed repetitions after
 * a warm-up, so a noisy shared machine shows its least-disturbed run.
 * <pre>
 *   ./dev-test gemm GemmTest        # compiles main and test classes into /tmp/dragedit-build-gemm
 *   java --add-modules jdk.incubator.vector -cp /tmp/dragedit-build-gemm/classes:/tmp/dragedit-build-gemm/test-classes \
 *        dev.dragedit.ops.GemmTiming [quick]
 * </pre>
 * Compare with OpenBLAS through numpy, without the OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE overrides that force an
 * older kernel: {@code env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 -c "import numpy as np,time; a=np.random.rand(1024,1024).astype(np.float32); b=a.copy();
 * [a@b for _ in range(3)]; t=time.perf_counter(); [a@b for _ in range(10)]; print(2*1024**3*10/(time.perf_counter()-t)/1e9)"}.
 */
public final class GemmTiming {
    private GemmTiming() {}

    public static void main(String[] args) {
        boolean quick = args.length > 0 && args[0].equals("quick");
        int[][] shapes = quick
                ? new int[][]{{1024, 1024, 1024}}
                : new int[][]{{1024, 1024, 1024}, {2048, 2048, 2048}, {320, 4096, 2880}, {4096, 4096, 40},
                              {4096, 40, 4096}, {512, 512, 512}, {64, 64, 64}, {1, 512, 512}, {77, 768, 320}};
        for (int[] s : shapes) {
            for (String t : quick ? new String[]{"NN"} : new String[]{"NN", "NT", "TN", "TT"}) {
                time(true, t.charAt(0) == 'T', t.charAt(1) == 'T', s[0], s[1], s[2]);
            }
        }
        if (!quick) time(false, false, false, 512, 512, 512);
    }

    private static void time(boolean simd, boolean ta, boolean tb, int m, int n, int k) {
        Random r = new Random(1);
        float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
        for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() - 0.5f;
        for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() - 0.5f;
        int lda = ta ? m : k, ldb = tb ? k : n;
        double flop = 2.0 * m * n * k;
        int reps = (int) Math.max(3, Math.min(200, 2e10 / flop));
        boolean prev = Simd.set(simd);
        try {
            for (int i = 0; i < Math.max(3, reps / 2); i++) Gemm.sgemm(ta, tb, m, n, k, 1f, a, 0, lda, b, 0, ldb, 0f, c, 0, n);
            double best = Double.MAX_VALUE;
            for (int rep = 0; rep < 5; rep++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < reps; i++) Gemm.sgemm(ta, tb, m, n, k, 1f, a, 0, lda, b, 0, ldb, 0f, c, 0, n);
                best = Math.min(best, (System.nanoTime() - t0) / 1e9 / reps);
            }
            System.out.printf("sgemm %-6s %s%s | %5d×%5d×%5d | %9.3f ms | %7.1f GFLOP/s%n", simd ? "simd" : "scalar",
                    ta ? "T" : "N", tb ? "T" : "N", m, n, k, best * 1e3, flop / best / 1e9);
        } finally {
            Simd.set(prev);
        }
    }
}
