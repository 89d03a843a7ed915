package dev.dragedit.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * The JNI entry points of libdragedit_emu.so, the CUDA kernels compiled by g++ with the emulation header
 * (kernels/emu/), and the loading of that library. The library is a jar resource written by kernels/build.sh at
 * /native/linux-x86_64/libdragedit_emu.so; System.load needs a file, so it is copied to a temporary file once per
 * JVM. {@code -Ddragedit.emu.lib=PATH} loads a library built elsewhere instead. All pointers are raw native
 * addresses of bounds-guarded buffers; see kernels/emu/jni.cpp for the native side of each method.
 */
public final class EmulatedNative {
    private EmulatedNative() {}

    public static final String RESOURCE = "/native/linux-x86_64/libdragedit_emu.so";
    public static final String PATH_PROPERTY = "dragedit.emu.lib";
    static final String NOT_BUILT = "CUDA emulation library not built (kernels/build.sh did not run; g++ missing?)";

    private static String loadedFrom;
    private static String failure;

    /**
     * Loads the library (once; later calls return at once or repeat the first failure) and returns where it came
     * from. Throws IllegalStateException saying why when it cannot be loaded.
     */
    public static synchronized String load() {
        if (loadedFrom != null) return loadedFrom;
        if (failure != null) throw new IllegalStateException(failure);
        try {
            loadedFrom = loadOnce();
            return loadedFrom;
        } catch (IllegalStateException e) {
            failure = e.getMessage();
            throw e;
        }
    }

    private static String loadOnce() {
        String explicit = System.getProperty(PATH_PROPERTY);
        if (explicit != null && !explicit.isBlank()) {
            Path p = Path.of(explicit.trim()).toAbsolutePath();
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException("-D" + PATH_PROPERTY + "=" + explicit + ": no such file (expected a libdragedit_emu.so built by kernels/build.sh)");
            }
            systemLoad(p, "-D" + PATH_PROPERTY + "=" + explicit);
            return p.toString();
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new IllegalStateException("the CUDA emulation library is built for linux-x86_64 only (its fibers switch stacks in x86-64 code);"
                    + " this JVM runs on " + System.getProperty("os.name") + "/" + arch);
        }
        try (InputStream in = EmulatedNative.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException(NOT_BUILT + ": resource " + RESOURCE + " is not on the classpath");
            Path tmp = Files.createTempFile("libdragedit_emu", ".so");
            tmp.toFile().deleteOnExit();
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            systemLoad(tmp, "resource " + RESOURCE + " (extracted to " + tmp + ")");
            return EmulatedNative.class.getResource(RESOURCE).toString();
        } catch (IOException e) {
            throw new IllegalStateException("could not extract " + RESOURCE + " to a temporary file: " + e, e);
        }
    }

    private static void systemLoad(Path p, String from) {
        try {
            System.load(p.toString());
        } catch (UnsatisfiedLinkError e) {
            throw new IllegalStateException("the CUDA emulation library from " + from + " does not load: " + e.getMessage(), e);
        }
    }

    /** A bounds-guarded native buffer of {@code bytes} bytes, 0 when the memory is not there. */
    public static native long alloc(long bytes);

    public static native void free(long ptr);

    public static native void memset(long ptr, int value, long bytes);

    public static native void copyInFloats(long dst, float[] src, int srcOff, int count);

    public static native void copyOutFloats(long src, float[] dst, int dstOff, int count);

    public static native void copyInBytes(long dst, byte[] src, int srcOff, int count);

    public static native void copyOutBytes(long src, byte[] dst, int dstOff, int count);

    public static native void copyDeviceToDevice(long dst, long src, long bytes);

    /** Every kernel entry point compiled into the library. */
    public static native String[] kernelNames();

    /**
     * Runs a kernel on every emulated thread of the grid and returns null, or an error message naming the kernel,
     * grid and block: unknown kernel, block too large, deadlock at a barrier, a write out of bounds of a buffer.
     */
    public static native String launch(String name, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes,
                                long[] argBits, byte[] argKinds);

    public static native long launchCount(String name);
}
