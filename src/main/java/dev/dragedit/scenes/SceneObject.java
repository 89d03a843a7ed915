package dev.dragedit.scenes;

/**
 * One object: shape, colour (sRGB 0..255) and its English name ("red"), centre (x, y) in pixels, half-sizes rx, ry,
 * rotation (radians).
 * <p>
 * Coordinates are continuous: pixel (i, j) covers [i, i+1) × [j, j+1), so its centre is (i + 0.5, j + 0.5); y grows
 * downwards. The centre is the centroid of the shape in every case: DISC is a circle of radius rx (= ry); SQUARE is a
 * rectangle of half-sides rx, ry (rx = ry when generated); TRIANGLE is equilateral with circumradius rx, a vertex
 * pointing up at angle 0; ELLIPSE has semi-axes rx, ry; BLOB is a three-lobed shape, the unit circle with radius
 * 1 + 0.15·cos 3φ stretched to rx, ry (its threefold symmetry puts the centroid at the centre). The shape is rotated
 * by angle (clockwise on screen, since y points down).
 */
public record SceneObject(Shape shape, int r, int g, int b, String colourName, double cx, double cy, double rx, double ry, double angle) {
    public SceneObject {
        java.util.Objects.requireNonNull(shape, "shape");
        java.util.Objects.requireNonNull(colourName, "colourName");
        if ((r | g | b) < 0 || r > 255 || g > 255 || b > 255)
            throw new IllegalArgumentException("colour (" + r + ", " + g + ", " + b + ") must be 0..255 per channel");
        if (!(rx > 0) || !(ry > 0)) throw new IllegalArgumentException("half-sizes must be positive, got " + rx + ", " + ry);
    }

    /** The same object with its centre at (x, y). */
    public SceneObject at(double x, double y) { return new SceneObject(shape, r, g, b, colourName, x, y, rx, ry, angle); }

    /** Radius of a circle about (cx, cy) that contains the whole shape. */
    public double boundingRadius() {
        return switch (shape) {
            case DISC, TRIANGLE -> rx;
            case ELLIPSE -> Math.max(rx, ry);
            case SQUARE -> StrictMath.sqrt(rx * rx + ry * ry);
            case BLOB -> 1.15 * Math.max(rx, ry);
        };
    }

    /** Whether the point (x, y) (continuous pixel coordinates) lies inside the shape. */
    public boolean contains(double x, double y) {
        double dx = x - cx, dy = y - cy;
        double c = StrictMath.cos(angle), s = StrictMath.sin(angle);
        return containsLocal(dx * c + dy * s, -dx * s + dy * c, c, s);
    }

    // (u, v): coordinates in the object's own frame (already un-rotated).
    boolean containsLocal(double u, double v, double cosA, double sinA) {
        switch (shape) {
            case DISC: return u * u + v * v <= rx * rx;
            case ELLIPSE: { double p = u / rx, q = v / ry; return p * p + q * q <= 1; }
            case SQUARE: return Math.abs(u) <= rx && Math.abs(v) <= ry;
            case TRIANGLE: {
                // Edge normals point away from the vertices (at −90°, 30°, 150°): 90°, 210°, 330°; inradius rx/2.
                double h = rx / 2;
                if (v > h) return false;
                if (-TRI_C * u - 0.5 * v > h) return false;
                return !(TRI_C * u - 0.5 * v > h);
            }
            case BLOB: {
                double p = u / rx, q = v / ry, rho2 = p * p + q * q;
                if (rho2 <= 0.85 * 0.85) return true;
                if (rho2 > 1.15 * 1.15) return false;
                double rho = StrictMath.sqrt(rho2);
                double cs = p / rho;                         // cos φ
                double cos3 = 4 * cs * cs * cs - 3 * cs;     // cos 3φ
                return rho <= 1 + 0.15 * cos3;
            }
            default: throw new AssertionError(shape);
        }
    }

    private static final double TRI_C = StrictMath.sqrt(3) / 2;
}
