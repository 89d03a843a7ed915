package dev.dragedit.cli;

import dev.dragedit.engine.Engine;
import dev.dragedit.ops.cpu.Simd;
import dev.dragedit.util.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code dragedit demo}: the project's main job, once the drag editor exists. Until then it says so plainly and
 * runs the engine self-check ({@link SelfCheck}) instead, so the command still does something real: exit 0 only
 * when every op ran and matched its reference. The self-check runs on the run's engine ({@link Main#engine}), so
 * {@code dragedit demo --device emulated --validate} exercises the CUDA path end to end without a GPU.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, versionProvider = Main.BuildVersion.class,
        description = {"Run the drag-editing demo (until the editor exists: the engine self-check).",
                "The drag editor is not built yet in this version: this runs sgemm, conv2d, groupNorm and SiLU on the run's "
                        + "device (--device), timed and checked against float64 references; exit 0 when all match."})
final class DemoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Engine engine = Main.engine(spec);   // first, so that a device that does not open is the only thing said
        out.println("dragedit demo: the drag editor (DragDiffusion, DragGAN, the viewer) is not built yet in this version.");
        out.println("What exists: the tensor type and the full op set on the CPU with backward passes (Java, multithreaded,");
        out.println("Vector API with a scalar fallback), autograd, safetensors loading, and the CPU benchmark (dragedit bench cpu).");
        if (engine.onCpu()) {
            out.printf(Locale.ROOT, "Running the engine self-check instead (CpuOps, %d threads, SIMD %s):%n",
                    Parallel.THREADS, Simd.enabled() ? "on, " + Simd.floatLanes() + " float lanes" : "off");
        } else {
            out.printf(Locale.ROOT, "Running the engine self-check instead (%s):%n", engine.description());
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
