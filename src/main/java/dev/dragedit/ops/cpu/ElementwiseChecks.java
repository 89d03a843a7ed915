// Argument checks shared by the element-wise, reduction, shape and optimiser ops: every op must reject a tensor that
// is not F32 on the CPU, or whose shape does not fit, with a message naming the op, the argument, what was expected
// and what was found, before any work is done.
package dev.dragedit.ops.cpu;

import dev.dragedit.ops.shape.ShapeOpShapes;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Device;
import dev.dragedit.tensor.Tensor;

import java.util.Arrays;

final class ElementwiseChecks {
    private ElementwiseChecks() {}

    /** The float data of an F32 CPU tensor, or an IllegalArgumentException naming op and argument. */
    static float[] f32(String op, String arg, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + arg + " is null, expected an F32 CPU tensor");
        if (t.dtype() != DType.F32 || t.device() != Device.CPU)
            throw new IllegalArgumentException(op + ": " + arg + " must be an F32 CPU tensor, found " + t.dtype()
                    + " on " + t.device().name() + " with shape " + str(t.shape()));
        return t.data();
    }

    static void sameShape(String op, String an, Tensor a, String bn, Tensor b) {
        if (!a.sameShape(b))
            throw new IllegalArgumentException(op + ": " + bn + " has shape " + str(b.shape()) + ", expected the shape of "
                    + an + " " + str(a.shape()));
    }

    /** A dimension index in [0, rank); negative values count from the end. */
    static int dim(String op, String what, int d, int rank) { return ShapeOpShapes.dim(op, what, d, rank); }

    static void shapeNotNull(String op, String arg, int[] shape) { ShapeOpShapes.shapeNotNull(op, arg, shape); }

    static String str(int[] shape) { return Arrays.toString(shape); }

    /** Contiguous row-major strides. */
    static int[] strides(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
    }
}
