package dev.dragedit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.drag.DragConfig;
import dev.dragedit.drag.DragInputs;
import dev.dragedit.drag.DragIteration;
import dev.dragedit.drag.DragListener;
import dev.dragedit.drag.DragLoop;
import dev.dragedit.drag.DragPoint;
import dev.dragedit.drag.PointTracker;
import dev.dragedit.engine.Engine;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.DdimScheduler;
import dev.dragedit.models.sd.SdModels;
import dev.dragedit.models.sd.UNet2DConditionModel;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dragedit drag-trace}: DragDiffusion's latent optimisation (utils/drag_utils.py drag_diffusion_update, with
 * the point and mask preparation of utils/ui_utils.py run_drag) on the inputs of a drag-loop fixture file, writing
 * every per-iteration quantity under the fixture's tensor names (../shared/fixtures README, drag-loop) so a port can
 * be checked against the original tensor by tensor. Inputs: init_code, text_embeddings, t, points_xy_image
 * ((x, y) image pixels: handle 0, target 0, handle 1, …) and, optionally, mask_full ([H, W], nonzero = editable);
 * hyperparameters from args.json ("hyperparameters": r_m, r_p, lam, lr, n_pix_step, sup_res_h/w,
 * unet_feature_idx, n_inference_step; DragDiffusion's defaults for those missing). --model is a UNet folder or a
 * Stable Diffusion folder (its scheduler/ config is then used; otherwise DragDiffusion's SD1.5 DDIM settings).
 * The output is written atomically; bad inputs are one error line and no file.
 */
@Command(name = "drag-trace", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        description = {"Run DragDiffusion's latent optimisation on fixture-format inputs and write every iteration's tensors",
                "(iter{i}_loss, iter{i}_handle_points, iter{i}_grad, iter{i}_latent_out, …) under the drag-loop fixture's names."})
public final class DragTraceCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A diffusers UNet folder (config.json + weights) or a Stable Diffusion folder.")
    Path model;

    @Option(names = "--in", required = true, paramLabel = "drag.safetensors",
            description = "init_code, text_embeddings, t, points_xy_image and (optional) mask_full, as in the drag-loop fixture.")
    Path in;

    @Option(names = "--args", required = true, paramLabel = "args.json", description = "The hyperparameters (the fixture's args.json, or {\"hyperparameters\": {…}}).")
    Path args;

    @Option(names = "--out", required = true, paramLabel = "trace.safetensors", description = "Where the trace goes (F32; replaced atomically).")
    Path out;

    @Option(names = "--variant", paramLabel = "NAME", description = "Weights file variant, e.g. fp16.")
    String variant;

    private static final String CMD = "drag-trace";

    /** The hyperparameters as args.json gives them, DragDiffusion's defaults where absent. */
    record Hyper(DragConfig config, int nInferenceStep) {}

    static Hyper readArgs(Path file, int fullH, int fullW) throws IOException {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(CMD + ": --args " + file + " does not exist");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(CMD + ": --args " + file + " is not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || !root.isObject()) throw new IllegalArgumentException(CMD + ": --args " + file + " is not a JSON object");
        JsonNode h = root.has("hyperparameters") ? root.get("hyperparameters") : root;
        if (!h.isObject()) throw new IllegalArgumentException(CMD + ": --args " + file + ": \"hyperparameters\" is not an object");
        DragConfig d = DragConfig.defaults(fullH, fullW);
        int[] idx = d.featureIdx();
        if (h.has("unet_feature_idx")) {
            JsonNode a = h.get("unet_feature_idx");
            if (!a.isArray() || a.isEmpty()) throw badArg(file, "unet_feature_idx", a, "a non-empty list of integers");
            idx = new int[a.size()];
            for (int i = 0; i < idx.length; i++) idx[i] = (int) integer(file, "unet_feature_idx", a.get(i));
        }
        try {
            DragConfig c = new DragConfig(
                    (int) intOr(file, h, "sup_res_h", d.supResH()), (int) intOr(file, h, "sup_res_w", d.supResW()),
                    (int) intOr(file, h, "r_m", d.rM()), (int) intOr(file, h, "r_p", d.rP()),
                    numOr(file, h, "lam", d.lam()), numOr(file, h, "lr", d.lr()),
                    (int) intOr(file, h, "n_pix_step", d.maxIterations()), idx, d.reachDistance());
            int steps = (int) intOr(file, h, "n_inference_step", 50);
            if (steps < 1 || steps > 1000) throw badArg(file, "n_inference_step", h.get("n_inference_step"), "an integer in 1..1000");
            return new Hyper(c, steps);
        } catch (IllegalArgumentException e) {
            if (e.getMessage().startsWith(CMD)) throw e;
            throw new IllegalArgumentException(CMD + ": --args " + file + ": " + e.getMessage());
        }
    }

    private static long intOr(Path file, JsonNode h, String key, long def) {
        return h.has(key) ? integer(file, key, h.get(key)) : def;
    }

    private static long integer(Path file, String key, JsonNode v) {
        if (!v.isNumber() || v.asDouble() != Math.rint(v.asDouble()) || Math.abs(v.asDouble()) > 1e9) throw badArg(file, key, v, "an integer");
        return (long) v.asDouble();
    }

    private static double numOr(Path file, JsonNode h, String key, double def) {
        if (!h.has(key)) return def;
        JsonNode v = h.get(key);
        if (!v.isNumber() || !Double.isFinite(v.asDouble())) throw badArg(file, key, v, "a number");
        return v.asDouble();
    }

    private static IllegalArgumentException badArg(Path file, String key, JsonNode v, String expected) {
        return new IllegalArgumentException(CMD + ": --args " + file + ": " + key + " is " + v + ", expected " + expected);
    }

    @Override
    public Integer call() throws IOException {
        if (!Files.isRegularFile(in)) throw new IllegalArgumentException(CMD + ": input " + in + " does not exist");
        if (!Files.isDirectory(model)) throw new IllegalArgumentException(CMD + ": --model " + model + " is not a folder (a UNet or Stable Diffusion folder)");
        Engine engine = Main.engine(spec);
        Placement placement = engine.onCpu() ? Placement.cpu() : Placement.on(engine.device().orElseThrow(), DType.F32);

        Tensor initCode, text, pointsXy, maskFull = null;
        int t;
        try (SafeTensors file = SafeTensors.open(in)) {
            ForwardCommand.Inputs inputs = new ForwardCommand.Inputs(file, CMD);
            initCode = inputs.floats("init_code", "[1, 4, h, w]");
            if (initCode.rank() != 4 || initCode.dim(0) != 1) throw inputs.badShape("init_code", initCode, "[1, channels, h, w]");
            text = inputs.floats("text_embeddings", "[1, tokens, cross_attention_dim]");
            if (text.rank() != 3 || text.dim(0) != 1) throw inputs.badShape("text_embeddings", text, "[1, tokens, cross_attention_dim]");
            Tensor ts = inputs.floats("t", "[1] holding the timestep");
            if (ts.numel() != 1) throw inputs.badShape("t", ts, "[1]");
            double tv = ts.item();
            if (tv != Math.rint(tv) || tv < 0 || tv > 999) throw inputs.bad("t holds " + tv + ", expected an integer timestep in 0..999");
            t = (int) tv;
            pointsXy = inputs.floats("points_xy_image", "[2·pairs, 2]: (x, y) image pixels, handle 0, target 0, …");
            if (pointsXy.rank() != 2 || pointsXy.dim(1) != 2 || pointsXy.dim(0) < 2 || pointsXy.dim(0) % 2 != 0)
                throw inputs.badShape("points_xy_image", pointsXy, "[2·pairs, 2] (x, y) rows: handle 0, target 0, handle 1, …");
            if (file.contains("mask_full")) {
                maskFull = inputs.floats("mask_full", "[H, W]");
                if (maskFull.rank() != 2) throw inputs.badShape("mask_full", maskFull, "[H, W] at the image size");
            }
        }
        // The image size: the mask's, else VAE factor 8 over the latent (DragDiffusion's SD1.5 VAE).
        int fullH = maskFull != null ? maskFull.dim(0) : 8 * initCode.dim(2);
        int fullW = maskFull != null ? maskFull.dim(1) : 8 * initCode.dim(3);
        Hyper hp = readArgs(args, fullH, fullW);
        DragConfig cfg = hp.config();

        int n = pointsXy.dim(0);
        double[][] xy = new double[n][2];
        for (int i = 0; i < n; i++) {
            xy[i][0] = pointsXy.getDouble(2 * i);
            xy[i][1] = pointsXy.getDouble(2 * i + 1);
            if (!(xy[i][0] >= 0 && xy[i][0] < fullW && xy[i][1] >= 0 && xy[i][1] < fullH))
                throw new IllegalArgumentException(CMD + ": " + in + " point " + i + " (x " + xy[i][0] + ", y " + xy[i][1]
                        + ") is outside the " + fullW + "×" + fullH + " image");
        }
        List<List<DragPoint>> ht = DragInputs.handlesAndTargets(xy, fullH, fullW, cfg.supResH(), cfg.supResW());
        Tensor maskSup = null, interpMask = null;
        if (maskFull != null) {
            maskSup = DragInputs.resizeNearest(DragInputs.binarize(maskFull), cfg.supResH(), cfg.supResW());
            interpMask = DragInputs.resizeNearest(maskSup, initCode.dim(2), initCode.dim(3));
        }

        DdimScheduler scheduler = schedulerFor(model);
        scheduler.setTimesteps(hp.nInferenceStep());
        UNet2DConditionModel unet = SdModels.loadUnet(model, placement, variant);
        if (initCode.dim(1) != unet.config.inChannels || text.dim(2) != unet.config.crossAttentionDim)
            throw new IllegalArgumentException(CMD + ": " + in + " init_code " + Arrays.toString(initCode.shape()) + " / text_embeddings "
                    + Arrays.toString(text.shape()) + " do not fit the UNet (" + unet.config.inChannels + " latent channels, cross_attention_dim "
                    + unet.config.crossAttentionDim + ")");

        Map<String, Tensor> trace = new LinkedHashMap<>();
        trace.put("handle_points_init", points(ht.get(0)));
        trace.put("target_points", points(ht.get(1)));
        if (maskSup != null) {
            trace.put("mask_sup", maskSup);
            trace.put("interp_mask", interpMask);
        }
        PrintWriter o = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        DragListener listener = new DragListener() {
            @Override public void onStart(Tensor f0, Tensor xPrev0, Tensor eps0) {
                trace.put("F0", f0);
                if (eps0 != null) trace.put("unet_output_0", eps0);
                if (xPrev0 != null) trace.put("x_prev_0", xPrev0);
            }

            @Override public void onIteration(DragIteration it, Tensor latent) {
                String p = "iter" + it.index() + "_";
                DragIteration.Tensors ts = it.tensors();
                trace.put(p + "latent_in", ts.latentIn());
                trace.put(p + "feat_raw", ts.featRaw());
                if (ts.unetOutput() != null) trace.put(p + "unet_output", ts.unetOutput());
                if (ts.xPrev() != null) trace.put(p + "x_prev", ts.xPrev());
                List<PointTracker.Window> w = ts.tracking();
                for (int k = 0; k < w.size(); k++) trace.put(p + "tracking" + k + "_dist", w.get(k).distTensor());
                trace.put(p + "handle_points", points(it.handles()));
                double[] m = it.motionTerms();
                StringBuilder terms = new StringBuilder();
                for (int k = 0; k < m.length; k++) {
                    terms.append(k == 0 ? "" : ", ").append(Double.isNaN(m[k]) ? "reached" : String.format(Locale.ROOT, "%.6f", m[k]));
                    if (Double.isNaN(m[k])) continue;
                    trace.put(p + "motion_term" + k + "_f0_patch", ts.f0Patches().get(k));
                    trace.put(p + "motion_term" + k + "_f1_patch", ts.f1Patches().get(k));
                    trace.put(p + "motion_term" + k, Tensor.of(new float[]{(float) m[k]}, 1));
                }
                trace.put(p + "mask_term", Tensor.of(new float[]{(float) it.maskTerm()}, 1));
                trace.put(p + "loss", Tensor.of(new float[]{(float) it.loss()}, 1));
                trace.put(p + "grad", ts.grad());
                trace.put(p + "latent_out", ts.latentOut());
                o.printf(Locale.ROOT, "iter %d: loss %.6f (motion %s; mask %.6f) handles %s%n", it.index(), it.loss(), terms, it.maskTerm(), it.handles());
                o.flush();
            }

            @Override public void onReached(int index, List<DragPoint> handles) {
                o.printf(Locale.ROOT, "iter %d: every handle is within %.1f of its target %s: stop%n", index, cfg.reachDistance(), handles);
            }

            @Override public boolean wantsTensors() { return true; }
        };
        DragLoop.Result r = new DragLoop(unet, scheduler, cfg).run(initCode, text, t, ht.get(0), ht.get(1), interpMask, listener);
        Tensor fin = r.latent().toCpu();
        trace.put("final_latent", fin == r.latent() ? fin.copy() : fin);
        trace.put("final_handle_points", points(r.handles()));
        double seconds = (System.nanoTime() - t0) / 1e9;

        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("command", "dragedit drag-trace");
        meta.put("source", "DragDiffusion ebe659a utils/drag_utils.py drag_diffusion_update (port)");
        meta.put("model", model.toString());
        meta.put("input", in.toString());
        meta.put("config", cfg.toString());
        meta.put("timestep", Integer.toString(t));
        meta.put("iterations", Integer.toString(r.iterations()));
        meta.put("reached_targets", Boolean.toString(r.reached()));
        meta.put("engine", engine.description());
        meta.put("layout", "NCHW");
        meta.put("points_layout", "[row, col] in feature (sup_res) pixels");
        if (out.toAbsolutePath().getParent() != null) Files.createDirectories(out.toAbsolutePath().getParent());
        Map<String, Tensor> f32 = new LinkedHashMap<>();
        for (var e : trace.entrySet()) f32.put(e.getKey(), e.getValue().to(DType.F32));
        SafeTensors.write(out, f32, meta);
        o.printf(Locale.ROOT, "drag-trace: %d iteration(s)%s, wrote %s (%d tensors) in %.2f s on %s%n", r.iterations(),
                r.reached() ? " (targets reached)" : "", out, f32.size(), seconds, engine.description());
        return Main.EXIT_OK;
    }

    /** The scheduler of a Stable Diffusion folder, else DragDiffusion's SD1.5 DDIM construction (run_drag). */
    private static DdimScheduler schedulerFor(Path model) {
        Path cfg = model.resolve(SdModels.SCHEDULER).resolve("scheduler_config.json");
        return SdModels.isPipelineFolder(model) && Files.isRegularFile(cfg) ? DdimScheduler.fromConfig(cfg) : DdimScheduler.sd15();
    }

    private static Tensor points(List<DragPoint> ps) {
        float[] d = new float[ps.size() * 2];
        for (int i = 0; i < ps.size(); i++) { d[2 * i] = (float) ps.get(i).row(); d[2 * i + 1] = (float) ps.get(i).col(); }
        return Tensor.of(d, ps.size(), 2);
    }
}
