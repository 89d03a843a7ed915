package dev.dragedit.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plumbing of {@code dragedit bench jmh}, in-process and without running a benchmark: the generated benchmark
 * list is on the classpath and lists every op family, JMH's options pass through, and JMH's errors become
 * dragedit's usage errors.
 */
class BenchJmhTest {
    private static final List<String> BENCHMARK_CLASSES = List.of("GemmBench", "Conv2dBench", "GroupNormBench",
            "AttentionBench", "GridSampleBench", "ElementwiseBench");

    @Test
    void listNamesEveryBenchmarkClassWithoutRunningAny() {
        MainTest.Run r = MainTest.run("bench", "jmh", "-l");
        assertEquals(0, r.code(), "stdout:\n" + r.out() + "\nstderr:\n" + r.err());
        for (String cls : BENCHMARK_CLASSES) {
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith("dev.dragedit.bench.jmh." + cls + ".")),
                    "bench jmh -l should list " + cls + ":\n" + r.out());
        }
        assertFalse(r.out().contains("# Fork"), "listing must not run anything:\n" + r.out());
    }

    @Test
    void listWithARegexKeepsOnlyTheMatchingBenchmarks() {
        MainTest.Run r = MainTest.run("bench", "jmh", "-l", "GemmBench");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("dev.dragedit.bench.jmh.GemmBench.sgemm1024"), r.out());
        assertFalse(r.out().contains("Conv2dBench"), r.out());
    }

    @Test
    void listWithParamsShowsTheSimdSwitch() {
        MainTest.Run r = MainTest.run("bench", "jmh", "-lp", "ElementwiseBench.silu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("param \"simd\" = {true, false}"), r.out());
    }

    @Test
    void helpShowsAnExampleAndJmhsOwnOptions() {
        MainTest.Run r = MainTest.run("bench", "jmh", "--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("dragedit bench jmh Gemm -f 1 -wi 2 -i 3"), r.out());
        for (String opt : List.of("-wi <int>", "-prof <profiler>", "-rf <type>")) {
            assertTrue(r.out().contains(opt), "--help should include JMH's option " + opt + ":\n" + r.out());
        }
        assertTrue(MainTest.run("bench", "--help").out().contains("jmh"), "bench --help should list jmh");
    }

    @Test
    void badJmhOptionIsAUsageErrorWithOneMessage() {
        MainTest.Run r = MainTest.run("bench", "jmh", "-wi", "many");
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().startsWith("dragedit: bench jmh: "), r.err());
        assertTrue(r.err().contains("wi"), "the message should name the option:\n" + r.err());
        assertTrue(r.err().contains("Try 'dragedit bench jmh --help'"), r.err());
        assertEquals(2, r.err().lines().count(), "one message and the pointer to --help:\n" + r.err());
        assertEquals("", r.out());
    }

    @Test
    void regexThatMatchesNothingIsAUsageError() {
        MainTest.Run r = MainTest.run("bench", "jmh", "NoSuchBenchmark");
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().startsWith("dragedit: bench jmh: no benchmark matches NoSuchBenchmark"), r.err());
        assertTrue(r.err().contains("bench jmh -l"), r.err());
    }

    @Test
    void unknownProfilerIsAUsageErrorThatPointsAtTheList() {
        MainTest.Run r = MainTest.run("bench", "jmh", "-prof", "nosuchprof", "GemmBench");
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().startsWith("dragedit: bench jmh: unknown profiler 'nosuchprof'"), r.err());
        assertTrue(r.err().contains("bench jmh -lprof"), r.err());
        assertFalse(r.out().contains("# Fork"), "nothing may run:\n" + r.out());
    }

    @Test
    void versionIsTheBuildVersion() {
        MainTest.Run r = MainTest.run("bench", "jmh", "-V");
        assertEquals(0, r.code(), r.err());
        assertEquals("dragedit " + Main.buildVersion(), r.out().strip());
    }
}
