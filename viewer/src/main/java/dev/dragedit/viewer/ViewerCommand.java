package dev.dragedit.viewer;

import dev.dragedit.cli.Main;
import dev.dragedit.drag.Images;
import dev.dragedit.engine.DeviceChoice;
import dev.dragedit.eval.SyntheticSuite;
import dev.dragedit.models.BundledModel;
import dev.dragedit.scenes.Scene;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code dragedit view}: the live viewer. Interactive by default (a window on the desktop); {@code --script} plays a
 * {@link SessionScript} and exits, {@code --headless} renders offscreen (GLFW's null platform with an EGL context,
 * which Mesa's llvmpipe provides without a GPU or display): that is how CI drives a real GL window. Without an image
 * the viewer opens the demo's synthetic scene (64×64, seed 1012, a red ellipse and an orange disc), with its
 * caption as the prompt; without --model, the bundled models/tiny. Exit codes: 0 done (the script completed), 1 a
 * script event failed or a wait timed out (the message names the event), 2 bad input or no display / no EGL.
 */
@Command(name = "view", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        description = {"Open the live drag viewer: place handles and targets, paint the mask, watch every optimisation step.",
                "Keys: click adds a handle then its target, drag moves a point, right click/Del removes it; Space starts/stops; "
                        + "wheel zooms, middle drag or Space+drag pans, F fits, 1 is 100%%; Ctrl+Z/Ctrl+Shift+Z undo/redo; "
                        + "Ctrl+O open, Ctrl+S save. The global --device picks cpu or cuda."})
final class ViewerCommand implements Callable<Integer> {
    /** The scene the viewer opens without an image: the demo's (a red ellipse and an orange disc on a checker). */
    static final long DEFAULT_SCENE_SEED = 1012;
    static final int DEFAULT_SCENE_SIZE = 64;

    @Spec CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "IMAGE", description = "A PNG or JPEG to edit (default: the demo's synthetic scene).")
    Path image;

    @Option(names = "--model", paramLabel = "DIR", description = "A Stable Diffusion model folder (default: the bundled models/tiny).")
    Path model;

    @Option(names = "--script", paramLabel = "FILE", description = "Play a JSON session script (input events, waits, screenshots) and exit; implies --headless.")
    Path script;

    @Option(names = "--screenshot", paramLabel = "OUT.png", description = "Write the window's last frame as PNG before exiting (with --script or --headless).")
    Path screenshot;

    @Option(names = "--headless", description = "No window on the desktop: render offscreen (GLFW null platform + EGL); exits after a few frames unless a script runs.")
    boolean headless;

    @Option(names = "--drag", paramLabel = "x1,y1:x2,y2", description = "Place a handle and its target (image pixels); repeatable.")
    java.util.List<String> drags = new java.util.ArrayList<>();

    @Option(names = "--mask", paramLabel = "MASK.png", description = "Start with this editable region (nonzero = may change), the image's size.")
    Path mask;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "The prompt field (default: the scene's caption, or empty).")
    String prompt;

    @Option(names = "--seed", paramLabel = "S", description = "The seed field.")
    Long seed;

    @Option(names = "--steps", paramLabel = "N", description = "Drag iterations at most (the steps field).")
    Integer steps;

    @Option(names = "--lora-steps", paramLabel = "N", description = "LoRA steps field.")
    Integer loraSteps;

    @Option(names = "--inference-steps", paramLabel = "N", description = "DDIM steps field.")
    Integer inferenceSteps;

    @Option(names = "--lr", paramLabel = "LR", description = "The drag's learning-rate field.")
    Double lr;

    @Option(names = "--r-m", paramLabel = "R", description = "The motion-supervision radius field (supervision pixels).")
    Integer rM;

    @Option(names = "--r-p", paramLabel = "R", description = "The point-tracking radius field (supervision pixels).")
    Integer rP;

    @Option(names = "--lora-lr", paramLabel = "LR", description = "The LoRA learning-rate field (DragDiffusion's lora_lr).")
    Double loraLr;

    @Option(names = "--reach", paramLabel = "D", description = "The reach field: a handle within D supervision pixels of its target is done.")
    Double reach;

    @Option(names = "--feature-idx", split = ",", paramLabel = "K[,K…]", description = "The UNet features field (DragDiffusion's unet_feature_idx, e.g. 3 or 2,3).")
    int[] featureIdx;

    @Option(names = "--start", description = "Start the drag as soon as the window is open (needs at least one --drag).")
    boolean startNow;

    /**
     * The panel's first values: DragDiffusion's defaults for a given image; for the default scene (no image), the
     * synthetic suite's and the demo's, with the scene's caption as the prompt; then every option given on the command line.
     */
    RunParams initialParams(String sceneCaptionOrNull) {
        RunParams params = sceneCaptionOrNull == null ? RunParams.defaults() : RunParams.forSyntheticScene(sceneCaptionOrNull, DEFAULT_SCENE_SEED);
        return new RunParams(prompt != null ? prompt : params.prompt(), seed != null ? seed : params.seed(),
                steps != null ? steps : params.steps(), lr != null ? lr : params.lr(), params.lam(), rM != null ? rM : params.rM(),
                rP != null ? rP : params.rP(), params.strength(),
                loraSteps != null ? loraSteps : params.loraSteps(), inferenceSteps != null ? inferenceSteps : params.inferenceSteps(),
                featureIdx != null ? featureIdx : params.featureIdx(), loraLr != null ? loraLr : params.loraLr(),
                reach != null ? reach : params.reach());
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        SessionScript session = null;
        if (script != null) {
            try {
                session = SessionScript.read(script);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
        }
        if (screenshot != null) {
            if (script == null && !headless)
                throw new ParameterException(spec.commandLine(), "--screenshot needs --script or --headless (the interactive viewer exits only when its window closes)");
            if (!screenshot.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png"))
                throw new ParameterException(spec.commandLine(), "--screenshot " + screenshot + ": expected a .png file name");
        }
        Path modelDir = model != null ? model : session != null && session.model() != null ? session.model() : BundledModel.path();
        if (!Files.isDirectory(modelDir)) {
            throw new ParameterException(spec.commandLine(), model != null || (session != null && session.model() != null)
                    ? "model " + modelDir + " is not a folder; expected a Stable Diffusion model folder (e.g. models/tiny)"
                    : "the bundled model " + modelDir + " is missing; it is part of the repository (models/tiny), or give --model DIR");
        }
        Path imagePath = image != null ? image : session != null ? session.image() : null;
        Images.Rgb img;
        String sceneCaption = null;
        if (imagePath != null) {
            if (!Files.isRegularFile(imagePath))
                throw new ParameterException(spec.commandLine(), "image " + imagePath + " is not a file; expected a PNG or JPEG");
            try {
                img = Images.read(imagePath);
            } catch (IOException e) {
                throw new ParameterException(spec.commandLine(), "image " + imagePath + ": " + e.getMessage());
            }
        } else {
            Scene scene = SyntheticSuite.cases(1, DEFAULT_SCENE_SEED, DEFAULT_SCENE_SIZE).get(0).scene();
            img = scene.image();
            sceneCaption = scene.caption();
        }
        RunParams params = initialParams(sceneCaption);
        try {
            params.toRequest(img, new double[][]{{0, 0}, {1, 1}}, null);   // checks the fields now, with their names
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        java.util.List<double[]> clicks = new java.util.ArrayList<>();
        for (String d : drags) {
            double[][] pair;
            try {
                pair = dev.dragedit.cli.EditCommand.parseDragPair(d);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
            for (double[] p : pair)
                if (p[0] < 0 || p[1] < 0 || p[0] >= img.width() || p[1] >= img.height())
                    throw new ParameterException(spec.commandLine(), "--drag " + d + ": (" + p[0] + ", " + p[1] + ") is outside the " + img.size() + " image");
            clicks.add(pair[0]);
            clicks.add(pair[1]);
        }
        if (startNow && clicks.isEmpty()) throw new ParameterException(spec.commandLine(), "--start needs at least one --drag x1,y1:x2,y2");
        byte[] maskBytes = null;
        if (mask != null) {
            Images.Rgb m;
            try {
                m = Images.read(mask);
            } catch (IOException e) {
                throw new ParameterException(spec.commandLine(), "--mask " + mask + ": " + e.getMessage());
            }
            if (m.width() != img.width() || m.height() != img.height())
                throw new ParameterException(spec.commandLine(), "--mask " + mask + " is " + m.size() + " but the image is " + img.size());
            float[] v = dev.dragedit.drag.DragInputs.maskValues(m);   // the rule `dragedit edit --mask` uses
            maskBytes = new byte[v.length];
            for (int i = 0; i < v.length; i++) maskBytes[i] = (byte) (v[i] != 0 ? 1 : 0);
        }
        String device = device();
        boolean offscreen = headless || session != null;
        int w = session != null ? session.windowWidth() : SessionScript.DEFAULT_W;
        int h = session != null ? session.windowHeight() : SessionScript.DEFAULT_H;

        ViewerApp[] ref = new ViewerApp[1];
        GlWindow window;
        try {
            window = GlWindow.open("dragedit view", w, h, offscreen, win -> ViewerApp.installCallbacks(win, ref));
        } catch (GlWindow.OpenException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        String failed;
        try (window) {
            try (ViewerApp app = new ViewerApp(window, img, modelDir.toAbsolutePath().normalize(), device, params,
                    offscreen ? null : new RecentModels(RecentModels.defaultFile()), offscreen ? out : null)) {
                ref[0] = app;
                for (double[] c : clicks) app.state().click(c[0], c[1]);
                if (maskBytes != null) app.state().setMask(maskBytes);
                if (startNow) app.start();
                if (offscreen) out.println("view: " + window.renderer() + ", window " + w + "×" + h + ", model " + app.modelDir());
                ScriptDriver driver = session == null ? null : new ScriptDriver(session, app);
                failed = app.loop(driver, screenshot, session == null && headless);
                if (offscreen) {
                    RunFrame f = app.latestFrame();
                    out.println("view: " + app.fpsSummary());
                    if (f != null) out.printf(Locale.ROOT, "view: last run: phase %s, step %d/%d, %.2f it/s, previews %s, on %s%n", f.phase(), f.step(),
                            f.steps(), f.itPerSec(), app.runner().previewKind(), f.device());
                    if (screenshot != null && failed == null) out.println("view: wrote " + screenshot);
                }
                ref[0] = null;
            }
        }
        if (failed != null) {
            err.println("dragedit: view: " + failed);
            return Main.EXIT_FAILURE;
        }
        return Main.EXIT_OK;
    }

    /** The global --device as DragRunner's device name: null for auto, "cpu", "cuda". */
    private String device() {
        if (!(spec.root().userObject() instanceof Main main)) return null;
        DeviceChoice d = main.runOptions().device();
        return switch (d) {
            case AUTO -> null;
            case CPU -> "cpu";
            case CUDA -> "cuda";
            case EMULATED -> throw new ParameterException(spec.commandLine(), "view: --device emulated is not supported by the viewer (expected auto, cpu or cuda)");
        };
    }
}
