package dev.dragedit.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.cli.Main;
import dev.dragedit.cuda.Devices;
import dev.dragedit.cuda.EmulatedCudaDevice;
import dev.dragedit.cuda.KernelCoverage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * {@code dragedit bench kernels} end to end on the CUDA emulation at the tiny shapes (a plumbing check: no timing
 * is asserted): the JSON lines and their fields, one per (kernel, case, dtype), and that every kernel entry point
 * is benchmarked by some case, so a new kernel without a bench case fails here, while none of those launches
 * counts in KernelCoverage (only tests against the CPU ops may). Also the usage errors and the GPU peak table.
 */
class KernelBenchCommandTest {

    private record Result(int code, String out, String err) {}

    private static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void emulatedRunWritesOneLinePerKernelAndCaseCoveringEveryEntryPoint(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("kernels.jsonl");
        Files.writeString(file, "{\"earlier\":true}\n");   // appended to, never overwritten
        Map<String, Long> coverageBefore = KernelCoverage.launches();
        Result r = run("bench", "kernels", "--device", "emulated", "--shapes", "tiny", "--repeats", "1", "--warmup", "0",
                "--out", file.toString());
        assertEquals(0, r.code(), () -> "exit code; stdout:\n" + r.out() + "\nstderr:\n" + r.err());
        assertTrue(r.out().contains("shapes tiny"), r.out());
        assertTrue(r.out().contains("emulated"), r.out());
        assertEquals(coverageBefore, KernelCoverage.launches(),
                "benchmark launches must not count as tested kernels in KernelCoverage");

        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        assertEquals("{\"earlier\":true}", lines.get(0));
        ObjectMapper json = new ObjectMapper();
        Set<String> kernels = new HashSet<>(), keys = new HashSet<>();
        for (String line : lines.subList(1, lines.size())) {
            JsonNode n = json.readTree(line);
            for (String f : List.of("commit", "date", "device", "emulated", "kernel", "case", "shapes", "dtype", "repeats",
                    "median_ms", "peak"))
                assertTrue(n.has(f), () -> "field " + f + " missing in " + line);
            assertTrue(n.has("gflops") ^ n.has("gbps"), () -> "exactly one of gflops, gbps in " + line);
            assertFalse(n.has("pct_peak"), () -> "no % of peak under the emulation: " + line);
            assertTrue(n.get("emulated").asBoolean(), line);
            assertEquals("unknown", n.get("peak").asText(), line);
            assertEquals(1, n.get("repeats").asInt(), line);
            assertTrue(n.get("median_ms").asDouble() >= 0, line);
            assertTrue(n.get("shapes").isArray() && n.get("shapes").size() > 0, line);
            assertTrue(keys.add(n.get("kernel").asText() + " " + n.get("case").asText() + " " + n.get("dtype").asText()),
                    () -> "two lines for one (kernel, case, dtype): " + line);
            kernels.add(n.get("kernel").asText());
        }

        Set<String> missing = new TreeSet<>();
        try (EmulatedCudaDevice dev = new EmulatedCudaDevice()) {
            for (String k : dev.kernels()) {
                // selftest_* exercise the emulation itself (kernels/selftest.cu); no op launches them
                if (!k.startsWith("selftest_") && !kernels.contains(k)) missing.add(k);
            }
        }
        assertTrue(missing.isEmpty(), "kernel entry points no bench case launches (add a case to KernelBenchCases): " + missing);
    }

    @Test
    void filterKeepsMatchingCasesAndKernels(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("k.jsonl");
        Result r = run("bench", "kernels", "--device", "emulated", "--repeats", "2", "--warmup", "1", "--dtype", "f32",
                "--filter", "^softmax_fwd", "--out", file.toString());
        assertEquals(0, r.code(), () -> r.out() + r.err());
        List<String> lines = Files.readAllLines(file);
        assertFalse(lines.isEmpty());
        ObjectMapper json = new ObjectMapper();
        java.util.Set<String> cases = new java.util.TreeSet<>(), withSoftmax = new java.util.TreeSet<>();
        for (String line : lines) {
            JsonNode n = json.readTree(line);
            assertEquals("f32", n.get("dtype").asText());
            assertEquals(2, n.get("repeats").asInt());
            cases.add(n.get("case").asText());
            if (n.get("kernel").asText().startsWith("softmax_fwd")) withSoftmax.add(n.get("case").asText());
        }
        // a case is kept when one of its kernels matches (e.g. attention composed from GEMMs and a softmax)
        assertEquals(withSoftmax, cases);
        assertTrue(cases.stream().anyMatch(c -> c.contains("softmax")), cases.toString());
    }

    @Test
    void badFlagsAreUsageErrors(@TempDir Path dir) {
        String out = dir.resolve("never.jsonl").toString();
        for (String[] args : List.of(
                new String[]{"--device", "tpu"},
                new String[]{"--shapes", "sd15-1024"},
                new String[]{"--dtype", "f64"},
                new String[]{"--repeats", "0"},
                new String[]{"--warmup", "-1"},
                new String[]{"--filter", "(["},
                new String[]{"--no-such-flag"})) {
            String[] all = new String[args.length + 4];
            all[0] = "bench";
            all[1] = "kernels";
            System.arraycopy(args, 0, all, 2, args.length);
            all[args.length + 2] = "--out";
            all[args.length + 3] = out;
            Result r = run(all);
            assertEquals(2, r.code(), () -> String.join(" ", args) + ": " + r.err());
            assertTrue(r.err().contains("dragedit: "), r.err());
            assertFalse(Files.exists(Path.of(out)), String.join(" ", args));
        }
    }

    @Test
    void cudaWithoutAGpuIsOneErrorLine(@TempDir Path dir) {
        assumeFalse(Devices.cudaAvailable(), "a GPU is present: --device cuda would run the whole benchmark");
        Path out = dir.resolve("never.jsonl");
        Result r = run("bench", "kernels", "--device", "cuda", "--out", out.toString());
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("dragedit: bench kernels: --device cuda: "), r.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void peakTableFindsGpusByDriverName() {
        assertEquals("H100 SXM", GpuPeaks.forDevice("NVIDIA H100 80GB HBM3 (sm_90, 81559 MiB, driver CUDA 12.8)").model());
        assertEquals("H100 PCIe", GpuPeaks.forDevice("NVIDIA H100 PCIe").model());
        assertEquals("H100 NVL", GpuPeaks.forDevice("NVIDIA H100 NVL").model());
        assertEquals("H200 SXM", GpuPeaks.forDevice("NVIDIA H200").model());
        assertEquals("A100 40GB SXM", GpuPeaks.forDevice("NVIDIA A100-SXM4-40GB").model());
        assertEquals("A100 80GB SXM", GpuPeaks.forDevice("NVIDIA A100-SXM4-80GB").model());
        assertEquals("A100 40GB PCIe", GpuPeaks.forDevice("NVIDIA A100-PCIE-40GB").model());
        assertEquals("A100 80GB PCIe", GpuPeaks.forDevice("NVIDIA A100 80GB PCIe").model());
        assertEquals("L4", GpuPeaks.forDevice("NVIDIA L4").model());
        assertEquals("L40S", GpuPeaks.forDevice("NVIDIA L40S").model());
        assertEquals("A10", GpuPeaks.forDevice("NVIDIA A10").model());
        assertEquals("GeForce RTX 3090", GpuPeaks.forDevice("NVIDIA GeForce RTX 3090").model());
        assertEquals("GeForce RTX 4090", GpuPeaks.forDevice("NVIDIA GeForce RTX 4090").model());
        assertNull(GpuPeaks.forDevice("NVIDIA GeForce RTX 3090 Ti"));
        assertNull(GpuPeaks.forDevice("NVIDIA L40"));
        assertNull(GpuPeaks.forDevice("CUDA emulation on the CPU (80 kernels)"));
        GpuPeaks h100 = GpuPeaks.forDevice("NVIDIA H100 80GB HBM3");
        assertNotNull(h100);
        assertEquals(67_000, h100.gflopsFor("f32"));
        assertEquals(989_500, h100.gflopsFor("bf16"));
    }
}
