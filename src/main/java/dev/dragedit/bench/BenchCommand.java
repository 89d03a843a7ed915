package dev.dragedit.bench;

import dev.dragedit.cli.Main;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/**
 * {@code dragedit bench}: the parent of the benchmarks ({@code cpu}, {@code jmh} for the JMH micro-benchmarks, and
 * {@code kernels} for the CUDA kernels, now; model benchmarks join it as their issues land, from this package or through
 * {@link dev.dragedit.cli.CommandProvider} with parent "bench").
 */
@Command(name = "bench", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        synopsisSubcommandLabel = "BENCHMARK",
        description = {"Run a benchmark (cpu, jmh, kernels, unet, edit).", "bench cpu appends one JSON line per run to docs/perf/cpu.jsonl;",
                "bench jmh runs the JMH micro-benchmarks of the CPU kernels;",
                "bench kernels times every CUDA kernel (GPU or emulation), one JSON line per kernel and case in docs/perf/kernels.jsonl;",
                "bench unet times one UNet forward side by side with diffusers;",
                "bench edit times a whole DragDiffusion edit per phase, with peak memory (docs/perf/edit.jsonl on a GPU)."},
        commandListHeading = "%nBenchmarks:%n",
        subcommands = {CpuBenchCommand.class, JmhBenchCommand.class, KernelBenchCommand.class, UnetBenchCommand.class,
                EditBenchCommand.class})
public final class BenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        var err = spec.commandLine().getErr();
        err.println("dragedit: bench: missing benchmark name");
        spec.commandLine().usage(err);
        return 2;
    }
}
