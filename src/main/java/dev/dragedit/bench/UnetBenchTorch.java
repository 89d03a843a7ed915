package dev.dragedit.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The side-by-side baseline of {@code dragedit bench unet}: the original diffusers v0.24.0 UNet2DConditionModel
 * (models/unet_2d_condition.py) on PyTorch's CPU backend, in a python3 subprocess that builds the model once (same
 * config, batch, latent size, context length and timestep) and then times forwards under {@code torch.no_grad()}
 * when asked ({@link Session#time}), so that {@link UnetBench} can alternate our forwards with theirs: on a shared
 * machine, load that comes and goes then hits both sides alike instead of whichever ran during it.
 * <p>
 * The threading setting is PyTorch's fastest: its default thread count (the fastest on the reference machine,
 * ../shared/bench/README.md; Debian's PyTorch picks 1 thread on 2 cores) and one thread per available core are both
 * probed, and the faster is used for the timed runs.
 * <p>
 * Nothing of diffusers is part of this project: its source is the one ../shared/bench/pyref/setup.sh extracts
 * from a git mirror into {@code $PYREF_DIR} (default /tmp/pyref), and the offline stand-ins for the Hugging Face
 * modules come from pyref/bootstrap.py, both read where they lie at run time (the way pyref/bench_cpu.py builds its
 * model). The interpreter is {@code $DRAGEDIT_PYTHON}, else Debian's /usr/bin/python3 (where apt's python3-torch
 * installs), else python3 on the PATH. When torch, diffusers or the scripts are missing the result says how to get
 * them instead of failing the run.
 */
public final class UnetBenchTorch {
    private UnetBenchTorch() {}

    /** What {@link #start} returns: a running {@link Session}, or an absent {@link Result} saying why there is none. */
    public sealed interface Started permits Session, Result {}

    /** Either the timings (of the chosen threading setting) or why there are none. */
    public record Result(boolean available, String reason, String python, String torch, String diffusers, int threads,
                         double medianMs, double minMs, List<Setting> settings, long params, double peakRssMb,
                         List<String> unset) implements Started {
        static Result absent(String reason) {
            return new Result(false, reason, null, null, null, 0, Double.NaN, Double.NaN, List.of(), 0, Double.NaN, List.of());
        }
    }

    /**
     * One threading setting probed: torch.set_num_threads(threads) (isDefault: PyTorch's own choice), the time of one
     * forward after one warm-up at that setting (a setting whose warm-up already took over twice the default's probe
     * is not probed further: abandoned, probeMs is that warm-up), and whether it was chosen.
     */
    public record Setting(int threads, boolean isDefault, double probeMs, boolean abandoned, boolean chosen) {}

    /** What the subprocess says once its model is built. */
    public record Ready(String python, String torch, String diffusers, int defaultThreads, int cores, long params) {}

    /** What the python side builds: the diffusers constructor kwargs (JSON) and the shapes. */
    public record Job(String configJson, int batch, int inChannels, int h, int w, int contextLength, int contextDim,
                      float timestep) {}

    /**
     * The folder of the pyref scripts: -Ddragedit.pyref.scripts, else $DRAGEDIT_PYREF_SCRIPTS, else
     * ../shared/bench/pyref beside the repository.
     */
    public static Path scriptsDir() {
        String env = System.getProperty("dragedit.pyref.scripts", System.getenv("DRAGEDIT_PYREF_SCRIPTS"));
        if (env != null && !env.isBlank()) return Path.of(env);
        Path home = PerfLog.home();
        Path base = home != null ? home : Path.of("").toAbsolutePath();
        Path parent = base.getParent();
        return (parent != null ? parent : base).resolve("shared").resolve("bench").resolve("pyref");
    }

    /**
     * Where setup.sh put diffusers: -Ddragedit.pyref.dir, else $PYREF_DIR, else /tmp/pyref (bootstrap.py reads
     * PYREF_DIR, which the subprocess gets set to this).
     */
    public static Path pyrefDir() {
        String env = System.getProperty("dragedit.pyref.dir", System.getenv("PYREF_DIR"));
        return Path.of(env != null && !env.isBlank() ? env : "/tmp/pyref");
    }

    static String python() {
        String env = System.getenv("DRAGEDIT_PYTHON");
        if (env != null && !env.isBlank()) return env;
        return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    }

    /** How to get the baseline, for the messages of a run without it. */
    static String howToInstall(Path scripts) {
        return "bash " + scripts.resolve("setup.sh") + " GIT_MIRROR_OF_DIFFUSERS (extracts diffusers v0.24.0 into $PYREF_DIR, "
                + "default /tmp/pyref, and installs Debian's python3-torch with apt)";
    }

    /**
     * Starts the subprocess and waits until its model is built: a session, or the reason there is none (torch or
     * diffusers missing, a crash) as an absent {@link Result}. The process is killed after timeoutSeconds in all.
     */
    public static Started start(Job job, int timeoutSeconds) {
        Path scripts = scriptsDir();
        if (!Files.isRegularFile(scripts.resolve("bootstrap.py")))
            return Result.absent("the pyref scripts are not at " + scripts + " (no bootstrap.py; set DRAGEDIT_PYREF_SCRIPTS to "
                    + "the folder of ../shared/bench/pyref)");
        Path pyref = pyrefDir();
        if (!Files.isRegularFile(pyref.resolve("src/diffusers/__init__.py")))
            return Result.absent("no diffusers v0.24.0 source under " + pyref + "/src (set PYREF_DIR to where it is, or run "
                    + howToInstall(scripts) + ")");
        String python = python();
        ProcessBuilder pb = new ProcessBuilder(python, "-c", SCRIPT, scripts.toString(), job.configJson(),
                String.valueOf(job.batch()), String.valueOf(job.inChannels()), String.valueOf(job.h()), String.valueOf(job.w()),
                String.valueOf(job.contextLength()), String.valueOf(job.contextDim()), String.valueOf(job.timestep()));
        pb.environment().put("PYREF_DIR", pyref.toString());
        // As for the numpy baseline: variables set for older OpenBLAS builds force a slower kernel on current ones.
        List<String> unset = new ArrayList<>();
        for (String v : NumpyBaseline.UNSET) if (pb.environment().remove(v) != null) unset.add(v);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            return Result.absent(python + " could not be started (" + e.getMessage() + ")");
        }
        Session s = new Session(p, python, unset, timeoutSeconds);
        try {
            String line = s.next();
            JsonNode r = new ObjectMapper().readTree(line);
            if (r.has("absent")) {
                s.close();
                return Result.absent(r.get("absent").asText());
            }
            s.ready = new Ready(python, r.get("torch").asText(), r.get("diffusers").asText(), r.get("default_threads").asInt(),
                    r.get("cores").asInt(), r.get("params").asLong());
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            return Result.absent(e.getMessage());
        }
    }

    /** A running subprocess with its model built; {@link #time} runs forwards. */
    public static final class Session implements Started, AutoCloseable {
        private final Process p;
        private final BufferedReader out;
        private final Writer in;
        private final ByteArrayOutputStream err = new ByteArrayOutputStream();
        private final String python;
        final List<String> unset;
        Ready ready;
        double peakRssMb = Double.NaN;
        int forwards, nonFinite;

        Session(Process p, String python, List<String> unset, int timeoutSeconds) {
            this.p = p;
            this.python = python;
            this.unset = List.copyOf(unset);
            this.out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            this.in = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8);
            Thread drain = new Thread(() -> {
                try (InputStream e = p.getErrorStream()) {
                    byte[] b = new byte[8192];
                    for (int n; (n = e.read(b)) >= 0; ) synchronized (err) { err.write(b, 0, n); }
                } catch (IOException ignored) {
                    // the process died; the next read says so
                }
            }, "dragedit-torch-stderr");
            drain.setDaemon(true);
            drain.start();
            // A hung interpreter must not hang the benchmark: kill it at the deadline (reads then fail).
            Thread watchdog = new Thread(() -> {
                try {
                    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) p.destroyForcibly();
                } catch (InterruptedException ignored) {
                    p.destroyForcibly();
                }
            }, "dragedit-torch-watchdog");
            watchdog.setDaemon(true);
            watchdog.start();
        }

        public Ready ready() { return ready; }

        /** Timed forwards so far, and how many of them returned non-finite values (see the script; 0 normally). */
        public int forwards() { return forwards; }

        public int nonFiniteForwards() { return nonFinite; }

        /** Runs n forwards with torch.set_num_threads(threads) and returns their times in ms. */
        public double[] time(int threads, int n) throws IOException {
            in.write("time " + threads + " " + n + "\n");
            in.flush();
            JsonNode r = new ObjectMapper().readTree(next());
            if (r.has("error")) throw new IOException("the diffusers forward failed: " + r.get("error").asText());
            JsonNode t = r.get("times");
            double[] ms = new double[t.size()];
            for (int i = 0; i < ms.length; i++) ms[i] = t.get(i).asDouble();
            peakRssMb = r.get("peak_rss_mb").asDouble();
            nonFinite += r.path("nonfinite").asInt(0);
            forwards += ms.length;
            return ms;
        }

        /** The next JSON line of the subprocess, or an IOException saying how it ended (with its stderr's tail). */
        String next() throws IOException {
            String line;
            try {
                line = out.readLine();
            } catch (IOException e) {
                line = null;
            }
            if (line == null) {
                int code;
                try {
                    code = p.waitFor(5, TimeUnit.SECONDS) ? p.exitValue() : -1;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    code = -1;
                }
                String tail;
                synchronized (err) { tail = err.toString(StandardCharsets.UTF_8).strip(); }
                if (tail.length() > 400) tail = "…" + tail.substring(tail.length() - 400);
                throw new IOException(python + " " + (code == -1 ? "stopped (killed at the time limit?)" : "exited with " + code)
                        + (tail.isEmpty() ? "" : ": " + tail.replace('\n', ' ')));
            }
            return line;
        }

        @Override
        public void close() {
            try {
                in.write("quit\n");
                in.flush();
                in.close();
                if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
            } catch (IOException e) {
                p.destroyForcibly();
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }

        /** The result of the chosen setting's timed runs. */
        public Result result(int threads, double[] times, List<Setting> settings) {
            double min = Arrays.stream(times).min().orElse(Double.NaN);
            return new Result(true, null, python, ready.torch(), ready.diffusers(), threads, Timing.median(times), min,
                    List.copyOf(settings), ready.params(), peakRssMb, unset);
        }
    }

    /**
     * argv: scripts config_json batch in_channels h w context_len context_dim timestep. Builds the model as
     * pyref/bench_cpu.py's time_unet does (seed 0, eval(), randn inputs), prints one JSON line when ready (or
     * {"absent": why}), then answers each stdin line "time THREADS N" with the N forwards' times (time.perf_counter
     * around each, under no_grad) and its peak RSS so far; "quit" or end of input stops it.
     */
    private static final String SCRIPT = """
            import json, os, resource, sys, time
            scripts, cfg_json = sys.argv[1], sys.argv[2]
            batch, cin, h, w, m, cdim = (int(v) for v in sys.argv[3:9])
            t = float(sys.argv[9])
            def answer(obj):
                print(json.dumps(obj), flush=True)
            try:
                import torch
            except ImportError as e:
                answer({"absent": "%s has no torch (%s): apt-get install python3-torch (Debian's CPU PyTorch), or bash %s GIT_MIRROR_OF_DIFFUSERS"
                        % (sys.executable, e, os.path.join(scripts, "setup.sh"))})
                sys.exit(0)
            sys.path.insert(0, scripts)
            try:
                import bootstrap  # offline stand-ins for huggingface_hub & co.; puts $PYREF_DIR/src on sys.path
                import diffusers
                from diffusers import UNet2DConditionModel
            except Exception as e:
                answer({"absent": "diffusers could not be imported from %s/src (%s: %s)" % (os.environ.get("PYREF_DIR", "/tmp/pyref"), type(e).__name__, e)})
                sys.exit(0)
            cfg = json.loads(cfg_json)
            torch.manual_seed(0)
            model = UNet2DConditionModel(**cfg).eval()
            x = torch.randn(batch, cin, h, w)
            ctx = torch.randn(batch, m, cdim)
            ts = torch.tensor([int(t)]) if t == int(t) else torch.tensor([t])
            default = torch.get_num_threads()
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or default)
            answer({"ready": True, "torch": torch.__version__, "diffusers": diffusers.__version__, "default_threads": default,
                    "cores": cores, "params": sum(p.numel() for p in model.parameters())})
            current = default
            for line in sys.stdin:
                cmd = line.split()
                if not cmd or cmd[0] != "time":
                    break
                threads, n = int(cmd[1]), int(cmd[2])
                if threads != current:
                    torch.set_num_threads(threads)
                    current = threads
                times = []
                nonfinite = 0
                with torch.no_grad():
                    for _ in range(n):
                        s = time.perf_counter()
                        out = model(x, ts, ctx).sample
                        times.append((time.perf_counter() - s) * 1e3)
                        # Debian's PyTorch 1.13 CPU now and then returns NaN for the same weights and inputs, in bursts of
                        # up to several forwards (on the tiny config 1 to 20 of 100 forwards here). The work done, and so
                        # the time, is the same; the count goes back to the bench, which reports it.
                        if not bool(torch.isfinite(out).all()):
                            nonfinite += 1
                if tuple(out.shape) != (batch, cfg.get("out_channels", 4), h, w):
                    answer({"error": "diffusers returned %s, expected %s" % (tuple(out.shape), (batch, cfg.get("out_channels", 4), h, w))})
                    continue
                answer({"times": times, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                        "nonfinite": nonfinite})
            """;
}
