package dev.dragedit.autograd;

import dev.dragedit.ops.Ops;
import dev.dragedit.tensor.Tensor;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One recorded op on the tape: the inputs it was applied to and the closure that maps the gradient of its output to
 * the gradients of its inputs. The closure holds the activations the backward needs; {@link #release} drops it
 * (and with it those activations) once the backward has run. The sequence number is the tape position: an op's
 * inputs were always recorded before it, so descending order is a valid order for the backward.
 */
public final class Node {
    private static final AtomicLong SEQ = new AtomicLong();

    /** Maps dL/d(output) to dL/d(input_i) for every input (null where an input needs no gradient). */
    @FunctionalInterface
    public interface Backward {
        Tensor[] apply(Tensor gy);
    }

    final String op;
    final long seq = SEQ.incrementAndGet();
    final Ops ops;
    final int[] outShape;
    Tensor[] inputs;
    Backward backward;
    final long savedBytes;

    Node(String op, Ops ops, int[] outShape, Tensor[] inputs, Backward backward, long savedBytes) {
        this.op = op;
        this.ops = ops;
        this.outShape = outShape;
        this.inputs = inputs;
        this.backward = backward;
        this.savedBytes = savedBytes;
    }

    public String op() { return op; }

    /** Whether the backward closure (and what it saved) is still held. */
    public boolean holdsActivations() { return backward != null; }

    /** Bytes of the activations this node's backward keeps alive (as declared when it was recorded). */
    public long savedBytes() { return savedBytes; }

    void release() {
        backward = null;
        inputs = null;
    }
}
