package dev.dragedit.cuda.ops;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.OpTestSupport;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.Function;

import static dev.dragedit.ops.OpTestSupport.assertClose;
import static dev.dragedit.ops.OpTestSupport.f64;

/**
 * The model-level promise of the CUDA backend: a network written once against {@link Functional} gives the same
 * loss and the same gradients on {@link CudaOps} (device tensors, the tape on the device) as on {@link CpuOps}.
 * The network touches the op families a UNet block and a drag step use: conv, group norm, SiLU, attention with a
 * residual, bilinear point sampling and an L1 loss.
 */
class CudaOpsAutogradTest {
    static KernelDevice dev;

    @BeforeAll static void open() { dev = Devices.best(); System.out.println("CudaOpsAutogradTest on " + dev.name()); }
    @AfterAll static void close() { dev.close(); }

    private static Tensor net(Functional F, Tensor x, Tensor w, Tensor b, Tensor gamma, Tensor beta, Tensor grid, Tensor target) {
        Tensor h = F.conv2d(x, w, b, Conv2dParams.of(1, 1));                      // [1, 8, 6, 5]
        h = F.silu(F.groupNorm(h, 4, gamma, beta, 1e-5f));
        Tensor seq = F.permute(F.reshape(h, 1, 8, 30), 0, 2, 1);                   // [1, 30, 8]
        Tensor q = F.reshape(seq, 1, 1, 30, 8);
        Tensor a = F.attention(q, q, q, (float) (1 / Math.sqrt(8)), false);        // [1, 1, 30, 8]
        Tensor back = F.reshape(F.permute(F.reshape(a, 1, 30, 8), 0, 2, 1), 1, 8, 6, 5);
        h = F.add(h, back);
        Tensor sampled = F.gridSample(h, grid, true);                             // [1, 8, 1, 3]
        return F.l1Loss(sampled, target);
    }

    @Test
    void aSmallNetworkHasTheSameLossAndGradientsOnTheDeviceAsOnTheCpu() {
        Random r = new Random(11);
        Tensor x = OpTestSupport.randn(r, 1, 3, 6, 5), w = OpTestSupport.randn(r, 8, 3, 3, 3), b = OpTestSupport.randn(r, 8);
        Tensor gamma = OpTestSupport.randn(r, 8), beta = OpTestSupport.randn(r, 8);
        Tensor grid = OpTestSupport.uniform(r, -0.9f, 0.9f, 1, 1, 3, 2), target = OpTestSupport.randn(r, 1, 8, 1, 3);

        Function<Function<Tensor, Tensor>, Tensor[]> run = place -> {
            Tensor[] leaves = {place.apply(x).requiresGrad(true), place.apply(w).requiresGrad(true), place.apply(b),
                    place.apply(gamma).requiresGrad(true), place.apply(beta), place.apply(grid).requiresGrad(true), place.apply(target)};
            Functional F = new Functional(leaves[0].onDevice() ? CudaOps.INSTANCE : CpuOps.INSTANCE);
            Tensor loss = net(F, leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], leaves[5], leaves[6]);
            Tape.backward(loss);
            return new Tensor[]{loss.toCpu(), leaves[0].grad().toCpu(), leaves[1].grad().toCpu(), leaves[3].grad().toCpu(), leaves[5].grad().toCpu()};
        };
        Tensor[] cpu = run.apply(t -> t.copy());
        Tensor[] gpu = run.apply(t -> t.toDevice(dev));
        String[] what = {"loss", "dL/dx", "dL/dw", "dL/dgamma", "dL/dgrid"};
        for (int i = 0; i < cpu.length; i++)
            assertClose(what[i] + " on " + dev.name(), f64(cpu[i]), cpu[i].shape(), gpu[i], 1e-4, 1e-4);
    }
}
