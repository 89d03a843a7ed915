package dev.dragedit.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs after every other test class of the suite (see junit-platform.properties): writes
 * target/kernel-coverage.json — every entry point compiled from kernels/ with its launch count in this run and the
 * device that ran it — and fails when an entry point was never launched, so no kernel escapes the CUDA-vs-CPU tests.
 * When the run is a chosen subset of tests (-Dtest=…), the file is still written but nothing is asserted.
 */
@Order(Integer.MAX_VALUE)
class KernelCoverageTest {

    @Test
    void everyKernelEntryPointWasLaunchedByTheSuite() throws IOException {
        String loaded = EmulatedNative.load();
        if (loaded == null) fail("the CUDA emulation library did not load: " + EmulatedNative.class.getSimpleName());
        List<String> entryPoints = List.of(EmulatedNative.kernelNames());
        Map<String, Long> launches = KernelCoverage.launches();
        Map<String, Long> counts = new TreeMap<>();
        for (String k : entryPoints) counts.put(k, launches.getOrDefault(k, 0L));

        Map<String, Object> json = new LinkedHashMap<>();
        json.put("devices", KernelCoverage.devices());
        json.put("entry_points", entryPoints.size());
        json.put("launched", counts.values().stream().filter(c -> c > 0).count());
        json.put("kernels", counts);
        Path out = Path.of(System.getProperty("dragedit.coverage", "target/kernel-coverage.json"));
        Files.createDirectories(out.toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), json);
        System.out.printf("kernel coverage: %d of %d entry points launched on %s → %s%n",
                json.get("launched"), entryPoints.size(), KernelCoverage.devices(), out.toAbsolutePath());

        if (System.getProperty("test") != null) return; // a chosen subset of the suite: report only
        List<String> never = counts.entrySet().stream().filter(e -> e.getValue() == 0).map(Map.Entry::getKey).toList();
        assertTrue(never.isEmpty(), "kernels never launched by the test suite (each needs a test against the CPU op): " + never);
    }
}
