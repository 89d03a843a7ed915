package dev.dragedit.drag;

import dev.dragedit.autograd.Functional;
import dev.dragedit.tensor.Tensor;

/**
 * One motion-supervision term of DragDiffusion's drag_diffusion_update (utils/drag_utils.py) for handle p and
 * target q on the current features F1 [1, C, sup_h, sup_w]: with the unit direction d = (q − p)/|q − p| and the patch
 * rows r1 = max(0, int(p.row) − r_m) .. r2 = min(sup_h, int(p.row) + r_m + 1) (columns likewise), the term is
 * (2r_m + 1)² · mean|f0_patch − f1_patch| where f0_patch = F1[.., r1:r2, c1:c2] is a constant (detached: the
 * gradient only pulls the shifted patch towards the current content) and f1_patch = interpolate_feature_patch(F1,
 * r1 + d.row, r2 + d.row, c1 + d.col, c2 + d.col), the bilinear 4-weight sample of the patch shifted by d.
 */
public final class MotionSupervision {
    private MotionSupervision() {}

    /** The patch geometry of one term: rows [r1, r2), cols [c1, c2), direction d, and the shifted corners y1..x2. */
    public record Geometry(int r1, int r2, int c1, int c2, double dRow, double dCol, double y1, double y2, double x1, double x2) {}

    /** One evaluated term: its value (a one-element tensor on the tape) and both patches (for traces). */
    public record Term(Geometry geometry, Tensor value, Tensor f0Patch, Tensor f1Patch) {}

    /**
     * The patch geometry for handle p and target q. Where DragDiffusion's own geometry works it is used unchanged (the
     * fixtures pin it). Near the grid's bottom/right edge (and at the top/left edge when moving outwards) the
     * reference fails: its shifted patch, read one row/column past its last one by the bilinear blend, leaves the grid
     * and torch's slicing truncates it, so the two patches' shapes differ and l1_loss raises. There, per axis, a
     * full window of 2·r_m + 1 pixels is used instead, placed as near the handle as the grid allows with both the
     * window and its shifted copy inside: r1 = clamp(int(p) − r_m, −floor(d), size − side − floor(d) − far), where far = 1 unless d is a whole number (then
     * the blend's far row/column has weight 0 and is not read). The term
     * keeps its meaning (pull the content next to the handle one step along d). A grid smaller than side + 2 pixels
     * on an axis has no such window: an error naming it.
     */
    public static Geometry geometry(DragPoint p, DragPoint q, int rM, int supH, int supW) {
        double dist = p.distance(q);
        double dRow = (q.row() - p.row()) / dist, dCol = (q.col() - p.col()) / dist;
        // int() in Python truncates toward zero; the points are ≥ 0 here, so this is floor.
        int[] rows = window((int) p.row(), dRow, rM, supH, p, "rows");
        int[] cols = window((int) p.col(), dCol, rM, supW, p, "columns");
        int r1 = rows[0], r2 = rows[1], c1 = cols[0], c2 = cols[1];
        return new Geometry(r1, r2, c1, c2, dRow, dCol, r1 + dRow, r2 + dRow, c1 + dCol, c2 + dCol);
    }

    /** One axis of {@link #geometry}: [start, end) of the unshifted window for handle coordinate pc and direction d. */
    static int[] window(int pc, double d, int rM, int size, DragPoint p, String axis) {
        int a = Math.max(0, pc - rM), b = Math.min(size, pc + rM + 1);
        // interpolate_feature_patch reads floor(a + d) .. floor(a + d) + (b − a) inclusive.
        int lo = (int) Math.floor(a + d);
        if (lo >= 0 && lo + (b - a) + 1 <= size) return new int[]{a, b};
        int side = 2 * rM + 1;
        int fd = (int) Math.floor(d);
        // The blend's far row/column has weight 0 when d is a whole number: then it need not exist.
        int far = d == fd ? 0 : 1;
        int min = Math.max(0, -fd), max = size - side - fd - far;
        if (max < min)
            throw new IllegalArgumentException("drag: handle " + p + ": the supervision grid has " + size + " " + axis
                    + ", too few for a motion patch of " + side + " (r_m = " + rM + ") and its shifted copy; use a larger image or a smaller r_m");
        int start = Math.min(Math.max(pc - rM, min), max);
        return new int[]{start, start + side};
    }

    /** The term for handle p, target q (|q − p| ≥ the reach distance: the caller skips the others, as DragDiffusion does). */
    public static Term term(Functional f, Tensor f1, DragPoint p, DragPoint q, int rM) {
        int supH = f1.dim(2), supW = f1.dim(3);
        Geometry g = geometry(p, q, rM, supH, supW);
        // Through the op set, not the tape: DragDiffusion's .detach() of f0_patch.
        Tensor f0Patch = f.ops.slice(f.ops.slice(f1, 2, g.r1, g.r2), 3, g.c1, g.c2);
        Tensor f1Patch = interpolateFeaturePatch(f, f1, g.y1, g.y2, g.x1, g.x2, p);
        if (f0Patch.dim(2) != f1Patch.dim(2) || f0Patch.dim(3) != f1Patch.dim(3))
            throw new IllegalStateException("drag: handle " + p + ": the motion patches differ in shape ("
                    + f0Patch.dim(2) + "×" + f0Patch.dim(3) + " against " + f1Patch.dim(2) + "×" + f1Patch.dim(3) + ")"); // geometry() prevents this
        int side = 2 * rM + 1;
        Tensor value = f.reshape(f.scale(f.l1Loss(f0Patch, f1Patch), (float) (side * side)), 1);
        return new Term(g, value, f0Patch, f1Patch);
    }

    /**
     * drag_utils.py interpolate_feature_patch(feat, y1, y2, x1, x2): the four integer-offset patches
     * [y1f : y1f+dy, x1f : x1f+dx] (y1f = floor(y1), y1c = y1f + 1, dy = floor(y2) − floor(y1); x likewise) blended
     * with one set of bilinear weights wa = (x1c−x1)(y1c−y1), wb = (x1c−x1)(y1−y1f), wc = (x1−x1f)(y1c−y1),
     * wd = (x1−x1f)(y1−y1f); differentiable with respect to feat.
     */
    public static Tensor interpolateFeaturePatch(Functional f, Tensor feat, double y1, double y2, double x1, double x2, DragPoint forMessage) {
        int x1f = (int) Math.floor(x1), x1c = x1f + 1, dx = (int) Math.floor(x2) - x1f;
        int y1f = (int) Math.floor(y1), y1c = y1f + 1, dy = (int) Math.floor(y2) - y1f;
        int h = feat.dim(2), w = feat.dim(3);
        // The weights in double, then as the float32 scalars the op set multiplies by.
        float wa = (float) ((x1c - x1) * (y1c - y1)), wb = (float) ((x1c - x1) * (y1 - y1f));
        float wc = (float) ((x1 - x1f) * (y1c - y1)), wd = (float) ((x1 - x1f) * (y1 - y1f));
        // The far row (column) is read only where its weights are nonzero or it exists: at the grid's edge a whole-number
        // shift leaves it out (see geometry()); inside, every crop is taken, as the reference does.
        boolean rowC = y1c + dy <= h, colC = x1c + dx <= w;
        if (y1f < 0 || x1f < 0 || (!rowC && (wb != 0 || wd != 0)) || (!colC && (wc != 0 || wd != 0)) || y1f + dy > h || x1f + dx > w)
            throw new IllegalStateException("drag: handle " + forMessage + ": the shifted motion patch rows " + y1f + ".." + (y1c + dy)
                    + ", cols " + x1f + ".." + (x1c + dx) + " leave the " + h + "×" + w + " supervision grid");
        // Ia*wa + Ib*wb + Ic*wc + Id*wd, summed left to right as PyTorch evaluates the expression.
        Tensor sum = f.scale(crop(f, feat, y1f, dy, x1f, dx), wa);
        if (rowC) sum = f.add(sum, f.scale(crop(f, feat, y1c, dy, x1f, dx), wb));
        if (colC) sum = f.add(sum, f.scale(crop(f, feat, y1f, dy, x1c, dx), wc));
        if (rowC && colC) sum = f.add(sum, f.scale(crop(f, feat, y1c, dy, x1c, dx), wd));
        return sum;
    }

    private static Tensor crop(Functional f, Tensor x, int r, int dr, int c, int dc) {
        return f.slice(f.slice(x, 2, r, r + dr), 3, c, c + dc);
    }
}
