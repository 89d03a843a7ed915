package dev.dragedit.autograd;

import dev.dragedit.tensor.Tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reverse-mode automatic differentiation. Ops called through {@link Functional} append a {@link Node} to the tape
 * — only when gradients are enabled and at least one input requires a gradient, so inference records nothing.
 * {@link #backward} walks the tape from the loss in reverse order, adds each gradient into {@code grad()} of the
 * leaf tensors marked {@code requiresGrad(true)}, and releases every node's saved activations the moment its
 * backward has run, so the memory held shrinks as the backward proceeds.
 */
public final class Tape {
    private Tape() {}

    private static final ThreadLocal<int[]> NO_GRAD_DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    /** A scope in which nothing is recorded: {@code try (var g = Tape.noGrad()) { … }}. */
    public static Scope noGrad() {
        NO_GRAD_DEPTH.get()[0]++;
        return () -> NO_GRAD_DEPTH.get()[0]--;
    }

    public interface Scope extends AutoCloseable {
        @Override void close();
    }

    public static boolean gradEnabled() {
        return NO_GRAD_DEPTH.get()[0] == 0;
    }

    /** Whether an op on these inputs must be recorded. */
    public static boolean needsRecord(Tensor... inputs) {
        if (!gradEnabled()) return false;
        for (Tensor t : inputs) if (t != null && t.requiresGrad()) return true;
        return false;
    }

    /**
     * Attaches a node to {@code out}. {@code saved} lists the tensors the backward closure keeps (for accounting;
     * the closure itself holds the references).
     */
    static Tensor record(String op, dev.dragedit.ops.Ops ops, Tensor out, Tensor[] inputs, Node.Backward backward, Tensor... saved) {
        for (Tensor in : inputs)
            if (in == out) throw new IllegalStateException(op + ": the op returned its input object; recording it would overwrite the input's place on the tape");
        long bytes = 0;
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Tensor s : saved) if (s != null && seen.add(s)) bytes += s.sizeBytes();
        Node n = new Node(op, ops, out.shape(), inputs.clone(), backward, bytes);
        out.setGradFn(n);
        out.requiresGrad(true);
        return out;
    }

    /** What a backward pass held: activations at the start, and the peak of activations plus pending gradients. */
    public record Stats(int nodes, long savedBytesAtStart, long peakLiveBytes, long savedBytesAtEnd) {}

    /** Backward from a one-element loss (seeded with 1). */
    public static Stats backward(Tensor loss) {
        if (loss.numel() != 1)
            throw new IllegalArgumentException("backward(loss): loss has shape " + Arrays.toString(loss.shape())
                    + "; pass an explicit gradient for a non-scalar output");
        Tensor one = Tensor.full(1f, loss.shape());
        return backward(loss, loss.onDevice() ? one.toDevice(loss.kernelDevice()) : one);
    }

    /** Backward from {@code out} with upstream gradient {@code gy} (same shape as out). */
    public static Stats backward(Tensor out, Tensor gy) {
        if (!Arrays.equals(out.shape(), gy.shape()))
            throw new IllegalArgumentException("backward: gradient has shape " + Arrays.toString(gy.shape())
                    + ", expected the output's shape " + Arrays.toString(out.shape()));
        if (!out.requiresGrad())
            throw new IllegalArgumentException("backward: the output does not depend on any tensor that requires a gradient");
        Node root = out.gradFn();
        if (root == null) { // the output is itself a leaf
            accumulateLeaf(out, gy, null);
            return new Stats(0, 0, gy.sizeBytes(), 0);
        }
        if (!root.holdsActivations())
            throw new IllegalStateException("backward: the graph of this output was already released by an earlier backward");

        List<Node> nodes = reachable(root);
        nodes.sort(Comparator.comparingLong((Node n) -> n.seq).reversed());
        long saved = 0;
        for (Node n : nodes) saved += n.savedBytes;
        final long savedAtStart = saved;

        Map<Node, Tensor> pending = new IdentityHashMap<>();
        pending.put(root, gy);
        long pendingBytes = gy.sizeBytes();
        long peak = saved + pendingBytes;

        for (Node n : nodes) {
            Tensor g = pending.remove(n);
            if (g == null) { // not on a path to the output's gradient (e.g. a branch whose gradient was never needed)
                saved -= n.savedBytes;
                n.release();
                continue;
            }
            Tensor[] grads = n.backward.apply(g);
            Tensor[] inputs = n.inputs;
            pendingBytes -= g.sizeBytes();
            for (int i = 0; i < inputs.length; i++) {
                Tensor in = inputs[i];
                if (in == null || !in.requiresGrad() || i >= grads.length || grads[i] == null) continue;
                Tensor gi = grads[i];
                if (!Arrays.equals(gi.shape(), in.shape()))
                    throw new IllegalStateException("backward of " + n.op + ": gradient " + i + " has shape "
                            + Arrays.toString(gi.shape()) + ", expected " + Arrays.toString(in.shape()));
                Node producer = in.gradFn();
                if (producer == null) {
                    accumulateLeaf(in, gi, n.ops);
                } else {
                    Tensor prev = pending.get(producer);
                    if (prev == null) {
                        pending.put(producer, gi);
                        pendingBytes += gi.sizeBytes();
                    } else {
                        pending.put(producer, n.ops.add(prev, gi));
                    }
                }
            }
            peak = Math.max(peak, saved + pendingBytes);
            saved -= n.savedBytes;
            n.release();
        }
        return new Stats(nodes.size(), savedAtStart, peak, saved);
    }

    private static void accumulateLeaf(Tensor leaf, Tensor g, dev.dragedit.ops.Ops ops) {
        Tensor prev = leaf.grad();
        if (prev == null) leaf.setGrad(g);
        else leaf.setGrad(ops != null ? ops.add(prev, g) : dev.dragedit.ops.cpu.CpuOps.INSTANCE.add(prev, g));
    }

    private static List<Node> reachable(Node root) {
        List<Node> out = new ArrayList<>();
        Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Node> stack = new ArrayDeque<>();
        stack.push(root);
        seen.add(root);
        while (!stack.isEmpty()) {
            Node n = stack.pop();
            out.add(n);
            if (n.inputs == null) continue;
            for (Tensor in : n.inputs) {
                if (in == null) continue;
                Node p = in.gradFn();
                if (p != null && p.holdsActivations() && seen.add(p)) stack.push(p);
            }
        }
        return out;
    }
}
