package dev.dragedit.drag;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Motion supervision at every handle position of a small grid, in every direction: where DragDiffusion's own patch
 * geometry works it is used unchanged (max(0, p − r_m) .. min(size, p + r_m + 1)); at the edges where the reference's
 * shifted patch would leave the grid (its l1_loss then fails on mismatched shapes), a full window placed inside the
 * grid is used, so a handle anywhere in the grid gets a finite term with a gradient; a grid too small for any window
 * is an error naming the axis.
 */
class MotionSupervisionTest {
    private static final int[][] DIRECTIONS = {{-3, 0}, {3, 0}, {0, -3}, {0, 3}, {-2, -2}, {2, 2}, {-2, 3}, {3, -1}, {1, 2}};

    @Test
    void everyHandleInTheGridGetsATermAndTheReferenceGeometryIsKeptWhereItWorks() {
        Random rnd = new Random(5);
        int h = 9, w = 11, rM = 1;
        float[] v = new float[3 * h * w];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextFloat() * 2 - 1;
        Functional f = new Functional(CpuOps.INSTANCE);
        int fallbacks = 0, reference = 0;
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++)
                for (int[] d : DIRECTIONS) {
                    DragPoint p = new DragPoint(r, c), q = new DragPoint(r + d[0], c + d[1]);
                    if (q.row() < 0 || q.row() >= h || q.col() < 0 || q.col() >= w) continue; // targets lie in the grid
                    MotionSupervision.Geometry g = MotionSupervision.geometry(p, q, rM, h, w);
                    int refR1 = Math.max(0, r - rM), refR2 = Math.min(h, r + rM + 1);
                    int refC1 = Math.max(0, c - rM), refC2 = Math.min(w, c + rM + 1);
                    boolean rowsOk = Math.floor(refR1 + g.dRow()) >= 0 && Math.floor(refR1 + g.dRow()) + (refR2 - refR1) + 1 <= h;
                    boolean colsOk = Math.floor(refC1 + g.dCol()) >= 0 && Math.floor(refC1 + g.dCol()) + (refC2 - refC1) + 1 <= w;
                    if (rowsOk) assertEquals(refR1 + "," + refR2, g.r1() + "," + g.r2(), "reference rows kept for " + p + "→" + q);
                    else assertEquals(3, g.r2() - g.r1(), "full window on the rows for " + p + "→" + q);
                    if (colsOk) assertEquals(refC1 + "," + refC2, g.c1() + "," + g.c2(), "reference cols kept for " + p + "→" + q);
                    else assertEquals(3, g.c2() - g.c1(), "full window on the cols for " + p + "→" + q);
                    if (rowsOk && colsOk) reference++; else fallbacks++;
                    // The window stays near the handle: it covers the handle or its neighbour toward the grid.
                    assertTrue(Math.abs((g.r1() + g.r2() - 1) / 2.0 - r) <= 1.0 + 1e-9 && Math.abs((g.c1() + g.c2() - 1) / 2.0 - c) <= 1.0 + 1e-9,
                            "window " + g + " near " + p);

                    Tensor feat = Tensor.of(v.clone(), 1, 3, h, w).requiresGrad(true);
                    MotionSupervision.Term t = MotionSupervision.term(f, feat, p, q, rM);
                    double val = t.value().item();
                    assertTrue(Double.isFinite(val) && val > 0, "term at " + p + "→" + q + " = " + val);
                    Tape.backward(t.value());
                    double g2 = 0;
                    for (float x : feat.grad().data()) g2 += x * x;
                    assertTrue(g2 > 0, "gradient reaches the features at " + p + "→" + q);
                }
        assertTrue(reference > 0 && fallbacks > 0, reference + " reference, " + fallbacks + " edge cases");
    }

    @Test
    void aGridTooSmallForAWindowIsAnErrorNamingTheAxis() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MotionSupervision.geometry(new DragPoint(1, 5), new DragPoint(1, 9), 1, 2, 20));
        assertTrue(e.getMessage().contains("2 rows"), e.getMessage());
    }
}
