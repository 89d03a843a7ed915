package dev.dragedit.models.sd;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * UNet2DConditionModel against the unet-tiny fixture (diffusers v0.24.0 + DragDiffusion's override_forward, float64
 * reference rounded to float32), on the CPU and on the CUDA backend (the emulation where there is no GPU): the
 * output, every intermediate the fixture stores, and the gradient of L = Σ up_block_1_out·R + Σ up_block_2_out·R2
 * with respect to the latent — all within the fixtures README's tolerances (1e-4 of the largest reference value;
 * t_emb 1e-5 absolute). Also: stopping after an up block gives the same up-block outputs.
 */
class UNetFixtureTest {
    private static Path dir;
    private static Map<String, Tensor> io;
    private static KernelDevice device;

    @BeforeAll
    static void load() throws Exception {
        Path ioFile = Fixtures.require("unet-tiny/io.safetensors");
        dir = ioFile.getParent();
        io = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(ioFile)) {
            for (String k : st.names()) io.put(k, st.get(k).copy());
        }
    }

    @AfterAll
    static void closeDevice() {
        if (device != null) device.close();
    }

    private static Placement placement(boolean onDevice) {
        if (!onDevice) return Placement.cpu();
        if (device == null) device = Devices.best();
        return Placement.on(device, DType.F32);
    }

    @Test
    void cpuMatchesTheReference() { checkAll(false, 2); }

    /**
     * The first batch element only: the emulated attention kernels run at a few MFLOP/s, and the batch's two
     * elements are independent (one timestep, per-sample norms), so the second would add time, not coverage of the
     * model code (the CPU test runs the batch of 2).
     */
    @Test
    void cudaBackendMatchesTheReference() { checkAll(true, 1); }

    /** The reference tensor name, its first {@code batch} samples. */
    private static Tensor ref(String name, int batch) {
        Tensor t = io.get(name);
        return batch == t.dim(0) ? t : CpuOps.INSTANCE.slice(t, 0, 0, batch);
    }

    /** Forward with every intermediate compared, then the backward of the fixture's loss. */
    private void checkAll(boolean onDevice, int batch) {
        Placement pl = placement(onDevice);
        String where = onDevice ? device.name() : "cpu";
        UNet2DConditionModel unet = UNet2DConditionModel.load(dir, pl, null);
        Functional f = new Functional(pl.ops());
        Tensor sample = pl.input(ref("sample", batch)).requiresGrad(true);
        Tensor ctx = pl.input(ref("encoder_hidden_states", batch));
        float t = io.get("timestep").item();
        assertEquals(421f, t);

        Map<String, Tensor> seen = new LinkedHashMap<>();
        UNetOutput o = unet.forward(f, sample, t, ctx, -1, seen::put);
        assertEquals(4, o.upBlockOutputs().size());
        assertSame(seen.get("out"), o.out());
        for (int i = 0; i < 4; i++) assertSame(seen.get("up_block_" + i + "_out"), o.upBlockOutputs().get(i));

        assertAbs(where + " t_emb", ref("t_emb", batch), seen.get("t_emb"), 1e-5);
        for (String k : List.of("emb", "conv_in_out", "down_block_0_out", "down_block_1_out", "down_block_2_out",
                "down_block_3_out", "mid_block_out", "up_block_0_out", "up_block_1_out", "up_block_2_out",
                "up_block_3_out", "out"))
            assertRel(where + " " + k, ref(k, batch), seen.get(k), 1e-4);

        Tensor r = pl.input(ref("R", batch)), r2 = pl.input(ref("R2", batch));
        Tensor loss = f.add(f.sum(f.mul(o.upBlockOutputs().get(1), r)), f.sum(f.mul(o.upBlockOutputs().get(2), r2)));
        if (batch == 2) assertEquals(io.get("L").item(), loss.toCpu().item(), 1e-4 * Math.abs(io.get("L").item()), where + " L");
        Tape.backward(loss);
        assertNotNull(sample.grad(), where + ": no gradient reached the sample");
        assertRel(where + " grad_sample", ref("grad_sample", batch), sample.grad(), 1e-4);
    }

    /**
     * Weights and activations stored as F16 on the device (F32 accumulation everywhere): the whole forward against
     * the float64 reference. Each stored activation is rounded to F16 (unit roundoff 2⁻¹¹ ≈ 4.9e-4) some 60 times
     * along the deepest path; measured 1.6e-3–3.2e-3 of max |ref|, so 1e-2 leaves room for other inputs while a
     * layout or kernel error (order 1e-1 and up) still fails.
     */
    @Test
    void f16WeightsOnTheDeviceStayWithinHalfPrecision() {
        if (device == null) device = Devices.best();
        Placement pl = Placement.on(device, DType.F16);
        UNet2DConditionModel unet = UNet2DConditionModel.load(dir, pl, null);
        Functional f = new Functional(pl.ops());
        try (var g = Tape.noGrad()) {
            UNetOutput o = unet.forward(f, pl.input(ref("sample", 1)), 421f, pl.input(ref("encoder_hidden_states", 1)));
            assertEquals(DType.F16, o.out().dtype());
            assertRel("f16 out", ref("out", 1), o.out().toCpu().to(DType.F32), 1e-2);
            for (int i = 0; i < 4; i++)
                assertRel("f16 up_block_" + i + "_out", ref("up_block_" + i + "_out", 1),
                        o.upBlockOutputs().get(i).toCpu().to(DType.F32), 1e-2);
        }
    }

    @Test
    void stoppingAfterAnUpBlockGivesTheSameFeatures() {
        Placement pl = Placement.cpu();
        UNet2DConditionModel unet = UNet2DConditionModel.load(dir, pl, null);
        Functional f = new Functional(pl.ops());
        Tensor sample = io.get("sample"), ctx = io.get("encoder_hidden_states");
        try (var g = Tape.noGrad()) {
            UNetOutput full = unet.forward(f, sample, 421f, ctx);
            for (int k = 0; k < 4; k++) {
                UNetOutput part = unet.forward(f, sample, 421f, ctx, k);
                assertNull(part.out());
                assertEquals(k + 1, part.upBlockOutputs().size());
                // Bitwise: the same computation, and the CPU ops give the same bits on every call (VecMath).
                for (int i = 0; i <= k; i++)
                    assertArrayEquals(full.upBlockOutputs().get(i).data(), part.upBlockOutputs().get(i).data(),
                            "up block " + i + " when stopping after " + k);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> unet.forward(f, sample, 421f, ctx, 4));
    }

    @Test
    void badInputsAreRefusedWithTheExpectedShape() {
        UNet2DConditionModel unet = UNet2DConditionModel.load(dir, Placement.cpu(), null);
        Functional f = new Functional(Placement.cpu().ops());
        Tensor ctx = io.get("encoder_hidden_states");
        var e = assertThrows(IllegalArgumentException.class, () -> unet.forward(f, Tensor.zeros(2, 3, 16, 16), 1f, ctx));
        assertTrue(e.getMessage().contains("[B, 4, H, W]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> unet.forward(f, Tensor.zeros(2, 4, 12, 16), 1f, ctx));
        assertTrue(e.getMessage().contains("multiples of 8"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> unet.forward(f, io.get("sample"), 1f, Tensor.zeros(2, 77, 16)));
        assertTrue(e.getMessage().contains("[2, tokens, 32]"), e.getMessage());
    }

    /** max |got − want| ≤ rel · max |want|. */
    static void assertRel(String what, Tensor want, Tensor got, double rel) {
        assertNotNull(got, what + ": not produced");
        assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        float[] w = want.data(), g = got.toCpu().data();
        double maxRef = 0, maxErr = 0;
        int worst = 0;
        for (int i = 0; i < w.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(w[i]));
            double e = Math.abs((double) g[i] - w[i]);
            if (!(e <= maxErr)) { maxErr = e; worst = i; }
        }
        assertTrue(maxErr <= rel * maxRef, what + ": max abs diff " + maxErr + " at " + worst + " (got " + g[worst]
                + ", expected " + w[worst] + ") exceeds " + rel + " × max |ref| " + maxRef);
    }

    static void assertAbs(String what, Tensor want, Tensor got, double tol) {
        assertNotNull(got, what + ": not produced");
        assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        float[] w = want.data(), g = got.toCpu().data();
        for (int i = 0; i < w.length; i++)
            assertTrue(Math.abs(g[i] - w[i]) <= tol, what + "[" + i + "] = " + g[i] + ", expected " + w[i] + " ± " + tol
                    + " (" + Arrays.toString(want.shape()) + ")");
    }
}
