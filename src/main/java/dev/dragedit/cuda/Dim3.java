package dev.dragedit.cuda;

/**
 * A launch extent in CUDA's three dimensions (gridDim or blockDim). Every component must be at least 1, as the
 * driver requires; the per-device upper limits (1024 threads per block, 65535 grid blocks in y and z…) are checked
 * at launch, where the device is known.
 */
public record Dim3(int x, int y, int z) {
    public Dim3 {
        if (x < 1 || y < 1 || z < 1) {
            throw new IllegalArgumentException("Dim3: every component must be >= 1, found (" + x + "," + y + "," + z + ")");
        }
    }

    public static Dim3 of(int x) { return new Dim3(x, 1, 1); }

    public static Dim3 of(int x, int y) { return new Dim3(x, y, 1); }

    public static Dim3 of(int x, int y, int z) { return new Dim3(x, y, z); }

    /** ceil(n / per) blocks of {@code per} threads cover n items: the usual 1-D grid. */
    public static Dim3 cover(long n, int per) {
        if (n < 1 || per < 1) throw new IllegalArgumentException("Dim3.cover: expected n >= 1 and per >= 1, found n=" + n + ", per=" + per);
        long blocks = (n + per - 1) / per;
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException("Dim3.cover: " + n + " items in blocks of " + per + " need " + blocks + " blocks, more than a grid's x can hold");
        return new Dim3((int) blocks, 1, 1);
    }

    /** x·y·z as a long, since a grid's product can exceed int. */
    public long volume() { return (long) x * y * z; }

    /** "(x,y,z)", as the emulation writes launch geometry in its messages. */
    @Override public String toString() { return "(" + x + "," + y + "," + z + ")"; }
}
