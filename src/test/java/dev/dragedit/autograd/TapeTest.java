package dev.dragedit.autograd;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.OpTestSupport;
import dev.dragedit.optim.Adam;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.dragedit.ops.OpTestSupport.assertClose;
import static dev.dragedit.ops.OpTestSupport.f64;
import static org.junit.jupiter.api.Assertions.*;

class TapeTest {
    private final Functional F = new Functional(OpTestSupport.ops());

    @Test
    void chainRuleAccumulatesOverBranchesAndBroadcasts() {
        Random r = new Random(1);
        Tensor a = OpTestSupport.randn(r, 3, 1).requiresGrad(true);  // broadcast along dim 1
        Tensor b = OpTestSupport.randn(r, 1, 5).requiresGrad(true);  // broadcast along dim 0
        // L = Σ (a·b + a)·a  → dL/da_i = Σ_j (2a_i·b_j + 2a_i) ; dL/db_j = Σ_i a_i²
        Tensor y = F.mul(F.add(F.mul(a, b), a), a);
        Tensor loss = F.sum(y);
        Tape.backward(loss);
        double[] av = f64(a), bv = f64(b);
        double sb = 0;
        for (double v : bv) sb += v;
        double[] ga = new double[3], gb = new double[5];
        for (int i = 0; i < 3; i++) ga[i] = 2 * av[i] * sb + 2 * av[i] * 5;
        for (int j = 0; j < 5; j++) for (int i = 0; i < 3; i++) gb[j] += av[i] * av[i];
        assertClose("dL/da", ga, new int[]{3, 1}, a.grad(), 1e-5, 1e-5);
        assertClose("dL/db", gb, new int[]{1, 5}, b.grad(), 1e-5, 1e-5);
    }

    @Test
    void gradientsAccumulateAcrossBackwardCallsLikeTorch() {
        Tensor x = Tensor.of(new float[]{1, 2, 3}, 3).requiresGrad(true);
        Tape.backward(F.sum(F.scale(x, 2f)));
        Tape.backward(F.sum(F.scale(x, 3f)));
        assertClose("grad", new double[]{5, 5, 5}, new int[]{3}, x.grad(), 0, 0);
    }

    @Test
    void nothingIsRecordedWithoutAnInputThatNeedsAGradient() {
        Random r = new Random(2);
        Tensor a = OpTestSupport.randn(r, 4, 4), b = OpTestSupport.randn(r, 4, 4);
        Tensor y = F.silu(F.matmul(a, b));
        assertNull(y.gradFn());
        assertFalse(y.requiresGrad());
        Tensor w = OpTestSupport.randn(r, 4, 4).requiresGrad(true);
        try (var g = Tape.noGrad()) {
            Tensor z = F.matmul(a, w);
            assertNull(z.gradFn(), "no node may be recorded inside noGrad()");
        }
        assertNotNull(F.matmul(a, w).gradFn(), "recording resumes after the noGrad scope");
    }

    @Test
    void secondBackwardThroughAReleasedGraphSaysSo() {
        Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
        Tensor loss = F.sum(F.square(x));
        Tape.backward(loss);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tape.backward(loss));
        assertTrue(e.getMessage().contains("already released"), e.getMessage());
    }

    @Test
    void nonScalarLossNeedsAnExplicitGradient() {
        Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tape.backward(F.scale(x, 2f)));
        assertTrue(e.getMessage().contains("[2]"), e.getMessage());
    }

    /**
     * A 40-layer MLP: every node's activations are freed as soon as its backward ran, the live bytes never exceed
     * what the forward saved plus a few activations of gradient, and the intermediate tensors become collectable
     * while the loss is still referenced.
     */
    @Test
    void backwardReleasesActivationsAsItGoesInADeepNetwork() {
        Random r = new Random(3);
        int width = 64, depth = 40, batch = 16;
        List<Tensor> ws = new ArrayList<>();
        for (int i = 0; i < depth; i++) ws.add(F.scale(OpTestSupport.randn(r, width, width), 0.15f).requiresGrad(true));
        Tensor x = OpTestSupport.randn(r, batch, width);
        List<WeakReference<Tensor>> acts = new ArrayList<>();
        List<Node> nodes = new ArrayList<>();
        Tensor h = x;
        for (Tensor w : ws) {
            h = F.silu(F.linear(h, w, null));
            acts.add(new WeakReference<>(h));
            nodes.add(h.gradFn());
        }
        Tensor loss = F.mean(F.square(h));
        long activation = (long) batch * width * 4;
        Tape.Stats s = Tape.backward(loss);

        assertEquals(0, s.savedBytesAtEnd(), "every saved activation is released");
        for (Node n : nodes) assertFalse(n.holdsActivations(), n.op() + " still holds its activations");
        // Forward saved ~2 activations + one weight per layer; the peak may add only a few activation-sized gradients.
        assertTrue(s.savedBytesAtStart() >= depth * 2 * activation, "accounting saw the saved activations: " + s);
        assertTrue(s.peakLiveBytes() <= s.savedBytesAtStart() + 4 * activation,
                "peak " + s.peakLiveBytes() + " bytes exceeds saved " + s.savedBytesAtStart() + " + 4 activations");
        System.out.printf("deep MLP backward: %d nodes, saved %.1f KiB at start, peak live %.1f KiB%n",
                s.nodes(), s.savedBytesAtStart() / 1024.0, s.peakLiveBytes() / 1024.0);

        h = null;
        boolean collected = false;
        for (int i = 0; i < 20 && !collected; i++) {
            System.gc();
            collected = acts.subList(0, depth - 1).stream().allMatch(ref -> ref.get() == null);
        }
        assertTrue(collected, "intermediate activations are still reachable after the backward");
        assertNotNull(loss); // the loss is alive throughout, so it is the tape that must let go
        for (Tensor w : ws) assertNotNull(w.grad());
    }

    @Test
    void adamFitsALinearRegression() {
        Random r = new Random(4);
        Tensor x = OpTestSupport.randn(r, 64, 3);
        Tensor wTrue = Tensor.of(new float[]{1.5f, -2f, 0.5f}, 1, 3);
        Tensor y = F.linear(x, wTrue, Tensor.of(new float[]{0.25f}, 1));
        Tensor w = Tensor.zeros(1, 3).requiresGrad(true);
        Tensor b = Tensor.zeros(1).requiresGrad(true);
        Adam opt = new Adam(F.ops, List.of(w, b), AdamParams.adam(0.05f));
        float first = Float.NaN, last = Float.NaN;
        for (int it = 0; it < 400; it++) {
            opt.zeroGrad();
            Tensor loss = F.mseLoss(F.linear(x, w, b), y);
            if (it == 0) first = loss.item();
            last = loss.item();
            Tape.backward(loss);
            opt.step();
        }
        assertTrue(last < 1e-4 * first, "loss went from " + first + " to " + last);
        assertClose("w", new double[]{1.5, -2, 0.5}, new int[]{1, 3}, w, 1e-2, 0);
        assertClose("b", new double[]{0.25}, new int[]{1}, b, 1e-2, 0);
    }
}
