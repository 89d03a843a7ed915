package dev.dragedit.ops;

import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.dragedit.ops.OpTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** adamStep against a float64 transcription of torch.optim.Adam / AdamW's update, over several steps. */
class AdamTest {
    private final Ops ops = ops();

    /** One step of torch's single-tensor Adam/AdamW in float64, in place on p, m, v. */
    static void refStep(double[] p, double[] g0, double[] m, double[] v, int step, AdamParams hp) {
        double lr = hp.lr(), b1 = hp.beta1(), b2 = hp.beta2(), eps = hp.eps(), wd = hp.weightDecay();
        double bc1 = 1 - Math.pow(b1, step), bc2 = 1 - Math.pow(b2, step);
        for (int i = 0; i < p.length; i++) {
            double g = g0[i];
            if (hp.decoupled()) p[i] *= 1 - lr * wd;     // AdamW: decay the weights first
            else g += wd * p[i];                          // Adam: L2 term joins the gradient
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            double denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + eps;
            p[i] -= lr / bc1 * m[i] / denom;
        }
    }

    private void checkTrajectory(String what, AdamParams hp, int n, int steps) {
        Random r = new Random(what.hashCode());
        Tensor p0 = randn(r, n);
        Tensor[] grads = new Tensor[steps];
        for (int s = 0; s < steps; s++) grads[s] = randn(r, n);
        bothSimdPaths(() -> {
            Tensor p = p0.copy(), m = Tensor.zeros(n), v = Tensor.zeros(n);
            double[] rp = f64(p0), rm = new double[n], rv = new double[n];
            for (int s = 1; s <= steps; s++) {
                float[] g0 = grads[s - 1].data().clone();
                ops.adamStep(p, grads[s - 1], m, v, s, hp);
                refStep(rp, f64(grads[s - 1]), rm, rv, s, hp);
                assertArrayEquals(g0, grads[s - 1].data(), "adamStep must not modify grad");
                assertClose(what + " param after step " + s, rp, new int[]{n}, p, F32_ATOL, F32_RTOL);
                assertClose(what + " m after step " + s, rm, new int[]{n}, m, F32_ATOL, F32_RTOL);
                assertClose(what + " v after step " + s, rv, new int[]{n}, v, F32_ATOL, F32_RTOL);
            }
        });
    }

    @Test
    void adamMatchesTorchUpdateOverSeveralSteps() {
        checkTrajectory("adam", AdamParams.adam(1e-2f), 1031, 6);
    }

    @Test
    void adamAddsEpsAfterTheBiasCorrectedSquareRoot() {
        // A large eps makes √v̂ + eps and √(v̂ + eps) differ visibly.
        checkTrajectory("adam large eps", new AdamParams(1e-2f, 0.9f, 0.999f, 0.5f, 0f, false), 257, 4);
    }

    @Test
    void adamWithL2WeightDecayAddsDecayToTheGradient() {
        checkTrajectory("adam l2", new AdamParams(2e-2f, 0.8f, 0.99f, 1e-6f, 0.1f, false), 1031, 6);
    }

    @Test
    void adamWDecouplesWeightDecay() {
        checkTrajectory("adamW", AdamParams.adamW(1e-2f, 0.05f), 1031, 6);
        checkTrajectory("adamW large", AdamParams.adamW(3e-3f, 0.01f), 40009, 3);
    }

    @Test
    void adamStepRejectsMismatchedTensorsAndBadHyperParameters() {
        Random r = new Random(1);
        Tensor p = randn(r, 5), g = randn(r, 5), m = Tensor.zeros(5), v = Tensor.zeros(5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ops.adamStep(p, randn(r, 6), m, v, 1, AdamParams.adam(1e-3f)));
        assertTrue(e.getMessage().contains("adamStep") && e.getMessage().contains("grad") && e.getMessage().contains("[6]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ops.adamStep(p, g, m, v, 0, AdamParams.adam(1e-3f)));
        assertTrue(e.getMessage().contains("step"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ops.adamStep(p, g, m, v, 1, new AdamParams(1e-3f, 1f, 0.999f, 1e-8f, 0f, false)));
        assertTrue(e.getMessage().contains("beta1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ops.adamStep(p, g, m, m, 1, AdamParams.adam(1e-3f)));
    }
}
