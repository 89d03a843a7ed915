package dev.dragedit.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dragedit.autograd.Functional;
import dev.dragedit.autograd.Tape;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.io.TensorInfo;
import dev.dragedit.models.nn.ModelConfig;
import dev.dragedit.models.nn.ParamSource;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.nn.RandomWeights;
import dev.dragedit.models.nn.WeightsException;
import dev.dragedit.models.sd.SdModels;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.models.sd.UNetConfig;
import dev.dragedit.ops.cpu.CpuOps;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.util.Parallel;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * {@code dragedit bench unet}: one forward of the Stable Diffusion UNet ({@link UNet2DConditionModel}, diffusers
 * v0.24.0's UNet2DConditionModel) on the CPU — ε prediction from a random latent, the timestep and a random text
 * context, no gradients — timed as the median of the timed runs after warm-ups, with its FLOPs (sd15.md §7,
 * {@link UnetBenchFlops}), the process's peak RSS, and, side by side in the same run, diffusers + PyTorch on the
 * same config and shapes at PyTorch's fastest threading setting ({@link UnetBenchTorch}), their timed forwards
 * alternating with ours so that a shared machine's load hits both alike. Optionally one more forward with every op
 * timed ({@link UnetBenchProfile}) to say where the time goes.
 * <p>
 * Weights are random ({@link RandomWeights}; speed does not depend on their values) from a config — {@code sd15}
 * (sd15.md §1) or a diffusers config.json — or a diffusers unet/ folder. The diffusers side always builds random
 * weights of the same config (the offline diffusers cannot read safetensors), which times the same arithmetic.
 */
public final class UnetBench {
    private UnetBench() {}

    /** A latent size the config cannot take (the command reports it as a usage error). */
    public static final class LatentException extends IllegalArgumentException {
        LatentException(String message) { super(message); }
    }

    /** The timestep of ../shared/bench/README.md's reference timings. */
    public static final float TIMESTEP = 681f;
    /** CLIP's context length: the text encoder always returns 77 tokens. */
    public static final int CONTEXT_LENGTH = 77;

    /**
     * configSpec: sd15 or a config path (random weights); model: a diffusers folder (exactly one of the two). latent
     * null: the config's sample_size. minWarmupMs: keep warming up at least this long (the JIT compiles the Vector API
     * kernels only after many calls).
     */
    public record Options(String configSpec, Path model, long seed, Integer latent, int batch, int warmup, long minWarmupMs,
                          int repeats, boolean torch, boolean profile) {}

    /** Our side: times, peak RSS (/proc/self/status VmHWM, after the timed runs), the JVM's heap limit, threads. */
    public record Ours(Timing timing, double buildMs, double peakRssMb, double heapMaxMb, int threads) {}

    public record Report(Options options, String configLabel, String weightsLabel, UNetConfig config, long params,
                         int latentH, int latentW, UnetBenchFlops.Count flops, MachineInfo machine, Ours ours,
                         UnetBenchTorch.Result torch, List<UnetBenchProfile.Row> profile, double profileMs,
                         double profileWallMs, List<String> warnings) {
        /** ours / theirs in time (below 1: ours is faster); NaN without a baseline. */
        public double ratio() {
            return torch.available() ? ours.timing().medianMs() / torch.medianMs() : Double.NaN;
        }

        /** The same with the fastest runs of each side (less sensitive to a shared machine's stalls). */
        public double ratioMin() {
            return torch.available() ? ours.timing().minMs() / torch.minMs() : Double.NaN;
        }

        public double gflops() { return Timing.gflops(flops.total(), ours.timing().medianMs()); }

        public int[] sampleShape() { return new int[]{options.batch(), config.inChannels, latentH, latentW}; }

        public int[] contextShape() { return new int[]{options.batch(), CONTEXT_LENGTH, config.crossAttentionDim}; }
    }

    /** The model with where it came from; diffusersConfig is the kwargs the python side builds the same model from. */
    private record Built(UNet2DConditionModel model, UNetConfig config, String configLabel, String weightsLabel,
                         long params, Integer sampleSize, String diffusersConfig) {}

    public static Report run(Options o, PrintWriter progress) throws IOException {
        MachineInfo machine = MachineInfo.read();
        List<String> warnings = new ArrayList<>();
        Plan plan = plan(o);
        UNetConfig cfg = plan.config();
        int factor = 1 << (cfg.numBlocks() - 1);
        Integer latent = o.latent() != null ? o.latent() : plan.sampleSize();
        if (latent == null)
            throw new LatentException("latent size: " + plan.configLabel() + " has no sample_size; give it with --latent N");
        if (latent < factor || latent % factor != 0)
            throw new LatentException("latent size " + latent + ": must be a positive multiple of " + factor
                    + " (the UNet halves it " + (cfg.numBlocks() - 1) + " times)");
        int h = latent, w = latent;

        long t0 = System.nanoTime();
        progress.print("bench unet: building the model… ");
        progress.flush();
        Built b = build(plan);
        double buildMs = (System.nanoTime() - t0) / 1e6;
        progress.printf("%.1f s, %,d parameters%n", buildMs / 1000, b.params());
        UnetBenchFlops.Count flops = UnetBenchFlops.of(cfg, o.batch(), h, w, CONTEXT_LENGTH);

        // The diffusers side builds its model first, so that its forwards can alternate with ours.
        UnetBenchTorch.Session session = null;
        UnetBenchTorch.Result torch = null;
        if (!o.torch()) {
            torch = UnetBenchTorch.Result.absent("skipped (--no-torch)");
        } else {
            progress.print("bench unet: building the diffusers + PyTorch model (python3 subprocess)… ");
            progress.flush();
            UnetBenchTorch.Started started = UnetBenchTorch.start(new UnetBenchTorch.Job(b.diffusersConfig(), o.batch(), cfg.inChannels, h, w,
                    CONTEXT_LENGTH, cfg.crossAttentionDim, TIMESTEP), 3600);
            if (started instanceof UnetBenchTorch.Session s) {
                session = s;
                progress.printf("PyTorch %s, diffusers %s%n", s.ready().torch(), s.ready().diffusers());
            } else if (started instanceof UnetBenchTorch.Result r) {
                torch = r;
                progress.println("not available: " + r.reason());
            }
        }
        Measured m;
        try {
            m = measure(b.model(), cfg, o, h, w, flops, buildMs, session, warnings, progress);
        } finally {
            if (session != null) session.close();
        }
        if (torch == null) torch = m.theirs();
        if (torch.available() && torch.params() != b.params())
            warnings.add(String.format(Locale.ROOT, "diffusers built %,d parameters, ours %,d: the two models differ",
                    torch.params(), b.params()));
        return new Report(o, b.configLabel(), b.weightsLabel(), cfg, b.params(), h, w, flops, machine, m.ours(), torch,
                m.profile(), m.profileMs(), m.profileWallMs(), List.copyOf(warnings));
    }

    /** theirs: the diffusers side's result when a session ran (else null). */
    private record Measured(Ours ours, UnetBenchTorch.Result theirs, List<UnetBenchProfile.Row> profile, double profileMs,
                            double profileWallMs) {}

    /**
     * Our forwards on random inputs: warm-ups (at least o.warmup(), and at least o.minWarmupMs()), then the timed
     * runs — alternating one of ours with one of diffusers' when a session is given, after warming diffusers up and
     * probing its threading settings — and the profiled forward last.
     */
    private static Measured measure(UNet2DConditionModel model, UNetConfig cfg, Options o, int h, int w,
                                    UnetBenchFlops.Count flops, double buildMs, UnetBenchTorch.Session session,
                                    List<String> warnings, PrintWriter progress) {
        // Inputs as the diffusers side makes them: standard normal latent and context (values do not change speed).
        SplittableRandom rnd = new SplittableRandom(o.seed() + 17);
        Tensor sample = Tensor.of(gaussian(rnd, o.batch() * cfg.inChannels * h * w), o.batch(), cfg.inChannels, h, w);
        Tensor ctx = Tensor.of(gaussian(rnd, o.batch() * CONTEXT_LENGTH * cfg.crossAttentionDim), o.batch(), CONTEXT_LENGTH,
                cfg.crossAttentionDim);
        Functional f = new Functional(CpuOps.INSTANCE);
        Tensor[] last = new Tensor[1];
        Runnable forward = () -> {
            try (Tape.Scope noGrad = Tape.noGrad()) {
                last[0] = model.forward(f, sample, TIMESTEP, ctx, -1).out();
            }
        };

        progress.printf("bench unet: ours, batch %d, latent %d×%d: ≥%d warm-ups%s ", o.batch(), h, w, o.warmup(),
                o.minWarmupMs() > 0 ? ", ≥" + o.minWarmupMs() / 1000.0 + " s" : "");
        progress.flush();
        long start = System.nanoTime();
        for (int i = 0; i < o.warmup() || (System.nanoTime() - start) / 1_000_000 < o.minWarmupMs(); i++) {
            forward.run();
            mark(progress, ',');
        }
        progress.println();

        UnetBenchTorch.Result theirs = null;
        int threads = 0;
        List<UnetBenchTorch.Setting> settings = new ArrayList<>();
        if (session != null) {
            try {
                threads = probeThreads(session, o.warmup(), settings, progress);
            } catch (IOException e) {
                theirs = UnetBenchTorch.Result.absent(e.getMessage());
                progress.println("bench unet: the diffusers side failed: " + e.getMessage());
                session = null;
            }
        }

        progress.print(session != null ? "bench unet: " + o.repeats() + " timed runs, alternating ours (.) and diffusers' (:) "
                : "bench unet: " + o.repeats() + " timed runs ");
        progress.flush();
        double[] ours = new double[o.repeats()], their = new double[o.repeats()];
        for (int i = 0; i < o.repeats(); i++) {
            long t0 = System.nanoTime();
            forward.run();
            ours[i] = (System.nanoTime() - t0) / 1e6;
            mark(progress, '.');
            if (session != null) {
                try {
                    their[i] = session.time(threads, 1)[0];
                    mark(progress, ':');
                } catch (IOException e) {
                    theirs = UnetBenchTorch.Result.absent(e.getMessage());
                    progress.println(" the diffusers side failed: " + e.getMessage());
                    session = null;
                }
            }
        }
        Timing timing = new Timing(Timing.median(ours), Arrays.stream(ours).min().orElseThrow(), ours.length);
        if (session != null) {
            theirs = session.result(threads, their, settings);
            if (session.nonFiniteForwards() > 0)
                warnings.add("diffusers returned non-finite values in " + session.nonFiniteForwards() + " of its " + session.forwards()
                        + " forwards, for the same weights and inputs: an intermittent fault of this PyTorch build (see UnetBenchTorch); "
                        + "the times stand, but if it is every forward the config is wrong");
        }
        progress.printf(" ours %.1f ms%s%n", timing.medianMs(),
                theirs != null && theirs.available() ? String.format(Locale.ROOT, ", diffusers %.1f ms", theirs.medianMs()) : "");
        checkOutput(last[0], new int[]{o.batch(), cfg.outChannels, h, w}, warnings);
        double rss = peakRssMb();

        List<UnetBenchProfile.Row> profile = List.of();
        double profileMs = Double.NaN, profileWallMs = Double.NaN;
        if (o.profile()) {
            progress.print("bench unet: one more forward with every op timed… ");
            progress.flush();
            UnetBenchProfile prof = new UnetBenchProfile(CpuOps.INSTANCE);
            Functional pf = new Functional(prof.ops());
            long p0 = System.nanoTime();
            try (Tape.Scope noGrad = Tape.noGrad()) {
                model.forward(pf, sample, TIMESTEP, ctx, -1);
            }
            profileWallMs = (System.nanoTime() - p0) / 1e6;
            profile = prof.rows();
            profileMs = prof.totalMs();
            progress.printf("%.1f ms (%.1f ms inside ops)%n", profileWallMs, profileMs);
            double counted = prof.flops("conv2d") + prof.flops("linear") + prof.flops("attention") + prof.flops("matmul");
            if (Math.abs(counted - flops.total()) > 1e-9 * flops.total())
                warnings.add(String.format(Locale.ROOT, "the ops performed %.4f GFLOP, the config count says %.4f GFLOP",
                        counted / 1e9, flops.total() / 1e9));
        }
        return new Measured(new Ours(timing, buildMs, rss, Runtime.getRuntime().maxMemory() / 1048576.0, Parallel.THREADS),
                theirs, profile, profileMs, profileWallMs);
    }

    /**
     * PyTorch's fastest threading setting: warm up at its default thread count, time one forward there, then one
     * thread per core (one warm-up forward; if that is over twice the default's time the setting is abandoned, else
     * one timed forward). Returns the faster setting's thread count; fills settings.
     */
    private static int probeThreads(UnetBenchTorch.Session s, int warmup, List<UnetBenchTorch.Setting> settings,
                                    PrintWriter progress) throws IOException {
        int def = s.ready().defaultThreads(), cores = s.ready().cores();
        progress.printf("bench unet: diffusers: %d warm-ups and a probe at PyTorch's default %d thread%s", warmup, def, def == 1 ? "" : "s");
        progress.flush();
        if (warmup > 0) s.time(def, warmup);
        double probeDef = s.time(def, 1)[0];
        progress.printf(" (%.1f ms)", probeDef);
        int chosen = def;
        double probeCores = Double.NaN;
        boolean abandoned = false;
        if (cores != def && cores > 0) {
            progress.printf(", then at %d threads", cores);
            progress.flush();
            double warm = s.time(cores, 1)[0];
            if (warm > 2 * probeDef) {
                abandoned = true;
                probeCores = warm;
            } else {
                probeCores = s.time(cores, 1)[0];
                if (probeCores < probeDef) chosen = cores;
            }
            progress.printf(" (%.1f ms%s)", probeCores, abandoned ? ", abandoned" : "");
        }
        progress.println();
        settings.add(new UnetBenchTorch.Setting(def, true, probeDef, false, chosen == def));
        if (!Double.isNaN(probeCores)) settings.add(new UnetBenchTorch.Setting(cores, false, probeCores, abandoned, chosen == cores));
        return chosen;
    }

    private static void mark(PrintWriter progress, char c) {
        progress.print(c);
        progress.flush();
    }

    // ------------------------------------------------------------------ the model

    /**
     * What will be built, read from the config alone (cheap), so that the shapes can be checked before SD1.5's
     * 860 M parameters are made: the config, labels, sample_size (null when the file has none), diffusers' kwargs,
     * and the unet/ folder for --model (null for random weights).
     */
    private record Plan(UNetConfig config, String configLabel, String weightsLabel, Integer sampleSize,
                        String diffusersConfig, Path unetDir, long seed) {}

    private static Plan plan(Options o) throws IOException {
        if (o.model() != null) {
            Path unet = SdModels.componentDir(o.model(), SdModels.UNET);
            Path cfgFile = unet.resolve("config.json");
            if (!Files.isRegularFile(cfgFile))
                throw new WeightsException("UNet: " + unet + " has no config.json (expected a diffusers unet/ folder)");
            ModelConfig mc = ModelConfig.read(cfgFile);
            return new Plan(UNetConfig.from(mc), cfgFile.toString(), unet.toString(),
                    mc.has("sample_size") ? mc.getInt("sample_size") : null, kwargs(cfgFile), unet, o.seed());
        }
        String spec = o.configSpec();
        UNetConfig cfg = SdModels.unetConfig(spec);
        Path file = configFile(spec);
        String weights = "random (seed " + o.seed() + ")";
        if (file == null)                          // sd15: the Stable Diffusion 1.5 unet/config.json (sample_size 64)
            return new Plan(cfg, SdModels.SD15, weights, 64, diffusersConfig(cfg, 64), null, o.seed());
        ModelConfig mc = ModelConfig.read(file);
        return new Plan(cfg, file.toString(), weights, mc.has("sample_size") ? mc.getInt("sample_size") : null,
                kwargs(file), null, o.seed());
    }

    private static Built build(Plan p) throws IOException {
        if (p.unetDir() == null) {
            Counting params = new Counting(new RandomWeights(p.seed(), Placement.cpu()));
            UNet2DConditionModel m = new UNet2DConditionModel(p.config(), params);
            return new Built(m, p.config(), p.configLabel(), p.weightsLabel(), params.count, p.sampleSize(), p.diffusersConfig());
        }
        UNet2DConditionModel m = UNet2DConditionModel.load(p.unetDir(), Placement.cpu(), null);
        long params = 0;
        try (SafeTensors st = SafeTensors.open(p.unetDir().resolve("diffusion_pytorch_model.safetensors"))) {
            // Loading is strict (every tensor of the file is a parameter), so the file's sizes are the model's.
            for (TensorInfo t : st.tensors()) params += Tensor.numel(t.shape());
        }
        return new Built(m, m.config, p.configLabel(), p.weightsLabel(), params, p.sampleSize(), p.diffusersConfig());
    }

    /** The config.json a --config spec names (as {@link SdModels#unetConfig} finds it), or null for sd15. */
    static Path configFile(String spec) {
        if (spec.trim().equalsIgnoreCase(SdModels.SD15)) return null;
        Path p = Path.of(spec);
        if (Files.isRegularFile(p)) return p;
        if (Files.isRegularFile(p.resolve(SdModels.UNET).resolve("config.json"))) return p.resolve(SdModels.UNET).resolve("config.json");
        if (Files.isRegularFile(p.resolve("config.json"))) return p.resolve("config.json");
        throw new WeightsException("--config " + spec + ": neither sd15 nor a config.json file or a folder holding unet/config.json or config.json");
    }

    /** A config.json as diffusers' constructor kwargs: the file's keys without the "_" bookkeeping ones. */
    static String kwargs(Path file) throws IOException {
        JsonNode root = new ObjectMapper().readTree(file.toFile());
        if (!(root instanceof ObjectNode obj)) throw new WeightsException(file + ": expected a JSON object");
        ObjectNode copy = obj.deepCopy();
        List<String> drop = new ArrayList<>();
        copy.fieldNames().forEachRemaining(k -> { if (k.startsWith("_")) drop.add(k); });
        copy.remove(drop);
        return copy.toString();
    }

    /** diffusers' UNet2DConditionModel kwargs for a config that has no file (sd15): every field written out. */
    static String diffusersConfig(UNetConfig c, int sampleSize) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("sample_size", sampleSize);
        o.put("in_channels", c.inChannels);
        o.put("out_channels", c.outChannels);
        ints(o.putArray("block_out_channels"), c.blockOutChannels);
        ints(o.putArray("layers_per_block"), c.layersPerBlock);
        ArrayNode down = o.putArray("down_block_types"), up = o.putArray("up_block_types");
        for (boolean x : c.downCrossAttn) down.add(x ? "CrossAttnDownBlock2D" : "DownBlock2D");
        for (boolean x : c.upCrossAttn) up.add(x ? "CrossAttnUpBlock2D" : "UpBlock2D");
        o.put("cross_attention_dim", c.crossAttentionDim);
        ints(o.putArray("attention_head_dim"), c.heads);              // diffusers' name for the number of heads in SD1.x
        ints(o.putArray("transformer_layers_per_block"), c.transformerLayers);
        o.put("norm_num_groups", c.normNumGroups);
        o.put("norm_eps", c.normEps);
        o.put("flip_sin_to_cos", c.flipSinToCos);
        o.put("freq_shift", c.freqShift);
        o.put("downsample_padding", c.downsamplePadding);
        o.put("time_embedding_dim", c.timeEmbedDim);
        return o.toString();
    }

    private static void ints(ArrayNode a, int[] v) { for (int x : v) a.add(x); }

    /** Counts the parameters a model asks for (each key once). */
    private static final class Counting implements ParamSource {
        final ParamSource base;
        long count;

        Counting(ParamSource base) { this.base = base; }

        @Override public Tensor param(String key, int... shape) {
            count += Tensor.numel(shape);
            return base.param(key, shape);
        }

        @Override public boolean has(String key) { return base.has(key); }

        @Override public Placement placement() { return base.placement(); }
    }

    // ------------------------------------------------------------------ measurements

    private static void checkOutput(Tensor out, int[] shape, List<String> warnings) {
        if (out == null || !Arrays.equals(out.shape(), shape))
            throw new IllegalStateException("the UNet returned " + (out == null ? "null" : Arrays.toString(out.shape()))
                    + ", expected " + Arrays.toString(shape));
        float[] v = out.toCpu().data();
        for (float x : v) {
            if (!Float.isFinite(x)) {
                warnings.add("the forward's output has non-finite values");
                return;
            }
        }
    }

    /** The process's peak resident set (VmHWM of /proc/self/status) in MiB; NaN where there is no /proc. */
    public static double peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux
        }
        return Double.NaN;
    }

    private static float[] gaussian(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            double u1 = r.nextDouble(), u2 = r.nextDouble();
            v[i] = (float) (Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2));
        }
        return v;
    }

    // ------------------------------------------------------------------ output

    public static void printTable(Report r, PrintWriter out) {
        Options o = r.options();
        MachineInfo m = r.machine();
        out.printf(Locale.ROOT, "dragedit bench unet — config %s, weights %s, %,d parameters%n", r.configLabel(), r.weightsLabel(), r.params());
        out.printf(Locale.ROOT, "sample %s, context %s, timestep %.0f; %d threads on %s, Vector API %s, Java %s; median of %d runs after %d warm-ups%n",
                Arrays.toString(r.sampleShape()), Arrays.toString(r.contextShape()), TIMESTEP, r.ours().threads(), m.cpuModel(),
                m.vectorEnabled() ? "on (" + m.floatLanes() + " lanes)" : "off", m.javaVersion(), o.repeats(), o.warmup());
        UnetBenchFlops.Count f = r.flops();
        out.printf(Locale.ROOT, "FLOPs per forward (sd15.md §7): %.2f GFLOP = conv %.2f (3×3 %.2f, 1×1 %.2f) + linear %.2f + attention %.2f%n",
                f.total() / 1e9, f.conv() / 1e9, f.conv3() / 1e9, f.conv1() / 1e9, f.linear() / 1e9, f.attention() / 1e9);
        List<String[]> lines = new ArrayList<>();
        Ours ours = r.ours();
        lines.add(new String[]{"dragedit (CPU, F32)", BenchReport.ms(ours.timing().medianMs()), "min " + BenchReport.ms(ours.timing().minMs()),
                BenchReport.gf(r.gflops()), String.format(Locale.ROOT, "peak RSS %.0f MiB (heap limit %.0f MiB)", ours.peakRssMb(), ours.heapMaxMb())});
        UnetBenchTorch.Result t = r.torch();
        if (t.available()) {
            lines.add(new String[]{"diffusers " + t.diffusers() + " + PyTorch " + t.torch() + " (" + t.threads() + " thread" + (t.threads() == 1 ? ")" : "s)"),
                    BenchReport.ms(t.medianMs()), "min " + BenchReport.ms(t.minMs()), BenchReport.gf(Timing.gflops(f.total(), t.medianMs())),
                    String.format(Locale.ROOT, "peak RSS %.0f MiB", t.peakRssMb())});
        }
        int[] width = new int[5];
        for (String[] l : lines) for (int i = 0; i < 5; i++) width[i] = Math.max(width[i], l[i].length());
        for (String[] l : lines) {
            out.println(String.format(Locale.ROOT, "%-" + width[0] + "s | %" + width[1] + "s | %" + width[2] + "s | %" + width[3] + "s | %s",
                    (Object[]) l).stripTrailing());
        }
        if (t.available()) {
            if (t.settings().size() > 1) {
                StringBuilder sb = new StringBuilder("PyTorch threading probed (one forward each; the faster is used):");
                for (UnetBenchTorch.Setting st : t.settings())
                    sb.append(String.format(Locale.ROOT, " %d thread%s%s %s%s;", st.threads(), st.threads() == 1 ? "" : "s",
                            st.isDefault() ? " (default)" : "", BenchReport.ms(st.probeMs()),
                            st.abandoned() ? " (its warm-up; over twice the default's time, abandoned)" : ""));
                out.println(sb.substring(0, sb.length() - 1));
            }
            out.printf(Locale.ROOT, "ours / diffusers time: %.2f× median, %.2f× fastest run (below 1: dragedit is faster; runs alternated)%n",
                    r.ratio(), r.ratioMin());
        } else {
            out.println("diffusers + PyTorch: no comparison — " + t.reason());
        }
        if (!r.profile().isEmpty()) {
            out.printf(Locale.ROOT, "profile (one forward, every op timed: %.1f ms, %.1f ms inside ops):%n", r.profileWallMs(), r.profileMs());
            for (UnetBenchProfile.Row row : r.profile()) {
                double share = row.ms() / r.profileWallMs();
                if (share < 0.005 && row.flops() == 0) continue;
                out.printf(Locale.ROOT, "  %-22s %5d calls %9.1f ms %5.1f%%%s%n", row.op(), row.calls(), row.ms(), 100 * share,
                        row.flops() > 0 ? String.format(Locale.ROOT, " %8.2f GFLOP %7.1f GFLOP/s", row.flops() / 1e9, row.gflops()) : "");
            }
            out.printf(Locale.ROOT, "  %-22s %15.1f ms %5.1f%%%n", "(outside ops)", r.profileWallMs() - r.profileMs(),
                    100 * (r.profileWallMs() - r.profileMs()) / r.profileWallMs());
        }
        for (String w : r.warnings()) out.println("warning: " + w);
        out.flush();
    }

    /** The run as one JSON object (a line of docs/perf/unet.jsonl; fields in docs/perf/README.md). */
    public static ObjectNode json(Report r, String commit, String date) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("bench", "unet");
        root.put("date", date);
        if (commit == null) root.putNull("commit"); else root.put("commit", commit);
        MachineInfo m = r.machine();
        ObjectNode machine = root.putObject("machine");
        machine.put("cpu", m.cpuModel());
        machine.put("cores", m.cores());
        machine.put("threads", r.ours().threads());
        ArrayNode flags = machine.putArray("flags");
        m.simdFlags().forEach(flags::add);
        machine.put("os", m.os());
        ObjectNode java = root.putObject("java");
        java.put("version", m.javaVersion());
        java.put("vm", m.javaVm());
        java.put("vector_api", m.vectorEnabled());
        java.put("heap_max_mb", Math.round(r.ours().heapMaxMb()));
        root.put("config", r.configLabel());
        root.put("weights", r.weightsLabel());
        root.put("params", r.params());
        ObjectNode shapes = root.putObject("shapes");
        shapes.put("batch", r.options().batch());
        shapes.put("latent", r.latentH());
        ints(shapes.putArray("sample"), r.sampleShape());
        ints(shapes.putArray("context"), r.contextShape());
        shapes.put("timestep", TIMESTEP);
        root.put("warmup", r.options().warmup());
        root.put("repeats", r.options().repeats());
        ObjectNode fl = root.putObject("gflop");
        UnetBenchFlops.Count f = r.flops();
        num(fl, "total", f.total() / 1e9);
        num(fl, "conv", f.conv() / 1e9);
        num(fl, "conv3x3", f.conv3() / 1e9);
        num(fl, "conv1x1", f.conv1() / 1e9);
        num(fl, "linear", f.linear() / 1e9);
        num(fl, "attention", f.attention() / 1e9);
        ObjectNode ours = root.putObject("ours");
        num(ours, "median_ms", r.ours().timing().medianMs());
        num(ours, "min_ms", r.ours().timing().minMs());
        num(ours, "gflops", r.gflops());
        num(ours, "peak_rss_mb", r.ours().peakRssMb());
        num(ours, "build_ms", r.ours().buildMs());
        ObjectNode theirs = root.putObject("theirs");
        UnetBenchTorch.Result t = r.torch();
        theirs.put("available", t.available());
        if (!t.available()) {
            theirs.put("reason", t.reason());
        } else {
            theirs.put("what", "diffusers " + t.diffusers() + " UNet2DConditionModel, PyTorch " + t.torch() + " CPU, fastest threading setting");
            theirs.put("torch", t.torch());
            theirs.put("diffusers", t.diffusers());
            theirs.put("threads", t.threads());
            num(theirs, "median_ms", t.medianMs());
            num(theirs, "min_ms", t.minMs());
            num(theirs, "gflops", Timing.gflops(f.total(), t.medianMs()));
            num(theirs, "peak_rss_mb", t.peakRssMb());
            ArrayNode settings = theirs.putArray("settings");
            for (UnetBenchTorch.Setting st : t.settings()) {
                ObjectNode so = settings.addObject();
                so.put("threads", st.threads());
                so.put("default", st.isDefault());
                num(so, "probe_ms", st.probeMs());
                so.put("abandoned", st.abandoned());
                so.put("chosen", st.chosen());
            }
            theirs.put("params", t.params());
            ArrayNode unset = theirs.putArray("unset_env");
            t.unset().forEach(unset::add);
        }
        num(root, "ratio", r.ratio());
        num(root, "ratio_min", r.ratioMin());
        if (!r.profile().isEmpty()) {
            ObjectNode prof = root.putObject("profile");
            num(prof, "wall_ms", r.profileWallMs());
            num(prof, "ops_ms", r.profileMs());
            ArrayNode rows = prof.putArray("ops");
            for (UnetBenchProfile.Row row : r.profile()) {
                ObjectNode o = rows.addObject();
                o.put("op", row.op());
                o.put("calls", row.calls());
                num(o, "ms", row.ms());
                num(o, "share", row.ms() / r.profileWallMs());
                if (row.flops() > 0) {
                    num(o, "gflop", row.flops() / 1e9);
                    num(o, "gflops", row.gflops());
                }
            }
        }
        ArrayNode warn = root.putArray("warnings");
        r.warnings().forEach(warn::add);
        return root;
    }

    /** Four decimals; NaN (a missing number) is null, since NaN is not valid JSON. */
    private static void num(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) o.put(key, Math.round(v * 10_000) / 10_000.0); else o.putNull(key);
    }
}
