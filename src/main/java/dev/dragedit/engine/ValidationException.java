package dev.dragedit.engine;

/**
 * Thrown by {@link ValidatingOps} at the first op whose result on the op set under test (the CUDA ops) diverges from
 * the CPU op set on the same inputs. The message is one line naming the op, its inputs (shape and dtype of every
 * tensor, the values of the other arguments), the diverging output, the worst element with both values, the largest
 * absolute and relative errors and the tolerance; the fields carry the same facts for code that wants them.
 */
public final class ValidationException extends RuntimeException {
    private final String op;
    private final String output;
    private final double maxRelError;
    private final double tolerance;

    ValidationException(String op, String output, double maxRelError, double tolerance, String message, Throwable cause) {
        super(message, cause);
        this.op = op;
        this.output = output;
        this.maxRelError = maxRelError;
        this.tolerance = tolerance;
    }

    /** The op's name as in {@link dev.dragedit.ops.Ops}, e.g. "conv2dBackward". */
    public String op() { return op; }

    /** Which output diverged ("y", "dw", "param"…). */
    public String output() { return output; }

    /** The largest |got − want| / (|want| + rms(want)) over the output (infinite for a NaN/Inf or shape mismatch). */
    public double maxRelError() { return maxRelError; }

    /** The bound maxRelError exceeded. */
    public double tolerance() { return tolerance; }
}
