package dev.dragedit.viewer;

import dev.dragedit.drag.Images;
import imgui.ImGui;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import static org.lwjgl.glfw.GLFW.*;

/**
 * The viewer's main loop and the actions the panel, the input handler and the script share. One thread (the one that
 * opened the window) owns everything here; the drag runs on {@link DragRunner}'s worker, and each frame only polls
 * {@link DragRunner#latest()} (which never blocks), so the UI keeps its frame rate whatever the run does. A frame:
 * <ol>
 * <li>GLFW events (callbacks into {@link InputHandler} unless imgui has the mouse/keyboard);</li>
 * <li>the run: a new preview and tracked handles from the newest {@link RunFrame}; a finished run's result applied
 * to the editor ({@link EditorState#applyResult}, one undo step);</li>
 * <li>the script's next events (between frames, like real input);</li>
 * <li>drawing (every tick, or while a drag runs on the CPU only when something changed): the new preview uploaded
 * first, then the canvas into imgui's background list, the panel, a screenshot if one was asked for (before the swap,
 * so it is exactly this frame), and the swap;</li>
 * <li>a sleep to the tick's end, so the UI does not take CPU from the drag on a machine without vsync (the null
 * platform has none).</li>
 * </ol>
 */
final class ViewerApp implements AutoCloseable {
    static final double MAX_FPS = 60;
    /**
     * The UI loop's rate while a drag runs on the CPU (the floor), drawing only when something changed (see
     * {@link #loop}). The UI and the drag then share the same cores (with llvmpipe the window's rasteriser is CPU work
     * too): measured on a 2-core machine a 1280×800 frame costs about 9 ms of CPU, so redrawing an unchanged window at
     * 60 fps took a third of the machine from the drag.
     */
    static final double RUN_FPS_ON_CPU = 30;

    private final GlWindow window;
    private final EditorState state;
    private final ViewTransform view;
    private final Panel panel;
    private final CanvasRenderer renderer;
    private final InputHandler input;
    private final RecentModels recent;
    private final String device;
    private final PrintWriter log;
    private Path modelDir;
    private DragRunner runner;

    // The run in flight (or the last one): what it started from, for the editor's result, Save and Export.
    private boolean runInFlight;
    private Images.Rgb runInput;
    private double[][] runPoints;
    private byte[] runMask;
    private RunParams runParams;
    private DragRunner.Result lastResult;
    private Images.Rgb lastInput;
    private double[][] lastPoints;
    private byte[] lastMask;
    private RunParams lastParams;
    private Path lastModel;
    private RunFrame lastFrame;
    private Images.Rgb preview;
    private String failure;

    private String status;
    private Path pendingScreenshot;
    private IOException screenshotError;

    /** Frames drawn after a change, so that imgui's hover and popup states settle. */
    static final int SETTLE_FRAMES = 3;
    private int settle = SETTLE_FRAMES;
    // Rates over the last half second: frames drawn (fps) and UI loop ticks (tickRate: how often input is handled).
    private double fps, tickRate;
    private long rateWindowStart = System.nanoTime(), rateWindowFrames, rateWindowTicks;
    private long frames, ticks;
    private double minTickRate = Double.POSITIVE_INFINITY;
    // While a run was in flight: ticks and their time, frames drawn and their drawing time.
    private long runTicks, runNanos, runDraws, drawNanos;
    private double lastDrawMs;
    /** Per run phase ("lora", "drag", …): {ticks, frames drawn, drawing nanoseconds} while a run was in flight. */
    private final java.util.Map<String, long[]> phaseFrames = new java.util.LinkedHashMap<>();

    ViewerApp(GlWindow window, Images.Rgb image, Path modelDir, String device, RunParams params, RecentModels recent, PrintWriter log) {
        this.window = window;
        this.state = new EditorState(image);
        this.view = new ViewTransform(image.width(), image.height());
        this.panel = new Panel(params, modelDir);
        this.renderer = new CanvasRenderer();
        this.input = new InputHandler(this);
        this.recent = recent;
        this.device = device;
        this.log = log;
        this.modelDir = modelDir;
        this.runner = new DragRunner(modelDir, device);
        layout();
    }

    /** Installs the GLFW callbacks that feed {@link InputHandler}; called before imgui chains its own in front. */
    static void installCallbacks(long win, ViewerApp[] appRef) {
        // Every callback marks the window dirty first: imgui calls these behind its own for every event, so a change
        // that only imgui handles (typing in a field, hovering a button) is drawn too.
        glfwSetCursorPosCallback(win, (w, x, y) -> {
            ViewerApp app = appRef[0];
            if (app == null) return;
            app.dirty();
            if (!app.imguiHasMouse()) app.input.mouseMove(x, y);
        });
        glfwSetMouseButtonCallback(win, (w, button, action, mods) -> {
            ViewerApp app = appRef[0];
            if (app == null) return;
            app.dirty();
            double[] x = new double[1], y = new double[1];
            glfwGetCursorPos(w, x, y);
            if (action == GLFW_PRESS && !app.imguiHasMouse()) app.input.mouseDown(button, x[0], y[0]);
            else if (action == GLFW_RELEASE) app.input.mouseUp(button, x[0], y[0]);   // always: a drag may end over the panel
        });
        glfwSetScrollCallback(win, (w, dx, dy) -> {
            ViewerApp app = appRef[0];
            if (app == null) return;
            app.dirty();
            if (app.imguiHasMouse()) return;
            double[] x = new double[1], y = new double[1];
            glfwGetCursorPos(w, x, y);
            app.input.scroll(x[0], y[0], dy);
        });
        glfwSetKeyCallback(win, (w, key, sc, action, mods) -> {
            ViewerApp app = appRef[0];
            if (app == null) return;
            app.dirty();
            if (app.imguiHasKeyboard()) return;
            app.input.key(key, action, mods);
        });
        glfwSetCharCallback(win, (w, c) -> { if (appRef[0] != null) appRef[0].dirty(); });
        glfwSetWindowSizeCallback(win, (w, width, height) -> { if (appRef[0] != null) appRef[0].dirty(); });
        glfwSetWindowFocusCallback(win, (w, focused) -> { if (appRef[0] != null) appRef[0].dirty(); });
        glfwSetCursorEnterCallback(win, (w, entered) -> { if (appRef[0] != null) appRef[0].dirty(); });
        glfwSetDropCallback(win, (w, count, names) -> {
            ViewerApp app = appRef[0];
            if (app == null) return;
            app.dirty();
            String[] paths = new String[count];
            for (int i = 0; i < count; i++) paths[i] = org.lwjgl.glfw.GLFWDropCallback.getName(names, i);
            app.input.drop(paths);
        });
    }

    private boolean imguiHasMouse() { return ImGui.getCurrentContext() != null && ImGui.getIO().getWantCaptureMouse(); }

    private boolean imguiHasKeyboard() {
        return ImGui.getCurrentContext() != null && (ImGui.getIO().getWantCaptureKeyboard() || panel.dialogOpen());
    }

    // ------------------------------------------------------------------ accessors for the panel, input and script

    EditorState state() { return state; }

    ViewTransform view() { return view; }

    Panel panel() { return panel; }

    InputHandler input() { return input; }

    GlWindow window() { return window; }

    DragRunner runner() { return runner; }

    Path modelDir() { return modelDir; }

    List<String> recentModels() { return recent == null ? List.of() : recent.list(); }

    boolean running() { return runInFlight; }

    /** Points and mask can be edited (not while a run works on them). */
    boolean editable() { return !runInFlight; }

    RunFrame latestFrame() { return lastFrame; }

    /** Why the last run failed, or null. */
    String failure() { return failure; }

    DragRunner.Result lastResult() { return lastResult; }

    /** Frames drawn per second (the last half second). */
    double fps() { return fps; }

    /** Time to draw a frame, ms (a running average). */
    double drawMs() { return lastDrawMs; }

    /** UI loop ticks per second (the last half second): how often input is handled and the run polled. */
    double tickRate() { return tickRate; }

    /** The lowest half-second UI loop rate while a run was in flight (NaN if none was). */
    double minRunTickRate() { return minTickRate == Double.POSITIVE_INFINITY ? Double.NaN : minTickRate; }

    /** Mean UI loop rate while a run was in flight (NaN if none was). */
    double meanRunTickRate() { return runNanos == 0 ? Double.NaN : runTicks / (runNanos / 1e9); }

    /** Mean time to draw one frame while a run was in flight, ms (NaN if none was drawn). */
    double meanDrawMs() { return runDraws == 0 ? Double.NaN : drawNanos / 1e6 / runDraws; }

    long frames() { return frames; }

    /** Mean drawing time per frame per run phase while a run was in flight (phase → ms). */
    java.util.Map<String, Double> drawMsByPhase() {
        java.util.Map<String, Double> m = new java.util.LinkedHashMap<>();
        phaseFrames.forEach((k, v) -> { if (v[1] > 0) m.put(k, v[2] / 1e6 / v[1]); });
        return m;
    }

    String statusLine() { return status; }

    void status(String s) {
        status = s;
        dirty();
        if (log != null && s != null) log.println("view: " + s);
    }

    // ------------------------------------------------------------------ actions

    void toggleRun() {
        if (runInFlight) stop();
        else {
            try {
                start();
            } catch (IllegalArgumentException | IllegalStateException e) {
                status(e.getMessage());
            }
        }
    }

    /** Starts a drag on the editor's image, complete pairs and mask; IllegalStateException/IllegalArgumentException saying why not. */
    void start() {
        if (runInFlight) throw new IllegalStateException("a drag is already running");
        double[][] pts = state.pointsXy();
        if (pts.length == 0) throw new IllegalStateException("nothing to drag: add a handle and its target first (two clicks on the image)");
        RunParams p = panel.params();
        runInput = state.image();
        runPoints = pts;
        runMask = state.mask();
        runParams = p;
        preview = null;
        failure = null;
        lastFrame = null;
        runner.start(runInput, runPoints, state.maskAsFloats255(), p);
        runInFlight = true;
        status("drag started: " + pts.length / 2 + " point pair(s), " + p.steps() + " step(s) at most");
    }

    void stop() {
        if (runInFlight) {
            runner.stop();
            status("stopping after the current step…");
        }
    }

    void undo() {
        if (!runInFlight && state.canUndo()) state.undo();
    }

    void redo() {
        if (!runInFlight && state.canRedo()) state.redo();
    }

    /** Ctrl+O: a new image (points and mask cleared, one undo step); IOException/IllegalArgumentException when unreadable. */
    void open(Path p) throws IOException {
        if (runInFlight) throw new IllegalStateException("stop the drag before opening another image");
        if (!Files.isRegularFile(p)) throw new IOException(p + " is not an image file (expected a PNG or JPEG)");
        Images.Rgb img = Images.read(p);
        state.setImage(img);
        view.setImageSize(img.width(), img.height());
        status("opened " + p + " (" + img.size() + ")");
    }

    /** Ctrl+S: the last drag's edited image, its input and mask and the replayable sidecar ({@link Exporter#save}). */
    void save(Path png) {
        if (lastResult == null) throw new IllegalStateException("nothing to save yet: run a drag first (Start)");
        Exporter.save(png, lastInput, lastMask, lastResult, lastModel, lastParams, lastPoints);
        status("saved " + png + " (+ input, mask and sidecar JSON)");
    }

    /** The Export button: the last drag's previews as a GIF or MP4. */
    void exportVideo(Path file) {
        if (lastResult == null) throw new IllegalStateException("nothing to export yet: run a drag first (Start)");
        Exporter.exportVideo(file, lastInput, lastResult, lastPoints);
        status("exported " + file);
    }

    void openFromUi(Path p) {
        try {
            open(p);
        } catch (IOException | RuntimeException e) {
            status("cannot open " + p + ": " + e.getMessage());
        }
    }

    void saveFromUi(Path p) {
        try {
            save(p);
        } catch (RuntimeException e) {
            status("cannot save " + p + ": " + e.getMessage());
        }
    }

    void exportFromUi(Path p) {
        try {
            exportVideo(p);
        } catch (RuntimeException e) {
            status("cannot export " + p + ": " + e.getMessage());
        }
    }

    /** The model picker: a new runner on {@code dir} (loaded on its worker at the next Start). */
    void loadModel(Path dir, boolean remember) {
        if (runInFlight) {
            status("stop the drag before loading another model");
            return;
        }
        if (!Files.isDirectory(dir)) {
            status("cannot load " + dir + ": not a folder (expected a Stable Diffusion model folder such as models/tiny)");
            return;
        }
        Path abs = dir.toAbsolutePath().normalize();
        runner.close();
        runner = new DragRunner(abs, device);
        modelDir = abs;
        panel.modelPath.set(abs.toString());
        if (remember && recent != null) {
            try {
                recent.add(abs.toString());
            } catch (IOException e) {
                status("model " + abs + " (the recent list could not be saved: " + e.getMessage() + ")");
                return;
            }
        }
        status("model " + abs + " (loaded at the next Start)");
    }

    void requestScreenshot(Path p) { pendingScreenshot = p; }

    boolean screenshotPending() { return pendingScreenshot != null; }

    // ------------------------------------------------------------------ the frame

    /** Canvas = the window right of the panel. */
    private void layout() {
        int[] ws = window.windowSize();
        view.setViewport(Panel.WIDTH, 0, Math.max(1, ws[0] - Panel.WIDTH), Math.max(1, ws[1]));
    }

    /** Polls the run: newest frame, preview, a finished run applied. */
    void pollRun() {
        if (!runInFlight) return;
        RunFrame f = runner.latest();
        if (f != null && f != lastFrame) {
            lastFrame = f;
            if (f.preview() != null) preview = f.preview();
        }
        // running() before result(): the worker sets the result before it clears running.
        boolean workerBusy = runner.running();
        DragRunner.Result r = runner.result();
        if (workerBusy) return;
        runInFlight = false;
        preview = null;
        f = runner.latest();
        lastFrame = f;
        if (r != null) {
            lastResult = r;
            lastInput = runInput;
            lastPoints = runPoints;
            lastMask = runMask;
            lastParams = runParams;
            lastModel = modelDir;
            state.applyResult(r.edited(), r.finalHandlesXy());
            if (r.edited().width() != view.imageWidth() || r.edited().height() != view.imageHeight())
                view.setImageSize(r.edited().width(), r.edited().height());
            status(r.stopped() ? "stopped; result applied (Ctrl+Z undoes it)"
                    : r.reached() ? "every handle reached its target; result applied (Ctrl+Z undoes it)"
                    : "step limit reached; result applied (Ctrl+Z undoes it)");
        } else if (f != null && "failed".equals(f.phase())) {
            failure = f.message() == null ? "the drag failed" : f.message();
            status("drag failed: " + failure);
        } else {
            // Stopped during the LoRA fit or the inversion: the run was abandoned and the image is unchanged.
            status("stopped before the drag began; nothing changed" + (f != null && f.message() != null ? " (" + f.message() + ")" : ""));
        }
    }

    /** Whether the run in flight computes on the CPU (the engine's description of a CPU run starts with its op set, CpuOps). */
    private boolean runOnCpu() {
        String d = lastFrame == null ? null : lastFrame.device();
        return d == null || d.startsWith("CpuOps") || "cpu".equals(device);
    }

    /** Draws and presents one frame; a pending screenshot is taken from it. */
    void renderFrame() throws IOException {
        long t0 = System.nanoTime();
        layout();
        Images.Rgb shown = runInFlight && preview != null ? preview : state.image();
        renderer.prepare(shown, state);
        window.beginFrame();
        double[][] tracked = runInFlight && lastFrame != null ? lastFrame.handlesXy() : null;
        List<double[][]> trails = runInFlight ? runner.trails() : null;
        double[] brushAt = null;
        if (panel.brush.get() && editable() && Double.isFinite(input.mouseX()) && view.inViewport(input.mouseX(), input.mouseY()))
            brushAt = view.toImage(input.mouseX(), input.mouseY());
        renderer.draw(ImGui.getBackgroundDrawList(), view, new CanvasRenderer.Scene(shown, state, panel.showMask.get(), state.pairs(),
                tracked, trails, brushAt, panel.brushRadius[0], panel.mayChange));
        panel.draw(this, window.windowSize()[1]);
        window.renderFrame();
        if (pendingScreenshot != null) {
            int[] fb = window.framebufferSize();
            Path p = pendingScreenshot;
            pendingScreenshot = null;
            Screenshot.write(p, fb[0], fb[1]);
        }
        window.swap();
        frames++;
        long dt = System.nanoTime() - t0;
        lastDrawMs = lastDrawMs == 0 ? dt / 1e6 : 0.9 * lastDrawMs + 0.1 * dt / 1e6;
        if (runInFlight) {
            drawNanos += dt;
            runDraws++;
            long[] pf = phaseFrames.computeIfAbsent(phaseName(), k -> new long[3]);
            pf[1]++;
            pf[2] += dt;
        }
    }

    private String phaseName() { return lastFrame == null ? "start" : lastFrame.phase(); }

    /** Marks the window's content as changed (input, a new run frame, a script event): the next tick draws. */
    void dirty() { settle = SETTLE_FRAMES; }

    /**
     * The loop: one tick per 1/{@link #MAX_FPS} s (1/{@link #RUN_FPS_ON_CPU} while a drag runs on the CPU) handles
     * input, polls the run and plays the script; it draws whenever anything changed. While a drag runs on the CPU it
     * draws only then (a new step, input, a script event, plus a few frames for imgui to settle), since redrawing an
     * unchanged window costs the drag CPU time (llvmpipe rasterises on the CPU); otherwise it draws every tick. Runs
     * until the window closes (interactive) or {@code driver} has played every event (scripted), then draws one more
     * frame for a final screenshot if asked. Returns the script's failure, or null when it completed.
     */
    String loop(ScriptDriver driver, Path finalScreenshot, boolean headlessOnce) throws IOException {
        String failed = null;
        int extra = headlessOnce ? 3 : 0;   // a few frames so that imgui's layout has settled before a headless screenshot
        while (!window.shouldClose()) {
            long t0 = System.nanoTime();
            glfwPollEvents();
            RunFrame before = lastFrame;
            pollRun();
            if (lastFrame != before) dirty();
            if (driver != null) {
                int pos = driver.position();
                ScriptDriver.Outcome o = driver.advance();
                if (o == ScriptDriver.Outcome.FAILED) {
                    failed = driver.failure();
                    break;
                }
                if (o == ScriptDriver.Outcome.DONE) break;
                if (driver.position() != pos || pendingScreenshot != null) dirty();
            } else if (headlessOnce && extra-- <= 0) {
                break;
            }
            boolean lazy = runInFlight && runOnCpu();
            if (!lazy || settle > 0 || pendingScreenshot != null) {
                renderFrame();
                if (settle > 0) settle--;
            }
            tick(t0, lazy);
        }
        if (failed == null && finalScreenshot != null) {
            pollRun();
            requestScreenshot(finalScreenshot);
            renderFrame();
        }
        return failed;
    }

    /** Ends a tick: the rate readouts, then a sleep to the tick's length. */
    private void tick(long t0, boolean lazy) {
        ticks++;
        long now = System.nanoTime();
        if (now - rateWindowStart >= 500_000_000L) {
            double secs = (now - rateWindowStart) / 1e9;
            fps = (frames - rateWindowFrames) / secs;
            tickRate = (ticks - rateWindowTicks) / secs;
            if (runInFlight) minTickRate = Math.min(minTickRate, tickRate);
            rateWindowStart = now;
            rateWindowFrames = frames;
            rateWindowTicks = ticks;
        }
        long budget = (long) (1e9 / (lazy ? RUN_FPS_ON_CPU : MAX_FPS)), spent = now - t0;
        if (spent < budget) {
            try {
                Thread.sleep((budget - spent) / 1_000_000L, (int) ((budget - spent) % 1_000_000L));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (runInFlight) {
            long dt = System.nanoTime() - t0;
            runTicks++;
            runNanos += dt;
            long[] pf = phaseFrames.computeIfAbsent(phaseName(), k -> new long[3]);
            pf[0]++;
        }
    }

    /** The run's frame-rate numbers for the log. */
    String fpsSummary() {
        if (runNanos == 0) return frames + " frames drawn (no drag ran)";
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%d frames drawn; while a run was in flight: the UI loop ran at %.1f Hz mean"
                + " (%.1f Hz lowest half-second), drew %.1f frames/s, %.1f ms per drawn frame (%.0f fps possible)",
                frames, meanRunTickRate(), minRunTickRate(), runNanos == 0 ? Double.NaN : runDraws / (runNanos / 1e9), meanDrawMs(), 1000 / meanDrawMs()));
        if (!phaseFrames.isEmpty()) {
            b.append("; by phase (loop ticks / frames drawn / ms per drawn frame):");
            phaseFrames.forEach((k, v) -> b.append(String.format(Locale.ROOT, " %s %d/%d/%.1f", k, v[0], v[1], v[1] == 0 ? 0 : v[2] / 1e6 / v[1])));
        }
        return b.toString();
    }

    @Override
    public void close() {
        runner.close();
        renderer.close();
    }
}
