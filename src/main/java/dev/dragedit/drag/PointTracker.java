package dev.dragedit.drag;

import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * DragDiffusion's point_tracking (utils/drag_utils.py): each handle moves to the nearest neighbour, in L1 distance
 * over channels, of its ORIGINAL feature vector F0[:, :, int(p0.row), int(p0.col)] (initial features at the initial
 * position) within the window rows max(0, int(p.row) − r_p) .. min(sup_h, int(p.row) + r_p + 1) − 1 (columns
 * likewise) around its current position in the current features F1; ties go to the first minimum in row-major
 * order (torch.argmin over the flattened window).
 */
public final class PointTracker {
    private final float[] f0;
    private final int channels, h, w, rP;

    /** One handle's search: the window origin, its distance map [rows, cols], and the new position. */
    public record Window(int row0, int col0, int rows, int cols, double[] dist, DragPoint result) {
        public Tensor distTensor() {
            float[] d = new float[dist.length];
            for (int i = 0; i < d.length; i++) d[i] = (float) dist[i];
            return Tensor.of(d, rows, cols);
        }
    }

    /** F0 [1, C, sup_h, sup_w] (any device; copied to the CPU once). */
    public PointTracker(Tensor f0, int rP) {
        if (f0.rank() != 4 || f0.dim(0) != 1) throw new IllegalArgumentException("point tracking: F0 must be [1, C, H, W]");
        this.f0 = f0.toCpu().data().clone();
        this.channels = f0.dim(1);
        this.h = f0.dim(2);
        this.w = f0.dim(3);
        this.rP = rP;
    }

    /** Tracks every handle; {@code f1} [1, C, sup_h, sup_w] (any device). */
    public List<Window> track(Tensor f1, List<DragPoint> handlesInit, List<DragPoint> handles) {
        if (f1.dim(1) != channels || f1.dim(2) != h || f1.dim(3) != w)
            throw new IllegalArgumentException("point tracking: F1 and F0 differ in shape");
        float[] cur = f1.toCpu().data();
        List<Window> out = new ArrayList<>();
        for (int k = 0; k < handles.size(); k++) out.add(trackOne(cur, handlesInit.get(k), handles.get(k)));
        return out;
    }

    private Window trackOne(float[] f1, DragPoint p0, DragPoint p) {
        int r0 = (int) p0.row(), c0 = (int) p0.col();
        if (r0 < 0 || r0 >= h || c0 < 0 || c0 >= w)
            throw new IllegalArgumentException("point tracking: initial handle " + p0 + " is outside the " + h + "×" + w + " supervision grid");
        int pr = (int) p.row(), pc = (int) p.col();
        int r1 = Math.max(0, pr - rP), r2 = Math.min(h, pr + rP + 1);
        int c1 = Math.max(0, pc - rP), c2 = Math.min(w, pc + rP + 1);
        int rows = r2 - r1, cols = c2 - c1;
        if (rows <= 0 || cols <= 0)
            throw new IllegalArgumentException("point tracking: handle " + p + " is outside the " + h + "×" + w + " supervision grid");
        double[] dist = new double[rows * cols];
        int plane = h * w;
        int best = 0;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) {
                int at = (r1 + i) * w + (c1 + j);
                double s = 0;
                for (int c = 0; c < channels; c++) s += Math.abs(f0[c * plane + r0 * w + c0] - f1[c * plane + at]);
                dist[i * cols + j] = s;
                if (s < dist[best]) best = i * cols + j; // strict: the first minimum wins
            }
        return new Window(r1, c1, rows, cols, dist, new DragPoint(r1 + best / cols, c1 + best % cols));
    }
}
