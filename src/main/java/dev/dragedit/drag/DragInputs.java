package dev.dragedit.drag;

import dev.dragedit.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * How DragDiffusion's utils/ui_utils.py run_drag prepares points and mask for drag_diffusion_update:
 * clicked (x, y) image pixels become (row, col) = torch.round([y / H · sup_h, x / W · sup_w]) (round half to even,
 * on float32 values as run_drag's torch.tensor holds them); the mask (any nonzero = editable, mask/255 then
 * mask[mask > 0] = 1) is resized with PyTorch "nearest" (out[i] = in[floor(i · in / out)]) to the supervision
 * resolution, and drag_diffusion_update resizes that again, nearest, to the latent size.
 */
public final class DragInputs {
    private DragInputs() {}

    /** One image point (x, y) to supervision (row, col), as run_drag converts it. */
    public static DragPoint toSupRes(double x, double y, int fullH, int fullW, int supH, int supW) {
        // Python evaluates y / H * sup in double; torch.tensor stores it as float32; torch.round rounds half to even.
        float row = (float) (y / fullH * supH), col = (float) (x / fullW * supW);
        return new DragPoint(Math.rint(row), Math.rint(col));
    }

    /**
     * The clicked points in run_drag's order (handle 0, target 0, handle 1, …), each {x, y} in image pixels, split
     * into handles and targets in supervision pixels. An odd count is an error.
     */
    public static List<List<DragPoint>> handlesAndTargets(double[][] pointsXy, int fullH, int fullW, int supH, int supW) {
        if (pointsXy.length == 0 || pointsXy.length % 2 != 0)
            throw new IllegalArgumentException("drag: " + pointsXy.length + " points given; expected pairs (handle, target), at least one");
        List<DragPoint> handles = new ArrayList<>(), targets = new ArrayList<>();
        for (int i = 0; i < pointsXy.length; i++) {
            if (pointsXy[i].length != 2) throw new IllegalArgumentException("drag: point " + i + " has " + pointsXy[i].length + " coordinates, expected (x, y)");
            DragPoint p = toSupRes(pointsXy[i][0], pointsXy[i][1], fullH, fullW, supH, supW);
            (i % 2 == 0 ? handles : targets).add(p);
        }
        return List.of(handles, targets);
    }

    /**
     * A mask picture (PNG/JPEG of the image's size) as the h·w values a {@link DragDiffusion.Request} takes: per pixel
     * the brightest channel (0..255), so a mask painted in any colour counts; nonzero = may change.
     */
    public static float[] maskValues(Images.Rgb m) {
        float[] v = new float[m.height() * m.width()];
        for (int y = 0; y < m.height(); y++)
            for (int x = 0; x < m.width(); x++)
                v[y * m.width() + x] = Math.max(m.get(y, x, 0), Math.max(m.get(y, x, 1), m.get(y, x, 2)));
        return v;
    }

    /** run_drag's binarisation: 1 where the mask is nonzero (mask/255, then mask[mask > 0] = 1), 0 elsewhere; [1, 1, H, W]. */
    public static Tensor binarize(Tensor mask) {
        int h = mask.dim(-2), w = mask.dim(-1);
        if (mask.numel() != h * w) throw new IllegalArgumentException("drag: mask has shape " + java.util.Arrays.toString(mask.shape()) + ", expected [H, W] or [1, 1, H, W]");
        float[] in = mask.toCpu().data(), out = new float[h * w];
        for (int i = 0; i < out.length; i++) out[i] = in[i] / 255f > 0 ? 1f : 0f;
        return Tensor.of(out, 1, 1, h, w);
    }

    /** PyTorch F.interpolate(mode="nearest") of a [N, C, H, W] CPU tensor: out[i] = in[floor(i · in / out)] per axis. */
    public static Tensor resizeNearest(Tensor x, int outH, int outW) {
        int[] s = x.shape();
        if (s.length != 4) throw new IllegalArgumentException("resizeNearest: expected [N, C, H, W], found rank " + s.length);
        int planes = s[0] * s[1], inH = s[2], inW = s[3];
        float[] in = x.toCpu().data(), out = new float[planes * outH * outW];
        // torch computes the source index as floor(dst * (in/out)) with the scale in float32.
        float sh = (float) inH / outH, sw = (float) inW / outW;
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < outH; i++) {
                int si = Math.min((int) Math.floor(i * sh), inH - 1);
                for (int j = 0; j < outW; j++) {
                    int sj = Math.min((int) Math.floor(j * sw), inW - 1);
                    out[(p * outH + i) * outW + j] = in[(p * inH + si) * inW + sj];
                }
            }
        return Tensor.of(out, s[0], s[1], outH, outW);
    }
}
