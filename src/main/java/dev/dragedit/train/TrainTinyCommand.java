// `dragedit train-tiny`: trains the tiny Stable-Diffusion-structured model (TinyModels) from scratch on generated
// scenes with dragedit's own autograd on the CPU (TinyTrainer) and writes a diffusers folder with README, loss plots
// and sample grids (TinyReport). Bad options are one usage message and exit 2.
package dev.dragedit.train;

import dev.dragedit.cli.Main;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "train-tiny", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        description = {"Train the tiny latent diffusion model (VAE, then UNet + CLIP text encoder) on generated scenes, "
                + "on the CPU with dragedit's autograd, and write a diffusers Stable Diffusion folder to --out.",
                "Defaults (1500 VAE + 3500 UNet steps, batch 4, 64 px) take about 40–50 min on 2 cores (measured 1.5–2.4 VAE "
                + "and 1.9–2.2 UNet steps/s), about an hour when the cores are heavily shared.",
                "The bundled models/tiny took four runs, each fine-tuning the one before (--init-from); models/tiny/reproduce.sh "
                + "re-runs them and checks the weights byte for byte (models/tiny/README.md)."})
public final class TrainTinyCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (diffusers layout, README.md, plots, checkpoint/).")
    Path out;
    @Option(names = "--steps-vae", paramLabel = "N", description = "VAE training steps (default ${DEFAULT-VALUE}).")
    int stepsVae = TinyTrainer.DEFAULT_STEPS_VAE;
    @Option(names = "--steps-unet", paramLabel = "N", description = "UNet + text encoder steps (default ${DEFAULT-VALUE}).")
    int stepsUnet = TinyTrainer.DEFAULT_STEPS_UNET;
    @Option(names = "--batch", paramLabel = "N", description = "Scenes per step (default ${DEFAULT-VALUE}).")
    int batch = TinyTrainer.DEFAULT_BATCH;
    @Option(names = "--size", paramLabel = "PX", description = "Image side, a multiple of 32 (default ${DEFAULT-VALUE}).")
    int size = 64;
    @Option(names = "--seed", paramLabel = "S", description = "Seed of the initialisation and the data (default ${DEFAULT-VALUE}).")
    long seed = 0;
    @Option(names = "--resume", description = "Continue the run whose checkpoint is in DIR/checkpoint (same options).")
    boolean resume;
    @Option(names = "--threads", paramLabel = "N", description = "CPU worker threads (default: all cores; DRAGEDIT_THREADS).")
    Integer threads;
    @Option(names = "--log-every", paramLabel = "N", description = "Progress line every N steps (default ${DEFAULT-VALUE}).")
    int logEvery = 25;
    @Option(names = "--checkpoint-every", paramLabel = "K", description = "Checkpoint every K steps (default ${DEFAULT-VALUE}).")
    int checkpointEvery = 250;
    @Option(names = "--lr-vae", paramLabel = "LR", description = "Adam learning rate of the VAE (default ${DEFAULT-VALUE}).")
    float lrVae = 1e-3f;
    @Option(names = "--lr-unet", paramLabel = "LR", description = "Adam learning rate of UNet and text encoder (default ${DEFAULT-VALUE}).")
    float lrUnet = 5e-4f;
    @Option(names = "--logvar-init", paramLabel = "V", description = "Initial logvar of the VAE posterior (quant_conv's bias), in [-30, 0]; 0 keeps PyTorch's init (default ${DEFAULT-VALUE}).")
    float logvarInit = TinyTrainer.DEFAULT_LOGVAR_INIT;
    @Option(names = "--object-weight", paramLabel = "W", description = "Extra weight of object pixels in the VAE's L1 loss (weight 1 + W inside objects; default ${DEFAULT-VALUE}).")
    float objectWeight = TinyTrainer.DEFAULT_OBJECT_WEIGHT;
    @Option(names = "--cosine", negatable = true, description = "Learning rates: 2%% linear warm-up then cosine decay to 10%% (default ${DEFAULT-VALUE}; --no-cosine: constant).")
    boolean cosine = TinyTrainer.DEFAULT_COSINE;
    @Option(names = "--init-from", paramLabel = "DIR", description = "Start from the weights of a finished train-tiny folder (e.g. models/tiny) instead of random ones: fine-tuning.")
    Path initFrom;
    @Option(names = "--ddim-steps", paramLabel = "N", description = "DDIM steps of the sample grid (default ${DEFAULT-VALUE}).")
    int ddimSteps = 50;
    @Option(names = "--guidance", paramLabel = "G", description = "Classifier-free guidance of the second sample column (default ${DEFAULT-VALUE}).")
    float guidance = 3f;
    @Option(names = "--stop-after", paramLabel = "N", description = "Stop after N steps of this run, leaving the checkpoint (for testing --resume).")
    int stopAfter = 0;
    @Option(names = "--keep-checkpoint", description = "Keep DIR/checkpoint after a finished run (default: removed, to keep the folder small).")
    boolean keepCheckpoint;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        if (threads != null) {
            if (threads < 1) throw new CommandLine.ParameterException(cl, "--threads must be ≥ 1, got " + threads);
            System.setProperty("dragedit.threads", Integer.toString(threads));
        }
        if (!(lrVae > 0) || !(lrUnet > 0)) throw new CommandLine.ParameterException(cl, "learning rates must be > 0");
        if (initFrom != null && !Files.isDirectory(initFrom))
            throw new CommandLine.ParameterException(cl, "--init-from " + initFrom + ": not a folder (expected one written by train-tiny, e.g. models/tiny)");
        if (stopAfter < 0) throw new CommandLine.ParameterException(cl, "--stop-after must be ≥ 0");
        if (!resume && Files.isDirectory(out.resolve("checkpoint")))
            throw new CommandLine.ParameterException(cl, out + " holds an unfinished run (checkpoint/): add --resume to continue it, or choose another --out");
        if (resume && !Files.isRegularFile(out.resolve("checkpoint").resolve("state.json")))
            throw new CommandLine.ParameterException(cl, "--resume: " + out.resolve("checkpoint") + " has no state.json to resume from");
        TinyTrainer.Config cfg;
        try {
            cfg = new TinyTrainer.Config(out, stepsVae, stepsUnet, batch, size, seed, logEvery, checkpointEvery, lrVae, lrUnet,
                    32, 8, ddimSteps, guidance, stopAfter, keepCheckpoint, logvarInit, objectWeight, cosine, initFrom);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        PrintWriter log = cl.getOut();
        if (threads != null && dev.dragedit.util.Parallel.THREADS != threads)
            log.println("note: the CPU pool was already started with " + dev.dragedit.util.Parallel.THREADS + " threads; --threads ignored");
        String command = "dragedit " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
        TinyTrainer.Result r = new TinyTrainer(cfg, log).commandLine(command).run(resume);
        if (r.finished()) log.printf(java.util.Locale.ROOT, "done: %s (VAE PSNR %.2f dB)%n", out, r.psnr());
        return Main.EXIT_OK;
    }
}
