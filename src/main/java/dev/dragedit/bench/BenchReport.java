package dev.dragedit.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How a {@link CpuBench.Report} is shown: a table with one line per measurement (time, GFLOP/s, share of the
 * measured peak, ratio to OpenBLAS on the same arithmetic, check) and one JSON line for docs/perf/cpu.jsonl.
 */
public final class BenchReport {
    private BenchReport() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** numpy's rows, labelled for the table; keys match {@link CpuBench.Row#key()}. */
    static String openBlasLabel(String key, CpuBench.Shapes s) {
        int ck = s.channels() * s.k() * s.k(), hw = s.size() * s.size();
        return switch (key) {
            case "sgemm" -> "OpenBLAS sgemm " + s.n() + "³";
            case "conv2d_fwd" -> "OpenBLAS conv fwd as GEMM " + s.channels() + "×" + ck + "·" + ck + "×" + hw;
            case "conv2d_bwd" -> "OpenBLAS conv bwd as GEMMs dW+dcols";
            default -> "OpenBLAS " + key;
        };
    }

    static double flopsOf(String key, CpuBench.Shapes s) {
        return switch (key) {
            case "sgemm" -> 2.0 * s.n() * s.n() * s.n();
            case "conv2d_fwd" -> s.convFlops();
            case "conv2d_bwd" -> 2 * s.convFlops();
            default -> Double.NaN;
        };
    }

    /** ours / OpenBLAS in throughput (above 1: we are faster), NaN when either is missing. */
    static double ratio(CpuBench.Row row, CpuBench.Report r) {
        if (!r.numpy().available() || row.timing() == null) return Double.NaN;
        double[] theirs = r.numpy().rows().get(row.key());
        return theirs == null ? Double.NaN : theirs[0] / row.timing().medianMs();
    }

    public static void printTable(CpuBench.Report r, PrintWriter out) {
        MachineInfo m = r.machine();
        out.printf("dragedit bench cpu%s — %s, %d threads, Vector API %s, Java %s; median of %d runs after %d warm-ups%n",
                r.options().quick() ? " --quick" : "", m.cpuModel(), r.threads(),
                m.vectorEnabled() ? "on (" + m.floatLanes() + " lanes)" : "off", m.javaVersion(),
                r.options().repeats(), r.options().warmup());
        List<String[]> lines = new ArrayList<>();
        lines.add(new String[] {"peak FMA (" + r.peak().method() + ")", "", gf(r.peak().gflops()), "100% of peak", "", ""});
        for (CpuBench.Row row : r.rows()) {
            if (row.timing() == null) {
                String why = row.status() == CpuBench.Status.MISSING ? "not available: " : "FAILED: ";
                lines.add(new String[] {row.label(), why + row.error(), "", "", "", ""});
                continue;
            }
            double ratio = ratio(row, r);
            lines.add(new String[] {row.label(), ms(row.timing().medianMs()), gf(row.gflops()), pct(row.gflops() / r.peak().gflops()),
                    Double.isNaN(ratio) ? "" : String.format(Locale.ROOT, "%.2f× OpenBLAS", ratio), "check " + row.check()});
        }
        if (r.numpy().available()) {
            for (Map.Entry<String, double[]> e : r.numpy().rows().entrySet()) {
                double g = Timing.gflops(flopsOf(e.getKey(), r.shapes()), e.getValue()[0]);
                lines.add(new String[] {openBlasLabel(e.getKey(), r.shapes()), ms(e.getValue()[0]), gf(g), pct(g / r.peak().gflops()), "", ""});
            }
        }
        printAligned(out, lines);
        if (r.peak().warning() != null) out.println("warning: " + r.peak().warning());
        if (r.numpy().available()) {
            out.println("OpenBLAS: numpy " + r.numpy().numpy() + ", " + r.numpy().blas()
                    + (r.numpy().unset().isEmpty() ? "" : "; unset for its run: " + String.join(", ", r.numpy().unset())));
        } else {
            out.println("OpenBLAS: no comparison — " + r.numpy().reason());
        }
        out.flush();
    }

    /** Columns joined by " | ", padded to a common width; a column empty on every line is left out. */
    private static void printAligned(PrintWriter out, List<String[]> lines) {
        int cols = lines.get(0).length;
        int[] width = new int[cols];
        for (String[] l : lines) for (int i = 0; i < cols; i++) width[i] = Math.max(width[i], l[i].length());
        for (String[] l : lines) {
            StringBuilder sb = new StringBuilder(pad(l[0], width[0], false));
            int last = cols - 1;
            while (last > 0 && l[last].isEmpty()) last--;
            for (int i = 1; i <= last; i++) {
                if (width[i] == 0) continue;
                // Numbers right-aligned so that units line up; text (a check, a reason) left-aligned.
                boolean numeric = (i == 1 || i == 2 || i == 3) && !l[i].isEmpty() && Character.isDigit(l[i].charAt(0));
                sb.append(" | ").append(numeric ? pad(l[i], width[i], true) : i == last ? l[i] : pad(l[i], width[i], false));
            }
            out.println(sb.toString().stripTrailing());
        }
    }

    private static String pad(String s, int w, boolean left) {
        String fill = " ".repeat(Math.max(0, w - s.length()));
        return left ? fill + s : s + fill;
    }

    static String ms(double v) {
        return String.format(Locale.ROOT, v < 10 ? "%.2f ms" : v < 1000 ? "%.1f ms" : "%.0f ms", v);
    }

    static String gf(double v) { return String.format(Locale.ROOT, v < 10 ? "%.2f GFLOP/s" : "%.1f GFLOP/s", v); }

    static String pct(double f) { return String.format(Locale.ROOT, "%.0f%% of peak", 100 * f); }

    /** The run as one JSON object (one line in the perf log). */
    public static ObjectNode json(CpuBench.Report r, String commit, String date) {
        ObjectNode root = JSON.createObjectNode();
        root.put("bench", "cpu");
        root.put("date", date);
        if (commit == null) root.putNull("commit"); else root.put("commit", commit);
        root.put("quick", r.options().quick());
        root.put("warmup", r.options().warmup());
        root.put("repeats", r.options().repeats());
        MachineInfo m = r.machine();
        ObjectNode machine = root.putObject("machine");
        machine.put("cpu", m.cpuModel());
        machine.put("cores", m.cores());
        machine.put("threads", r.threads());
        ArrayNode flags = machine.putArray("flags");
        m.simdFlags().forEach(flags::add);
        machine.put("os", m.os());
        ObjectNode java = root.putObject("java");
        java.put("version", m.javaVersion());
        java.put("vendor", m.javaVendor());
        java.put("vm", m.javaVm());
        ObjectNode simd = root.putObject("simd");
        simd.put("available", m.vectorAvailable());
        simd.put("enabled", m.vectorEnabled());
        simd.put("float_lanes", m.floatLanes());
        ObjectNode peak = root.putObject("peak");
        num(peak, "gflops", r.peak().gflops());
        peak.put("method", r.peak().method());
        if (r.peak().warning() != null) peak.put("warning", r.peak().warning());
        ArrayNode rows = root.putArray("rows");
        for (CpuBench.Row row : r.rows()) {
            ObjectNode o = rows.addObject();
            o.put("name", row.key());
            o.put("label", row.label());
            o.put("shape", row.shape());
            o.put("flops", row.flops());
            o.put("status", row.status().name().toLowerCase(Locale.ROOT));
            if (row.timing() != null) {
                num(o, "median_ms", row.timing().medianMs());
                num(o, "min_ms", row.timing().minMs());
                num(o, "gflops", row.gflops());
                num(o, "peak_fraction", row.gflops() / r.peak().gflops());
                num(o, "vs_openblas", ratio(row, r));
                o.put("check", row.check());
            }
            if (row.error() != null) o.put("error", row.error());
        }
        ObjectNode ob = root.putObject("openblas");
        ob.put("available", r.numpy().available());
        if (!r.numpy().available()) {
            ob.put("reason", r.numpy().reason());
        } else {
            ob.put("numpy", r.numpy().numpy());
            ob.put("blas", r.numpy().blas());
            ArrayNode unset = ob.putArray("unset_env");
            r.numpy().unset().forEach(unset::add);
            ArrayNode orows = ob.putArray("rows");
            for (Map.Entry<String, double[]> e : r.numpy().rows().entrySet()) {
                double g = Timing.gflops(flopsOf(e.getKey(), r.shapes()), e.getValue()[0]);
                ObjectNode o = orows.addObject();
                o.put("name", e.getKey());
                o.put("label", openBlasLabel(e.getKey(), r.shapes()));
                num(o, "median_ms", e.getValue()[0]);
                num(o, "min_ms", e.getValue()[1]);
                num(o, "gflops", g);
                num(o, "peak_fraction", g / r.peak().gflops());
            }
        }
        return root;
    }

    public static String jsonLine(ObjectNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write the bench result as JSON: " + e.getMessage(), e);
        }
    }

    /** Four decimals are plenty for a timing; a missing number (NaN) is null, since NaN is not valid JSON. */
    private static void num(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) o.put(key, Math.round(v * 10_000) / 10_000.0); else o.putNull(key);
    }
}
