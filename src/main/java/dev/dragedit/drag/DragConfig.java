package dev.dragedit.drag;

import java.util.Arrays;

/**
 * The hyperparameters of DragDiffusion's latent optimisation (utils/drag_utils.py drag_diffusion_update, with the
 * defaults that utils/ui_utils.py run_drag sets): supervision resolution, motion-supervision radius r_m, point-tracking
 * radius r_p, mask weight lam, Adam learning rate, the iteration limit n_pix_step and the UNet feature indices in
 * DragDiffusion's convention (0 = mid block output, k ≥ 1 = up_blocks[k−1] output; the default [3] is up_blocks[2]).
 * A handle within {@link #reachDistance} of its target is done (check_handle_reach_target and the per-handle skip).
 */
public record DragConfig(int supResH, int supResW, int rM, int rP, double lam, double lr, int maxIterations,
                         int[] featureIdx, double reachDistance) {
    public DragConfig {
        if (supResH < 1 || supResW < 1) throw new IllegalArgumentException("drag: supervision resolution " + supResH + "×" + supResW + " must be positive");
        if (rM < 0) throw new IllegalArgumentException("drag: r_m " + rM + " must be ≥ 0");
        if (rP < 0) throw new IllegalArgumentException("drag: r_p " + rP + " must be ≥ 0");
        if (!(lam >= 0) || Double.isInfinite(lam)) throw new IllegalArgumentException("drag: lam " + lam + " must be a finite number ≥ 0");
        if (!(lr > 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("drag: lr " + lr + " must be a finite number > 0");
        if (maxIterations < 0) throw new IllegalArgumentException("drag: n_pix_step " + maxIterations + " must be ≥ 0");
        if (featureIdx == null || featureIdx.length == 0) throw new IllegalArgumentException("drag: unet_feature_idx is empty");
        for (int k : featureIdx)
            if (k < 0) throw new IllegalArgumentException("drag: unet_feature_idx " + Arrays.toString(featureIdx)
                    + " holds " + k + " (0 = mid block, k = up_blocks[k-1])");
        if (!(reachDistance > 0)) throw new IllegalArgumentException("drag: reach distance " + reachDistance + " must be > 0");
        featureIdx = featureIdx.clone();
    }

    /** DragDiffusion's defaults for an image of fullH × fullW pixels: sup_res = int(0.5·size), r_m 1, r_p 3, lam 0.1, lr 0.01, 80 steps, [3]. */
    public static DragConfig defaults(int fullH, int fullW) {
        return new DragConfig((int) (0.5 * fullH), (int) (0.5 * fullW), 1, 3, 0.1, 0.01, 80, new int[]{3}, 2.0);
    }

    @Override public int[] featureIdx() { return featureIdx.clone(); }

    public DragConfig withMaxIterations(int n) { return new DragConfig(supResH, supResW, rM, rP, lam, lr, n, featureIdx, reachDistance); }

    @Override public boolean equals(Object o) {
        return o instanceof DragConfig c && c.supResH == supResH && c.supResW == supResW && c.rM == rM && c.rP == rP
                && c.lam == lam && c.lr == lr && c.maxIterations == maxIterations && Arrays.equals(c.featureIdx, featureIdx)
                && c.reachDistance == reachDistance;
    }

    @Override public int hashCode() { return Arrays.hashCode(featureIdx) * 31 + supResH * 7 + supResW; }

    @Override public String toString() {
        return "DragConfig[sup_res=" + supResH + "x" + supResW + ", r_m=" + rM + ", r_p=" + rP + ", lam=" + lam + ", lr=" + lr
                + ", n_pix_step=" + maxIterations + ", unet_feature_idx=" + Arrays.toString(featureIdx) + "]";
    }
}
