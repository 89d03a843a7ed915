package dev.dragedit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dragedit.drag.DragDiffusion;
import dev.dragedit.drag.DragIteration;
import dev.dragedit.drag.DragPoint;
import dev.dragedit.drag.Images;
import dev.dragedit.engine.Engine;
import dev.dragedit.models.ModelResolver;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.SdModels;
import dev.dragedit.models.sd.StableDiffusion;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dragedit edit}: DragDiffusion's whole edit of a real image (utils/ui_utils.py run_drag, commit ebe659a, via
 * {@link DragDiffusion}): LoRA fit, DDIM inversion, latent optimisation, mutual self-attention denoise, VAE decode.
 * Writes the edited image (input size) and, next to it, a JSON sidecar with every input and parameter, the seed, the
 * per-phase times, each drag iteration's loss and handle positions, the final distances and the engine. Inputs are
 * checked before any model is loaded (unreadable image, point outside the image, handle equal to its target, mask of
 * another size: one error line, exit ≠ 0); nothing is written unless the edit completes, and each file is replaced
 * atomically.
 */
@Command(name = "edit", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        description = {"Drag-edit an image with DragDiffusion: move each handle point to its target.",
                "Writes OUT (the edited image) and OUT's name with .json (the sidecar)."})
public final class EditCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR|FILE", description = "A Stable Diffusion folder (unet/, vae/, text_encoder/, tokenizer/, scheduler/).")
    Path model;

    @Option(names = "--image", required = true, paramLabel = "IN.png", description = "The image to edit (PNG or JPEG, any size; never modified).")
    Path image;

    @Option(names = "--drag", required = true, paramLabel = "x1,y1:x2,y2",
            description = "A handle (x1, y1) and its target (x2, y2) in image pixels; repeat for several.")
    List<String> drags;

    @Option(names = "--mask", paramLabel = "MASK.png", description = "Where the image may change (white; black stays), the image's size.")
    Path mask;

    @Option(names = "--prompt", defaultValue = "", paramLabel = "TEXT", description = "What the image shows (default: empty).")
    String prompt;

    @Option(names = "--out", required = true, paramLabel = "OUT.png", description = "The edited image (.png, .jpg or .jpeg).")
    Path out;

    @Option(names = "--lora-steps", defaultValue = "80", paramLabel = "N", description = "LoRA training steps (default ${DEFAULT-VALUE}; 0 skips the LoRA).")
    int loraSteps;

    @Option(names = "--steps", defaultValue = "80", paramLabel = "N", description = "Drag iterations at most (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--inference-steps", defaultValue = "50", paramLabel = "N", description = "DDIM steps n (default ${DEFAULT-VALUE}).")
    int inferenceSteps;

    @Option(names = "--strength", defaultValue = "0.7", paramLabel = "S", description = "Inversion strength: round(S·n) steps inverted and denoised (default ${DEFAULT-VALUE}).")
    double strength;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "Seed of the LoRA's initialisation and training draws (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--variant", paramLabel = "NAME", description = "Weights file variant, e.g. fp16.")
    String variant;

    @Override
    public Integer call() throws IOException {
        // Arguments and inputs first, all of them, so that a mistake costs no model loading.
        String outName = out.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!outName.endsWith(".png") && !outName.endsWith(".jpg") && !outName.endsWith(".jpeg"))
            throw usage("--out " + out + ": the image name must end in .png, .jpg or .jpeg");
        if (loraSteps < 0) throw usage("--lora-steps " + loraSteps + ": must be ≥ 0");
        if (steps < 0) throw usage("--steps " + steps + ": must be ≥ 0");
        if (inferenceSteps > 1000) throw usage("--inference-steps " + inferenceSteps + ": at most 1000 (the scheduler's training timesteps)");
        double[][] points = new double[2 * drags.size()][];
        for (int i = 0; i < drags.size(); i++) {
            double[][] pair = parseDrag(drags.get(i));
            points[2 * i] = pair[0];
            points[2 * i + 1] = pair[1];
        }
        Path modelDir = ModelResolver.resolveModel(model, List.of());
        if (!SdModels.isPipelineFolder(modelDir))
            throw usage("--model " + model + " is not a Stable Diffusion folder (unet/, vae/, text_encoder/, tokenizer/, scheduler/)");
        if (!Files.isRegularFile(image)) throw new IllegalArgumentException("edit: --image " + image + " does not exist");
        Images.Rgb img = Images.read(image);
        for (int i = 0; i < points.length; i++) {
            double x = points[i][0], y = points[i][1];
            if (!(x >= 0 && x < img.width() && y >= 0 && y < img.height()))
                throw new IllegalArgumentException("edit: --drag " + drags.get(i / 2) + ": the " + (i % 2 == 0 ? "handle" : "target") + " (" + fmt(x)
                        + ", " + fmt(y) + ") is outside the " + img.size() + " image (x in 0.." + (img.width() - 1) + ", y in 0.." + (img.height() - 1) + ")");
        }
        Tensor maskValues = null;
        if (mask != null) {
            if (!Files.isRegularFile(mask)) throw new IllegalArgumentException("edit: --mask " + mask + " does not exist");
            Images.Rgb m = Images.read(mask);
            if (m.height() != img.height() || m.width() != img.width())
                throw new IllegalArgumentException("edit: --mask " + mask + " is " + m.size() + " but the image is " + img.size() + "; give a mask of the image's size");
            float[] v = new float[m.height() * m.width()];
            for (int y = 0; y < m.height(); y++)
                for (int x = 0; x < m.width(); x++)
                    v[y * m.width() + x] = Math.max(m.get(y, x, 0), Math.max(m.get(y, x, 1), m.get(y, x, 2))); // any channel lit = may change
            maskValues = Tensor.of(v, m.height(), m.width());
        }
        DragDiffusion.Request req;
        try {
            req = new DragDiffusion.Request(img, points, maskValues, prompt, loraSteps, steps, inferenceSteps, strength, seed);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage().replace("inversion: ", "--inference-steps/--strength: "));
        }

        Engine engine = Main.engine(spec);
        Placement placement = engine.onCpu() ? Placement.cpu() : Placement.on(engine.device().orElseThrow(), DType.F32);
        PrintWriter o = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        StableDiffusion sd = StableDiffusion.load(modelDir, placement, variant);
        double loadSeconds = (System.nanoTime() - t0) / 1e9;
        o.printf(Locale.ROOT, "edit: %s %s, %d drag(s), model %s on %s (loaded in %.2f s)%n", image, img.size(), drags.size(), modelDir,
                engine.description(), loadSeconds);
        o.flush();
        DragDiffusion.Result r = DragDiffusion.run(sd, req, new DragDiffusion.Listener() {
            long start = System.nanoTime();

            @Override public void phase(String name, String detail) {
                o.printf(Locale.ROOT, "edit: %s: %s (%.2f s)%n", name, detail, (System.nanoTime() - start) / 1e9);
                o.flush();
            }

            @Override public void loraStep(int step, int n, float loss) {
                if (step % 10 == 0 || step == n) o.printf(Locale.ROOT, "edit: lora step %d/%d, loss %.5f%n", step, n, loss);
            }

            @Override public void iteration(DragIteration it, double maxDistance) {
                o.printf(Locale.ROOT, "edit: drag iteration %d/%d, loss %.6f, max handle distance %.2f%n", it.index() + 1, steps, it.loss(), maxDistance);
                o.flush();
            }
        });

        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode side = json.createObjectNode();
        side.put("command", "dragedit edit");
        side.put("model", modelDir.toString());
        side.put("image", image.toString());
        side.put("image_width", img.width());
        side.put("image_height", img.height());
        ArrayNode dn = side.putArray("drags");
        for (int i = 0; i < drags.size(); i++) {
            ObjectNode d = dn.addObject();
            d.putArray("handle_xy").add(points[2 * i][0]).add(points[2 * i][1]);
            d.putArray("target_xy").add(points[2 * i + 1][0]).add(points[2 * i + 1][1]);
        }
        if (mask != null) side.put("mask", mask.toString()); else side.putNull("mask");
        side.put("prompt", prompt);
        side.put("out", out.toString());
        ObjectNode p = side.putObject("parameters");
        p.put("lora_steps", loraSteps);
        p.put("lora_rank", 16);
        p.put("lora_batch_size", 4);
        p.put("lora_lr", 5e-4);
        p.put("drag_steps", steps);
        p.put("n_inference_step", inferenceSteps);
        p.put("inversion_strength", strength);
        p.put("guidance_scale", 1.0);
        p.put("work_width", r.workW());
        p.put("work_height", r.workH());
        p.put("sup_res_w", r.supW());
        p.put("sup_res_h", r.supH());
        p.put("r_m", 1);
        p.put("r_p", 3);
        p.put("lam", 0.1);
        p.put("drag_lr", 0.01);
        p.put("t", r.t());
        side.put("seed", seed);
        side.put("device", engine.description());
        ObjectNode times = side.putObject("phase_seconds");
        times.put("load", loadSeconds);
        for (Map.Entry<String, Double> e : r.phaseSeconds().entrySet()) times.put(e.getKey(), e.getValue());
        ArrayNode ll = side.putArray("lora_losses");
        r.loraLosses().forEach(ll::add);
        ArrayNode its = side.putArray("iterations");
        for (DragIteration it : r.trace()) {
            ObjectNode n = its.addObject();
            n.put("index", it.index());
            n.put("loss", it.loss());
            ArrayNode hs = n.putArray("handles_rc");
            for (DragPoint h : it.handles()) hs.addArray().add(h.row()).add(h.col());
        }
        ArrayNode tg = side.putArray("targets_rc");
        for (DragPoint q : r.targets()) tg.addArray().add(q.row()).add(q.col());
        ArrayNode fh = side.putArray("final_handles_rc");
        for (DragPoint h : r.handles()) fh.addArray().add(h.row()).add(h.col());
        ArrayNode fd = side.putArray("final_distances");
        for (double d : r.distances()) fd.add(d);
        side.put("points_note", "handles_rc / targets_rc are (row, col) in supervision pixels (sup_res_h × sup_res_w)");
        side.put("iterations_run", r.iterations());
        side.put("reached", r.reached());
        side.put("total_seconds", (System.nanoTime() - t0) / 1e9);

        Path sidecar = sidecarOf(out);
        Images.write(out, r.image());
        try {
            writeAtomically(sidecar, json.writeValueAsBytes(side));
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(out); // no partial output: the image without its sidecar goes too
            throw e;
        }
        o.printf(Locale.ROOT, "edit: wrote %s (%s) and %s; %d drag iteration(s), final distances %s, %.2f s%n", out, r.image().size(), sidecar,
                r.iterations(), java.util.Arrays.toString(r.distances()), (System.nanoTime() - t0) / 1e9);
        return Main.EXIT_OK;
    }

    /** out.png → out.json in the same folder. */
    static Path sidecarOf(Path out) {
        String n = out.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return out.resolveSibling((dot > 0 ? n.substring(0, dot) : n) + ".json");
    }

    /** "x1,y1:x2,y2" → {{x1, y1}, {x2, y2}}; a handle equal to its target is refused. */
    private double[][] parseDrag(String s) {
        String[] pts = s.split(":", -1);
        if (pts.length != 2) throw usage("--drag " + s + ": expected x1,y1:x2,y2 (handle, then target)");
        double[][] r = new double[2][];
        for (int k = 0; k < 2; k++) {
            String[] c = pts[k].split(",", -1);
            if (c.length != 2) throw usage("--drag " + s + ": expected x1,y1:x2,y2 (handle, then target)");
            try {
                r[k] = new double[]{Double.parseDouble(c[0].trim()), Double.parseDouble(c[1].trim())};
            } catch (NumberFormatException e) {
                throw usage("--drag " + s + ": '" + pts[k] + "' is not a point x,y of numbers");
            }
            if (!Double.isFinite(r[k][0]) || !Double.isFinite(r[k][1])) throw usage("--drag " + s + ": coordinates must be finite");
        }
        if (r[0][0] == r[1][0] && r[0][1] == r[1][1]) throw usage("--drag " + s + ": the handle equals its target; nothing to drag");
        return r;
    }

    private static void writeAtomically(Path file, byte[] bytes) throws IOException {
        Path abs = file.toAbsolutePath();
        Path tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName() + ".", ".tmp");
        try {
            Files.write(tmp, bytes);
            // createTempFile makes the file owner-only; the sidecar is as readable as the image next to it.
            try {
                Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: its defaults apply
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (java.nio.file.AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static String fmt(double v) { return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v); }

    private ParameterException usage(String msg) { return new ParameterException(spec.commandLine(), msg); }
}
