package dev.dragedit.drag;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.Attention;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * MutualSelfAttentionControl (DragDiffusion utils/attn_utils.py) on the unet-tiny fixture (SD1.5's layout: 16
 * transformer layers, 32 attention modules), batch [z_ref, z_edit] at a 16×16 latent on the CPU: the attention sites
 * come in AttentionBase's call order (layers 10–15 = up_blocks.2 and up_blocks.3); with the editor on, the reference
 * branch is bit for bit what a plain run gives and the edited branch differs; with z_edit = z_ref both branches are
 * equal bit for bit; an editor with no active layer (or none at all, after unregistering) is plain attention; the
 * step counter advances once per UNet pass and step_idx gates the editing. On the CUDA backend (emulated: 8×8 latent,
 * two forwards, since each emulated forward takes seconds) the reference branch equals the plain run there and the
 * edited branch equals the CPU's within 1e-4 of the largest value.
 */
class MutualSelfAttentionTest {
    private static Path unetDir;
    private static KernelDevice device;

    @BeforeAll
    static void locate() { unetDir = Fixtures.require("unet-tiny/config.json").getParent(); }

    @AfterAll
    static void closeDevice() {
        if (device != null) device.close();
    }

    private static Tensor batch(Tensor a, Tensor b) { return CpuOps.INSTANCE.concat(new Tensor[]{a, b}, 0); }

    private static float[] branch(Tensor out, int i) { return CpuOps.INSTANCE.slice(out.toCpu(), 0, i, i + 1).data(); }

    private static Tensor forward(UNet2DConditionModel unet, Placement pl, Tensor x, Tensor ctx) {
        try (var g = Tape.noGrad()) {
            return unet.forward(new Functional(pl.ops()), pl.input(x), 681f, pl.input(ctx)).out().toCpu();
        }
    }

    @Test
    void sitesComeInTheReferenceCallOrder() {
        UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, Placement.cpu(), null);
        List<Attention.Site> sites = Attention.sites(unet);
        assertEquals(32, sites.size());
        for (int i = 0; i < 32; i++) assertEquals(i % 2 == 0, sites.get(i).selfAttention(), "site " + i);
        assertEquals("down_blocks.0.attentions.0.transformer_blocks.0.attn1", sites.get(0).name());
        assertEquals("down_blocks.2.attentions.1.transformer_blocks.0.attn2", sites.get(11).name());
        assertEquals("mid_block.attentions.0.transformer_blocks.0.attn1", sites.get(12).name());
        assertEquals("up_blocks.1.attentions.0.transformer_blocks.0.attn1", sites.get(14).name());
        // transformer layer 10 (sites 20, 21) is the first of up_blocks[2]; 15 is the last of up_blocks[3].
        assertEquals("up_blocks.2.attentions.0.transformer_blocks.0.attn1", sites.get(20).name());
        assertEquals("up_blocks.3.attentions.2.transformer_blocks.0.attn2", sites.get(31).name());
    }

    @Test
    void referenceBranchIsUnchangedAndTheEditedOneReadsItsKeysAndValues() {
        Placement pl = Placement.cpu();
        UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, pl, null);
        Tensor zr = LoraTest.randn(1, 1, 4, 16, 16), ze = LoraTest.randn(2, 1, 4, 16, 16), c = LoraTest.randn(3, 1, 77, 32);
        Tensor x = batch(zr, ze), ctx = batch(c, c);
        Tensor plain = forward(unet, pl, x, ctx);

        MutualSelfAttention editor = MutualSelfAttention.dragDiffusionDefaults();
        editor.register(unet);
        for (Attention.Site s : Attention.sites(unet)) assertSame(editor, s.attention().editor());
        Tensor edited = forward(unet, pl, x, ctx);
        assertEquals(1, editor.currentStep(), "one UNet pass is one step");
        assertArrayEquals(branch(plain, 0), branch(edited, 0), "the reference branch changed");
        assertFalse(Arrays.equals(branch(plain, 1), branch(edited, 1)), "the edited branch did not change");

        // z_edit = z_ref: the edited branch reads keys and values equal to its own, so both branches agree exactly.
        Tensor same = forward(unet, pl, batch(zr, zr), ctx);
        assertArrayEquals(branch(same, 0), branch(same, 1));
        assertArrayEquals(branch(plain, 0), branch(same, 0));

        editor.unregister();
        for (Attention.Site s : Attention.sites(unet)) assertNull(s.attention().editor());
        assertArrayEquals(plain.data(), forward(unet, pl, x, ctx).data(), "unregistering restores plain attention");
    }

    @Test
    void anEditorWithoutActiveLayersOrStepsIsPlainAttention() {
        Placement pl = Placement.cpu();
        UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, pl, null);
        Tensor x = batch(LoraTest.randn(4, 1, 4, 16, 16), LoraTest.randn(5, 1, 4, 16, 16));
        Tensor c = LoraTest.randn(6, 1, 77, 32), ctx = batch(c, c);
        Tensor plain = forward(unet, pl, x, ctx);

        MutualSelfAttention none = new MutualSelfAttention(new int[]{0, 1}, new int[0], 1f);
        none.register(unet);
        assertArrayEquals(plain.data(), forward(unet, pl, x, ctx).data());
        none.unregister();

        // step_idx = {1}: the first pass (step 0) is plain, the second (step 1) is edited, the third plain again.
        MutualSelfAttention second = new MutualSelfAttention(new int[]{1}, new int[]{10, 11, 12, 13, 14, 15}, 1f);
        second.register(unet);
        assertArrayEquals(plain.data(), forward(unet, pl, x, ctx).data(), "step 0 is not in step_idx");
        Tensor step1 = forward(unet, pl, x, ctx);
        assertArrayEquals(branch(plain, 0), branch(step1, 0));
        assertFalse(Arrays.equals(branch(plain, 1), branch(step1, 1)), "step 1 is in step_idx");
        assertArrayEquals(plain.data(), forward(unet, pl, x, ctx).data(), "step 2 is not in step_idx");
        assertEquals(3, second.currentStep());
        second.reset();
        assertEquals(0, second.currentStep());
        second.unregister();

        // Layers 0–9 only (down, mid, up_blocks[1]) edit too, differently from layers 10–15.
        MutualSelfAttention early = new MutualSelfAttention(new int[]{0}, new int[]{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 1f);
        early.register(unet);
        Tensor e = forward(unet, pl, x, ctx);
        early.unregister();
        assertArrayEquals(branch(plain, 0), branch(e, 0));
        assertFalse(Arrays.equals(branch(plain, 1), branch(e, 1)));
    }

    /** Under guidance the batch is [uncond ref, uncond edit, cond ref, cond edit]: both reference elements are unchanged. */
    @Test
    void underGuidanceEachHalfUsesItsOwnReference() {
        Placement pl = Placement.cpu();
        UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, pl, null);
        Tensor zr = LoraTest.randn(7, 1, 4, 8, 8), ze = LoraTest.randn(8, 1, 4, 8, 8);
        Tensor u = LoraTest.randn(9, 1, 77, 32), c = LoraTest.randn(10, 1, 77, 32);
        Tensor x = batch(batch(zr, ze), batch(zr, ze)), ctx = batch(batch(u, u), batch(c, c));
        Tensor plain = forward(unet, pl, x, ctx);
        MutualSelfAttention editor = new MutualSelfAttention(0, 10, 50, 7.5f);
        editor.register(unet);
        Tensor got = forward(unet, pl, x, ctx);
        editor.unregister();
        assertArrayEquals(branch(plain, 0), branch(got, 0));
        assertArrayEquals(branch(plain, 2), branch(got, 2));
        assertFalse(Arrays.equals(branch(plain, 1), branch(got, 1)));
        assertFalse(Arrays.equals(branch(plain, 3), branch(got, 3)));
        assertThrows(IllegalArgumentException.class, () -> new MutualSelfAttention(new int[]{-1}, new int[]{10}, 1f));
    }

    @Test
    void theCudaBackendAgreesWithTheCpu() {
        if (device == null) device = Devices.best();
        Tensor x = batch(LoraTest.randn(11, 1, 4, 8, 8), LoraTest.randn(12, 1, 4, 8, 8));
        Tensor c = LoraTest.randn(13, 1, 77, 32), ctx = batch(c, c);
        Tensor[] edited = new Tensor[2];
        Tensor plainDevice = null;
        for (int d = 0; d < 2; d++) {
            Placement pl = d == 0 ? Placement.cpu() : Placement.on(device, DType.F32);
            UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, pl, null);
            if (d == 1) plainDevice = forward(unet, pl, x, ctx);
            MutualSelfAttention editor = MutualSelfAttention.dragDiffusionDefaults();
            editor.register(unet);
            edited[d] = forward(unet, pl, x, ctx);
            editor.unregister();
        }
        assertArrayEquals(branch(plainDevice, 0), branch(edited[1], 0), device.name() + ": the reference branch changed");
        float[] a = edited[0].data(), b = edited[1].data();
        double max = 0, diff = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i]));
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
        }
        assertTrue(diff <= 1e-4 * max, device.name() + " vs cpu: max diff " + diff + " of max " + max);
    }

    /** Site names of a UNet with CrossAttn down blocks 0–2, a mid block and CrossAttn up blocks 1–3, n layers each. */
    private static List<String> siteNames(int downLayers, int upLayers) {
        List<String> names = new java.util.ArrayList<>();
        for (int b = 0; b < 3; b++)
            for (int l = 0; l < downLayers; l++) { names.add("down_blocks." + b + ".attentions." + l + ".attn1"); names.add("down_blocks." + b + ".attentions." + l + ".attn2"); }
        names.add("mid_block.attentions.0.attn1");
        names.add("mid_block.attentions.0.attn2");
        for (int b = 1; b < 4; b++)
            for (int l = 0; l < upLayers; l++) { names.add("up_blocks." + b + ".attentions." + l + ".attn1"); names.add("up_blocks." + b + ".attentions." + l + ".attn2"); }
        return names;
    }

    @Test
    void theEditedLayersAreTheLastTwoUpBlocksWhateverTheirCount() {
        // SD 1.5: layers_per_block 2 → 16 transformer layers; start_layer 10 = up_blocks[2] and [3].
        assertArrayEquals(new int[]{10, 11, 12, 13, 14, 15}, MutualSelfAttention.lastTwoUpBlockLayers(siteNames(2, 3), 4));
        assertArrayEquals(MutualSelfAttention.dragDiffusionDefaults().layers(), MutualSelfAttention.lastTwoUpBlockLayers(siteNames(2, 3), 4));
        // The bundled model: layers_per_block 1 → 10 layers; start_layer 10 would edit none of them.
        assertArrayEquals(new int[]{6, 7, 8, 9}, MutualSelfAttention.lastTwoUpBlockLayers(siteNames(1, 2), 4));
    }

    @Test
    void onTheFixtureUnetTheEditorMatchesRunDragsDefaults() {
        assertArrayEquals(MutualSelfAttention.dragDiffusionDefaults().layers(), MutualSelfAttention.dragDiffusionDefaults(UNet2DConditionModel.load(unetDir, Placement.cpu(), null)).layers());
    }
}
