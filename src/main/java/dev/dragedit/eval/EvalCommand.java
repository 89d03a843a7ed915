package dev.dragedit.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dragedit.cli.Main;
import dev.dragedit.drag.DragDiffusion;
import dev.dragedit.drag.Images;
import dev.dragedit.engine.Engine;
import dev.dragedit.io.AtomicFiles;
import dev.dragedit.models.BundledModel;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.SdModels;
import dev.dragedit.models.sd.StableDiffusion;
import dev.dragedit.scenes.Detector;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.video.Overlay;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code dragedit eval --suite synthetic}: "did the drag work?" as numbers. For each case of {@link SyntheticSuite}
 * the object's centre is dragged to its target with DragDiffusion (the editable region as the mask, the caption as
 * the prompt), and a colour detector that does not use the model ({@link Detector}) finds the object in the result:
 * <ul>
 * <li>MD: distance of the edited object's centre to the target, in pixels (a case where the object is not found
 *     counts as failed: MD infinite, move ratio 0);</li>
 * <li>move ratio: the object's displacement projected on the drag direction, over the drag distance;</li>
 * <li>fidelity: PSNR and SSIM ({@link ImageMetrics}) outside the editable region against the ground truth (the scene
 *     with the object rendered at the target);</li>
 * <li>seconds per edit.</li>
 * </ul>
 * Prints a table and the summary next to the issue's targets (64×64: median MD ≤ 3 px, ≥ 80% of edits more than
 * half-way, PSNR outside ≥ 25 dB); writes the JSON; {@code --report DIR} adds a PNG contact sheet (input with the
 * drag, result with the target, ground truth).
 * <p>
 * {@code dragedit eval --suite dragbench DIR}: runs every sample of DragDiffusion's DragBench (DIR is
 * drag_bench_data, or the drag_bench_evaluation folder holding it) and writes RES/CATEGORY/SAMPLE/dragged_image.png,
 * the layout DragDiffusion's run_eval_similarity.py and run_eval_point_matching.py read through --eval_root; the
 * scoring (LPIPS, CLIP similarity, DIFT mean distance) is theirs. Reading the samples' meta_data.pkl needs a
 * {@link DragBenchReader}, which the weights converter module provides.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        description = {"Measure drag edits against ground truth: synthetic scenes, MD, move ratio, PSNR/SSIM outside the editable region;",
                "or run DragBench (DragDiffusion's benchmark) and write its results for the official evaluation scripts.",
                "Example: dragedit eval --suite synthetic --n 50 --report eval-report",
                "Example: dragedit eval --suite dragbench drag_bench_evaluation/drag_bench_data --model sd15 --lora-steps 80"})
public final class EvalCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--suite", defaultValue = "synthetic", paramLabel = "synthetic|dragbench", description = "The suite (default ${DEFAULT-VALUE}).")
    String suite;

    @Parameters(index = "0", arity = "0..1", paramLabel = "DIR", description = "--suite dragbench: the drag_bench_data folder (or the folder holding it).")
    Path benchDir;

    @Option(names = "--out-dir", paramLabel = "RES", description = "--suite dragbench: where CATEGORY/SAMPLE/dragged_image.png go "
            + "(default: dragedit_res_LORA_0.7_STEPS next to drag_bench_data, as DragDiffusion names its results).")
    Path outDir;

    @Option(names = "--n", defaultValue = "50", paramLabel = "N", description = "Number of scenes (default ${DEFAULT-VALUE}).")
    int n;

    @Option(names = "--seed", defaultValue = "1000", paramLabel = "S", description = "Seed of the first scene (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--size", defaultValue = "64", paramLabel = "PX", description = "Scene width and height (default ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--model", paramLabel = "DIR", description = "A Stable Diffusion folder (default: the bundled models/tiny).")
    Path model;

    @Option(names = "--lora-steps", defaultValue = "20", paramLabel = "N", description = "LoRA steps per edit (default ${DEFAULT-VALUE}).")
    int loraSteps;

    @Option(names = "--steps", paramLabel = "N", description = "Drag iterations at most (default: " + SYNTHETIC_STEPS + " for the synthetic suite, "
            + "80 (DragDiffusion's) for dragbench).")
    int steps = -1;

    @Option(names = "--inference-steps", defaultValue = "50", paramLabel = "N", description = "DDIM steps (default ${DEFAULT-VALUE}).")
    int inferenceSteps;

    @Option(names = "--strength", defaultValue = "0.7", paramLabel = "S", description = "Inversion strength (default ${DEFAULT-VALUE}).")
    double strength;

    @Option(names = "--lr", defaultValue = "" + SYNTHETIC_LR, paramLabel = "LR", description = "Synthetic suite: the drag's latent learning rate "
            + "(default ${DEFAULT-VALUE}; DragDiffusion's is 0.01, which DragBench runs use).")
    double lr;

    /** The synthetic suite's drag learning rate and most drag iterations (the drag usually stops earlier, on reaching the target). */
    public static final double SYNTHETIC_LR = 0.02;
    public static final int SYNTHETIC_STEPS = 160;

    @Option(names = "--lam", defaultValue = "0.1", paramLabel = "λ", description = "Weight of the mask term (default ${DEFAULT-VALUE}).")
    double lam;

    @Option(names = "--r-m", defaultValue = "1", paramLabel = "R", description = "Motion supervision radius r_m in supervision pixels (default ${DEFAULT-VALUE}).")
    int rM;

    @Option(names = "--r-p", defaultValue = "3", paramLabel = "R", description = "Point tracking radius r_p in supervision pixels (default ${DEFAULT-VALUE}).")
    int rP;

    @Option(names = "--reach", defaultValue = "" + SYNTHETIC_REACH, paramLabel = "D", description = "Synthetic suite: a handle within D "
            + "supervision pixels of its target is done (default ${DEFAULT-VALUE}: on the handle's cell; DragDiffusion's 2 is 4 px of a "
            + "512² image, 0.8%%, but 4 px of a 64² one, 6%%; dragbench keeps 2).")
    double reach;

    /**
     * The synthetic suite's reach distance, in supervision pixels: the handle must be on its target's cell. DragDiffusion's
     * 2.0 is a tolerance of 4 image pixels, 0.8% of its 512² images; on the 64² scenes the same 4 pixels are 6% of the
     * image, and the drag stopped with the object's centre still 3–6 px short (models/tiny/README.md).
     */
    public static final double SYNTHETIC_REACH = 1.0;

    @Option(names = "--lora-lr", defaultValue = "" + SYNTHETIC_LORA_LR, paramLabel = "LR", description = "AdamW learning rate of the LoRA fit "
            + "(default ${DEFAULT-VALUE} for the synthetic suite, with its 20 LoRA steps (see models/tiny/README.md); DragDiffusion's 5e-4 for dragbench).")
    double loraLr;

    /** The synthetic suite's LoRA learning rate: 4× DragDiffusion's, so that its 20 steps fit about as far as 80 (models/tiny/README.md). */
    public static final double SYNTHETIC_LORA_LR = 2e-3;

    @Option(names = "--feature-idx", split = ",", defaultValue = "3", paramLabel = "K[,K…]", description = "UNet features for motion "
            + "supervision and point tracking (DragDiffusion's unet_feature_idx: 0 = mid block, k = up_blocks[k−1]'s output; several are "
            + "concatenated; default ${DEFAULT-VALUE}, DragDiffusion's).")
    int[] featureIdx;

    @Option(names = "--no-mask", description = "Edit without the editable-region mask (fidelity is still measured outside it).")
    boolean noMask;

    @Option(names = "--json", paramLabel = "FILE", description = "Where the results go (default: eval-SUITE.json, or REPORT/eval.json with --report).")
    Path json;

    @Option(names = "--report", paramLabel = "DIR", description = "Also write DIR/contact-sheet.png (input and drag | result and target | ground truth).")
    Path report;

    /** One measured case. */
    public record Row(int index, long seed, String caption, double distance, double[] found, double md, double moveRatio, double psnr,
               double ssim, double seconds, int iterations) {}

    @Override
    public Integer call() throws IOException {
        // The synthetic suite's knobs suit the bundled 64² model (its supervision grid is 32²: a drag of 10–20 px is
        // 5–10 supervision pixels, which needs more and larger steps than DragDiffusion's 80 at lr 0.01, chosen for
        // 512² SD1.5); DragBench keeps DragDiffusion's.
        if (!spec.commandLine().getParseResult().hasMatchedOption("--steps")) steps = suite.equals("dragbench") ? 80 : SYNTHETIC_STEPS;
        if (suite.equals("dragbench") && !spec.commandLine().getParseResult().hasMatchedOption("--lora-lr")) loraLr = DragDiffusion.DEFAULT_LORA_LR;
        try {
            DragDiffusion.checkLoraLr(loraLr);
            DragDiffusion.checkFeatureIdx(featureIdx);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage().replace("edit: unet_feature_idx", "--feature-idx"));
        }
        if (suite.equals("dragbench")) return dragBench();
        if (!suite.equals("synthetic"))
            throw new ParameterException(spec.commandLine(), "--suite " + suite + ": expected 'synthetic' or 'dragbench'");
        if (benchDir != null || outDir != null)
            throw new ParameterException(spec.commandLine(), "DIR and --out-dir belong to --suite dragbench");
        if (n < 1) throw new ParameterException(spec.commandLine(), "--n " + n + ": must be ≥ 1");
        if (size < 32 || size > 1024) throw new ParameterException(spec.commandLine(), "--size " + size + ": expected 32..1024");
        if (loraSteps < 0 || steps < 0) throw new ParameterException(spec.commandLine(), "--lora-steps and --steps must be ≥ 0");
        try {
            DragDiffusion.checkKnobs(lr, lam, rM, rP);
            DragDiffusion.checkReach(reach);
            dev.dragedit.drag.Inversion.actualSteps(inferenceSteps, strength);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Path modelDir = model != null ? model : BundledModel.path();
        if (!SdModels.isPipelineFolder(modelDir))
            throw new ParameterException(spec.commandLine(), (model != null ? "--model " : "the bundled model ") + modelDir
                    + " is not a Stable Diffusion folder (unet/, vae/, text_encoder/, tokenizer/, scheduler/)");
        Path jsonOut = json != null ? json : report != null ? report.resolve("eval.json") : Path.of("eval-" + suite + ".json");

        PrintWriter out = spec.commandLine().getOut();
        Engine engine = Main.engine(spec);
        Placement placement = engine.onCpu() ? Placement.cpu() : Placement.on(engine.device().orElseThrow(), DType.F32);
        StableDiffusion sd = StableDiffusion.load(modelDir, placement, null);
        List<SyntheticSuite.Case> cases = SyntheticSuite.cases(n, seed, size);
        out.printf(Locale.ROOT, "eval: %d synthetic scenes (%d×%d, seeds %d..%d), model %s on %s; LoRA %d steps, ≤ %d drag iterations, %d DDIM steps × %s, lr %s, λ %s, r_m %d, r_p %d, reach %s, unet_feature_idx %s, LoRA lr %s%s%n",
                n, size, size, seed, seed + n - 1, modelDir, engine.description(), loraSteps, steps, inferenceSteps, strength, lr, lam, rM, rP, reach,
                java.util.Arrays.toString(featureIdx), loraLr, noMask ? ", no mask" : "");
        out.printf(Locale.ROOT, "%4s %-58s %6s %8s %6s %7s %6s %6s %5s%n", "case", "caption", "dist", "MD px", "moved", "PSNR", "SSIM", "s", "its");
        out.flush();
        List<Row> rows = new ArrayList<>();
        List<Images.Rgb> results = new ArrayList<>();
        for (SyntheticSuite.Case c : cases) {
            Tensor mask = null;
            if (!noMask) {
                float[] m = new float[c.editable().length];
                for (int i = 0; i < m.length; i++) m[i] = c.editable()[i] ? 255f : 0f;
                mask = Tensor.of(m, size, size);
            }
            DragDiffusion.Request req = new DragDiffusion.Request(c.scene().image(), new double[][]{c.handlePixel(), c.targetPixel()}, mask,
                    c.scene().caption(), loraSteps, steps, inferenceSteps, strength, c.seed()).withKnobs(lr, lam, rM, rP).withReach(reach)
                    .withFeatureIdx(featureIdx).withLoraLr(loraLr);
            long t0 = System.nanoTime();
            DragDiffusion.Result r = DragDiffusion.run(sd, req, null);
            double secs = (System.nanoTime() - t0) / 1e9;
            Row row = measure(c, r.image(), secs, r.iterations());
            rows.add(row);
            results.add(r.image());
            out.printf(Locale.ROOT, "%4d %-58s %6.1f %8s %5.0f%% %7.2f %6.3f %6.1f %5d%n", c.index(), trim(c.scene().caption(), 58), row.distance(),
                    Double.isFinite(row.md()) ? String.format(Locale.ROOT, "%.2f", row.md()) : "lost", 100 * row.moveRatio(), row.psnr(), row.ssim(),
                    secs, row.iterations());
            out.flush();
        }
        Summary s = Summary.of(rows, size);
        out.printf(Locale.ROOT, "summary: median MD %.2f px (target ≤ %.1f), mean MD of found %.2f px, more than half-way %.0f%% (target ≥ 80%%), "
                        + "objects lost %d, PSNR outside %.2f dB (target ≥ 25), SSIM outside %.3f, %.1f s per edit (median)%n",
                s.medianMd(), s.mdTarget(), s.meanMdFound(), 100 * s.halfWay(), s.lost(), s.meanPsnr(), s.meanSsim(), s.medianSeconds());
        out.printf(Locale.ROOT, "targets: MD %s, half-way %s, PSNR %s%n", s.medianMd() <= s.mdTarget() ? "met" : "missed",
                s.halfWay() >= 0.8 ? "met" : "missed", s.meanPsnr() >= 25 ? "met" : "missed");

        writeJson(jsonOut, modelDir, engine, rows, s);
        out.println("eval: wrote " + jsonOut);
        if (report != null) {
            Path sheet = report.resolve("contact-sheet.png");
            Images.write(sheet, contactSheet(cases, results));
            out.println("eval: wrote " + sheet);
        }
        return Main.EXIT_OK;
    }

    /** DragDiffusion's run_drag_diffusion.py seeds every edit with 42. */
    static final long DRAGBENCH_SEED = 42;

    private int dragBench() throws IOException {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        if (benchDir == null)
            throw new ParameterException(spec.commandLine(), "--suite dragbench needs DIR, the drag_bench_data folder of DragDiffusion's drag_bench_evaluation");
        if (loraSteps < 0 || steps < 0) throw new ParameterException(spec.commandLine(), "--lora-steps and --steps must be ≥ 0");
        if (inferenceSteps < 1) throw new ParameterException(spec.commandLine(), "--inference-steps " + inferenceSteps + ": must be ≥ 1");
        var reader = DragBenchReader.find();
        if (reader.isEmpty()) {
            err.println("dragedit: eval --suite dragbench: no DragBench reader on the class path (it comes with the weights converter; run the full dragedit.jar)");
            return Main.EXIT_FAILURE;
        }
        Path data = Files.isDirectory(benchDir.resolve("drag_bench_data")) ? benchDir.resolve("drag_bench_data") : benchDir;
        List<DragBenchSample> samples;
        try {
            samples = reader.get().read(data);
        } catch (IOException e) {
            err.println("dragedit: eval --suite dragbench: " + e.getMessage());
            return Main.EXIT_FAILURE;
        }
        Path modelDir = model != null ? model : BundledModel.path();
        if (!SdModels.isPipelineFolder(modelDir))
            throw new ParameterException(spec.commandLine(), (model != null ? "--model " : "the bundled model ") + modelDir
                    + " is not a Stable Diffusion folder (unet/, vae/, text_encoder/, tokenizer/, scheduler/)");
        long editSeed = spec.commandLine().getParseResult().hasMatchedOption("--seed") ? seed : DRAGBENCH_SEED;
        Path res = (outDir != null ? outDir : data.toAbsolutePath().normalize().resolveSibling("dragedit_res_" + loraSteps + "_0.7_" + steps))
                .toAbsolutePath().normalize();

        Engine engine = Main.engine(spec);
        Placement placement = engine.onCpu() ? Placement.cpu() : Placement.on(engine.device().orElseThrow(), DType.F32);
        StableDiffusion sd = StableDiffusion.load(modelDir, placement, null);
        out.printf(Locale.ROOT, "eval: DragBench, %d samples from %s, model %s on %s; LoRA %d steps, ≤ %d drag iterations, %d DDIM steps, strength 0.7, seed %d%n",
                samples.size(), data, modelDir, engine.description(), loraSteps, steps, inferenceSteps, editSeed);
        out.println("eval: results go to " + res);
        out.flush();
        double total = 0;
        for (int i = 0; i < samples.size(); i++) {
            DragBenchSample s = samples.get(i);
            int h = s.image().height(), w = s.image().width();
            Tensor mask = null;
            if (s.mask() != null) {
                float[] m = new float[h * w];
                for (int k = 0; k < m.length; k++) m[k] = s.mask()[k] != 0 ? 255f : 0f;
                mask = Tensor.of(m, h, w);
            }
            DragDiffusion.Request req = new DragDiffusion.Request(s.image(), s.points(), mask, s.prompt(), loraSteps, steps, inferenceSteps, 0.7, editSeed)
                    .withFeatureIdx(featureIdx).withLoraLr(loraLr);
            long t0 = System.nanoTime();
            DragDiffusion.Result r = DragDiffusion.run(sd, req, null);
            double secs = (System.nanoTime() - t0) / 1e9;
            total += secs;
            Path file = res.resolve(s.category()).resolve(s.name()).resolve("dragged_image.png");
            Images.write(file, r.image());
            out.printf(Locale.ROOT, "[%d/%d] %s: %s, %d pair%s, %s, %d iterations, %.1f s → %s%n", i + 1, samples.size(), s.id(), s.image().size(),
                    s.points().length / 2, s.points().length == 2 ? "" : "s", s.mask() == null ? "no mask" : "mask", r.iterations(), secs, res.relativize(file));
            out.flush();
        }
        out.printf(Locale.ROOT, "eval: wrote %d dragged_image.png under %s (%.1f s per sample)%n", samples.size(), res, total / samples.size());
        out.println("eval: score them with DragDiffusion's scripts, run from the folder holding drag_bench_data (drag_bench_evaluation/):");
        out.println("  python run_eval_similarity.py --eval_root " + res);
        out.println("  python run_eval_point_matching.py --eval_root " + res);
        return Main.EXIT_OK;
    }

    public static Row measure(SyntheticSuite.Case c, Images.Rgb edited, double secs, int iterations) {
        double[] found = Detector.find(edited, c.object());
        double dist = c.distance();
        double md = Double.POSITIVE_INFINITY, ratio = 0;
        if (found != null) {
            md = Math.hypot(found[0] - c.targetX(), found[1] - c.targetY());
            double ux = (c.targetX() - c.object().cx()) / dist, uy = (c.targetY() - c.object().cy()) / dist;
            ratio = ((found[0] - c.object().cx()) * ux + (found[1] - c.object().cy()) * uy) / dist;
        }
        boolean[] outside = new boolean[c.editable().length];
        for (int i = 0; i < outside.length; i++) outside[i] = !c.editable()[i];
        return new Row(c.index(), c.seed(), c.scene().caption(), dist, found, md, ratio, ImageMetrics.psnr(edited, c.truth().image(), outside),
                ImageMetrics.ssim(edited, c.truth().image(), outside), secs, iterations);
    }

    /** The suite's summary numbers; the MD target scales with the image (3 px at 64×64). */
    record Summary(double medianMd, double mdTarget, double meanMdFound, double halfWay, int lost, double meanPsnr, double meanSsim,
                   double medianSeconds) {
        static Summary of(List<Row> rows, int size) {
            double[] md = rows.stream().mapToDouble(Row::md).sorted().toArray();
            double[] found = rows.stream().mapToDouble(Row::md).filter(Double::isFinite).toArray();
            double[] secs = rows.stream().mapToDouble(Row::seconds).sorted().toArray();
            return new Summary(median(md), 3.0 * size / 64, found.length == 0 ? Double.NaN : Arrays.stream(found).average().orElse(Double.NaN),
                    rows.stream().filter(r -> r.moveRatio() > 0.5).count() / (double) rows.size(), md.length - found.length,
                    rows.stream().mapToDouble(Row::psnr).map(p -> Math.min(p, 100)).average().orElse(Double.NaN),
                    rows.stream().mapToDouble(Row::ssim).average().orElse(Double.NaN), median(secs));
        }

        private static double median(double[] sorted) {
            int k = sorted.length;
            return k % 2 == 1 ? sorted[k / 2] : (sorted[k / 2 - 1] + sorted[k / 2]) / 2;
        }
    }

    private void writeJson(Path file, Path modelDir, Engine engine, List<Row> rows, Summary s) throws IOException {
        ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = m.createObjectNode();
        root.put("command", "dragedit eval");
        root.put("dragedit_version", Main.buildVersion());
        root.put("suite", suite);
        root.put("n", n);
        root.put("seed", seed);
        root.put("size", size);
        root.put("model", modelDir.toString());
        root.put("device", engine.description());
        ObjectNode p = root.putObject("parameters");
        p.put("lora_steps", loraSteps);
        p.put("drag_steps", steps);
        p.put("n_inference_step", inferenceSteps);
        p.put("inversion_strength", strength);
        p.put("lr", lr);
        p.put("lam", lam);
        p.put("r_m", rM);
        p.put("r_p", rP);
        p.put("reach", reach);
        for (int k : featureIdx) p.withArray("unet_feature_idx").add(k);
        p.put("lora_lr", loraLr);
        p.put("mask", !noMask);
        ObjectNode sn = root.putObject("summary");
        if (Double.isFinite(s.medianMd())) sn.put("median_md_px", s.medianMd()); else sn.putNull("median_md_px"); // more than half the objects lost
        sn.put("md_target_px", s.mdTarget());
        sn.put("mean_md_found_px", s.meanMdFound());
        sn.put("more_than_half_way", s.halfWay());
        sn.put("lost", s.lost());
        sn.put("mean_psnr_outside_db", s.meanPsnr());
        sn.put("mean_ssim_outside", s.meanSsim());
        sn.put("median_seconds_per_edit", s.medianSeconds());
        ArrayNode a = root.putArray("cases");
        for (Row r : rows) {
            ObjectNode c = a.addObject();
            c.put("index", r.index());
            c.put("seed", r.seed());
            c.put("caption", r.caption());
            c.put("distance_px", r.distance());
            if (r.found() == null) c.putNull("found_xy"); else c.putArray("found_xy").add(r.found()[0]).add(r.found()[1]);
            if (Double.isFinite(r.md())) c.put("md_px", r.md()); else c.putNull("md_px");
            c.put("move_ratio", r.moveRatio());
            c.put("psnr_outside_db", Double.isInfinite(r.psnr()) ? 100.0 : r.psnr());
            c.put("ssim_outside", r.ssim());
            c.put("seconds", r.seconds());
            c.put("iterations", r.iterations());
        }
        AtomicFiles.write(file, m.writeValueAsBytes(root));
    }

    /** One row per case: input with the drag | result with the target | ground truth; each scaled ×2 (at least 128 px). */
    static Images.Rgb contactSheet(List<SyntheticSuite.Case> cases, List<Images.Rgb> results) {
        Images.Rgb sheet = null;
        List<Images.Rgb> rows = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            SyntheticSuite.Case c = cases.get(i);
            Images.Rgb a = Overlay.upscale(c.scene().image(), 128), b = Overlay.upscale(results.get(i), 128), t = Overlay.upscale(c.truth().image(), 128);
            double k = (double) a.width() / c.scene().image().width();
            double[][] h = {c.handlePixel()}, g = {c.targetPixel()};
            rows.add(Overlay.sideBySide(Overlay.sideBySide(Overlay.drawPoints(a, h, g, k), Overlay.drawPoints(b, null, g, k), 4), t, 4));
        }
        // Stack the rows with a 4-pixel grey gap.
        int w = rows.get(0).width(), gap = 4, hTotal = 0;
        for (Images.Rgb r : rows) hTotal += r.height() + gap;
        byte[] px = new byte[3 * w * (hTotal - gap)];
        Arrays.fill(px, (byte) Overlay.GAP_GREY);
        int y0 = 0;
        for (Images.Rgb r : rows) {
            System.arraycopy(r.pixels(), 0, px, 3 * w * y0, r.pixels().length);
            y0 += r.height() + gap;
        }
        sheet = new Images.Rgb(hTotal - gap, w, px);
        return sheet;
    }

    private static String trim(String s, int n) { return s.length() <= n ? s : s.substring(0, n - 1) + "…"; }
}
