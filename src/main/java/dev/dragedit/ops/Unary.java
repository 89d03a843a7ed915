package dev.dragedit.ops;

/** Element-wise functions with a closed-form derivative; one op ({@link Ops#unary}) and one backward serve them all. */
public enum Unary {
    NEG, ABS, SQUARE, SQRT, RSQRT, EXP, LOG, SIGN, RELU, SIGMOID, TANH,
    /** x·sigmoid(x). */
    SILU,
    /** The exact (erf) GELU: x·Φ(x), as torch.nn.functional.gelu with approximate='none'. */
    GELU,
    /** CLIP's x·sigmoid(1.702x). */
    QUICK_GELU
}
