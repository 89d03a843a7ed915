package dev.dragedit.convert;

import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.convert.ldm.LdmConverter;
import dev.dragedit.convert.testing.CkptWriter;
import dev.dragedit.convert.testing.FixtureFiles;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.StableDiffusion;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A converted single-file checkpoint (.ckpt made from the tiny fixtures) loads as a whole through the engine's
 * strict loaders (StableDiffusion.load) and reproduces the fixtures' outputs - UNet, VAE decode, CLIP - within the
 * fixtures' README tolerances. The weights are bit-identical (LdmConvertTest), so this checks that the folder, its
 * configs and its key set are what the loaders expect. CPU only: the numerics of the backends are the model tests'.
 */
class ConvertedModelTest {
    static void assertClose(Tensor ref, Tensor got, double relTol, String what) {
        assertArrayEquals(ref.shape(), got.shape(), what);
        float[] r = ref.to(dev.dragedit.tensor.DType.F32).data(), g = got.toCpu().to(dev.dragedit.tensor.DType.F32).data();
        double max = 0, diff = 0;
        for (int i = 0; i < r.length; i++) {
            max = Math.max(max, Math.abs(r[i]));
            diff = Math.max(diff, Math.abs(r[i] - g[i]));
        }
        assertTrue(diff <= relTol * max, what + ": max abs diff " + diff + " > " + relTol + " * " + max);
    }

    @Test
    void convertedCheckpointLoadsAndMatchesTheFixtures(@TempDir Path tmp) throws Exception {
        LdmConvertTest.load();
        Path in = tmp.resolve("tiny.ckpt");
        CkptWriter.write(in, LdmConvertTest.ldm());
        Path out = tmp.resolve("model");
        Path tok = FixtureFiles.require("clip-tokenizer/tokenizer/vocab.json").getParent();
        LdmConverter.convert(in, out, new LdmConverter.Options(tok, LdmConvertTest.configDir(tmp), List.of(), null));

        StableDiffusion sd = StableDiffusion.load(out, Placement.cpu());
        Functional f = new Functional(CpuOps.INSTANCE);
        Tape.Scope noGrad = Tape.noGrad();
        try (SafeTensors u = SafeTensors.open(FixtureFiles.require("unet-tiny/io.safetensors"));
             SafeTensors v = SafeTensors.open(FixtureFiles.require("vae-tiny/io.safetensors"));
             SafeTensors c = SafeTensors.open(FixtureFiles.require("clip-text-tiny/io.safetensors"))) {
            Tensor eps = sd.unet.forward(f, u.get("sample"), u.get("timestep").item(), u.get("encoder_hidden_states"), -1).out();
            assertClose(u.get("out"), eps, 1e-4, "unet out");
            assertClose(v.get("decoded"), sd.vae.decode(f, v.get("z")), 1e-4, "vae decoded");
            long[] ids = c.get("input_ids").longs();
            long[][] rows = new long[3][77];
            for (int b = 0; b < 3; b++) System.arraycopy(ids, b * 77, rows[b], 0, 77);
            assertClose(c.get("last_hidden_state"), sd.textEncoder.forward(f, rows), 1e-4, "clip last_hidden_state");
        } finally {
            noGrad.close();
        }
    }
}
