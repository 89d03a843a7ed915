package dev.dragedit.viewer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.dragedit.cli.EditCommand;
import dev.dragedit.cli.EditSpec;
import dev.dragedit.cuda.KernelDevice;
import dev.dragedit.drag.DragDiffusion;
import dev.dragedit.drag.DragIteration;
import dev.dragedit.drag.Images;
import dev.dragedit.engine.DeviceChoice;
import dev.dragedit.engine.Engine;
import dev.dragedit.engine.RunOptions;
import dev.dragedit.models.nn.Placement;
import dev.dragedit.models.sd.StableDiffusion;
import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Runs DragDiffusion for the viewer on one worker thread, so the UI thread never waits on the model: the model is
 * loaded once per runner (lazily, on the worker, so a bad folder becomes a "failed" frame, not a frozen window) and
 * each run publishes an immutable {@link RunFrame} after every LoRA step, every drag iteration (with a preview, the
 * tracked handles, their distances, it/s, device and memory) and every phase change; the UI polls {@link #latest()}.
 * Stop sets a flag that the engine polls at every step (DragDiffusion.Listener#stopRequested): during the LoRA fit or
 * the inversion the run is abandoned ("stopped", no result); during the drag the loop ends before its next iteration
 * and the denoise and decode finish the result. Any failure, out-of-memory included, ends in a "failed" frame.
 * <p>
 * Previews: each iteration's pred_x0 becomes a picture either by the VAE decode (what {@code dragedit edit --video}
 * shows) or by {@link FastPreview}. On a GPU the decode is used. On the CPU the VAE decode of a 64×64 image with the
 * bundled tiny model costs about as much as the drag step (measured in the viewer's issue report), so in AUTO mode the
 * runner times its first decodes against the step and switches to FastPreview when a decode costs more than 35% of a
 * step, keeping the step rate within the bound.
 */
public final class DragRunner implements AutoCloseable {
    /** How previews are made: AUTO decides per run (see the class comment), FULL always decodes, FAST never does. */
    public enum PreviewMode { AUTO, FULL, FAST }

    /** A decode costing more than this fraction of a drag step switches AUTO to FastPreview. */
    static final double MAX_DECODE_SHARE = 0.35;

    /**
     * What a finished run made: the edited image, the final handles (image pixels), each drag iteration's preview and
     * the tracked handles it shows (for the exported video), the sidecar without file names (see Exporter), whether
     * Stop ended the drag, and whether every handle reached its target.
     */
    public record Result(Images.Rgb edited, double[][] finalHandlesXy, List<Images.Rgb> previews,
                         ObjectNode sidecar, boolean stopped, boolean reached, List<double[][]> previewHandles) {}

    private final Path modelDir;
    private final String device;
    private final ExecutorService worker;
    private volatile PreviewMode previewMode = PreviewMode.AUTO;
    private volatile Consumer<RunFrame> frameListener;

    // Worker-only state.
    private Engine engine;
    private StableDiffusion sd;
    private ObjectNode modelHash;
    private double loadSeconds;

    // Shared with the UI thread.
    private volatile boolean running, stopRequested;
    private volatile RunFrame latest;
    private volatile Result result;
    private volatile int stepsDone;
    private volatile String previewKind = "none";
    private final List<List<double[]>> trails = new ArrayList<>();
    private final AtomicLong frames = new AtomicLong();

    /** device: "cpu", "cuda" (or "emulated", for tests); null = the GPU when there is one, else the CPU. */
    public DragRunner(Path modelDir, String device) {
        if (modelDir == null) throw new IllegalArgumentException("DragRunner: no model folder");
        this.modelDir = modelDir.toAbsolutePath().normalize();
        this.device = device;
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "dragedit-drag-worker");
            t.setDaemon(true);
            return t;
        });
    }

    public Path modelDir() { return modelDir; }

    public void setPreviewMode(PreviewMode mode) { previewMode = mode; }

    /** "vae" or "fast": how the current (or last) run's previews are made, once decided; "none" before. */
    public String previewKind() { return previewKind; }

    /** Called on the worker thread with every frame as it is published (tests count them; the UI polls {@link #latest}). */
    public void setFrameListener(Consumer<RunFrame> l) { frameListener = l; }

    /** Frames published since this runner was made. */
    public long framesPublished() { return frames.get(); }

    /**
     * Starts a drag of image with pointsXy (handle, target, … in image pixels) and an optional mask (255 may change,
     * 0 keep; h·w values). Bad points or knobs throw IllegalArgumentException here, before the worker starts.
     */
    public synchronized void start(Images.Rgb image, double[][] pointsXy, float[] mask255OrNull, RunParams p) {
        if (running) throw new IllegalStateException("a drag is already running; stop it first");
        for (double[] q : pointsXy)
            if (!(q[0] >= 0 && q[0] < image.width() && q[1] >= 0 && q[1] < image.height()))
                throw new IllegalArgumentException("point (" + q[0] + ", " + q[1] + ") is outside the " + image.size() + " image");
        DragDiffusion.Request req = p.toRequest(image, copy(pointsXy), mask255OrNull);
        running = true;
        stopRequested = false;
        result = null;
        stepsDone = 0;
        latest = null;
        synchronized (trails) {
            trails.clear();
            for (int k = 0; k + 1 < pointsXy.length; k += 2) {
                List<double[]> t = new ArrayList<>();
                t.add(pointsXy[k].clone());
                trails.add(t);
            }
        }
        try {
            worker.execute(() -> run(req, p));
        } catch (RuntimeException e) {
            running = false;
            throw e;
        }
    }

    public boolean running() { return running; }

    public void stop() { stopRequested = true; }

    public RunFrame latest() { return latest; }

    /** Per handle, its tracked positions so far (image pixels), starting at the clicked handle. A copy. */
    public List<double[][]> trails() {
        synchronized (trails) {
            List<double[][]> out = new ArrayList<>(trails.size());
            for (List<double[]> t : trails) out.add(t.stream().map(double[]::clone).toArray(double[][]::new));
            return out;
        }
    }

    public Result result() { return result; }

    public int stepsDone() { return stepsDone; }

    /** Stops the run, waits for the worker (the denoise and decode of a stopped drag finish first), releases the device. */
    @Override
    public void close() {
        stop();
        worker.shutdown();
        try {
            if (!worker.awaitTermination(120, TimeUnit.SECONDS)) worker.shutdownNow();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (engine != null && !running) engine.close();
    }

    // ------------------------------------------------------------------ the worker

    private String deviceName() { return engine == null ? (device == null ? "auto" : device) : engine.description(); }

    private long memoryBytes() {
        if (engine != null && engine.device().isPresent()) return engine.device().get().bytesInUse();
        return residentBytes();
    }

    /** The process's resident set (VmRSS), or the JVM heap in use where /proc is absent. */
    static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    private void publish(String phase, int step, int steps, double loss, Images.Rgb preview, double[][] handles, double[][] dist,
                         double itPerSec, String message) {
        RunFrame f = new RunFrame(phase, step, steps, loss, preview, handles, dist, itPerSec, deviceName(), memoryBytes(), message);
        latest = f;
        frames.incrementAndGet();
        Consumer<RunFrame> l = frameListener;
        if (l != null) l.accept(f);
    }

    private void load() throws IOException {
        if (sd != null) return;
        long t0 = System.nanoTime();
        if (!Files.isRegularFile(modelDir.resolve("model_index.json")) && !Files.isDirectory(modelDir.resolve("unet")))
            throw new IllegalArgumentException("model " + modelDir + " is not a Stable Diffusion folder (unet/, vae/, text_encoder/, tokenizer/, scheduler/)");
        if (engine == null) engine = Engine.open(new RunOptions(device == null ? DeviceChoice.AUTO : DeviceChoice.parse(device), false));
        Placement placement = engine.onCpu() ? Placement.cpu() : Placement.on(engine.device().orElseThrow(), DType.F32);
        sd = StableDiffusion.load(modelDir, placement, null);
        modelHash = EditCommand.modelHashJson(new ObjectMapper(), modelDir, null);
        loadSeconds = (System.nanoTime() - t0) / 1e9;
    }

    private void run(DragDiffusion.Request req, RunParams p) {
        long t0 = System.nanoTime();
        String phase = "text";
        try {
            publish("text", 0, 0, Double.NaN, null, null, null, 0, sd == null ? "loading " + modelDir : "encoding the prompt");
            load();
            Listener l = new Listener(req, p);
            DragDiffusion.Result r = DragDiffusion.run(sd, req, l);
            Images.Rgb img = req.image();
            double[][] fin = new double[r.handles().size()][];
            for (int k = 0; k < fin.length; k++)
                fin[k] = DragDiffusion.toImageXy(r.handles().get(k), r.supH(), r.supW(), img.height(), img.width());
            double[][] pts = req.pointsXy();
            List<String> drags = new ArrayList<>();
            for (int k = 0; k + 1 < pts.length; k += 2) drags.add(EditSpec.drag(pts[k], pts[k + 1]));
            // A stopped drag replays as a drag asked for the iterations it ran: the loop is deterministic.
            EditSpec files = new EditSpec(modelDir, null, null, null, p.prompt(), null, null, null, drags, p.loraSteps(),
                    r.stopped() ? r.iterations() : p.steps(), p.inferenceSteps(), p.strength(), p.seed(),
                    engine.kind().toString().toLowerCase(Locale.ROOT), p.lr(), p.lam(), p.rM(), p.rP(), p.reach(),
                    java.util.Arrays.stream(p.featureIdx()).boxed().toList(), p.loraLr());
            Map<String, Double> peak = new LinkedHashMap<>();
            ObjectNode side = EditCommand.sidecar(new ObjectMapper(), "dragedit view", files, engine.description(), img, pts, r,
                    loadSeconds, modelHash.deepCopy(), peak, null, fin, (System.nanoTime() - t0) / 1e9);
            synchronized (trails) {
                for (int k = 0; k < fin.length && k < trails.size(); k++) trails.get(k).add(fin[k].clone());
            }
            result = new Result(r.image(), fin, List.copyOf(l.previews), side, r.stopped(), r.reached(), List.copyOf(l.previewHandles));
            publish(r.stopped() ? "stopped" : "done", r.iterations(), p.steps(), Double.NaN, r.image(), fin, distances(fin, pts),
                    l.itPerSec(), r.stopped() ? "stopped after " + r.iterations() + " iteration(s)" : r.reached() ? "every handle reached its target"
                            : r.iterations() + " iteration(s)");
        } catch (DragDiffusion.Cancelled e) {
            publish("stopped", 0, 0, Double.NaN, null, null, null, 0, e.getMessage());
        } catch (OutOfMemoryError e) {
            publish("failed", 0, 0, Double.NaN, null, null, null, 0, "out of memory (" + e.getMessage() + "); try a smaller image, fewer LoRA steps or another device");
        } catch (Throwable e) {
            String m = e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName() : e.getMessage();
            if (sd == null) m = "cannot load the model " + modelDir + ": " + m;
            publish("failed", 0, 0, Double.NaN, null, null, null, 0, m);
        } finally {
            running = false;
        }
    }

    private static double[][] distances(double[][] handles, double[][] pts) {
        double[][] d = new double[handles.length][];
        for (int k = 0; k < handles.length; k++) {
            double[] t = pts[2 * k + 1];
            d[k] = new double[]{Math.hypot(handles[k][0] - t[0], handles[k][1] - t[1])};
        }
        return d;
    }

    private static double[][] copy(double[][] a) {
        double[][] c = new double[a.length][];
        for (int i = 0; i < a.length; i++) c[i] = a[i].clone();
        return c;
    }

    /** The engine's progress turned into frames; runs on the worker. */
    private final class Listener implements DragDiffusion.Listener {
        final DragDiffusion.Request req;
        final RunParams p;
        final List<Images.Rgb> previews = new ArrayList<>();
        final List<double[][]> previewHandles = new ArrayList<>();
        final ArrayDeque<Long> stepTimes = new ArrayDeque<>();
        FastPreview fast;
        Boolean useFast; // null: AUTO has not decided yet
        Images.Rgb preview;
        double[][] handles;
        long lastPrediction, lastDecodeNanos;

        Listener(DragDiffusion.Request req, RunParams p) {
            this.req = req;
            this.p = p;
            PreviewMode m = previewMode;
            boolean gpu = engine != null && !engine.onCpu();
            useFast = m == PreviewMode.FAST ? Boolean.TRUE : m == PreviewMode.FULL || gpu ? Boolean.FALSE : null;
            previewKind = useFast == null ? "none" : useFast ? "fast" : "vae";
        }

        @Override public boolean stopRequested() { return stopRequested; }

        @Override public void phase(String name, String detail) {
            int steps = name.equals("lora") ? p.loraSteps() : name.equals("drag") ? p.steps() : 0;
            if (name.equals("denoise") && preview != null) // the iteration that found every handle at its target
                publish(name, stepsDone, p.steps(), Double.NaN, preview, handles, distances(handles, req.pointsXy()), itPerSec(), detail);
            else publish(name, 0, steps, Double.NaN, null, handles, handles == null ? null : distances(handles, req.pointsXy()), 0, detail);
        }

        @Override public void loraStep(int step, int steps, float loss) {
            publish("lora", step, steps, loss, null, null, null, 0, null);
        }

        @Override public boolean wantsPredictions() { return true; }

        @Override public void encoded(Tensor z0) {
            if (!Boolean.FALSE.equals(useFast)) fast = FastPreview.fit(req.image(), z0.toCpu());
        }

        @Override public void prediction(int index, double[][] handlesXy, Tensor predX0) {
            long now = System.nanoTime();
            Images.Rgb img = req.image();
            if (useFast == null && lastPrediction != 0 && index >= 2) {
                // The interval since the last prediction is one step plus its decode; the first interval carries the
                // warm-up, so the decision uses the second and later.
                double step = now - lastPrediction - lastDecodeNanos;
                useFast = lastDecodeNanos > MAX_DECODE_SHARE * step;
                previewKind = useFast ? "fast" : "vae";
            }
            lastPrediction = now;
            long d0 = System.nanoTime();
            if (Boolean.TRUE.equals(useFast)) preview = fast.apply(predX0, img.height(), img.width());
            else preview = DragDiffusion.decodePreview(sd, predX0, img.height(), img.width());
            lastDecodeNanos = System.nanoTime() - d0;
            if (useFast == null) previewKind = "vae";
            handles = handlesXy;
            previews.add(preview);
            previewHandles.add(copy(handlesXy));
            synchronized (trails) {
                for (int k = 0; k < handlesXy.length && k < trails.size(); k++) {
                    List<double[]> t = trails.get(k);
                    double[] last = t.get(t.size() - 1);
                    if (index > 0 || last[0] != handlesXy[k][0] || last[1] != handlesXy[k][1]) t.add(handlesXy[k].clone());
                }
            }
        }

        @Override public void iteration(DragIteration it, double maxDistance) {
            long now = System.nanoTime();
            stepTimes.addLast(now);
            while (stepTimes.size() > 6) stepTimes.removeFirst();
            stepsDone = it.index() + 1;
            publish("drag", it.index() + 1, p.steps(), it.loss(), preview, handles, distances(handles, req.pointsXy()), itPerSec(), null);
        }

        /** Iterations per second over the last five. */
        double itPerSec() {
            if (stepTimes.size() < 2) return Double.NaN;
            return (stepTimes.size() - 1) / ((stepTimes.peekLast() - stepTimes.peekFirst()) / 1e9);
        }
    }
}
