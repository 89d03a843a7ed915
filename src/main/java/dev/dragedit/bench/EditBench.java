package dev.dragedit.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.drag.DragDiffusion;
import dev.dragedit.drag.DragIteration;
import dev.dragedit.drag.Images;
import dev.dragedit.drag.Inversion;
import dev.dragedit.engine.DeviceChoice;
import dev.dragedit.engine.Engine;
import dev.dragedit.models.clip.ClipTokenizer;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.SdModels;
import dev.dragedit.models.sd.StableDiffusion;
import dev.dragedit.models.sd.UNetConfig;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code dragedit bench edit}: the whole DragDiffusion edit ({@link DragDiffusion#run}: LoRA fit, DDIM inversion, drag,
 * mutual self-attention denoise, VAE decode) of a deterministic synthetic picture — a bright disc on a gradient — with
 * one drag from the disc's centre a quarter of the width to the right, an empty prompt and no mask (or, with
 * {@code --mask}, a centred half-size rectangle), timed phase by phase, with the peak memory: on a kernel device the
 * bytes held by live tensors ({@link KernelDevice#peakBytesInUse}, reset before each run) and the process's peak RSS;
 * on the CPU the peak RSS. Each of {@code repeat} runs is reported (the first includes the JIT's and the device's
 * warm-up) and the fastest is "best". The targets (H100, SD1.5 at 512², default settings: whole edit ≤ 5 s,
 * one drag iteration ≤ 15 ms, peak GPU memory ≤ 4 GB; the reference DragDiffusion takes ≈ 50 s and 12–15 GB on an
 * A100) are shown next to the numbers, and judged only for a run they apply to.
 */
public final class EditBench {
    private EditBench() {}

    /** The phases of {@link DragDiffusion.Result#phaseSeconds()}, in order. */
    public static final List<String> PHASES = List.of("text", "lora", "inversion", "drag", "denoise", "decode");

    /** The targets. */
    public static final double TARGET_EDIT_S = 5, TARGET_DRAG_MS = 15, TARGET_GPU_GB = 4;
    /** DragDiffusion's defaults, at which the targets are set. */
    public static final int DEFAULT_LORA_STEPS = 80, DEFAULT_INFERENCE_STEPS = 50, DEFAULT_DRAG_STEPS = 80;
    public static final double DEFAULT_STRENGTH = 0.7;

    /**
     * model: "sd15" or a Stable Diffusion folder; randomWeights: random weights from its configs (required for sd15);
     * width × height: the synthetic picture's size.
     */
    public record Options(String model, boolean randomWeights, int width, int height, int loraSteps, int inferenceSteps,
                          double strength, int dragSteps, long seed, int repeat, boolean mask) {
        boolean sd15Spec() { return model.trim().equalsIgnoreCase(SdModels.SD15); }
    }

    /** One edit: seconds per phase (those that ran), the whole edit's seconds, drag iterations, peaks (NaN: not measured). */
    public record Run(Map<String, Double> phaseSeconds, double totalSeconds, int iterations, boolean reached,
                      double peakDeviceMib, double peakRssMib, boolean rssPerRun) {
        public double seconds(String phase) {
            Double s = phaseSeconds.get(phase);
            return s == null ? Double.NaN : s;
        }

        /** LoRA milliseconds per training step; NaN without a LoRA. */
        public double loraMsPerStep(int steps) {
            return steps > 0 && phaseSeconds.containsKey("lora") ? 1000 * seconds("lora") / steps : Double.NaN;
        }

        /** Drag milliseconds per iteration run (the drag phase's seconds over its iterations); NaN when none ran. */
        public double dragMsPerIteration() {
            return iterations > 0 ? 1000 * seconds("drag") / iterations : Double.NaN;
        }
    }

    /** Whether the targets apply to this run, and if not, why (the first reason found). */
    public record Applies(boolean applies, String reason) {}

    public record Report(Options options, String modelLabel, String weightsLabel, String device, DeviceChoice kind,
                         String card, MachineInfo machine, int threads, int workW, int workH, int invertedSteps,
                         double loadSeconds, double deviceMibAfterLoad, List<Run> runs, Applies applies) {
        /** The index of the fastest whole edit. */
        public int best() {
            int b = 0;
            for (int i = 1; i < runs.size(); i++) if (runs.get(i).totalSeconds() < runs.get(b).totalSeconds()) b = i;
            return b;
        }

        public boolean onDevice() { return kind != DeviceChoice.CPU; }
    }

    /** The synthetic picture: a bright disc (centre (w/3, h/2), radius min(h, w)/5) on a gradient. */
    public static Images.Rgb picture(int h, int w) {
        byte[] px = new byte[3 * h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                boolean disc = Math.hypot(x - w / 3.0, y - h / 2.0) < Math.min(h, w) / 5.0;
                int i = 3 * (y * w + x);
                px[i] = (byte) (disc ? 230 : 40 + 150 * x / w);
                px[i + 1] = (byte) (disc ? 60 : 80 + 100 * y / h);
                px[i + 2] = (byte) (disc ? 50 : 160);
            }
        return new Images.Rgb(h, w, px);
    }

    /** The drag: the disc's centre, then a quarter of the width to its right ({x, y} pairs, run_drag's order). */
    public static double[][] drag(int h, int w) {
        double x = Math.floor(w / 3.0), y = Math.floor(h / 2.0);
        return new double[][]{{x, y}, {x + Math.floor(w / 4.0), y}};
    }

    /** The --mask: a centred rectangle of half the width and height (255 = may change), [H, W]. */
    public static Tensor mask(int h, int w) {
        float[] v = new float[h * w];
        for (int y = h / 4; y < h / 4 + h / 2; y++)
            for (int x = w / 4; x < w / 4 + w / 2; x++) v[y * w + x] = 255f;
        return Tensor.of(v, h, w);
    }

    /** The model the options name on the engine's placement, with a tokenizer (the bundled one for random sd15). */
    static StableDiffusion load(Options o, Placement placement) {
        if (o.randomWeights()) {
            StableDiffusion sd = SdModels.random(o.sd15Spec() ? SdModels.SD15 : o.model(), o.seed(), placement);
            if (sd.tokenizer != null) return sd;
            return new StableDiffusion(sd.unet, sd.vae, sd.textEncoder, ClipTokenizer.bundled(), sd.scheduler, placement, sd.source());
        }
        return StableDiffusion.load(Path.of(o.model()), placement, null);
    }

    public static Report run(Options o, Engine engine, PrintWriter progress) {
        MachineInfo machine = MachineInfo.read();
        KernelDevice dev = engine.device().orElse(null);
        Placement placement = dev == null ? Placement.cpu() : Placement.on(dev, DType.F32);
        String modelLabel = o.sd15Spec() ? "sd15" : o.model();
        String weightsLabel = o.randomWeights() ? "random (seed " + o.seed() + ")" : "the folder's";

        progress.printf(Locale.ROOT, "bench edit: loading %s, %s weights, on %s… ", modelLabel, o.randomWeights() ? "random" : "real",
                engine.description());
        progress.flush();
        long t0 = System.nanoTime();
        StableDiffusion sd = load(o, placement);
        double loadSeconds = (System.nanoTime() - t0) / 1e9;
        double afterLoad = dev == null ? Double.NaN : dev.bytesInUse() / 1048576.0;
        progress.printf(Locale.ROOT, "%.2f s%s%n", loadSeconds, dev == null ? "" : String.format(Locale.ROOT, ", %.0f MiB on the device", afterLoad));

        int factor = DragDiffusion.sizeFactor(sd);
        int workW = Math.max(factor, (int) Math.round((double) o.width() / factor) * factor);
        int workH = Math.max(factor, (int) Math.round((double) o.height() / factor) * factor);
        Images.Rgb img = picture(o.height(), o.width());
        DragDiffusion.Request req = new DragDiffusion.Request(img, drag(o.height(), o.width()), o.mask() ? mask(o.height(), o.width()) : null,
                "", o.loraSteps(), o.dragSteps(), o.inferenceSteps(), o.strength(), o.seed());
        int inverted = Inversion.actualSteps(o.inferenceSteps(), o.strength());

        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < o.repeat(); i++) {
            String tag = "bench edit: run " + (i + 1) + "/" + o.repeat() + (i == 0 ? " (includes warm-up)" : "");
            boolean rssPerRun = resetPeakRss();
            if (dev != null) dev.resetPeakBytes();
            long start = System.nanoTime();
            progress.printf(Locale.ROOT, "%s: text encoder%n", tag);
            progress.flush();
            DragDiffusion.Result r = DragDiffusion.run(sd, req, new DragDiffusion.Listener() {
                @Override public void phase(String name, String detail) {
                    progress.printf(Locale.ROOT, "%s: %s: %s (%.2f s)%n", tag, name, detail, (System.nanoTime() - start) / 1e9);
                    progress.flush();
                }

                @Override public void loraStep(int step, int steps, float loss) {
                    if (step % 10 == 0 || step == steps) {
                        progress.printf(Locale.ROOT, "%s: lora step %d/%d, loss %.5f%n", tag, step, steps, loss);
                        progress.flush();
                    }
                }

                @Override public void iteration(DragIteration it, double maxDistance) {
                    int n = it.index() + 1;
                    if (n % 10 == 0 || n == 1 || n == o.dragSteps()) {
                        progress.printf(Locale.ROOT, "%s: drag iteration %d/%d, max handle distance %.2f%n", tag, n, o.dragSteps(), maxDistance);
                        progress.flush();
                    }
                }
            });
            double total = (System.nanoTime() - start) / 1e9;
            double peakDev = dev == null ? Double.NaN : dev.peakBytesInUse() / 1048576.0;
            Run run = new Run(new LinkedHashMap<>(r.phaseSeconds()), total, r.iterations(), r.reached(), peakDev,
                    UnetBench.peakRssMb(), rssPerRun);
            runs.add(run);
            progress.printf(Locale.ROOT, "%s: done in %.2f s, %d drag iteration(s)%s%n", tag, total, r.iterations(),
                    r.reached() ? ", every handle reached its target" : "");
            progress.flush();
        }

        String card = dev == null ? machine.cpuModel() : dev.name();
        Applies applies = applies(o, engine.kind(), card, sd.unet.config, workW, workH);
        return new Report(o, modelLabel, weightsLabel, engine.description(), engine.kind(), card, machine, Parallel.THREADS,
                workW, workH, inverted, loadSeconds, afterLoad, List.copyOf(runs), applies);
    }

    /**
     * Resets the kernel's peak-RSS mark of this process (writing 5 to /proc/self/clear_refs, Linux ≥ 4.0), so that
     * each run's VmHWM is its own; false where that is not possible (the peak is then the process's so far).
     */
    static boolean resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException | Error e) {
            return false;
        }
    }

    /** The targets are for an H100 GPU run of SD1.5 at 512² with DragDiffusion's default settings. */
    static Applies applies(Options o, DeviceChoice kind, String card, UNetConfig unet, int workW, int workH) {
        if (kind != DeviceChoice.CUDA)
            return new Applies(false, kind == DeviceChoice.EMULATED ? "the CUDA emulation on the CPU, not a GPU" : "a CPU run, not a GPU");
        boolean sd15 = Arrays.equals(unet.blockOutChannels, new int[]{320, 640, 1280, 1280}) && unet.crossAttentionDim == 768;
        if (!sd15) return new Applies(false, "the model is not SD1.5-sized");
        if (o.width() != 512 || o.height() != 512 || workW != 512 || workH != 512)
            return new Applies(false, "the size is " + o.width() + "×" + o.height() + ", not 512×512");
        if (o.loraSteps() != DEFAULT_LORA_STEPS || o.inferenceSteps() != DEFAULT_INFERENCE_STEPS || o.strength() != DEFAULT_STRENGTH
                || o.dragSteps() != DEFAULT_DRAG_STEPS)
            return new Applies(false, "the settings are not the defaults (LoRA 80 steps, 50 DDIM steps, strength 0.7, 80 drag iterations)");
        if (!card.contains("H100"))
            return new Applies(true, "the targets are set for an H100; this card is " + card);
        return new Applies(true, null);
    }

    // ------------------------------------------------------------------ output

    private static String s(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f s", v) : "—"; }

    private static String ms(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.1f ms", v) : "—"; }

    private static String mib(double v) { return Double.isFinite(v) ? String.format(Locale.ROOT, "%.0f MiB", v) : "—"; }

    /** "meets" / "misses" for the best run where the targets apply; the reason they do not otherwise. */
    private static String verdict(Report r, double value, double limit) {
        if (!r.applies().applies()) return "n/a";
        if (!Double.isFinite(value)) return "not measured";
        return value <= limit ? "meets" : "misses";
    }

    public static void printTable(Report r, PrintWriter out) {
        Options o = r.options();
        out.printf(Locale.ROOT, "dragedit bench edit — model %s, %s weights; picture %d×%d (worked at %d×%d), 1 drag, %s, empty prompt%n",
                r.modelLabel(), r.weightsLabel(), o.width(), o.height(), r.workW(), r.workH(),
                o.mask() ? "centred half-size mask" : "no mask");
        out.printf(Locale.ROOT, "settings: LoRA %d steps, %d DDIM steps × strength %s = %d inverted/denoised, drag ≤ %d iterations, seed %d%n",
                o.loraSteps(), o.inferenceSteps(), strength(o.strength()), r.invertedSteps(), o.dragSteps(), o.seed());
        out.printf(Locale.ROOT, "device: %s; CPU %s, %d threads, Java %s; model loaded in %.2f s%s%n", r.device(), r.machine().cpuModel(),
                r.threads(), r.machine().javaVersion(), r.loadSeconds(),
                Double.isFinite(r.deviceMibAfterLoad()) ? String.format(Locale.ROOT, " (%.0f MiB on the device)", r.deviceMibAfterLoad()) : "");
        int best = r.best();
        List<String> header = new ArrayList<>(List.of(""));
        for (int i = 0; i < r.runs().size(); i++) header.add("run " + (i + 1) + (i == 0 && r.runs().size() > 1 ? " (warm-up)" : ""));
        header.add("best (run " + (best + 1) + ")");
        header.add("target (H100, SD1.5 512², defaults)");
        header.add("best vs target");
        List<String[]> rows = new ArrayList<>();
        rows.add(header.toArray(String[]::new));
        Run b = r.runs().get(best);
        for (String p : PHASES) rows.add(row(r, p, run -> s(run.seconds(p)), "", ""));
        rows.add(row(r, "whole edit", run -> s(run.totalSeconds()), "≤ 5 s (reference ≈ 50 s on an A100)",
                verdict(r, b.totalSeconds(), TARGET_EDIT_S)));
        rows.add(row(r, "LoRA per step", run -> ms(run.loraMsPerStep(o.loraSteps())), "", ""));
        rows.add(row(r, "drag per iteration", run -> ms(run.dragMsPerIteration()), "≤ 15 ms", verdict(r, b.dragMsPerIteration(), TARGET_DRAG_MS)));
        rows.add(row(r, "drag iterations run", run -> run.iterations() + (run.reached() ? " (reached)" : ""), "", ""));
        if (r.onDevice())
            rows.add(row(r, "peak device memory", run -> mib(run.peakDeviceMib()), "≤ 4 GB (reference 12–15 GB)",
                    verdict(r, b.peakDeviceMib() * 1048576.0 / 1e9, TARGET_GPU_GB)));
        rows.add(row(r, "peak RSS" + (b.rssPerRun() ? "" : " (process so far)"), run -> mib(run.peakRssMib()),
                r.onDevice() ? "" : "(GPU memory ≤ 4 GB; reference 12–15 GB)", ""));
        int[] width = new int[header.size()];
        for (String[] l : rows) for (int i = 0; i < l.length; i++) width[i] = Math.max(width[i], l[i].length());
        for (String[] l : rows) {
            StringBuilder sb = new StringBuilder(pad(l[0], width[0], false));
            for (int i = 1; i < l.length; i++) {
                boolean numeric = i < l.length - 2;
                sb.append(" | ").append(pad(l[i], width[i], numeric));
            }
            out.println(sb.toString().stripTrailing());
        }
        if (!r.applies().applies()) {
            out.println("targets: n/a — the target applies only to a GPU run at sd15 512² (with the default settings); this run is "
                    + r.applies().reason() + ", so its numbers are not compared");
        } else if (r.applies().reason() != null) {
            out.println("targets: compared, but " + r.applies().reason());
        }
        if (r.kind() == DeviceChoice.EMULATED)
            out.println("emulated: the times and memory measure the CPU emulation of the CUDA kernels, not a GPU");
        out.flush();
    }

    /** Up to 4 decimals of the strength, without trailing zeros. */
    private static String strength(double v) {
        return new java.math.BigDecimal(String.format(Locale.ROOT, "%.4f", v)).stripTrailingZeros().toPlainString();
    }

    private static String[] row(Report r, String label, java.util.function.Function<Run, String> cell, String target, String verdict) {
        List<String> l = new ArrayList<>(List.of(label));
        for (Run run : r.runs()) l.add(cell.apply(run));
        l.add(cell.apply(r.runs().get(r.best())));
        l.add(target);
        l.add(verdict);
        return l.toArray(String[]::new);
    }

    private static String pad(String s, int w, boolean right) {
        int n = s.codePointCount(0, s.length());
        if (n >= w) return s;
        String sp = " ".repeat(w - n);
        return right ? sp + s : s + sp;
    }

    /** The run as one JSON object (a line of docs/perf/edit.jsonl). */
    public static ObjectNode json(Report r, String commit, String date) {
        Options o = r.options();
        ObjectNode root = new ObjectMapper().createObjectNode();
        root.put("bench", "edit");
        root.put("what", "bench edit");
        root.put("date", date);
        if (commit == null) root.putNull("commit"); else root.put("commit", commit);
        root.put("card", r.card());
        root.put("device", r.device());
        root.put("device_kind", r.kind().name().toLowerCase(Locale.ROOT));
        MachineInfo m = r.machine();
        ObjectNode machine = root.putObject("machine");
        machine.put("cpu", m.cpuModel());
        machine.put("cores", m.cores());
        machine.put("threads", r.threads());
        machine.put("java", m.javaVersion());
        machine.put("vector_api", m.vectorEnabled());
        ObjectNode c = root.putObject("config");
        c.put("model", r.modelLabel());
        c.put("random_weights", o.randomWeights());
        c.put("width", o.width());
        c.put("height", o.height());
        c.put("work_width", r.workW());
        c.put("work_height", r.workH());
        c.put("lora_steps", o.loraSteps());
        c.put("inference_steps", o.inferenceSteps());
        c.put("strength", o.strength());
        c.put("inverted_steps", r.invertedSteps());
        c.put("drag_steps", o.dragSteps());
        c.put("seed", o.seed());
        c.put("repeat", o.repeat());
        c.put("mask", o.mask());
        c.put("prompt", "");
        c.put("drags", 1);
        num(root, "load_seconds", r.loadSeconds());
        num(root, "device_mib_after_load", r.deviceMibAfterLoad());
        ArrayNode runs = root.putArray("runs");
        for (Run run : r.runs()) runJson(runs.addObject(), run, o);
        root.put("best_run", r.best() + 1);
        runJson(root.putObject("best"), r.runs().get(r.best()), o);
        ObjectNode t = root.putObject("targets");
        t.put("applies", r.applies().applies());
        if (r.applies().reason() == null) t.putNull("note"); else t.put("note", r.applies().reason());
        t.put("whole_edit_s", TARGET_EDIT_S);
        t.put("drag_ms_per_iteration", TARGET_DRAG_MS);
        t.put("peak_gpu_gb", TARGET_GPU_GB);
        if (r.applies().applies()) {
            Run b = r.runs().get(r.best());
            t.put("whole_edit_met", b.totalSeconds() <= TARGET_EDIT_S);
            t.put("drag_met", b.dragMsPerIteration() <= TARGET_DRAG_MS);
            t.put("peak_gpu_met", b.peakDeviceMib() * 1048576.0 / 1e9 <= TARGET_GPU_GB);
        }
        return root;
    }

    private static void runJson(ObjectNode n, Run run, Options o) {
        ObjectNode ph = n.putObject("phase_seconds");
        for (String p : PHASES) num(ph, p, run.seconds(p));
        num(n, "total_seconds", run.totalSeconds());
        num(n, "lora_ms_per_step", run.loraMsPerStep(o.loraSteps()));
        num(n, "drag_ms_per_iteration", run.dragMsPerIteration());
        n.put("iterations", run.iterations());
        n.put("reached", run.reached());
        num(n, "peak_device_mib", run.peakDeviceMib());
        num(n, "peak_rss_mib", run.peakRssMib());
        n.put("peak_rss_per_run", run.rssPerRun());
    }

    private static void num(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) o.put(key, Math.round(v * 10_000) / 10_000.0); else o.putNull(key);
    }
}
