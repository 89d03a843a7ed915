package dev.dragedit.bench;

import dev.dragedit.cli.Main;
import dev.dragedit.drag.Inversion;
import dev.dragedit.engine.DeviceChoice;
import dev.dragedit.engine.Engine;
import dev.dragedit.models.sd.SdModels;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code dragedit bench edit}: runs {@link EditBench} — the whole DragDiffusion edit of a synthetic picture, timed
 * phase by phase with its peak memory, on the run's engine (global {@code --device}) — prints the table on stdout
 * (progress on stderr) and appends one JSON line: to docs/perf/edit.jsonl on a GPU, to target/edit-bench.jsonl on
 * the CPU or the CUDA emulation (whose numbers say nothing about the GPU targets), or to {@code --json}.
 */
@Command(name = "edit", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        description = {"Time a whole DragDiffusion edit (LoRA fit, inversion, drag, denoise, decode) of a synthetic picture, "
                + "phase by phase, with its peak memory, next to the issue's targets (H100, SD1.5 512²: whole edit ≤ 5 s, "
                + "drag iteration ≤ 15 ms, peak GPU memory ≤ 4 GB).",
                "Appends one JSON line to docs/perf/edit.jsonl on a GPU (target/edit-bench.jsonl otherwise).",
                "Example: dragedit --device cuda bench edit --model sd15 --random-weights --repeat 2"})
final class EditBenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--model", paramLabel = "sd15|DIR",
            description = "sd15 (needs --random-weights: no weights are bundled) or a Stable Diffusion folder "
                    + "(unet/, vae/, text_encoder/, tokenizer/, scheduler/).")
    String model;

    @Option(names = "--random-weights", description = "Random weights from the model's configs (speed does not depend on the values).")
    boolean randomWeights;

    @Option(names = "--size", paramLabel = "N", description = "The picture's width and height (default 512).")
    Integer size;

    @Option(names = "--width", paramLabel = "W", description = "The picture's width (with --height; instead of --size).")
    Integer width;

    @Option(names = "--height", paramLabel = "H", description = "The picture's height (with --width; instead of --size).")
    Integer height;

    @Option(names = "--lora-steps", defaultValue = "80", paramLabel = "N", description = "LoRA training steps (default ${DEFAULT-VALUE}; 0 skips the LoRA).")
    int loraSteps;

    @Option(names = "--inference-steps", defaultValue = "50", paramLabel = "N", description = "DDIM steps n (default ${DEFAULT-VALUE}).")
    int inferenceSteps;

    @Option(names = "--strength", defaultValue = "0.7", paramLabel = "S", description = "Inversion strength: round(S·n) steps inverted and denoised (default ${DEFAULT-VALUE}).")
    double strength;

    @Option(names = "--drag-steps", defaultValue = "80", paramLabel = "N", description = "Drag iterations at most (default ${DEFAULT-VALUE}).")
    int dragSteps;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "Seed of the random weights and the LoRA (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--repeat", defaultValue = "1", paramLabel = "N", description = "Edits to run (the first includes warm-up; default ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--mask", description = "Restrict the edit to a centred half-size rectangle (measures the mask term's cost).")
    boolean mask;

    @Option(names = "--json", paramLabel = "FILE", description = "Append the JSON line here instead of the default file.")
    Path json;

    @Override
    public Integer call() throws Exception {
        var cl = spec.commandLine();
        // Every argument first, so that a mistake costs no model loading.
        if (model == null || model.isBlank())
            throw new ParameterException(cl, "which model? give --model sd15 --random-weights, or --model DIR (a Stable Diffusion folder)");
        boolean sd15 = model.trim().equalsIgnoreCase(SdModels.SD15);
        if (sd15 && !randomWeights)
            throw new ParameterException(cl, "--model sd15: no SD1.5 weights are here; add --random-weights (random weights of SD1.5's "
                    + "configs, which time the same arithmetic) or give --model DIR with real weights");
        if (!sd15) {
            Path dir = Path.of(model);
            if (!Files.isDirectory(dir))
                throw new ParameterException(cl, "--model " + model + ": no such folder (expected sd15 or a Stable Diffusion folder)");
            if (!SdModels.isPipelineFolder(dir))
                throw new ParameterException(cl, "--model " + model + " is not a Stable Diffusion folder (unet/, vae/, text_encoder/, tokenizer/, scheduler/)");
        }
        if (size != null && (width != null || height != null))
            throw new ParameterException(cl, "give either --size N or --width W --height H, not both");
        if ((width == null) != (height == null))
            throw new ParameterException(cl, "--width and --height go together (or give --size N)");
        int w = size != null ? size : width != null ? width : 512;
        int h = size != null ? size : height != null ? height : 512;
        if (size != null && size < 8) throw new ParameterException(cl, "--size " + size + ": must be at least 8 (pixels)");
        if (w < 8) throw new ParameterException(cl, "--width " + w + ": must be at least 8 (pixels)");
        if (h < 8) throw new ParameterException(cl, "--height " + h + ": must be at least 8 (pixels)");
        if (loraSteps < 0) throw new ParameterException(cl, "--lora-steps " + loraSteps + ": must be ≥ 0");
        if (dragSteps < 0) throw new ParameterException(cl, "--drag-steps " + dragSteps + ": must be ≥ 0");
        if (inferenceSteps < 1) throw new ParameterException(cl, "--inference-steps " + inferenceSteps + ": must be ≥ 1");
        if (inferenceSteps > 1000)
            throw new ParameterException(cl, "--inference-steps " + inferenceSteps + ": at most 1000 (the scheduler's training timesteps)");
        try {
            Inversion.actualSteps(inferenceSteps, strength);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(cl, e.getMessage().replace("inversion: ", "--inference-steps/--strength: "));
        }
        if (repeat < 1) throw new ParameterException(cl, "--repeat " + repeat + ": must be at least 1");

        Engine engine = Main.engine(spec);
        PrintWriter out = cl.getOut();
        PrintWriter err = cl.getErr();
        EditBench.Options o = new EditBench.Options(sd15 ? SdModels.SD15 : model, randomWeights, w, h, loraSteps, inferenceSteps,
                strength, dragSteps, seed, repeat, mask);
        EditBench.Report report = EditBench.run(o, engine, err);
        EditBench.printTable(report, out);

        Path file = json != null ? json : report.kind() == DeviceChoice.CUDA ? PerfLog.defaultFile("edit") : offGpuDefault();
        String commit = PerfLog.commit(PerfLog.home());
        if (commit == null) commit = "version " + Main.buildVersion();
        PerfLog.append(file, BenchReport.jsonLine(EditBench.json(report, commit, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString())));
        out.printf(Locale.ROOT, "appended to %s%s%n", file,
                json == null && report.kind() != DeviceChoice.CUDA ? " (not docs/perf: not a GPU run)" : "");
        out.flush();
        return 0;
    }

    /** target/ of the repository (or of the working directory): out of docs/perf, where GPU numbers live. */
    private static Path offGpuDefault() {
        Path home = PerfLog.home();
        return (home != null ? home : Path.of("").toAbsolutePath()).resolve("target").resolve("edit-bench.jsonl");
    }
}
