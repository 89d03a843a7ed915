package dev.dragedit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dragedit.drag.DragDiffusion;
import dev.dragedit.drag.DragInputs;
import dev.dragedit.drag.DragIteration;
import dev.dragedit.drag.DragPoint;
import dev.dragedit.drag.Images;
import dev.dragedit.engine.Engine;
import dev.dragedit.io.AtomicFiles;
import dev.dragedit.models.ModelResolver;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.SdModels;
import dev.dragedit.models.sd.StableDiffusion;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;
import dev.dragedit.bench.UnetBench;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.video.Overlay;
import dev.dragedit.video.VideoWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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

    @Option(names = "--spec", paramLabel = "EDIT.json",
            description = "Inputs and parameters as JSON (the fields are these options' names in snake_case; an edit's sidecar replays it). Options given here win.")
    Path specFile;

    @Option(names = "--model", paramLabel = "DIR|FILE", description = "A Stable Diffusion folder (unet/, vae/, text_encoder/, tokenizer/, scheduler/).")
    Path model;

    @Option(names = "--image", paramLabel = "IN.png", description = "The image to edit (PNG or JPEG, any size; never modified).")
    Path image;

    @Option(names = "--drag", paramLabel = "x1,y1:x2,y2",
            description = "A handle (x1, y1) and its target (x2, y2) in image pixels; repeat for several.")
    List<String> drags;

    @Option(names = "--mask", paramLabel = "MASK.png", description = "Where the image may change (white; black stays), the image's size.")
    Path mask;

    @Option(names = "--prompt", defaultValue = "", paramLabel = "TEXT", description = "What the image shows (default: empty).")
    String prompt;

    @Option(names = "--out", paramLabel = "OUT.png", description = "The edited image (.png, .jpg or .jpeg).")
    Path out;

    @Option(names = "--video", paramLabel = "OUT.gif|OUT.mp4",
            description = "Also write the drag as an animation: the input, one preview per drag iteration (VAE decode of the predicted clean latent), the result; handles red, targets blue. MP4 needs ffmpeg.")
    Path video;

    @Option(names = "--video-fps", defaultValue = "8", paramLabel = "FPS", description = "Frames per second of --video (default ${DEFAULT-VALUE}).")
    double videoFps;

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

    @Option(names = "--lr", defaultValue = "0.01", paramLabel = "LR", description = "Adam learning rate of the drag's latent optimisation (default ${DEFAULT-VALUE}; > 0).")
    double lr;

    @Option(names = "--lam", defaultValue = "0.1", paramLabel = "W", description = "Weight λ of the mask term that keeps the region outside --mask (default ${DEFAULT-VALUE}; ≥ 0).")
    double lam;

    @Option(names = "--r-m", defaultValue = "1", paramLabel = "R", description = "Motion-supervision radius r_m in supervision pixels (default ${DEFAULT-VALUE}; ≥ 1).")
    int rM;

    @Option(names = "--r-p", defaultValue = "3", paramLabel = "R", description = "Point-tracking search radius r_p in supervision pixels (default ${DEFAULT-VALUE}; ≥ 1).")
    int rP;

    @Option(names = "--reach", defaultValue = "2", paramLabel = "D", description = "A handle within D supervision pixels of its target is done (default ${DEFAULT-VALUE}, DragDiffusion's check_handle_reach_target; the supervision grid is half the image).")
    double reach;

    @Option(names = "--feature-idx", defaultValue = "3", split = ",", paramLabel = "K[,K…]",
            description = "UNet features for motion supervision and point tracking (DragDiffusion's unet_feature_idx: 0 = mid block, "
                    + "k = up_blocks[k−1]'s output; several are concatenated; default ${DEFAULT-VALUE}).")
    int[] featureIdx;

    @Option(names = "--lora-lr", defaultValue = "5e-4", paramLabel = "LR",
            description = "AdamW learning rate of the LoRA fit (DragDiffusion's lora_lr; default ${DEFAULT-VALUE}; in (0, 1]).")
    double loraLr;

    /** Side of the video frames' shorter edge at least (small images are scaled up so points and arrows show). */
    static final int VIDEO_MIN_SIDE = 256;

    @Override
    public Integer call() throws IOException {
        // Arguments and inputs first, all of them, so that a mistake costs no model loading.
        mergeSpec();
        if (model == null) throw usage("--model is required (on the command line or in --spec)");
        if (image == null) throw usage("--image is required (on the command line or in --spec)");
        if (out == null) throw usage("--out is required (on the command line or in --spec)");
        if (drags == null || drags.isEmpty()) throw usage("at least one --drag x1,y1:x2,y2 is required (on the command line or in --spec)");
        String outName = out.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!outName.endsWith(".png") && !outName.endsWith(".jpg") && !outName.endsWith(".jpeg"))
            throw usage("--out " + out + ": the image name must end in .png, .jpg or .jpeg");
        if (loraSteps < 0) throw usage("--lora-steps " + loraSteps + ": must be ≥ 0");
        if (steps < 0) throw usage("--steps " + steps + ": must be ≥ 0");
        if (!(lr > 0) || Double.isInfinite(lr)) throw usage("--lr " + lr + ": expected a finite number > 0 (the drag's Adam learning rate)");
        if (!(lam >= 0) || Double.isInfinite(lam)) throw usage("--lam " + lam + ": expected a finite number ≥ 0 (the mask term's weight)");
        if (rM < 1) throw usage("--r-m " + rM + ": expected a whole number ≥ 1 (the motion-supervision radius)");
        if (rP < 1) throw usage("--r-p " + rP + ": expected a whole number ≥ 1 (the point-tracking radius)");
        if (!(reach > 0) || Double.isInfinite(reach)) throw usage("--reach " + reach + ": expected a finite number > 0 (supervision pixels)");
        if (!(loraLr > 0 && loraLr <= 1)) throw usage("--lora-lr " + loraLr + ": expected a number in (0, 1] (the LoRA fit's AdamW learning rate)");
        try {
            DragDiffusion.checkFeatureIdx(featureIdx);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage().replace("edit: unet_feature_idx", "--feature-idx"));
        }
        if (inferenceSteps > 1000) throw usage("--inference-steps " + inferenceSteps + ": at most 1000 (the scheduler's training timesteps)");
        if (!(videoFps > 0 && videoFps <= 100)) throw usage("--video-fps " + videoFps + ": expected a number in (0, 100]");
        if (video != null) {
            try {
                VideoWriter.check(video);
            } catch (IllegalArgumentException e) {
                throw usage(e.getMessage());
            }
            if (video.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize()))
                throw usage("--video " + video + " and --out name the same file");
        }
        Path sidecar = sidecarOf(out);
        if (sidecar.toAbsolutePath().normalize().equals(image.toAbsolutePath().normalize()))
            throw usage("--out " + out + ": its sidecar " + sidecar + " would overwrite the input image");
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
            maskValues = Tensor.of(DragInputs.maskValues(m), m.height(), m.width());
        }
        DragDiffusion.Request req;
        try {
            req = new DragDiffusion.Request(img, points, maskValues, prompt, loraSteps, steps, inferenceSteps, strength, seed, lr, lam, rM, rP, reach, featureIdx, loraLr);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage().replace("inversion: ", "--inference-steps/--strength: "));
        }

        // The model's identity, hashed while the edit runs.
        ExecutorService hasher = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "dragedit-model-hash");
            t.setDaemon(true);
            return t;
        });
        Future<ModelHash> hash = hasher.submit(() -> ModelHash.of(modelDir, variant));
        hasher.shutdown();

        Engine engine = Main.engine(spec);
        Optional<KernelDevice> dev = engine.device();
        dev.ifPresent(KernelDevice::resetPeakBytes);
        Placement placement = engine.onCpu() ? Placement.cpu() : Placement.on(dev.orElseThrow(), DType.F32);
        PrintWriter o = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        StableDiffusion sd = StableDiffusion.load(modelDir, placement, variant);
        double loadSeconds = (System.nanoTime() - t0) / 1e9;
        o.printf(Locale.ROOT, "edit: %s %s, %d drag(s), model %s on %s (loaded in %.2f s)%n", image, img.size(), drags.size(), modelDir,
                engine.description(), loadSeconds);
        o.flush();

        Outputs outputs = new Outputs(out, sidecar, video);
        Thread onInterrupt = new Thread(outputs::abort, "dragedit-edit-abort");
        Runtime.getRuntime().addShutdownHook(onInterrupt);
        try {
            VideoWriter vw = video == null ? null : VideoWriter.open(video, videoFps);
            outputs.video = vw;
            double[][] targetsXy = new double[drags.size()][], handlesXy = new double[drags.size()][];
            for (int k = 0; k < drags.size(); k++) {
                handlesXy[k] = points[2 * k];
                targetsXy[k] = points[2 * k + 1];
            }
            if (vw != null) vw.add(frame(img, handlesXy, targetsXy));
            Map<String, Double> phasePeakMib = new LinkedHashMap<>();
            DragDiffusion.Result r = DragDiffusion.run(sd, req, new DragDiffusion.Listener() {
                final long start = System.nanoTime();
                String current = "load";

                @Override public void phase(String name, String detail) {
                    notePeak();
                    current = name;
                    o.printf(Locale.ROOT, "edit: %s: %s (%.2f s)%n", name, detail, (System.nanoTime() - start) / 1e9);
                    o.flush();
                }

                void notePeak() {
                    dev.ifPresent(d -> {
                        phasePeakMib.put(current, d.peakBytesInUse() / 1048576.0);
                        d.resetPeakBytes();
                    });
                }

                @Override public void loraStep(int step, int n, float loss) {
                    if (step % 10 == 0 || step == n) {
                        o.printf(Locale.ROOT, "edit: lora step %d/%d, loss %.5f%n", step, n, loss);
                        o.flush();
                    }
                }

                @Override public void iteration(DragIteration it, double maxDistance) {
                    o.printf(Locale.ROOT, "edit: drag iteration %d/%d, loss %.6f, max handle distance %.2f%n", it.index() + 1, steps, it.loss(), maxDistance);
                    o.flush();
                }

                @Override public boolean wantsPreviews() { return vw != null; }

                @Override public void preview(int index, double[][] hXy, Images.Rgb frame) {
                    try {
                        vw.add(frame(frame, hXy, targetsXy));
                    } catch (IOException e) {
                        throw new UncheckedIOException("--video " + video + ": " + e.getMessage(), e);
                    }
                }
            });
            dev.ifPresent(d -> phasePeakMib.put("decode", Math.max(phasePeakMib.getOrDefault("decode", 0.0), d.peakBytesInUse() / 1048576.0)));
            double[][] finalXy = new double[r.handles().size()][];
            for (int k = 0; k < finalXy.length; k++)
                finalXy[k] = DragDiffusion.toImageXy(r.handles().get(k), r.supH(), r.supW(), img.height(), img.width());
            if (vw != null) vw.add(frame(r.image(), finalXy, targetsXy));

            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode mh;
            try {
                mh = modelHashJson(json, hash.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("edit: interrupted while hashing the model", e);
            } catch (ExecutionException e) {
                throw new IOException("edit: hashing the model's files failed: " + e.getCause().getMessage(), e.getCause());
            }
            EditSpec files = new EditSpec(modelDir, variant, image, mask, prompt, out, video, videoFps, List.copyOf(drags), loraSteps, steps,
                    inferenceSteps, strength, seed, engine.kind().toString().toLowerCase(Locale.ROOT), lr, lam, rM, rP, reach,
                    java.util.Arrays.stream(featureIdx).boxed().toList(), loraLr);
            ObjectNode side = sidecar(json, "dragedit edit", files, engine.description(), img, points, r, loadSeconds, mh, phasePeakMib,
                    vw == null ? null : vw.frames(), finalXy, (System.nanoTime() - t0) / 1e9);
            byte[] sideBytes = json.writeValueAsBytes(side);

            // All or nothing: the video, the image, then the sidecar; a failure removes what this run wrote.
            if (vw != null) {
                vw.finish();
                outputs.written.add(video);
            }
            Images.write(out, r.image());
            outputs.written.add(out);
            AtomicFiles.write(sidecar, sideBytes);
            outputs.written.add(sidecar);
            outputs.done = true;
            o.printf(Locale.ROOT, "edit: wrote %s (%s)%s and %s; %d drag iteration(s), final distances %s, %.2f s%n", out, r.image().size(),
                    vw == null ? "" : ", " + video + " (" + vw.frames() + " frames)", sidecar,
                    r.iterations(), java.util.Arrays.toString(r.distances()), (System.nanoTime() - t0) / 1e9);
            return Main.EXIT_OK;
        } finally {
            if (!outputs.done) outputs.abort();
            try {
                Runtime.getRuntime().removeShutdownHook(onInterrupt);
            } catch (IllegalStateException e) {
                // the JVM is shutting down (Ctrl+C): the hook runs
            }
        }
    }

    /** What this run writes, so that a failure or Ctrl+C leaves none of it behind. */
    private static final class Outputs {
        final Path out, sidecar, videoPath;
        final List<Path> written = new java.util.concurrent.CopyOnWriteArrayList<>();
        volatile VideoWriter video;
        volatile boolean done;

        Outputs(Path out, Path sidecar, Path videoPath) {
            this.out = out;
            this.sidecar = sidecar;
            this.videoPath = videoPath;
        }

        /** Drops the unfinished video's temporary file and every output already moved into place. */
        synchronized void abort() {
            if (done) return;
            VideoWriter v = video;
            if (v != null) {
                try {
                    v.close();
                } catch (Exception e) {
                    // best effort while failing
                }
            }
            for (Path p : written) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort while failing
                }
            }
            written.clear();
        }
    }

    /** The spec file's fields, for every option not given on the command line. */
    private void mergeSpec() {
        if (specFile == null) return;
        EditSpec s;
        try {
            s = EditSpec.read(specFile);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        CommandLine.ParseResult pr = spec.commandLine().getParseResult();
        java.util.function.Predicate<String> cli = pr::hasMatchedOption;
        if (!cli.test("--model") && s.model() != null) model = s.model();
        if (!cli.test("--variant") && s.variant() != null) variant = s.variant();
        if (!cli.test("--image") && s.image() != null) image = s.image();
        if (!cli.test("--mask") && s.mask() != null) mask = s.mask();
        if (!cli.test("--prompt") && s.prompt() != null) prompt = s.prompt();
        if (!cli.test("--out") && s.out() != null) out = s.out();
        if (!cli.test("--video") && s.video() != null) video = s.video();
        if (!cli.test("--video-fps") && s.videoFps() != null) videoFps = s.videoFps();
        if (!cli.test("--drag") && s.drags() != null) drags = s.drags();
        if (!cli.test("--lora-steps") && s.loraSteps() != null) loraSteps = s.loraSteps();
        if (!cli.test("--steps") && s.steps() != null) steps = s.steps();
        if (!cli.test("--inference-steps") && s.inferenceSteps() != null) inferenceSteps = s.inferenceSteps();
        if (!cli.test("--strength") && s.strength() != null) strength = s.strength();
        if (!cli.test("--seed") && s.seed() != null) seed = s.seed();
        if (!cli.test("--lr") && s.lr() != null) lr = s.lr();
        if (!cli.test("--lam") && s.lam() != null) lam = s.lam();
        if (!cli.test("--r-m") && s.rM() != null) rM = s.rM();
        if (!cli.test("--r-p") && s.rP() != null) rP = s.rP();
        if (!cli.test("--reach") && s.reach() != null) reach = s.reach();
        if (!cli.test("--lora-lr") && s.loraLr() != null) loraLr = s.loraLr();
        if (!cli.test("--feature-idx") && s.featureIdx() != null) featureIdx = s.featureIdx().stream().mapToInt(Integer::intValue).toArray();
        Main.deviceDefault(spec, s.device(), "--spec " + specFile + ": \"device\"");
    }

    /** One video frame: the picture scaled up to at least {@link #VIDEO_MIN_SIDE}, handles red, targets blue, arrows. */
    private static Images.Rgb frame(Images.Rgb picture, double[][] handlesXy, double[][] targetsXy) {
        Images.Rgb big = Overlay.upscale(picture, VIDEO_MIN_SIDE);
        return Overlay.drawPoints(big, handlesXy, targetsXy, (double) big.width() / picture.width());
    }

    /** The sidecar's "model_hash": the model's identity ({@link ModelHash}) with its per-file hashes. */
    private static ObjectNode modelHashJson(ObjectMapper json, ModelHash mh) {
        ObjectNode mhn = json.createObjectNode();
        mhn.put("sha256", mh.sha256());
        mhn.put("note", "SHA-256 of the sorted lines \"relative path  SHA-256 of the file\" of the files below");
        ObjectNode files = mhn.putObject("files");
        mh.files().forEach(files::put);
        return mhn;
    }

    /** The sidecar's "model_hash" of the model folder {@code dir} (and weights variant, may be null): for other front ends' sidecars. */
    public static ObjectNode modelHashJson(ObjectMapper json, Path dir, String variant) throws IOException {
        return modelHashJson(json, ModelHash.of(dir, variant));
    }

    /**
     * The sidecar of a finished edit, written by {@code dragedit edit} and by the viewer's save (command names which):
     * the inputs and parameters ({@code files}: every field set; the image, mask and out paths may still be null, see
     * {@link #placeFiles}), the device, the model hash, per-phase times and memory, the LoRA losses, each drag
     * iteration, the final handles and distances, the video (its frame count, or null for none), and the replayable
     * "spec".
     */
    public static ObjectNode sidecar(ObjectMapper json, String command, EditSpec files, String device, Images.Rgb img, double[][] points,
                                     DragDiffusion.Result r, double loadSeconds, ObjectNode modelHash, Map<String, Double> phasePeakMib,
                                     Integer videoFrames, double[][] finalXy, double totalSeconds) {
        ObjectNode side = json.createObjectNode();
        side.put("command", command);
        side.put("dragedit_version", Main.buildVersion());
        side.put("model", files.model().toString());
        side.putNull("image");
        side.put("image_width", img.width());
        side.put("image_height", img.height());
        ArrayNode dn = side.putArray("drags");
        for (int i = 0; i + 1 < points.length; i += 2) {
            ObjectNode d = dn.addObject();
            d.putArray("handle_xy").add(points[i][0]).add(points[i][1]);
            d.putArray("target_xy").add(points[i + 1][0]).add(points[i + 1][1]);
        }
        side.putNull("mask");
        side.put("prompt", files.prompt());
        side.putNull("out");
        ObjectNode p = side.putObject("parameters");
        p.put("lora_steps", files.loraSteps());
        p.put("lora_rank", 16);
        p.put("lora_batch_size", 4);
        p.put("lora_lr", files.loraLr() != null ? files.loraLr() : DragDiffusion.DEFAULT_LORA_LR);
        p.put("drag_steps", files.steps());
        p.put("n_inference_step", files.inferenceSteps());
        p.put("inversion_strength", files.strength());
        p.put("guidance_scale", 1.0);
        p.put("work_width", r.workW());
        p.put("work_height", r.workH());
        p.put("sup_res_w", r.supW());
        p.put("sup_res_h", r.supH());
        p.put("r_m", files.rM());
        p.put("r_p", files.rP());
        p.put("lam", files.lam());
        p.put("drag_lr", files.lr());
        p.put("reach", files.reach() != null ? files.reach() : 2.0);
        (files.featureIdx() != null ? files.featureIdx() : List.of(3)).forEach(p.putArray("unet_feature_idx")::add);
        p.put("t", r.t());
        side.put("seed", files.seed());
        side.put("device", device);
        side.set("model_hash", modelHash);
        ObjectNode times = side.putObject("phase_seconds");
        times.put("load", loadSeconds);
        for (Map.Entry<String, Double> e : r.phaseSeconds().entrySet()) times.put(e.getKey(), e.getValue());
        ObjectNode mem = side.putObject("peak_memory");
        double rss = UnetBench.peakRssMb();
        if (Double.isNaN(rss)) mem.putNull("process_rss_mib"); else mem.put("process_rss_mib", rss);
        mem.put("jvm_heap_max_mib", Runtime.getRuntime().maxMemory() / 1048576.0);
        if (phasePeakMib.isEmpty()) mem.putNull("device_mib");
        else {
            mem.put("device_mib", phasePeakMib.values().stream().mapToDouble(Double::doubleValue).max().orElse(0));
            ObjectNode per = mem.putObject("device_mib_by_phase");
            phasePeakMib.forEach(per::put);
        }
        mem.put("note", "process_rss_mib: the process's peak resident set (VmHWM); device_mib: the most device memory held by live tensors at once");
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
        ArrayNode fxy = side.putArray("final_handles_xy");
        for (double[] h : finalXy) fxy.addArray().add(h[0]).add(h[1]);
        ArrayNode fd = side.putArray("final_distances");
        for (double d : r.distances()) fd.add(d);
        side.put("points_note", "handles_rc / targets_rc are (row, col) in supervision pixels (sup_res_h × sup_res_w); *_xy are image pixels");
        side.put("iterations_run", r.iterations());
        side.put("reached", r.reached());
        side.put("stopped", r.stopped());
        if (videoFrames != null && files.video() != null) {
            ObjectNode v = side.putObject("video");
            v.put("path", files.video().toString());
            v.put("frames", videoFrames);
            v.put("fps", files.videoFps());
            v.put("preview", DragDiffusion.PREVIEW);
            v.put("frames_note", "the input, one preview per drag iteration, the result; handles red, targets blue");
        } else side.putNull("video");
        side.put("total_seconds", totalSeconds);
        placeFiles(json, side, files);
        return side;
    }

    /**
     * Puts the edit's files into a sidecar made by {@link #sidecar}: "image", "mask", "out" as given, and "spec", every
     * input and parameter with the paths absolute, so that {@code dragedit edit --spec <sidecar>} replays the edit.
     */
    public static void placeFiles(ObjectMapper json, ObjectNode side, EditSpec files) {
        side.put("image", str(files.image()));
        side.put("mask", str(files.mask()));
        side.put("out", str(files.out()));
        EditSpec replay = new EditSpec(abs(files.model()), files.variant(), abs(files.image()), abs(files.mask()), files.prompt(),
                abs(files.out()), abs(files.video()), files.videoFps(), files.drags(), files.loraSteps(), files.steps(), files.inferenceSteps(),
                files.strength(), files.seed(), files.device(), files.lr(), files.lam(), files.rM(), files.rP(), files.reach(), files.featureIdx(),
                files.loraLr());
        side.set("spec", replay.toJson(json));
    }

    private static String str(Path p) { return p == null ? null : p.toString(); }

    private static Path abs(Path p) { return p == null ? null : p.toAbsolutePath(); }

    /** out.png → out.json in the same folder. */
    public static Path sidecarOf(Path out) {
        String n = out.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return out.resolveSibling((dot > 0 ? n.substring(0, dot) : n) + ".json");
    }

    /** "x1,y1:x2,y2" → {{x1, y1}, {x2, y2}}; a handle equal to its target is refused. */
    private double[][] parseDrag(String s) {
        try {
            return parseDragPair(s);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
    }

    /**
     * "x1,y1:x2,y2" → {{x1, y1}, {x2, y2}} (handle, target); IllegalArgumentException naming the option --drag and
     * what was expected. A handle equal to its target is refused. Also used by the viewer's --drag.
     */
    public static double[][] parseDragPair(String s) {
        String[] pts = s.split(":", -1);
        if (pts.length != 2) throw new IllegalArgumentException("--drag " + s + ": expected x1,y1:x2,y2 (handle, then target)");
        double[][] r = new double[2][];
        for (int k = 0; k < 2; k++) {
            String[] c = pts[k].split(",", -1);
            if (c.length != 2) throw new IllegalArgumentException("--drag " + s + ": expected x1,y1:x2,y2 (handle, then target)");
            try {
                r[k] = new double[]{Double.parseDouble(c[0].trim()), Double.parseDouble(c[1].trim())};
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--drag " + s + ": '" + pts[k] + "' is not a point x,y of numbers");
            }
            if (!Double.isFinite(r[k][0]) || !Double.isFinite(r[k][1])) throw new IllegalArgumentException("--drag " + s + ": coordinates must be finite");
        }
        if (r[0][0] == r[1][0] && r[0][1] == r[1][1]) throw new IllegalArgumentException("--drag " + s + ": the handle equals its target; nothing to drag");
        return r;
    }

    private static String fmt(double v) { return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v); }

    private ParameterException usage(String msg) { return new ParameterException(spec.commandLine(), msg); }
}
