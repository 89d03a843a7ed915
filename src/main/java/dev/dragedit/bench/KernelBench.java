package dev.dragedit.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dragedit.bench.KernelBenchCases.Body;
import dev.dragedit.bench.KernelBenchCases.Case;
import dev.dragedit.bench.KernelBenchCases.Inputs;
import dev.dragedit.bench.KernelBenchCases.Shapes;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Times every case of {@link KernelBenchCases} on a {@link KernelDevice}, per kernel: the device reports each
 * launch's time through its launch timer (CUDA events on a GPU, read once per repeat after a synchronize; wall
 * clock in the emulation), the times of one kernel within a repeat are summed, and the median over the repeats is
 * reported, with the median of the case's total. Throughput belongs to the op, not to one of its kernels: the case's
 * FLOPs (or bytes moved) over the case's median time, repeated on each kernel line of the case, whose
 * {@code kernel_share} says how much of that time the kernel took.
 *
 * <p>A case is run once first (it counts as a warm-up, or as the first timed repeat without warm-ups). When that run
 * in a 16-bit dtype throws IllegalArgumentException before any launch because an input is not F32, the op has no
 * kernels of that dtype: the case is reported as skipped. Any other failure is reported and the run goes on with the
 * next case.
 */
final class KernelBench {
    private KernelBench() {}

    record Options(Shapes shapes, List<DType> dtypes, int warmup, int repeats, Pattern filter) {}

    /** One kernel of one case in one dtype. {@code throughput} is GFLOP/s when {@code compute}, else GB/s. */
    record Row(String caseName, String kernel, String dtype, List<String> shapes, double launches, double medianMs,
               double caseMedianMs, double flops, long bytes, boolean compute, double throughput, Double pctPeak) {}

    record Skip(String caseName, String dtype, String why) {}

    record Failure(String caseName, String dtype, String error) {}

    record Report(String device, boolean emulated, GpuPeaks peaks, Options options, List<Row> rows, List<Skip> skipped,
                  List<Failure> failed) {}

    /** Per-repeat launch times, by kernel in order of first launch. */
    private static final class Collector implements KernelDevice.LaunchTimer {
        final Map<String, double[]> current = new LinkedHashMap<>();   // kernel → {ms, launches}
        int launches;

        @Override public void launched(String kernel, double ms) {
            double[] a = current.computeIfAbsent(kernel, k -> new double[2]);
            a[0] += ms;
            a[1]++;
            launches++;
        }

        Map<String, double[]> take() {
            Map<String, double[]> m = new LinkedHashMap<>(current);
            current.clear();
            return m;
        }
    }

    static Report run(KernelDevice dev, Options o, PrintWriter progress) {
        List<Case> cases = KernelBenchCases.all(o.shapes());
        GpuPeaks peaks = dev.emulated() ? null : GpuPeaks.forDevice(dev.name());
        List<Row> rows = new ArrayList<>();
        List<Skip> skipped = new ArrayList<>();
        List<Failure> failed = new ArrayList<>();
        int total = cases.size() * o.dtypes().size(), index = 0;
        for (DType dt : o.dtypes()) {
            String dtype = dt.name().toLowerCase(Locale.ROOT);
            for (Case c : cases) {
                index++;
                String label = String.format(Locale.ROOT, "[%d/%d] %s %s", index, total, c.name(), dtype);
                try {
                    runCase(dev, o, c, dt, peaks, label, rows, skipped, progress);
                } catch (RuntimeException e) {
                    String msg = e.getClass().getSimpleName() + ": " + e.getMessage();
                    failed.add(new Failure(c.name(), dtype, msg));
                    progress.println(label + ": FAILED " + msg);
                    progress.flush();
                } finally {
                    dev.setLaunchTimer(null);
                }
            }
        }
        return new Report(dev.name(), dev.emulated(), peaks, o, rows, skipped, failed);
    }

    private static void runCase(KernelDevice dev, Options o, Case c, DType dt, GpuPeaks peaks, String label,
                                List<Row> rows, List<Skip> skipped, PrintWriter progress) {
        String dtype = dt.name().toLowerCase(Locale.ROOT);
        try (Inputs in = new Inputs(dev, dt)) {
            Body body = c.setup().prepare(in);
            if (body == null) return;                   // nothing to do in this dtype (a cast to itself)
            Collector col = new Collector();
            dev.setLaunchTimer(col);
            dev.synchronize();

            // the first run: finds out whether the op has kernels of this dtype, which kernels it launches and its output
            long outBytes;
            try {
                Object out = body.run();
                dev.synchronize();
                outBytes = bytesOf(out);
                release(out);
            } catch (IllegalArgumentException e) {
                if (col.launches == 0 && dt != DType.F32 && onlyF32(e)) {
                    skipped.add(new Skip(c.name(), dtype, e.getMessage()));
                    progress.println(label + ": skipped, no " + dtype + " kernels (" + e.getMessage() + ")");
                    progress.flush();
                    return;
                }
                throw e;
            }
            Map<String, double[]> first = col.take();
            if (first.isEmpty()) throw new IllegalStateException(c.name() + " launched no kernel");
            if (o.filter() != null && !o.filter().matcher(c.name()).find()
                    && first.keySet().stream().noneMatch(k -> o.filter().matcher(k).find())) return;

            List<Map<String, double[]>> timed = new ArrayList<>();
            if (o.warmup() == 0) timed.add(first);
            for (int i = 1; i < o.warmup(); i++) runOnce(dev, body, col);
            while (timed.size() < o.repeats()) timed.add(runOnce(dev, body, col));

            List<String> kernels = new ArrayList<>();
            for (Map<String, double[]> m : timed) for (String k : m.keySet()) if (!kernels.contains(k)) kernels.add(k);
            double[] caseMs = new double[timed.size()];
            for (int i = 0; i < timed.size(); i++) for (double[] a : timed.get(i).values()) caseMs[i] += a[0];
            double caseMedian = Timing.median(caseMs);
            long bytes = in.bytes() + outBytes;
            boolean compute = c.flops() > 0;
            double throughput = caseMedian > 0 ? (compute ? c.flops() : bytes) / (caseMedian * 1e6) : Double.NaN;
            Double pct = null;
            if (peaks != null && caseMedian > 0) {
                double peak = compute ? peaks.gflopsFor(dtype) : peaks.dramGbps();
                pct = 100 * throughput / peak;
            }
            for (String k : kernels) {
                double[] ms = new double[timed.size()];
                double launches = 0;
                for (int i = 0; i < timed.size(); i++) {
                    double[] a = timed.get(i).get(k);
                    if (a != null) {
                        ms[i] = a[0];
                        launches += a[1];
                    }
                }
                rows.add(new Row(c.name(), k, dtype, in.shapes(), launches / timed.size(), Timing.median(ms), caseMedian,
                        c.flops(), bytes, compute, throughput, pct));
            }
            progress.printf(Locale.ROOT, "%s: %d kernel%s, %.4f ms%n", label, kernels.size(), kernels.size() == 1 ? "" : "s", caseMedian);
            progress.flush();
        }
    }

    /**
     * Whether the op refused a 16-bit input because it only has F32 kernels (CudaOpSupport's wordings), as opposed to
     * any other argument error, which is a bug of the case and must fail the run.
     */
    private static boolean onlyF32(IllegalArgumentException e) {
        String m = e.getMessage();
        return m != null && (m.contains("expected F32") || m.contains("must be an F32"));
    }

    private static Map<String, double[]> runOnce(KernelDevice dev, Body body, Collector col) {
        Object out = body.run();
        dev.synchronize();   // delivers the GPU's launch times of this repeat
        release(out);
        return col.take();
    }

    private static long bytesOf(Object out) {
        if (out instanceof Tensor t) return t.sizeBytes();
        long b = 0;
        if (out instanceof Tensor[] ts) for (Tensor t : ts) if (t != null) b += t.sizeBytes();
        return b;
    }

    private static void release(Object out) {
        if (out instanceof Tensor t) t.release();
        if (out instanceof Tensor[] ts) for (Tensor t : ts) if (t != null) t.release();
    }

    // ------------------------------------------------------------------ report

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One JSON document per row, the fields docs/perf/README.md lists for kernels.jsonl. */
    static List<String> jsonLines(Report r, String commit, String date) {
        List<String> lines = new ArrayList<>();
        for (Row row : r.rows()) {
            ObjectNode n = JSON.createObjectNode();
            n.put("bench", "kernels");
            n.put("commit", commit);
            n.put("date", date);
            n.put("device", r.device());
            n.put("emulated", r.emulated());
            n.put("shape_set", r.options().shapes().name());
            n.put("kernel", row.kernel());
            n.put("case", row.caseName());
            ArrayNode shapes = n.putArray("shapes");
            row.shapes().forEach(shapes::add);
            n.put("dtype", row.dtype());
            n.put("warmup", r.options().warmup());
            n.put("repeats", r.options().repeats());
            n.put("launches", row.launches());
            n.put("median_ms", row.medianMs());
            n.put("case_median_ms", row.caseMedianMs());
            n.put("kernel_share", row.caseMedianMs() > 0 ? row.medianMs() / row.caseMedianMs() : Double.NaN);
            if (row.compute()) {
                n.put("flops", row.flops());
                n.put("gflops", row.throughput());
            } else {
                n.put("bytes", row.bytes());
                n.put("gbps", row.throughput());
            }
            n.put("peak", r.peaks() == null ? "unknown" : r.peaks().model());
            if (row.pctPeak() != null) n.put("pct_peak", row.pctPeak());
            lines.add(n.toString());
        }
        return lines;
    }

    static void printTable(Report r, PrintWriter out) {
        out.println("device: " + r.device() + (r.emulated() ? " — emulated: these times mean nothing for a GPU" : ""));
        out.println("peak: " + (r.peaks() == null ? "unknown (no % of peak)" : r.peaks().model()
                + String.format(Locale.ROOT, " (FP32 %.1f TFLOP/s, FP16/BF16 tensor %.1f TFLOP/s, DRAM %.0f GB/s)",
                r.peaks().fp32Gflops() / 1000, r.peaks().tensor16Gflops() / 1000, r.peaks().dramGbps())));
        out.printf(Locale.ROOT, "shapes: %s; warm-up %d, median of %d repeats%n", r.options().shapes().name(),
                r.options().warmup(), r.options().repeats());
        String fmt = "%-28s %-48s %-5s %11s %6s %12s %7s  %s%n";
        out.printf(Locale.ROOT, fmt, "kernel", "case", "dtype", "median ms", "share", "op rate", "% peak", "shapes");
        for (Row row : r.rows()) {
            String rate = Double.isNaN(row.throughput()) ? "-"
                    : String.format(Locale.ROOT, "%.1f %s", row.throughput(), row.compute() ? "GF/s" : "GB/s");
            out.printf(Locale.ROOT, fmt, row.kernel(), row.caseName(), row.dtype(),
                    String.format(Locale.ROOT, "%.4f", row.medianMs()),
                    String.format(Locale.ROOT, "%.0f%%", row.caseMedianMs() > 0 ? 100 * row.medianMs() / row.caseMedianMs() : 0),
                    rate, row.pctPeak() == null ? "-" : String.format(Locale.ROOT, "%.1f", row.pctPeak()),
                    String.join(" ", row.shapes()));
        }
        Map<String, List<String>> skippedByDtype = new LinkedHashMap<>();
        for (Skip s : r.skipped()) skippedByDtype.computeIfAbsent(s.dtype(), d -> new ArrayList<>()).add(s.caseName());
        skippedByDtype.forEach((dtype, names) -> out.println("skipped in " + dtype + " (no " + dtype + " kernels for the op), "
                + names.size() + " case(s): " + String.join(", ", names)));
        for (Failure f : r.failed()) out.println("FAILED " + f.caseName() + " " + f.dtype() + ": " + f.error());
        out.flush();
    }
}
