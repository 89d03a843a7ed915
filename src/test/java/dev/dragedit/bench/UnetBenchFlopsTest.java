package dev.dragedit.bench;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.nn.RandomWeights;
import dev.dragedit.models.sd.SdModels;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.models.sd.UNetConfig;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The FLOP count of {@code bench unet}: SD1.5 at 64² reproduces sd15.md §7's table, and on the unet-tiny config the
 * count from the config equals, kind by kind, what the ops of a real forward perform (counted by the profiling
 * decorator); the diffusers side explains what is missing when it cannot run.
 */
class UnetBenchFlopsTest {

    @Test
    void sd15At64MatchesTheSpecTable() {
        UnetBenchFlops.Count c = UnetBenchFlops.of(UNetConfig.sd15(), 1, 64, 64, 77);
        // sd15.md §7 (GFLOP, one decimal): total 803.3 = conv 443.9 (3×3 400.3, 1×1 43.6) + linear 233.3 + attention 122.5 + 3.6
        assertEquals(803.3, c.total() / 1e9, 0.05);
        assertEquals(443.9, c.conv() / 1e9, 0.05);
        assertEquals(400.3, c.conv3() / 1e9, 0.05);
        assertEquals(43.6, c.conv1() / 1e9, 0.05);
        assertEquals(233.3, c.linear() / 1e9, 0.05);
        assertEquals(122.5 + 3.6, c.attention() / 1e9, 0.1);
        // batch scales everything
        assertEquals(2 * c.total(), UnetBenchFlops.of(UNetConfig.sd15(), 2, 64, 64, 77).total(), 1e-6 * c.total());
    }

    @Test
    void tinyConfigCountEqualsTheOpsOfAForward() {
        UNetConfig cfg = SdModels.unetConfig(Fixtures.require("unet-tiny/config.json").toString());
        UNet2DConditionModel m = new UNet2DConditionModel(cfg, new RandomWeights(3, Placement.cpu()));
        UnetBenchProfile prof = new UnetBenchProfile(CpuOps.INSTANCE);
        int b = 2, h = 16, w = 8;
        try (Tape.Scope s = Tape.noGrad()) {
            m.forward(new Functional(prof.ops()), Tensor.zeros(b, cfg.inChannels, h, w), 681f, Tensor.zeros(b, 77, cfg.crossAttentionDim), -1);
        }
        UnetBenchFlops.Count c = UnetBenchFlops.of(cfg, b, h, w, 77);
        assertEquals(c.conv(), prof.flops("conv2d"), 1e-9 * c.conv());
        assertEquals(c.linear(), prof.flops("linear") + prof.flops("matmul"), 1e-9 * c.linear());
        assertEquals(c.attention(), prof.flops("attention"), 1e-9 * c.attention());
        List<UnetBenchProfile.Row> rows = prof.rows();
        assertFalse(rows.isEmpty());
        assertTrue(rows.stream().anyMatch(r -> r.op().equals("attention self")), rows.toString());
        assertTrue(rows.stream().anyMatch(r -> r.op().equals("attention cross")), rows.toString());
        assertTrue(rows.stream().anyMatch(r -> r.op().equals("conv2d 3×3 stride 2")), rows.toString());
        for (int i = 1; i < rows.size(); i++) assertTrue(rows.get(i - 1).ms() >= rows.get(i).ms(), "most time first");
    }

    @Test
    void diffusersSideExplainsAMissingSource(@TempDir Path empty) {
        String before = System.getProperty("dragedit.pyref.dir");
        System.setProperty("dragedit.pyref.dir", empty.toString());
        try {
            UnetBenchTorch.Started started = UnetBenchTorch.start(new UnetBenchTorch.Job("{}", 1, 4, 8, 8, 77, 32, 681f), 60);
            if (started instanceof UnetBenchTorch.Session s) {
                s.close();
                fail("a session started without a diffusers source");
            }
            UnetBenchTorch.Result r = (UnetBenchTorch.Result) started;
            assertFalse(r.available());
            // either the scripts are missing (a checkout without ../shared) or the source: both say what to do
            assertTrue(r.reason().contains("setup.sh") || r.reason().contains("DRAGEDIT_PYREF_SCRIPTS"), r.reason());
        } finally {
            if (before == null) System.clearProperty("dragedit.pyref.dir"); else System.setProperty("dragedit.pyref.dir", before);
        }
    }

    /** The session protocol on the tiny config, where this machine has PyTorch and diffusers (else the reason is shown). */
    @Test
    void diffusersSessionTimesForwards() throws Exception {
        Path config = Fixtures.require("unet-tiny/config.json");
        UnetBenchTorch.Started started = UnetBenchTorch.start(new UnetBenchTorch.Job(UnetBench.kwargs(config), 1, 4, 8, 8, 77, 32, 681f), 300);
        assumeTrue(started instanceof UnetBenchTorch.Session, () -> "no diffusers + PyTorch here: " + ((UnetBenchTorch.Result) started).reason());
        try (UnetBenchTorch.Session s = (UnetBenchTorch.Session) started) {
            assertEquals("0.24.0", s.ready().diffusers());
            assertEquals(2_446_788L, s.ready().params(), "the unet-tiny config's parameter count");
            double[] t = s.time(s.ready().defaultThreads(), 2);
            assertEquals(2, t.length);
            assertEquals(2, s.forwards());
            assertTrue(s.nonFiniteForwards() >= 0 && s.nonFiniteForwards() <= 2, "non-finite forwards: " + s.nonFiniteForwards());
            assertTrue(t[0] > 0 && t[1] > 0);
            UnetBenchTorch.Result r = s.result(s.ready().defaultThreads(), t, List.of());
            assertTrue(r.available());
            assertTrue(r.peakRssMb() > 0);
        }
    }
}
