package dev.dragedit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.dragedit.drag.Images;
import dev.dragedit.engine.Engine;
import dev.dragedit.eval.EvalCommand;
import dev.dragedit.eval.SyntheticSuite;
import dev.dragedit.models.BundledModel;
import dev.dragedit.ops.cpu.Simd;
import dev.dragedit.scenes.Scene;
import dev.dragedit.scenes.SceneObject;
import dev.dragedit.util.Parallel;
import dev.dragedit.video.Overlay;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code dragedit demo}: the main job on a fresh machine, with no arguments, no network and no GPU: a synthetic scene
 * (a coloured object on a patterned background, {@link SceneGenerator}), a drag of the object's centre to a point some
 * distance away, and the whole DragDiffusion edit ({@code dragedit edit}) on the bundled tiny model (models/tiny,
 * trained by {@code dragedit train-tiny}). Writes demo/input.png, demo/edited.png with its sidecar demo/edited.json,
 * demo/drag.gif (the drag step by step) and demo/before-after.png (points and arrows drawn), and prints where the
 * object ended up, measured by a colour detector that does not use the model. {@code --self-check} runs the engine
 * self-check instead ({@link SelfCheck}: sgemm, conv2d, groupNorm, SiLU against float64 references on the run's device).
 */
@Command(name = "demo", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        description = {"Drag an object in a synthetic scene with the bundled tiny model (DragDiffusion, CPU or GPU).",
                "Writes DIR/input.png, DIR/edited.png (+ edited.json), DIR/drag.gif and DIR/before-after.png, and prints the "
                        + "measured distance of the object to its target."})
final class DemoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--out-dir", defaultValue = "demo", paramLabel = "DIR", description = "Where the outputs go (default ${DEFAULT-VALUE}).")
    Path outDir;

    @Option(names = "--seed", defaultValue = "1012", paramLabel = "N",
            description = "Which scene (default ${DEFAULT-VALUE}: a red ellipse dragged 10 px beside an orange disc on a checker; the eval's scene 12, see models/tiny/README.md).")
    long seed;

    @Option(names = "--model", paramLabel = "DIR", description = "A Stable Diffusion folder instead of the bundled models/tiny.")
    Path model;

    @Option(names = "--lora-steps", defaultValue = "" + DEFAULT_LORA_STEPS, paramLabel = "N", description = "LoRA steps (default ${DEFAULT-VALUE}).")
    int loraSteps;

    @Option(names = "--steps", defaultValue = "" + EvalCommand.SYNTHETIC_STEPS, paramLabel = "N", description = "Drag iterations at most (default ${DEFAULT-VALUE}; the drag stops earlier when the handle reaches the target).")
    int steps;

    @Option(names = "--inference-steps", defaultValue = "" + DEFAULT_INFERENCE_STEPS, paramLabel = "N",
            description = "DDIM steps (default ${DEFAULT-VALUE}; 70%% of them are inverted and denoised).")
    int inferenceSteps;

    @Option(names = "--no-view", description = "Do not open the live viewer afterwards (it opens only when a display exists: DISPLAY or WAYLAND_DISPLAY).")
    boolean noView;

    @Option(names = "--self-check", description = "Run the engine self-check instead of the demo edit.")
    boolean selfCheck;

    static final int DEFAULT_LORA_STEPS = 20;
    static final int DEFAULT_INFERENCE_STEPS = 50;
    static final int SIZE = 64;

    @Override
    public Integer call() throws IOException {
        if (selfCheck) return selfCheck();
        PrintWriter out = spec.commandLine().getOut();
        Path modelDir = model != null ? model : BundledModel.path();
        if (!Files.isDirectory(modelDir))
            throw new ParameterException(spec.commandLine(), model != null ? "--model " + model + " is not a folder"
                    : "the bundled model " + modelDir + " is missing; it is part of the repository (models/tiny), or train one with "
                    + "'dragedit train-tiny --out models/tiny' (or give --model DIR)");
        SyntheticSuite.Case c = SyntheticSuite.cases(1, seed, SIZE).get(0);
        Scene scene = c.scene();
        SceneObject obj = c.object();
        double[] handle = c.handlePixel(), target = c.targetPixel();
        Files.createDirectories(outDir);
        Path input = outDir.resolve("input.png"), maskFile = outDir.resolve("mask.png"), edited = outDir.resolve("edited.png"),
                gif = outDir.resolve("drag.gif");
        Images.write(input, scene.image());
        Images.write(maskFile, c.maskImage());
        String drag = fmt(handle[0]) + "," + fmt(handle[1]) + ":" + fmt(target[0]) + "," + fmt(target[1]);
        out.printf(Locale.ROOT, "demo: scene %d, \"%s\": dragging the %s %s from pixel (%s) to (%s), %.1f px, on %s%n", seed, scene.caption(),
                obj.colourName(), obj.shape().word(), fmt(handle[0]) + ", " + fmt(handle[1]), fmt(target[0]) + ", " + fmt(target[1]),
                c.distance(), modelDir);
        out.flush();
        List<String> args = new ArrayList<>(List.of("--model", modelDir.toString(), "--image", input.toString(), "--drag", drag,
                "--mask", maskFile.toString(), "--prompt", scene.caption(), "--out", edited.toString(), "--video", gif.toString(),
                "--lora-steps", Integer.toString(loraSteps), "--steps", Integer.toString(steps), "--lr", Double.toString(EvalCommand.SYNTHETIC_LR),
                "--lora-lr", Double.toString(EvalCommand.SYNTHETIC_LORA_LR), "--reach", Double.toString(EvalCommand.SYNTHETIC_REACH),
                "--inference-steps", Integer.toString(inferenceSteps), "--seed", Long.toString(seed)));
        CommandLine edit = spec.root().commandLine().getSubcommands().get("edit");
        int code = edit.execute(args.toArray(String[]::new));
        if (code != 0) return code;

        Images.Rgb after = Images.read(edited);
        JsonNode side = new ObjectMapper().readTree(outDir.resolve("edited.json").toFile());
        double[][] handles = {handle}, targets = {target};
        Images.Rgb left = Overlay.upscale(scene.image(), 256), right = Overlay.upscale(after, 256);
        double k = (double) left.width() / SIZE;
        Images.Rgb ba = Overlay.sideBySide(Overlay.drawPoints(left, handles, targets, k), Overlay.drawPoints(right, null, targets, k), 8);
        Path beforeAfter = outDir.resolve("before-after.png");
        Images.write(beforeAfter, ba);

        EvalCommand.Row m = EvalCommand.measure(c, after, side.get("total_seconds").asDouble(), side.get("iterations_run").asInt());
        out.printf(Locale.ROOT, "demo: wrote %s, %s, %s (+ %s), %s, %s%n", input, maskFile, edited, outDir.resolve("edited.json"), gif, beforeAfter);
        if (m.found() == null) {
            out.printf(Locale.ROOT, "demo: the %s %s is not found in the edited image (the colour detector sees no object of its colour)%n",
                    obj.colourName(), obj.shape().word());
        } else {
            out.printf(Locale.ROOT, "demo: the object's centre is now %.1f px from the target (it was %.1f px away; %.0f%% of the way); "
                    + "PSNR outside the editable region %.1f dB; %d drag iteration(s), %.1f s%n", m.md(), c.distance(), 100 * m.moveRatio(),
                    Math.min(m.psnr(), 99.99), m.iterations(), m.seconds());
        }
        if (noView) return Main.EXIT_OK;
        CommandLine view = spec.root().commandLine().getSubcommands().get("view");
        if (view == null) {
            out.println("demo: this build has no viewer; open " + gif + " to watch the drag");
            return Main.EXIT_OK;
        }
        if (!hasDisplay()) {
            out.println("demo: no display (DISPLAY/WAYLAND_DISPLAY unset), so the live viewer was not opened; open " + gif
                    + " to watch the drag, or on a desktop: dragedit view --drag " + drag + " --mask " + maskFile + " --lr " + EvalCommand.SYNTHETIC_LR
                    + " --lora-lr " + EvalCommand.SYNTHETIC_LORA_LR + " --reach " + EvalCommand.SYNTHETIC_REACH + " " + input);
            return Main.EXIT_OK;
        }
        out.println("demo: opening the live viewer with the same scene, drag and mask: press Space to run the drag and watch it step by step");
        out.flush();
        // The viewer starts from the input so the drag can be watched live; the demo's result stays in OUT.
        return view.execute("--model", modelDir.toString(), "--drag", drag, "--mask", maskFile.toString(), "--prompt", scene.caption(),
                "--seed", Long.toString(seed), "--lora-steps", Integer.toString(loraSteps), "--steps", Integer.toString(steps), "--lr", Double.toString(EvalCommand.SYNTHETIC_LR),
                "--lora-lr", Double.toString(EvalCommand.SYNTHETIC_LORA_LR), "--reach", Double.toString(EvalCommand.SYNTHETIC_REACH),
                "--inference-steps", Integer.toString(inferenceSteps), input.toString());
    }

    static boolean hasDisplay() {
        for (String v : new String[]{"DISPLAY", "WAYLAND_DISPLAY"}) {
            String d = System.getenv(v);
            if (d != null && !d.isBlank()) return true;
        }
        return false;
    }

    private static String fmt(double v) { return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.2f", v); }

    private int selfCheck() {
        PrintWriter out = spec.commandLine().getOut();
        Engine engine = Main.engine(spec);   // first, so that a device that does not open is the only thing said
        if (engine.onCpu()) {
            out.printf(Locale.ROOT, "Engine self-check (CpuOps, %d threads, SIMD %s):%n",
                    Parallel.THREADS, Simd.enabled() ? "on, " + Simd.floatLanes() + " float lanes" : "off");
        } else {
            out.printf(Locale.ROOT, "Engine self-check (%s):%n", engine.description());
        }
        out.flush();
        long t0 = System.nanoTime();
        List<SelfCheck.Step> steps = SelfCheck.run(engine);
        for (SelfCheck.Step s : steps) {
            out.printf(Locale.ROOT, "  %-10s %-40s %10s   %s%n", s.op(), s.shape(),
                    Double.isNaN(s.ms()) ? "—" : String.format(Locale.ROOT, "%.3f ms", s.ms()), s.verdict());
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        out.flush();
        for (SelfCheck.Step s : steps) {
            if (!s.ok()) {
                spec.commandLine().getErr().println("dragedit: demo: self-check failed at " + s.op() + ": " + s.verdict());
                return Main.EXIT_FAILURE;
            }
        }
        out.printf(Locale.ROOT, "self-check passed: %d ops, %.2f s%n", steps.size(), seconds);
        return Main.EXIT_OK;
    }
}
