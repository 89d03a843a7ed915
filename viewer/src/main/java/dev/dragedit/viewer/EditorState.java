package dev.dragedit.viewer;

import dev.dragedit.drag.Images;

import java.io.ByteArrayOutputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Deque;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Everything the user edits in the viewer — the image, the drag points (handle/target pairs) and the mask of where the
 * image may change — with undo and redo over every change, so that the window, the script driver and the tests share
 * one model and one set of rules. The renderer watches {@link #version()} (and {@link #imageVersion()},
 * {@link #maskVersion()}) to upload textures only when something changed.
 * <p>
 * Coordinates are continuous image pixels ((0, 0) is the top-left corner of the top-left pixel); points are clamped
 * into [0, w) × [0, h), the range {@code dragedit edit} accepts. A pair's target may be missing ("pending"): a click
 * sets the first pending target, else starts a new pair, so handles and targets alternate as the issue describes.
 * Removing a target leaves its pair pending in place (indices of the other points do not shift).
 * <p>
 * Undo memory is kept small because a mask stroke is the commonest step: a stroke is stored as the bounding box of
 * the pixels it changed plus a deflated bit per pixel of that box (the mask is binary, so a changed pixel's old value
 * is the other one), a reset mask as the deflated mask. Images (a finished drag, a newly opened file) are kept whole
 * but by reference, and the oldest steps are dropped beyond {@link #UNDO_BYTE_LIMIT}. Gestures (a point move, a
 * stroke) are one undo step each; starting any other change first finishes the gesture in progress.
 * <p>
 * NOT thread-safe: the UI thread owns it. Images handed in are kept, not copied; callers must not change their pixels.
 */
public final class EditorState {
    /** Undo history beyond this many bytes loses its oldest steps (the newest always stays). */
    public static final long UNDO_BYTE_LIMIT = 512L << 20;

    /** A handle and its target in image pixels; the target is null while pending. */
    public record Pair(double hx, double hy, Double tx, Double ty) {
        public Pair {
            if ((tx == null) != (ty == null)) throw new IllegalArgumentException("a target needs both x and y, got " + tx + ", " + ty);
        }

        public boolean complete() { return tx != null; }

        Pair withHandle(double x, double y) { return new Pair(x, y, tx, ty); }

        Pair withTarget(Double x, Double y) { return new Pair(hx, hy, x, y); }
    }

    private Images.Rgb image;
    private List<Pair> pairs = List.of();
    private byte[] mask;
    private long version, imageVersion, maskVersion, pointsVersion;

    private final Deque<Change> undo = new ArrayDeque<>(), redo = new ArrayDeque<>();
    private long undoBytes;

    // A point move in progress: its index and the points before it.
    private int moveIndex = -1;
    private List<Pair> moveBefore;
    // A stroke in progress.
    private Stroke stroke;

    public EditorState(Images.Rgb image) {
        if (image == null) throw new IllegalArgumentException("the editor needs an image");
        this.image = image;
    }

    public Images.Rgb image() { return image; }

    public int width() { return image.width(); }

    public int height() { return image.height(); }

    /** Increases on every change, undo and redo included (live moves and stroke segments too). */
    public long version() { return version; }

    /** Increases only when {@link #image()} changes. */
    public long imageVersion() { return imageVersion; }

    /** Increases only when the mask changes (created, painted, reset, restored). */
    public long maskVersion() { return maskVersion; }

    /** Increases only when the points change. */
    public long pointsVersion() { return pointsVersion; }

    // ------------------------------------------------------------------ points

    public List<Pair> pairs() { return pairs; }

    /** A new handle, or the target of the first pending pair; clamped to the image. One undo step. */
    public void click(double x, double y) {
        finishGesture();
        double cx = clampX(x), cy = clampY(y);
        List<Pair> after = new ArrayList<>(pairs);
        int pending = firstPending();
        if (pending >= 0) after.set(pending, pairs.get(pending).withTarget(cx, cy));
        else after.add(new Pair(cx, cy, null, null));
        changePoints(after);
    }

    private int firstPending() {
        for (int k = 0; k < pairs.size(); k++) if (!pairs.get(k).complete()) return k;
        return -1;
    }

    /** Whether flat index {@code index} (2k handle k, 2k+1 target k) names a point that exists. */
    public boolean hasPoint(int index) {
        if (index < 0 || index / 2 >= pairs.size()) return false;
        return index % 2 == 0 || pairs.get(index / 2).complete();
    }

    /** Number of flat indices in use (2 per pair, the last target possibly missing: test with {@link #hasPoint}). */
    public int pointSlots() { return 2 * pairs.size(); }

    /** The point at flat index {@code index} as {x, y}. */
    public double[] point(int index) {
        checkPoint(index);
        Pair p = pairs.get(index / 2);
        return index % 2 == 0 ? new double[]{p.hx(), p.hy()} : new double[]{p.tx(), p.ty()};
    }

    private void checkPoint(int index) {
        if (!hasPoint(index))
            throw new IllegalArgumentException("no point " + index + " (there are " + pairs.size() + " pairs; index 2k is handle k, 2k+1 its target"
                    + (index >= 0 && index / 2 < pairs.size() ? ", and pair " + index / 2 + " has no target yet" : "") + ")");
    }

    /** Flat index (2k handle k, 2k+1 target k) of the point nearest (x, y) within radius, else −1; ties go to the lower index. */
    public int pointAt(double x, double y, double radius) {
        int best = -1;
        double bestD = Double.POSITIVE_INFINITY;
        for (int k = 0; k < pairs.size(); k++) {
            Pair p = pairs.get(k);
            double dh = Math.hypot(p.hx() - x, p.hy() - y);
            if (dh <= radius && dh < bestD) { best = 2 * k; bestD = dh; }
            if (p.complete()) {
                double dt = Math.hypot(p.tx() - x, p.ty() - y);
                if (dt <= radius && dt < bestD) { best = 2 * k + 1; bestD = dt; }
            }
        }
        return best;
    }

    /** Starts moving point {@code index}; {@link #moveTo} moves it live, {@link #endMove} makes the move one undo step. */
    public void beginMove(int index) {
        finishGesture();
        checkPoint(index);
        moveIndex = index;
        moveBefore = pairs;
    }

    /** Moves the point being moved (clamped to the image). */
    public void moveTo(double x, double y) {
        if (moveIndex < 0) throw new IllegalStateException("moveTo without beginMove");
        double cx = clampX(x), cy = clampY(y);
        List<Pair> after = new ArrayList<>(pairs);
        Pair p = pairs.get(moveIndex / 2);
        after.set(moveIndex / 2, moveIndex % 2 == 0 ? p.withHandle(cx, cy) : p.withTarget(cx, cy));
        pairs = List.copyOf(after);
        pointsChanged();
    }

    /** Ends the move: one undo step if the point moved; nothing if no move is in progress. */
    public void endMove() {
        if (moveIndex < 0) return;
        List<Pair> before = moveBefore;
        moveIndex = -1;
        moveBefore = null;
        if (!before.equals(pairs)) push(new PointsChange(before, pairs));
    }

    /** Whether a point move is in progress. */
    public boolean moving() { return moveIndex >= 0; }

    /** Removes a point: a handle removes its pair; a target leaves its pair pending. One undo step. */
    public void removePoint(int index) {
        finishGesture();
        checkPoint(index);
        List<Pair> after = new ArrayList<>(pairs);
        if (index % 2 == 0) after.remove(index / 2);
        else after.set(index / 2, pairs.get(index / 2).withTarget(null, null));
        changePoints(after);
    }

    /** Removes all points; one undo step (none when there are none). */
    public void clearPoints() {
        finishGesture();
        if (pairs.isEmpty()) return;
        changePoints(List.of());
    }

    /** The complete pairs as flat {x, y} points: handle 0, target 0, handle 1, … (DragDiffusion.Request's order). */
    public double[][] pointsXy() {
        List<double[]> out = new ArrayList<>();
        for (Pair p : pairs) {
            if (!p.complete()) continue;
            out.add(new double[]{p.hx(), p.hy()});
            out.add(new double[]{p.tx(), p.ty()});
        }
        return out.toArray(double[][]::new);
    }

    private void changePoints(List<Pair> after) {
        List<Pair> before = pairs;
        pairs = List.copyOf(after);
        pointsChanged();
        push(new PointsChange(before, pairs));
    }

    private void pointsChanged() {
        pointsVersion++;
        version++;
    }

    private double clampX(double x) { return clamp(x, image.width(), "x"); }

    private double clampY(double y) { return clamp(y, image.height(), "y"); }

    /** Into [0, size): the largest double below size is still inside the last pixel. */
    private static double clamp(double v, int size, String name) {
        if (Double.isNaN(v)) throw new IllegalArgumentException(name + " is NaN");
        return Math.max(0, Math.min(Math.nextDown((double) size), v));
    }

    // ------------------------------------------------------------------ mask

    /**
     * Starts a stroke that paints "may change" (1) or "keep" (0) in discs of {@code radius} image pixels along the
     * cursor's path. Without a mask, the first stroke creates one holding the other value everywhere (so a first
     * "keep" stroke means "everything but this may change").
     */
    public void beginStroke(boolean mayChange, double radius) {
        finishGesture();
        if (!(radius > 0 && Double.isFinite(radius)))
            throw new IllegalArgumentException("brush radius " + radius + " must be a positive number of image pixels");
        stroke = new Stroke(mayChange ? (byte) 1 : 0, radius);
    }

    /**
     * Paints to (x, y): a disc there on the first call, then every pixel within the radius of the segment from the
     * previous position (no gaps however far the cursor jumped). A pixel is inside when its centre is within the radius,
     * or when the segment passes through it (sampled every quarter pixel, for brushes thinner than a pixel).
     */
    public void strokeTo(double x, double y) {
        if (stroke == null) throw new IllegalStateException("strokeTo without beginStroke");
        if (!(Double.isFinite(x) && Double.isFinite(y))) throw new IllegalArgumentException("stroke position " + x + ", " + y + " must be finite");
        Stroke s = stroke;
        if (mask == null) {
            s.created = true;
            mask = new byte[width() * height()];
            if (s.value == 0) Arrays.fill(mask, (byte) 1);
            maskChanged();
        }
        double ax = s.started ? s.lastX : x, ay = s.started ? s.lastY : y;
        s.started = true;
        s.lastX = x;
        s.lastY = y;
        if (paintSegment(s, ax, ay, x, y)) maskChanged();
    }

    /** Ends the stroke: one undo step if it changed the mask; nothing if no stroke is in progress. */
    public void endStroke() {
        Stroke s = stroke;
        if (s == null) return;
        stroke = null;
        if (s.changed.isEmpty()) {
            if (s.created) { // a stroke that painted nothing (e.g. only outside the image) leaves no mask behind
                mask = null;
                maskChanged();
            }
            return;
        }
        int bw = s.maxX - s.minX + 1, bh = s.maxY - s.minY + 1, w = width();
        BitSet box = new BitSet(bw * bh);
        for (int i = s.changed.nextSetBit(0); i >= 0; i = s.changed.nextSetBit(i + 1)) {
            int px = i % w, py = i / w;
            box.set((py - s.minY) * bw + (px - s.minX));
        }
        push(new StrokeChange(s.created, s.value, s.minX, s.minY, bw, bh, deflate(box.toByteArray())));
    }

    /** Whether a stroke is in progress. */
    public boolean stroking() { return stroke != null; }

    private boolean paintSegment(Stroke s, double ax, double ay, double bx, double by) {
        int w = width(), h = height();
        double r = s.radius, r2 = r * r;
        int x0 = (int) Math.max(0, Math.floor(Math.min(ax, bx) - r)), x1 = (int) Math.min(w - 1, Math.ceil(Math.max(ax, bx) + r));
        int y0 = (int) Math.max(0, Math.floor(Math.min(ay, by) - r)), y1 = (int) Math.min(h - 1, Math.ceil(Math.max(ay, by) + r));
        boolean any = false;
        double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy, len = Math.sqrt(len2);
        // Each row meets the capsule in one interval (it is convex): only the pixels of that interval, found for a
        // capsule one pixel wider so that rounding cannot lose any, get the exact distance test. A long jump of a big
        // brush then costs its area, not its bounding box's.
        double big = r + 1, ux = len > 0 ? dx / len : 0, uy = len > 0 ? dy / len : 0;
        for (int py = y0; py <= y1; py++) {
            double cy = py + 0.5;
            double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
            for (int end = 0; end < 2; end++) { // the discs at both ends
                double ex = end == 0 ? ax : bx, ey = end == 0 ? ay : by, q = big * big - (cy - ey) * (cy - ey);
                if (q >= 0) {
                    lo = Math.min(lo, ex - Math.sqrt(q));
                    hi = Math.max(hi, ex + Math.sqrt(q));
                }
            }
            if (len > 0) { // the band between them: |(p − a)·n| ≤ big and 0 ≤ (p − a)·u ≤ len, with p = (a.x + t, cy)
                double[] band = {Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY};
                within(band, -uy, (cy - ay) * ux, -big, big);
                within(band, ux, (cy - ay) * uy, 0, len);
                if (band[0] <= band[1]) {
                    lo = Math.min(lo, ax + band[0]);
                    hi = Math.max(hi, ax + band[1]);
                }
            }
            if (lo > hi) continue;
            int xa = (int) Math.max(x0, Math.floor(lo)), xb = (int) Math.min(x1, Math.ceil(hi));
            for (int px = xa; px <= xb; px++) {
                double cx = px + 0.5;
                // distance from the pixel centre to the segment a-b
                double t = len2 == 0 ? 0 : Math.max(0, Math.min(1, ((cx - ax) * dx + (cy - ay) * dy) / len2));
                double ex = ax + t * dx - cx, ey = ay + t * dy - cy;
                if (ex * ex + ey * ey <= r2) any |= paintPixel(s, px, py);
            }
        }
        // A brush thinner than a pixel may pass between pixel centres: the pixels the segment itself crosses are painted
        // too (sampled every quarter pixel), so a stroke is never broken however thin or fast.
        int n = (int) Math.ceil(Math.sqrt(len2) * 4);
        for (int i = 0; i <= n; i++) {
            double t = n == 0 ? 0 : (double) i / n;
            any |= paintAt(s, ax + t * dx, ay + t * dy);
        }
        return any;
    }

    /** Narrows interval {@code t} (t[0]..t[1]) to the t with a ≤ c·t + k ≤ b. */
    private static void within(double[] t, double c, double k, double a, double b) {
        if (Math.abs(c) < 1e-12) {
            if (k < a || k > b) { t[0] = Double.POSITIVE_INFINITY; t[1] = Double.NEGATIVE_INFINITY; }
            return;
        }
        double t1 = (a - k) / c, t2 = (b - k) / c;
        t[0] = Math.max(t[0], Math.min(t1, t2));
        t[1] = Math.min(t[1], Math.max(t1, t2));
    }

    private boolean paintAt(Stroke s, double x, double y) {
        if (!(x >= 0 && x < width() && y >= 0 && y < height())) return false;
        return paintPixel(s, (int) x, (int) y);
    }

    private boolean paintPixel(Stroke s, int px, int py) {
        int i = py * width() + px;
        if (mask[i] == s.value) return false;
        mask[i] = s.value;
        s.changed.set(i);
        s.minX = Math.min(s.minX, px);
        s.maxX = Math.max(s.maxX, px);
        s.minY = Math.min(s.minY, py);
        s.maxY = Math.max(s.maxY, py);
        return true;
    }

    public boolean hasMask() { return mask != null; }

    /** A copy of the mask, row-major h·w, 1 = may change, 0 = keep; null if there is none. */
    public byte[] mask() { return mask == null ? null : mask.clone(); }

    /** The mask's value at pixel (px, py): 1 may change, 0 keep; 1 everywhere without a mask. */
    public int maskAt(int px, int py) {
        if (px < 0 || py < 0 || px >= width() || py >= height()) throw new IllegalArgumentException("pixel " + px + ", " + py + " is outside the " + image.size() + " image");
        return mask == null ? 1 : mask[py * width() + px];
    }

    /** Removes the mask (everything may change again); one undo step (none when there is no mask). */
    public void resetMask() {
        finishGesture();
        if (mask == null) return;
        Snapshot before = snapshot();
        mask = null;
        maskChanged();
        push(new SnapshotChange(before, snapshot()));
    }

    /**
     * A whole mask at once (a mask file given on the command line): {@code m} is h·w values, nonzero = may change;
     * one undo step.
     */
    public void setMask(byte[] m) {
        finishGesture();
        if (m == null || m.length != width() * height())
            throw new IllegalArgumentException("mask: " + (m == null ? "none" : m.length + " values") + ", expected " + width() * height() + " (the image's " + image.size() + ")");
        Snapshot before = snapshot();
        mask = new byte[m.length];
        for (int i = 0; i < m.length; i++) mask[i] = (byte) (m[i] != 0 ? 1 : 0);
        maskChanged();
        push(new SnapshotChange(before, snapshot()));
    }

    /** For DragDiffusion.Request: 255 where the image may change, 0 elsewhere; null if there is no mask. */
    public float[] maskAsFloats255() {
        if (mask == null) return null;
        float[] f = new float[mask.length];
        for (int i = 0; i < f.length; i++) f[i] = mask[i] != 0 ? 255f : 0f;
        return f;
    }

    private void maskChanged() {
        maskVersion++;
        version++;
    }

    // ------------------------------------------------------------------ images

    /**
     * A finished drag: the image becomes {@code edited} (the same size), each complete pair's handle moves to its final
     * tracked position (clamped to the image) and keeps its target, so the user can continue. One undo step.
     */
    public void applyResult(Images.Rgb edited, double[][] finalHandlesXy) {
        finishGesture();
        if (edited == null) throw new IllegalArgumentException("applyResult needs the edited image");
        if (edited.width() != width() || edited.height() != height())
            throw new IllegalArgumentException("the edited image is " + edited.size() + " but the image being edited is " + image.size());
        int complete = 0;
        for (Pair p : pairs) if (p.complete()) complete++;
        if (finalHandlesXy == null || finalHandlesXy.length != complete)
            throw new IllegalArgumentException((finalHandlesXy == null ? "no" : finalHandlesXy.length) + " final handle positions for " + complete + " complete pairs");
        Snapshot before = snapshot();
        List<Pair> after = new ArrayList<>(pairs);
        for (int k = 0, j = 0; k < after.size(); k++) {
            Pair p = after.get(k);
            if (!p.complete()) continue;
            double[] f = finalHandlesXy[j++];
            if (f == null || f.length != 2) throw new IllegalArgumentException("final handle " + (j - 1) + " must be {x, y}");
            after.set(k, p.withHandle(clampX(f[0]), clampY(f[1])));
        }
        image = edited;
        pairs = List.copyOf(after);
        imageChanged();
        pointsChanged();
        push(new SnapshotChange(before, snapshot()));
    }

    /** A new image (Ctrl+O): points and mask cleared. One undo step. */
    public void setImage(Images.Rgb newImage) {
        finishGesture();
        if (newImage == null) throw new IllegalArgumentException("setImage needs an image");
        Snapshot before = snapshot();
        image = newImage;
        pairs = List.of();
        mask = null;
        imageChanged();
        pointsChanged();
        maskChanged();
        push(new SnapshotChange(before, snapshot()));
    }

    private void imageChanged() {
        imageVersion++;
        version++;
    }

    // ------------------------------------------------------------------ undo

    public boolean canUndo() { return !undo.isEmpty() || gestureChanges(); }

    /** False while a gesture has changed something: finishing it is a new step, which clears the redo history. */
    public boolean canRedo() { return !redo.isEmpty() && !gestureChanges(); }

    /** Undoes the newest step (finishing a gesture in progress first, so Ctrl+Z mid-stroke takes the stroke back). No-op if there is none. */
    public void undo() {
        finishGesture();
        Change c = undo.pollLast();
        if (c == null) return;
        undoBytes -= c.bytes();
        c.undo();
        redo.addLast(c);
    }

    /** Redoes the newest undone step. No-op if there is none. */
    public void redo() {
        finishGesture();
        Change c = redo.pollLast();
        if (c == null) return;
        c.redo();
        undo.addLast(c);
        undoBytes += c.bytes();
    }

    /** Bytes the undo history holds (arrays it owns; images counted in full even where shared). */
    public long undoMemoryBytes() {
        long b = undoBytes;
        for (Change c : redo) b += c.bytes();
        return b;
    }

    /** Steps that {@link #undo} can take. */
    public int undoDepth() { return undo.size(); }

    private boolean gestureChanges() {
        return (moveIndex >= 0 && !moveBefore.equals(pairs)) || (stroke != null && (!stroke.changed.isEmpty() || stroke.created));
    }

    private void finishGesture() {
        endMove();
        endStroke();
    }

    private void push(Change c) {
        redo.clear();
        undo.addLast(c);
        undoBytes += c.bytes();
        while (undoBytes > UNDO_BYTE_LIMIT && undo.size() > 1) undoBytes -= undo.pollFirst().bytes();
    }

    private interface Change {
        void undo();

        void redo();

        long bytes();
    }

    private final class PointsChange implements Change {
        final List<Pair> before, after;

        PointsChange(List<Pair> before, List<Pair> after) {
            this.before = before;
            this.after = after;
        }

        public void undo() { pairs = before; pointsChanged(); }

        public void redo() { pairs = after; pointsChanged(); }

        public long bytes() { return 48L * (before.size() + after.size()) + 64; }
    }

    /** A stroke: the pixels it changed in its bounding box, as deflated bits; their old value is 1 − value. */
    private final class StrokeChange implements Change {
        final boolean created;
        final byte value;
        final int x0, y0, bw, bh;
        final byte[] bits;

        StrokeChange(boolean created, byte value, int x0, int y0, int bw, int bh, byte[] bits) {
            this.created = created;
            this.value = value;
            this.x0 = x0;
            this.y0 = y0;
            this.bw = bw;
            this.bh = bh;
            this.bits = bits;
        }

        public void undo() {
            if (created) mask = null;
            else apply((byte) (1 - value));
            maskChanged();
        }

        public void redo() {
            if (created) {
                mask = new byte[width() * height()];
                if (value == 0) Arrays.fill(mask, (byte) 1);
            }
            apply(value);
            maskChanged();
        }

        private void apply(byte v) {
            BitSet box = BitSet.valueOf(inflate(bits, (bw * bh + 7) / 8));
            int w = width();
            for (int i = box.nextSetBit(0); i >= 0; i = box.nextSetBit(i + 1))
                mask[(y0 + i / bw) * w + x0 + i % bw] = v;
        }

        public long bytes() { return bits.length + 64; }
    }

    /** The whole edit (image by reference, points, mask deflated): for changes of the image and mask resets. */
    private record Snapshot(Images.Rgb image, List<Pair> pairs, byte[] packedMask, int maskLength) {
        /** Without the image, which only counts where a step changes it (a mask reset shares it with the current state). */
        long bytesBesidesImage() { return 48L * pairs.size() + (packedMask == null ? 0 : packedMask.length) + 64; }
    }

    private Snapshot snapshot() {
        return new Snapshot(image, pairs, mask == null ? null : deflate(mask), mask == null ? 0 : mask.length);
    }

    private void restore(Snapshot s) {
        if (s.image() != image) {
            image = s.image();
            imageChanged();
        }
        if (!s.pairs().equals(pairs)) {
            pairs = s.pairs();
            pointsChanged();
        }
        byte[] m = s.packedMask() == null ? null : inflate(s.packedMask(), s.maskLength());
        if (!Arrays.equals(m, mask)) {
            mask = m;
            maskChanged();
        }
    }

    private final class SnapshotChange implements Change {
        final Snapshot before, after;

        SnapshotChange(Snapshot before, Snapshot after) {
            this.before = before;
            this.after = after;
        }

        public void undo() { restore(before); }

        public void redo() { restore(after); }

        public long bytes() {
            long b = before.bytesBesidesImage() + after.bytesBesidesImage();
            if (before.image() != after.image()) b += (long) before.image().pixels().length + after.image().pixels().length;
            return b;
        }
    }

    private static final class Stroke {
        final byte value;
        final double radius;
        final BitSet changed = new BitSet();
        boolean created, started;
        double lastX, lastY;
        int minX = Integer.MAX_VALUE, minY = Integer.MAX_VALUE, maxX = -1, maxY = -1;

        Stroke(byte value, double radius) {
            this.value = value;
            this.radius = radius;
        }
    }

    static byte[] deflate(byte[] data) {
        Deflater d = new Deflater(Deflater.BEST_SPEED);
        try {
            d.setInput(data);
            d.finish();
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, data.length / 64));
            byte[] buf = new byte[8192];
            while (!d.finished()) out.write(buf, 0, d.deflate(buf));
            return out.toByteArray();
        } finally {
            d.end();
        }
    }

    /** Inflates to exactly {@code length} bytes (BitSet.toByteArray drops trailing zero bytes, so shorter output is zero-padded). */
    static byte[] inflate(byte[] packed, int length) {
        Inflater inf = new Inflater();
        try {
            inf.setInput(packed);
            byte[] out = new byte[length];
            int n = 0;
            while (n < length && !inf.finished()) {
                int k = inf.inflate(out, n, length - n);
                if (k == 0 && (inf.needsInput() || inf.needsDictionary())) break;
                n += k;
            }
            return out;
        } catch (DataFormatException e) {
            throw new IllegalStateException("undo data is corrupt", e);
        } finally {
            inf.end();
        }
    }
}
