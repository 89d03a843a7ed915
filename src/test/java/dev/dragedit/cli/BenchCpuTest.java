package dev.dragedit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.bench.NumpyBaseline;
import dev.dragedit.bench.Reference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The plumbing of {@code dragedit bench cpu} at --quick sizes: the table, the JSON line, the sanity check. */
class BenchCpuTest {

    @Test
    void quickBenchWritesOneValidJsonLineAndATable(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("perf/cpu.jsonl");
        MainTest.Run r = MainTest.run("bench", "cpu", "--quick", "--no-numpy", "--json", json.toString());
        assertEquals(0, r.code(), "stdout:\n" + r.out() + "\nstderr:\n" + r.err());

        List<String> lines = Files.readAllLines(json);
        assertEquals(1, lines.size(), "one JSON line per run:\n" + lines);
        JsonNode root = new ObjectMapper().readTree(lines.get(0));
        assertEquals("cpu", root.get("bench").asText());
        assertTrue(root.get("quick").asBoolean());
        assertTrue(root.get("date").asText().matches("\\d{4}-\\d\\d-\\d\\dT.*Z"), root.get("date").asText());
        assertTrue(root.has("commit"));
        assertTrue(root.at("/machine/cores").asInt() >= 1);
        assertFalse(root.at("/machine/cpu").asText().isEmpty());
        assertFalse(root.at("/java/version").asText().isEmpty());
        assertTrue(root.at("/simd/enabled").isBoolean());
        assertTrue(root.at("/peak/gflops").asDouble() > 0, "the measured peak must be positive: " + root.get("peak"));
        assertFalse(root.at("/openblas/available").asBoolean());
        assertTrue(root.at("/openblas/reason").asText().contains("--no-numpy"));

        JsonNode rows = root.get("rows");
        assertEquals(3, rows.size());
        Set<String> names = Set.of(rows.get(0).get("name").asText(), rows.get(1).get("name").asText(), rows.get(2).get("name").asText());
        assertEquals(Set.of("sgemm", "conv2d_fwd", "conv2d_bwd"), names);
        for (JsonNode row : rows) {
            String status = row.get("status").asText();
            assertTrue(status.equals("ok") || status.equals("missing"), "row " + row);
            if (status.equals("ok")) {
                assertTrue(row.get("median_ms").asDouble() > 0, row.toString());
                assertTrue(row.get("gflops").asDouble() > 0, row.toString());
                assertTrue(row.get("peak_fraction").asDouble() > 0, row.toString());
                assertEquals("ok", row.get("check").asText(), row.toString());
            } else {
                assertTrue(row.get("error").asText().contains("not written yet"), row.toString());
            }
        }
        assertEquals("ok", rows.get(0).get("status").asText(), "sgemm always exists: " + rows.get(0));

        assertTrue(r.out().lines().anyMatch(l -> l.matches("sgemm 192³ +\\| .*") && l.contains("GFLOP/s") && l.contains("% of peak")), r.out());
        assertTrue(r.out().contains("OpenBLAS: no comparison — skipped (--no-numpy)"), r.out());
        assertTrue(r.err().contains("bench: peak FMA throughput"), "progress belongs on stderr:\n" + r.err());

        MainTest.Run again = MainTest.run("bench", "cpu", "--quick", "--no-numpy", "--repeats", "1", "--warmup", "0", "--json", json.toString());
        assertEquals(0, again.code(), again.err());
        assertEquals(2, Files.readAllLines(json).size(), "a second run appends a second line");
    }

    @Test
    void numpyBaselineTimesTheSameShapesOrSaysWhyNot() {
        NumpyBaseline.Result r = NumpyBaseline.run(0, 1, 32, 4, 36, 64, 120);
        if (!r.available()) {
            assertTrue(r.reason().contains("python3"), "the reason must name what is missing: " + r.reason());
            return;
        }
        assertEquals(Set.of("sgemm", "conv2d_fwd", "conv2d_bwd"), r.rows().keySet());
        for (double[] t : r.rows().values()) assertTrue(t[0] > 0 && t[1] > 0 && t[1] <= t[0], java.util.Arrays.toString(t));
        assertFalse(r.numpy().isEmpty());
        assertFalse(r.blas().isEmpty());
    }

    @Test
    void numpyAnswersAreParsedAndFailuresExplained() {
        NumpyBaseline.Result ok = NumpyBaseline.parse("noise\n{\"numpy\": \"2.4.6\", \"blas\": \"openblas\", \"rows\": {\"sgemm\": [2.5, 2.0]}}\n",
                0, List.of("OPENBLAS_CORETYPE"));
        assertTrue(ok.available());
        assertEquals(2.5, ok.rows().get("sgemm")[0]);
        assertEquals(List.of("OPENBLAS_CORETYPE"), ok.unset());
        NumpyBaseline.Result absent = NumpyBaseline.parse("{\"absent\": \"python3 has no numpy\"}", 0, List.of());
        assertFalse(absent.available());
        assertEquals("python3 has no numpy", absent.reason());
        NumpyBaseline.Result crash = NumpyBaseline.parse("Traceback (most recent call last):\nMemoryError", 1, List.of());
        assertFalse(crash.available());
        assertTrue(crash.reason().startsWith("python3 exited with 1: Traceback"), crash.reason());
    }

    @Test
    void sanityCheckCatchesAWrongIndexButNotRoundingError() {
        int k = 576;
        float[] a = new float[k], b = new float[k];
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(9);
        for (int i = 0; i < k; i++) { a[i] = (float) rnd.nextDouble(-1, 1); b[i] = (float) rnd.nextDouble(-1, 1); }
        double[] ref = Reference.gemmEntry(a, b, 1, k, 0, 0);
        float f32 = 0;
        for (int i = k - 1; i >= 0; i--) f32 += a[i] * b[i];
        Reference.Check rounding = new Reference.Check();
        rounding.compare("c", f32, ref[0], ref[1], k);
        assertTrue(rounding.ok(), rounding.summary());

        float wrong = f32 - a[3] * b[3] + a[4] * b[3];
        Reference.Check bug = new Reference.Check();
        bug.compare("c", wrong, ref[0], ref[1], k);
        assertFalse(bug.ok());
        assertTrue(bug.summary().startsWith("WRONG: c = "), bug.summary());
    }
}
