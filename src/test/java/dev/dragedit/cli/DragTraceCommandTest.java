package dev.dragedit.cli;

import dev.dragedit.io.SafeTensors;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code dragedit drag-trace} on the drag-loop fixture: the trace file holds the fixture's per-iteration tensors and
 * they agree with the reference within the README's tolerances (losses 1e-4 relative, gradients, latents and F0
 * 1e-4 of the largest value, handle points exactly) — on the CPU; the loop itself is checked on the CUDA backend by
 * DragLoopFixtureTest. Bad inputs (missing or malformed args.json, a bad hyperparameter, a missing tensor, a point
 * outside the image, a missing model) are one error line, exit ≠ 0 and no output file.
 */
class DragTraceCommandTest {
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(code, out.toString(), err.toString());
    }

    static Map<String, Tensor> read(Path file) throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(file)) {
            for (String n : st.names()) {
                Tensor t = st.get(n);
                assertEquals(DType.F32, t.dtype(), n);
                m.put(n, Tensor.of(t.data().clone(), t.shape()));
            }
        }
        return m;
    }

    static void assertRel(String what, Tensor want, Tensor got, double tol) {
        assertNotNull(got, what + " missing from the trace");
        assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        float[] a = want.data(), b = got.data();
        double max = 0, err = 0;
        for (int i = 0; i < a.length; i++) { max = Math.max(max, Math.abs(a[i])); err = Math.max(err, Math.abs(a[i] - b[i])); }
        assertTrue(err <= tol * max, what + ": max abs error " + err + " > " + tol + " · " + max);
    }

    @Test
    void reproducesTheDragLoopFixtureOnTheCpu(@TempDir Path tmp) throws IOException {
        Path drag = Fixtures.require("drag-loop/drag.safetensors");
        Path out = tmp.resolve("trace.safetensors");
        Run r = run("drag-trace", "--device", "cpu", "--model", Fixtures.require("unet-tiny/config.json").getParent().toString(),
                "--in", drag.toString(), "--args", Fixtures.require("drag-loop/args.json").toString(), "--out", out.toString());
        assertEquals(0, r.code(), "stderr: " + r.err());
        assertTrue(r.out().contains("iter 2: loss"), r.out());
        Map<String, Tensor> ref = read(drag), got = read(out);
        for (String k : new String[]{"handle_points_init", "target_points", "mask_sup", "interp_mask"})
            assertArrayEquals(ref.get(k).data(), got.get(k).data(), k);
        for (String k : new String[]{"F0", "unet_output_0", "x_prev_0", "final_latent"}) assertRel(k, ref.get(k), got.get(k), 1e-4);
        for (int i = 0; i < 3; i++) {
            String p = "iter" + i + "_";
            assertArrayEquals(ref.get(p + "handle_points").data(), got.get(p + "handle_points").data(), p + "handle_points");
            for (String k : new String[]{"loss", "motion_term0", "motion_term1", "mask_term"}) {
                double want = ref.get(p + k).item(), have = got.get(p + k).item();
                assertEquals(want, have, 1e-4 * Math.abs(want), p + k);
            }
            for (String k : new String[]{"latent_in", "feat_raw", "unet_output", "x_prev", "grad", "latent_out",
                    "motion_term0_f0_patch", "motion_term0_f1_patch", "motion_term1_f0_patch", "motion_term1_f1_patch"})
                assertRel(p + k, ref.get(p + k), got.get(p + k), 1e-4);
            for (int k = 0; i > 0 && k < 2; k++) assertRel(p + "tracking" + k + "_dist", ref.get(p + "tracking" + k + "_dist"), got.get(p + "tracking" + k + "_dist"), 1e-4);
        }
        assertEquals(0f, got.get("iter0_mask_term").item(), "mask term at iteration 0");
    }

    private static Run runBad(Path tmp, Path in, String argsJson) throws IOException {
        Path args = tmp.resolve("args.json");
        Files.writeString(args, argsJson);
        Path out = tmp.resolve("bad.safetensors");
        Run r = run("drag-trace", "--device", "cpu", "--model", Fixtures.require("unet-tiny/config.json").getParent().toString(),
                "--in", in.toString(), "--args", args.toString(), "--out", out.toString());
        assertNotEquals(0, r.code(), "exit code; stdout: " + r.out());
        assertFalse(Files.exists(out), "no output on failure");
        assertEquals(1, r.err().strip().lines().count(), "one error line: " + r.err());
        return r;
    }

    @Test
    void badInputsAreOneClearError(@TempDir Path tmp) throws IOException {
        Path drag = Fixtures.require("drag-loop/drag.safetensors");
        assertTrue(runBad(tmp, drag, "{not json").err().contains("not valid JSON"));
        assertTrue(runBad(tmp, drag, "{\"hyperparameters\": {\"lr\": -1}}").err().contains("lr"));
        assertTrue(runBad(tmp, drag, "{\"hyperparameters\": {\"r_m\": 1.5}}").err().contains("r_m"));
        assertTrue(runBad(tmp, drag, "{\"hyperparameters\": {\"unet_feature_idx\": [9], \"n_pix_step\": 1}}").err().contains("unet_feature_idx"));

        Map<String, Tensor> m = read(drag);
        Map<String, Tensor> noPoints = new LinkedHashMap<>(m);
        noPoints.remove("points_xy_image");
        Path f1 = tmp.resolve("nopoints.safetensors");
        SafeTensors.write(f1, noPoints);
        assertTrue(runBad(tmp, f1, "{}").err().contains("points_xy_image"));

        Map<String, Tensor> outside = new LinkedHashMap<>(m);
        outside.put("points_xy_image", Tensor.of(new float[]{40, 50, 200, 50}, 2, 2));
        Path f2 = tmp.resolve("outside.safetensors");
        SafeTensors.write(f2, outside);
        assertTrue(runBad(tmp, f2, "{}").err().contains("outside"));

        Path args = tmp.resolve("ok.json");
        Files.writeString(args, "{}");
        Run r = run("drag-trace", "--model", tmp.resolve("nope").toString(), "--in", drag.toString(), "--args", args.toString(),
                "--out", tmp.resolve("x.safetensors").toString());
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("nope"), r.err());
        assertFalse(Files.exists(tmp.resolve("x.safetensors")));
    }
}
