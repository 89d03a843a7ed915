package dev.dragedit.bench;

import dev.dragedit.cli.Main;
import dev.dragedit.engine.DeviceChoice;
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
import java.util.concurrent.Callable;

/**
 * {@code dragedit bench unet}: runs {@link UnetBench} — our UNet forward on the CPU and diffusers + PyTorch on the
 * same config and shapes in a python3 subprocess — prints the comparison on stdout (progress on stderr) and appends
 * the run to docs/perf/unet.jsonl.
 */
@Command(name = "unet", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        description = {"Time one Stable Diffusion UNet forward on the CPU (no gradients), with its GFLOP/s and peak RSS, "
                + "side by side with diffusers v0.24.0 + PyTorch CPU on the same config and shapes.",
                "Example: bench unet --config ../shared/bench/unet-mid --random-weights"})
final class UnetBenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--config", paramLabel = "DIR|sd15",
            description = "The UNet config for random weights: sd15 (Stable Diffusion 1.5), a config.json, or a folder holding "
                    + "config.json or unet/config.json.")
    String config;

    @Option(names = "--random-weights", arity = "0..1", fallbackValue = "", paramLabel = "sd15|CONFIG",
            description = "Random weights (the default without --model); the config may be given here instead of with --config.")
    String randomWeights;

    @Option(names = "--model", paramLabel = "DIR",
            description = "A diffusers folder (unet/ or a Stable Diffusion folder): time its weights (diffusers gets random "
                    + "weights of the same config).")
    Path model;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Seed of the random weights and inputs (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--latent", paramLabel = "N", description = "Latent height and width (default: the config's sample_size; sd15: 64).")
    Integer latent;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "1", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--repeats", paramLabel = "N", defaultValue = "10", description = "Timed forwards (default ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--warmup", paramLabel = "N",
            description = "Untimed forwards first (default 3, and at least 2 s of them; an explicit N runs exactly N).")
    Integer warmup;

    @Option(names = "--no-torch", description = "Skip the diffusers + PyTorch comparison.")
    boolean noTorch;

    @Option(names = "--profile", description = "One more forward with every op timed: where the time goes, op by op.")
    boolean profile;

    @Option(names = "--json", paramLabel = "FILE", description = "Append the JSON line here instead of docs/perf/unet.jsonl.")
    Path json;

    @Override
    public Integer call() throws Exception {
        var cl = spec.commandLine();
        String cfg = config;
        if (randomWeights != null && !randomWeights.isEmpty()) {
            if (cfg != null && !cfg.equals(randomWeights))
                throw new ParameterException(cl, "--config " + cfg + " and --random-weights " + randomWeights + " name two configs; give one");
            cfg = randomWeights;
        }
        if (model != null && (cfg != null || randomWeights != null))
            throw new ParameterException(cl, "--model takes the model's own config and weights: drop --config / --random-weights");
        if (model == null && cfg == null)
            throw new ParameterException(cl, "which UNet? give --config DIR|sd15 (random weights) or --model DIR");
        if (cfg != null && cfg.isBlank()) throw new ParameterException(cl, "--config: empty value, expected sd15 or a folder");
        if (model != null && !Files.isDirectory(model))
            throw new ParameterException(cl, "--model " + model + ": not a folder (expected a diffusers unet/ or Stable Diffusion folder)");
        if (batch < 1) throw new ParameterException(cl, "--batch must be at least 1, found " + batch);
        if (repeats < 1) throw new ParameterException(cl, "--repeats must be at least 1, found " + repeats);
        if (warmup != null && warmup < 0) throw new ParameterException(cl, "--warmup must be at least 0, found " + warmup);
        if (latent != null && latent < 1) throw new ParameterException(cl, "--latent must be positive, found " + latent);
        if (spec.root().userObject() instanceof Main main) {
            var d = main.runOptions().device();
            if (d == DeviceChoice.CUDA || d == DeviceChoice.EMULATED)
                throw new ParameterException(cl, "bench unet times the CPU op set (the issue's CPU target); --device "
                        + d.spelling() + " is not supported by it");
        }

        PrintWriter out = cl.getOut();
        PrintWriter err = cl.getErr();
        UnetBench.Options o = new UnetBench.Options(cfg, model, seed, latent, batch, warmup != null ? warmup : 3,
                warmup != null ? 0 : 2000, repeats, !noTorch, profile);
        UnetBench.Report report;
        try {
            report = UnetBench.run(o, err);
        } catch (UnetBench.LatentException e) {
            throw new ParameterException(cl, e.getMessage());     // a latent size the config cannot take
        }
        UnetBench.printTable(report, out);

        Path file = json != null ? json : PerfLog.defaultFile("unet");
        String commit = PerfLog.commit(PerfLog.home());
        if (commit == null) commit = "version " + Main.buildVersion();
        PerfLog.append(file, BenchReport.jsonLine(UnetBench.json(report, commit, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString())));
        out.println("appended to " + file);
        out.flush();
        return 0;
    }
}
