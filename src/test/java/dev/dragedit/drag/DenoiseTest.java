package dev.dragedit.drag;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.Attention;
import dev.dragedit.models.sd.DdimScheduler;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The final denoise of [z_ref; z_edit] (DragPipeline.__call__ with MutualSelfAttentionControl) on unet-tiny: the
 * timesteps are the last n_actual of the 50 DDIM timesteps; each step is the UNet pass plus DDIMScheduler.step on
 * the pair (checked against the same loop written out); the reference branch is what a plain denoise gives bit for
 * bit; with z_edit = z_ref the edit equals the reference exactly; the editor is unhooked afterwards. A 3-step run on
 * the CPU (16×16 latent) and a 2-step run on the CUDA backend (emulated: 8×8, two UNet passes take ~15 s) within
 * 1e-4 of the largest value of the CPU's.
 */
class DenoiseTest {
    private static Path unetDir;
    private static KernelDevice device;

    @BeforeAll
    static void locate() { unetDir = Fixtures.require("unet-tiny/config.json").getParent(); }

    @AfterAll
    static void closeDevice() {
        if (device != null) device.close();
    }

    private static float[] branch(Tensor t, int i) { return CpuOps.INSTANCE.slice(t.toCpu(), 0, i, i + 1).data(); }

    @Test
    void aFewStepsOnTheCpu() {
        UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, Placement.cpu(), null);
        DdimScheduler sched = DdimScheduler.sd15();
        Tensor zr = LoraTest.randn(21, 1, 4, 16, 16), ze = LoraTest.randn(22, 1, 4, 16, 16), ctx = LoraTest.randn(23, 1, 77, 32);
        List<Integer> ts = new ArrayList<>();
        MutualSelfAttention editor = MutualSelfAttention.dragDiffusionDefaults();
        Denoise.Result r = Denoise.run(unet, sched, zr, ze, ctx, 50, 3, editor, (i, n, t, lat) -> {
            assertEquals(ts.size(), i);
            assertEquals(3, n);
            ts.add(t);
        });
        assertEquals(List.of(41, 21, 1), ts);
        assertArrayEquals(new int[]{2, 4, 16, 16}, r.latents().shape());
        assertArrayEquals(new int[]{1, 4, 16, 16}, r.edited().shape());
        assertArrayEquals(branch(r.latents(), 1), r.edited().data());
        assertEquals(3, editor.currentStep(), "one editor step per UNet pass");
        for (Attention.Site s : Attention.sites(unet)) assertNull(s.attention().editor(), "the editor stays hooked");

        // Plain denoise: the same loop written out (UNet on the pair, then DDIMScheduler.step), and the reference
        // branch of the mutual run equals it exactly; the edited branch does not.
        Denoise.Result plain = Denoise.run(unet, sched, zr, ze, ctx, 50, 3, null, null);
        Functional f = new Functional(CpuOps.INSTANCE);
        Tensor lat = f.concat(0, zr, ze), c2 = f.concat(0, ctx, ctx);
        try (var g = Tape.noGrad()) {
            for (int t : new int[]{41, 21, 1}) lat = sched.step(f, unet.forward(f, lat, t, c2).out(), t, lat).prev();
        }
        assertArrayEquals(lat.data(), plain.latents().data());
        assertArrayEquals(branch(plain.latents(), 0), branch(r.latents(), 0), "mutual attention changed the reference branch");
        assertFalse(Arrays.equals(branch(plain.latents(), 1), r.edited().data()));

        Denoise.Result same = Denoise.run(unet, sched, zr, zr, ctx, 50, 3, MutualSelfAttention.dragDiffusionDefaults(), null);
        assertArrayEquals(branch(same.latents(), 0), same.edited().data(), "z_edit = z_ref must give the reference");
    }

    @Test
    void theLoraStaysActive() {
        UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, Placement.cpu(), null);
        DdimScheduler sched = DdimScheduler.sd15();
        Tensor zr = LoraTest.randn(31, 1, 4, 8, 8), ze = LoraTest.randn(32, 1, 4, 8, 8), ctx = LoraTest.randn(33, 1, 77, 32);
        Denoise.Result plain = Denoise.run(unet, sched, zr, ze, ctx, 50, 1, MutualSelfAttention.dragDiffusionDefaults(), null);
        Lora lora = Lora.create(unet, 4, null, 1);
        for (Lora.Layer l : lora.layers()) {   // a non-zero adapter, so that it shows in the result
            float[] u = l.up.data();
            for (int i = 0; i < u.length; i++) u[i] = 0.01f * ((i % 7) - 3);
        }
        lora.attach();
        Denoise.Result withLora = Denoise.run(unet, sched, zr, ze, ctx, 50, 1, MutualSelfAttention.dragDiffusionDefaults(), null);
        lora.detach();
        assertFalse(Arrays.equals(plain.edited().data(), withLora.edited().data()));
    }

    @Test
    void badArguments() {
        UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, Placement.cpu(), null);
        DdimScheduler sched = DdimScheduler.sd15();
        Tensor z = LoraTest.randn(1, 1, 4, 8, 8), ctx = LoraTest.randn(2, 1, 77, 32);
        assertThrows(IllegalArgumentException.class, () -> Denoise.run(unet, sched, z, LoraTest.randn(3, 1, 4, 16, 16), ctx, 50, 3, null, null));
        assertThrows(IllegalArgumentException.class, () -> Denoise.run(unet, sched, z, z, ctx, 50, 51, null, null));
        assertThrows(IllegalArgumentException.class, () -> Denoise.run(unet, sched, z, z, LoraTest.randn(4, 3, 77, 32), 50, 3, null, null));
    }

    @Test
    void theCudaBackendAgreesWithTheCpu() {
        if (device == null) device = Devices.best();
        Tensor zr = LoraTest.randn(41, 1, 4, 8, 8), ze = LoraTest.randn(42, 1, 4, 8, 8), ctx = LoraTest.randn(43, 1, 77, 32);
        float[][] got = new float[2][];
        for (int d = 0; d < 2; d++) {
            Placement pl = d == 0 ? Placement.cpu() : Placement.on(device, DType.F32);
            UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, pl, null);
            Denoise.Result r = Denoise.run(unet, DdimScheduler.sd15(), zr, ze, ctx, 50, 2, MutualSelfAttention.dragDiffusionDefaults(), null);
            assertEquals(d == 1, r.latents().onDevice());
            got[d] = r.latents().toCpu().data();
        }
        double max = 0, diff = 0;
        for (int i = 0; i < got[0].length; i++) {
            max = Math.max(max, Math.abs(got[0][i]));
            diff = Math.max(diff, Math.abs(got[0][i] - got[1][i]));
        }
        assertTrue(diff <= 1e-4 * max, device.name() + " vs cpu: max diff " + diff + " of max " + max);
    }
}
