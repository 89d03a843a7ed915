package dev.dragedit.ops.cpu;

import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.shape.ConvShapes;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

/**
 * conv2d and conv_transpose2d with their backwards, as torch.nn.functional (NCHW, cross-correlation, zero
 * padding per side, dilation, groups). This class validates and maps shapes; the work is in {@link ConvKernels}
 * (im2col + {@link Gemm#sgemm}); the checks and the geometry are {@link ConvShapes}, shared with the CUDA backend.
 * <p>
 * A transposed convolution is the adjoint of a convolution, so it is run on that convolution's geometry with the
 * roles swapped: conv2d's input is the transposed conv's output [N, Cout, Ho, Wo], conv2d's output is the transposed
 * conv's input [N, Cin, H, W], and the weight [Cin, Cout/groups, kh, kw] is exactly conv2d's [Cout', Cin'/groups, …].
 * Then convTranspose2d = conv2d's input gradient, its dx = conv2d forward, its dw = conv2d's weight gradient with
 * the two activations swapped.
 */
final class CpuConv {
    private CpuConv() {}

    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        ConvGeometry g = convGeometry("conv2d", x, w, p);
        checkBias("conv2d", bias, g.cout());
        Tensor y = Tensor.zeros(g.n(), g.cout(), g.ho(), g.wo());                   // [N, Cout, Ho, Wo]
        ConvKernels.forward(x.data(), w.data(), bias == null ? null : bias.data(), y.data(), g);
        return y;
    }

    public static Tensor[] conv2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, boolean needX, boolean needW, boolean needBias) {
        ConvGeometry g = convGeometry("conv2dBackward", x, w, p);
        checkF32("conv2dBackward", "gy", gy);
        ConvShapes.checkShape("conv2dBackward", "gy", gy.shape(),
                new int[]{g.n(), g.cout(), g.ho(), g.wo()}, "[N, Cout, Ho, Wo]");
        Tensor dx = null, dw = null, db = null;
        if (needX) {
            dx = Tensor.zeros(x.shape());                                           // [N, Cin, H, W]
            ConvKernels.backwardData(gy.data(), w.data(), dx.data(), g);
        }
        if (needW) {
            dw = Tensor.zeros(w.shape());                                           // [Cout, Cin/groups, kh, kw]
            ConvKernels.backwardWeight(gy.data(), x.data(), dw.data(), g);
        }
        if (needBias) {
            db = Tensor.zeros(g.cout());                                            // [Cout]
            ConvKernels.biasGrad(gy.data(), db.data(), g.n(), g.cout(), g.outPlane());
        }
        return new Tensor[]{dx, dw, db};
    }

    public static Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, int outPadH, int outPadW) {
        ConvGeometry g = transposeGeometry("convTranspose2d", x, w, p, outPadH, outPadW);
        checkBias("convTranspose2d", bias, g.cin());
        Tensor y = Tensor.zeros(g.n(), g.cin(), g.h(), g.w());                     // [N, Cout, Ho, Wo]
        ConvKernels.backwardData(x.data(), w.data(), y.data(), g);
        if (bias != null) ConvKernels.addBias(y.data(), bias.data(), g.n(), g.cin(), g.inPlane());
        return y;
    }

    public static Tensor[] convTranspose2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, int outPadH, int outPadW, boolean needX, boolean needW, boolean needBias) {
        ConvGeometry g = transposeGeometry("convTranspose2dBackward", x, w, p, outPadH, outPadW);
        checkF32("convTranspose2dBackward", "gy", gy);
        ConvShapes.checkShape("convTranspose2dBackward", "gy", gy.shape(),
                new int[]{g.n(), g.cin(), g.h(), g.w()}, "[N, Cout, Ho, Wo]");
        Tensor dx = null, dw = null, db = null;
        if (needX) {
            dx = Tensor.zeros(x.shape());                                           // [N, Cin, H, W]
            ConvKernels.forward(gy.data(), w.data(), null, dx.data(), g);
        }
        if (needW) {
            dw = Tensor.zeros(w.shape());                                           // [Cin, Cout/groups, kh, kw]
            ConvKernels.backwardWeight(x.data(), gy.data(), dw.data(), g);
        }
        if (needBias) {
            db = Tensor.zeros(g.cin());                                             // [Cout]
            ConvKernels.biasGrad(gy.data(), db.data(), g.n(), g.cin(), g.inPlane());
        }
        return new Tensor[]{dx, dw, db};
    }

    // ---------------------------------------------------------------- dtype/device checks, then the shared geometry

    private static ConvGeometry convGeometry(String op, Tensor x, Tensor w, Conv2dParams p) {
        checkF32(op, "x", x);
        checkF32(op, "w", w);
        return ConvGeometry.of(ConvShapes.conv(op, x.shape(), w.shape(), p));
    }

    /** The geometry of the convolution whose input gradient the transposed convolution is. */
    private static ConvGeometry transposeGeometry(String op, Tensor x, Tensor w, Conv2dParams p, int outPadH, int outPadW) {
        checkF32(op, "x", x);
        checkF32(op, "w", w);
        return ConvGeometry.of(ConvShapes.transpose(op, x.shape(), w.shape(), p, outPadH, outPadW));
    }

    private static void checkF32(String op, String arg, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + arg + " must not be null");
        if (t.dtype() != DType.F32 || !"cpu".equals(t.device().name()))
            throw new IllegalArgumentException(op + ": " + arg + " must be an F32 CPU tensor, found " + t.dtype() + " on "
                    + t.device().name());
    }

    private static void checkBias(String op, Tensor bias, int cout) {
        if (bias == null) return;
        checkF32(op, "bias", bias);
        ConvShapes.checkBias(op, bias.shape(), cout);
    }
}
