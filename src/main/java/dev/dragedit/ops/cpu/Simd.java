package dev.dragedit.ops.cpu;

/**
 * The Vector API switch. SIMD paths (jdk.incubator.vector) are used unless {@code DRAGEDIT_SIMD=0} or
 * {@code -Ddragedit.simd=false}, or the incubator module is absent; then every CPU op takes its scalar path.
 * Tests flip it with {@link #set} to check both paths give the same results.
 */
public final class Simd {
    private Simd() {}

    private static final boolean AVAILABLE = probe();
    private static volatile boolean enabled = AVAILABLE && wanted();

    private static boolean probe() {
        try {
            Class.forName("jdk.incubator.vector.FloatVector");
            return jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length() >= 4;
        } catch (Throwable t) {
            return false;
        }
    }

    private static boolean wanted() {
        String p = System.getProperty("dragedit.simd");
        if (p != null) return !p.equalsIgnoreCase("false") && !p.equals("0");
        String e = System.getenv("DRAGEDIT_SIMD");
        return e == null || !(e.equals("0") || e.equalsIgnoreCase("false"));
    }

    public static boolean available() { return AVAILABLE; }
    public static boolean enabled() { return enabled; }

    /** Turns SIMD on or off (it stays off when the Vector API is not available). Returns the previous setting. */
    public static boolean set(boolean on) {
        boolean prev = enabled;
        enabled = on && AVAILABLE;
        return prev;
    }

    /** Lanes of the preferred float vector (8 on AVX2, 16 on AVX-512), 1 when SIMD is unavailable. */
    public static int floatLanes() {
        return AVAILABLE ? jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length() : 1;
    }
}
