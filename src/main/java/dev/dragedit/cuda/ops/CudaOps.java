package dev.dragedit.cuda.ops;

import dev.dragedit.ops.AdamParams;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Ops;
import dev.dragedit.ops.Unary;
import dev.dragedit.tensor.Tensor;

/**
 * The op set on a kernel device (a GPU through JCuda, or the CPU emulation of CUDA): every op launches the kernels of
 * its family class. Inputs are tensors on one {@link dev.dragedit.cuda.KernelDevice} ({@code Tensor.toDevice}), all of
 * one storage dtype: F32, F16 or BF16 (16-bit storage, F32 arithmetic and accumulation; the StyleGAN2 ops and
 * adamStep take F32 only); outputs are allocated on the same device in that dtype. {@link #cast} converts.
 */
public final class CudaOps implements Ops {
    public static final CudaOps INSTANCE = new CudaOps();

    private CudaOps() {}

    @Override public String name() { return "cuda"; }

    /** x converted to dtype (F32, F16 or BF16) on its device; x itself when it already has that type. */
    public static Tensor cast(Tensor x, dev.dragedit.tensor.DType dtype) { return CudaElementwise.cast(x, dtype); }

    @Override public Tensor add(Tensor a, Tensor b) { return CudaElementwise.add(a, b); }
    @Override public Tensor sub(Tensor a, Tensor b) { return CudaElementwise.sub(a, b); }
    @Override public Tensor mul(Tensor a, Tensor b) { return CudaElementwise.mul(a, b); }
    @Override public Tensor div(Tensor a, Tensor b) { return CudaElementwise.div(a, b); }
    @Override public Tensor affine(Tensor a, float s, float t) { return CudaElementwise.affine(a, s, t); }
    @Override public Tensor sumTo(Tensor g, int[] shape) { return CudaReduce.sumTo(g, shape); }
    @Override public Tensor expand(Tensor x, int[] shape) { return CudaElementwise.expand(x, shape); }
    @Override public Tensor clamp(Tensor x, float lo, float hi) { return CudaElementwise.clamp(x, lo, hi); }
    @Override public Tensor clampBackward(Tensor gy, Tensor x, float lo, float hi) { return CudaElementwise.clampBackward(gy, x, lo, hi); }
    @Override public Tensor unary(Unary f, Tensor x) { return CudaElementwise.unary(f, x); }
    @Override public Tensor unaryBackward(Unary f, Tensor gy, Tensor x) { return CudaElementwise.unaryBackward(f, gy, x); }
    @Override public Tensor geglu(Tensor x) { return CudaElementwise.geglu(x); }
    @Override public Tensor gegluBackward(Tensor gy, Tensor x) { return CudaElementwise.gegluBackward(gy, x); }
    @Override public Tensor sum(Tensor x, int[] dims, boolean keepDim) { return CudaReduce.sum(x, dims, keepDim); }
    @Override public Tensor mean(Tensor x, int[] dims, boolean keepDim) { return CudaReduce.mean(x, dims, keepDim); }
    @Override public Tensor l1Loss(Tensor a, Tensor b) { return CudaReduce.l1Loss(a, b); }
    @Override public Tensor l1LossBackward(Tensor gy, Tensor a, Tensor b) { return CudaReduce.l1LossBackward(gy, a, b); }
    @Override public Tensor mseLoss(Tensor a, Tensor b) { return CudaReduce.mseLoss(a, b); }
    @Override public Tensor mseLossBackward(Tensor gy, Tensor a, Tensor b) { return CudaReduce.mseLossBackward(gy, a, b); }
    @Override public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) { return CudaMatmul.matmul(a, b, transA, transB); }
    @Override public Tensor linear(Tensor x, Tensor w, Tensor bias) { return CudaMatmul.linear(x, w, bias); }
    @Override public Tensor[] linearBackward(Tensor gy, Tensor x, Tensor w, boolean needX, boolean needW, boolean needBias) { return CudaMatmul.linearBackward(gy, x, w, needX, needW, needBias); }
    @Override public Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) { return CudaConv.conv2d(x, w, bias, p); }
    @Override public Tensor[] conv2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, boolean needX, boolean needW, boolean needBias) { return CudaConv.conv2dBackward(gy, x, w, p, needX, needW, needBias); }
    @Override public Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p, int outPadH, int outPadW) { return CudaConv.convTranspose2d(x, w, bias, p, outPadH, outPadW); }
    @Override public Tensor[] convTranspose2dBackward(Tensor gy, Tensor x, Tensor w, Conv2dParams p, int outPadH, int outPadW, boolean needX, boolean needW, boolean needBias) { return CudaConv.convTranspose2dBackward(gy, x, w, p, outPadH, outPadW, needX, needW, needBias); }
    @Override public Tensor modulatedConv2d(Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding) { return CudaStyleGan.modulatedConv2d(x, w, styles, demodulate, padding); }
    @Override public Tensor[] modulatedConv2dBackward(Tensor gy, Tensor x, Tensor w, Tensor styles, boolean demodulate, int padding) { return CudaStyleGan.modulatedConv2dBackward(gy, x, w, styles, demodulate, padding); }
    @Override public Tensor upfirdn2d(Tensor x, Tensor f, int upX, int upY, int downX, int downY, int padX0, int padX1, int padY0, int padY1) { return CudaStyleGan.upfirdn2d(x, f, upX, upY, downX, downY, padX0, padX1, padY0, padY1); }
    @Override public Tensor upfirdn2dBackward(Tensor gy, int[] xShape, Tensor f, int upX, int upY, int downX, int downY, int padX0, int padX1, int padY0, int padY1) { return CudaStyleGan.upfirdn2dBackward(gy, xShape, f, upX, upY, downX, downY, padX0, padX1, padY0, padY1); }
    @Override public Tensor biasAct(Tensor x, Tensor bias, float alpha, float gain, float clamp) { return CudaStyleGan.biasAct(x, bias, alpha, gain, clamp); }
    @Override public Tensor[] biasActBackward(Tensor gy, Tensor y, boolean needBias, float alpha, float gain, float clamp) { return CudaStyleGan.biasActBackward(gy, y, needBias, alpha, gain, clamp); }
    @Override public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) { return CudaNorm.groupNorm(x, groups, gamma, beta, eps); }
    @Override public Tensor[] groupNormBackward(Tensor gy, Tensor x, int groups, Tensor gamma, float eps, boolean needGammaBeta) { return CudaNorm.groupNormBackward(gy, x, groups, gamma, eps, needGammaBeta); }
    @Override public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) { return CudaNorm.layerNorm(x, gamma, beta, eps); }
    @Override public Tensor[] layerNormBackward(Tensor gy, Tensor x, Tensor gamma, float eps, boolean needGammaBeta) { return CudaNorm.layerNormBackward(gy, x, gamma, eps, needGammaBeta); }
    @Override public Tensor softmax(Tensor x) { return CudaNorm.softmax(x); }
    @Override public Tensor softmaxBackward(Tensor gy, Tensor y) { return CudaNorm.softmaxBackward(gy, y); }
    @Override public Tensor attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal) { return CudaAttention.attention(q, k, v, scale, causal); }
    @Override public Tensor[] attentionBackward(Tensor gy, Tensor q, Tensor k, Tensor v, float scale, boolean causal) { return CudaAttention.attentionBackward(gy, q, k, v, scale, causal); }
    @Override public Tensor upsampleNearest2x(Tensor x) { return CudaSampling.upsampleNearest2x(x); }
    @Override public Tensor upsampleNearest2xBackward(Tensor gy) { return CudaSampling.upsampleNearest2xBackward(gy); }
    @Override public Tensor resizeBilinear(Tensor x, int outH, int outW) { return CudaSampling.resizeBilinear(x, outH, outW); }
    @Override public Tensor resizeBilinearBackward(Tensor gy, int inH, int inW) { return CudaSampling.resizeBilinearBackward(gy, inH, inW); }
    @Override public Tensor gridSample(Tensor x, Tensor grid, boolean alignCorners) { return CudaSampling.gridSample(x, grid, alignCorners); }
    @Override public Tensor[] gridSampleBackward(Tensor gy, Tensor x, Tensor grid, boolean alignCorners, boolean needX, boolean needGrid) { return CudaSampling.gridSampleBackward(gy, x, grid, alignCorners, needX, needGrid); }
    @Override public Tensor concat(Tensor[] xs, int dim) { return CudaShape.concat(xs, dim); }
    @Override public Tensor slice(Tensor x, int dim, int start, int end) { return CudaShape.slice(x, dim, start, end); }
    @Override public Tensor sliceBackward(Tensor gy, int[] inShape, int dim, int start, int end) { return CudaShape.sliceBackward(gy, inShape, dim, start, end); }
    @Override public Tensor permute(Tensor x, int[] perm) { return CudaShape.permute(x, perm); }
    @Override public Tensor pad(Tensor x, int[] pads, float value) { return CudaShape.pad(x, pads, value); }
    @Override public Tensor padBackward(Tensor gy, int[] pads) { return CudaShape.padBackward(gy, pads); }
    @Override public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, int step, AdamParams hp) { CudaElementwise.adamStep(param, grad, m, v, step, hp); }
}
