package dev.dragedit.drag;

/**
 * A drag point as DragDiffusion's drag_utils.py holds it: (row, col) in supervision-resolution pixels. Tracked
 * points stay integer-valued; the values are float32 in DragDiffusion, exact here since they are small integers.
 */
public record DragPoint(double row, double col) {
    /** Euclidean distance to q ((q − p).norm() in drag_utils.py). */
    public double distance(DragPoint q) { return Math.hypot(q.row - row, q.col - col); }

    @Override public String toString() { return "(" + fmt(row) + ", " + fmt(col) + ")"; }

    private static String fmt(double v) { return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v); }
}
