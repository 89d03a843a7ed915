package dev.dragedit.cuda;

import java.util.Arrays;

/**
 * Calls every JNI entry point of libdragedit_emu.so once through the real EmulatedNative declarations, so a
 * signature that does not match kernels/emu/jni.cpp fails here (UnsatisfiedLinkError) rather than in the engine's
 * tests. Run by kernels/emu/test/run.sh with -Xcheck:jni.
 */
final class JniSmoke {
    public static void main(String[] args) {
        EmulatedNative.load();
        String[] names = EmulatedNative.kernelNames();
        check(Arrays.asList(names).contains("selftest_dynamic_smem_f32"), "kernelNames lists the selftest kernels");
        int n = 300, block = 128;
        long x = EmulatedNative.alloc(4L * n), y = EmulatedNative.alloc(4L * n);
        float[] in = new float[n];
        for (int i = 0; i < n; i++) in[i] = i * 0.5f;
        EmulatedNative.copyInFloats(x, in, 0, n);
        EmulatedNative.memset(y, 0, 4L * n);
        String err = EmulatedNative.launch("selftest_dynamic_smem_f32", (n + block - 1) / block, 1, 1, block, 1, 1, 4 * block,
                new long[] {x, y, n}, new byte[] {'p', 'p', 'i'});
        check(err == null, "launch succeeds: " + err);
        float[] out = new float[n];
        EmulatedNative.copyOutFloats(y, out, 0, n);
        check(out[0] == in[127] && out[127] == in[0] && out[256] == in[299], "reversed within blocks");
        byte[] bytes = new byte[8];
        EmulatedNative.copyOutBytes(y, bytes, 0, 8);
        EmulatedNative.copyInBytes(x, bytes, 0, 8);
        EmulatedNative.copyDeviceToDevice(x, y, 4L * n);
        err = EmulatedNative.launch("selftest_oob_write", 1, 1, 1, 32, 1, 1, 0, new long[] {y, n}, new byte[] {'p', 'i'});
        check(err != null && err.contains("out of bounds"), "out-of-bounds write reported: " + err);
        err = EmulatedNative.launch("selftest_deadlock", 1, 1, 1, 64, 1, 1, 0, new long[] {y, n}, new byte[] {'p', 'i'});
        check(err != null && err.contains("deadlock"), "deadlock reported: " + err);
        err = EmulatedNative.launch("nope", 1, 1, 1, 1, 1, 1, 0, new long[0], new byte[0]);
        check(err != null && err.contains("unknown kernel"), "unknown kernel reported: " + err);
        check(EmulatedNative.launchCount("selftest_dynamic_smem_f32") == 1, "launchCount");
        try {
            EmulatedNative.copyOutFloats(y, out, 0, n + 1);
            check(false, "copy past the Java array must throw");
        } catch (ArrayIndexOutOfBoundsException expected) {
            System.out.println("  reported: " + expected.getMessage());
        }
        try {
            EmulatedNative.copyInFloats(y + 4, in, 0, n);
            check(false, "copy past the device buffer must throw");
        } catch (IllegalArgumentException expected) {
            System.out.println("  reported: " + expected.getMessage());
        }
        EmulatedNative.free(x);
        try {
            EmulatedNative.free(x);
            check(false, "double free must throw");
        } catch (IllegalArgumentException expected) {
            System.out.println("  reported: " + expected.getMessage());
        }
        EmulatedNative.free(y);
        System.out.println("JNI smoke test OK (" + names.length + " kernels)");
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }
}
