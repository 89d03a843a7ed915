package dev.dragedit.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The side-by-side baseline: numpy's sgemm (OpenBLAS in current wheels and in Debian) on the same shapes as our
 * rows, timed in a python3 subprocess with the same warm-up and repeat counts. The convolution is compared with
 * the GEMMs an im2col convolution reduces to — forward W [Cout, Cin·9] · cols [Cin·9, Ho·Wo]; backward
 * gy · colsᵀ (dW) plus Wᵀ · gy (dcols) — so "ours / OpenBLAS" says how far our convolution is from what the best
 * BLAS would do with the same arithmetic. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the child's
 * environment: set for older builds, they force a slower kernel on current numpy.
 */
public final class NumpyBaseline {
    private NumpyBaseline() {}

    /** The variables that must not reach OpenBLAS. */
    static final List<String> UNSET = List.of("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE");

    /** Either the timings (name → {median ms, min ms}) or why there are none. */
    public record Result(boolean available, String reason, String numpy, String blas, Map<String, double[]> rows,
                         List<String> unset) {
        static Result absent(String reason) { return new Result(false, reason, null, null, Map.of(), List.of()); }
    }

    /** Shapes: sgemm n×n×n, conv as GEMMs with Cout, Cin·k², Ho·Wo. */
    public static Result run(int warmup, int repeats, int n, int cout, int cinK2, int hw, int timeoutSeconds) {
        ProcessBuilder pb = new ProcessBuilder("python3", "-c", SCRIPT, String.valueOf(warmup), String.valueOf(repeats),
                String.valueOf(n), String.valueOf(cout), String.valueOf(cinK2), String.valueOf(hw));
        List<String> unset = new ArrayList<>();
        for (String v : UNSET) if (pb.environment().remove(v) != null) unset.add(v);
        pb.redirectErrorStream(true);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            return Result.absent("python3 not found on PATH (" + e.getMessage() + ")");
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> {
            try (InputStream in = p.getInputStream()) { in.transferTo(buf); } catch (IOException ignored) { }
        }, "dragedit-numpy-reader");
        reader.setDaemon(true);
        reader.start();
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return Result.absent("python3 numpy run took longer than " + timeoutSeconds + " s and was stopped");
            }
            reader.join(5_000);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return Result.absent("interrupted");
        }
        return parse(buf.toString(StandardCharsets.UTF_8), p.exitValue(), unset);
    }

    /** Reads the script's answer (the last line that starts with "{"), or explains why there is none. */
    public static Result parse(String output, int exitCode, List<String> unset) {
        String json = null;
        for (String line : output.split("\n")) if (line.startsWith("{")) json = line;
        if (json == null) {
            String tail = output.strip();
            if (tail.length() > 300) tail = "…" + tail.substring(tail.length() - 300);
            return Result.absent("python3 exited with " + exitCode + (tail.isEmpty() ? "" : ": " + tail.replace('\n', ' ')));
        }
        try {
            JsonNode root = new ObjectMapper().readTree(json);
            if (root.has("absent")) return Result.absent(root.get("absent").asText());
            Map<String, double[]> rows = new LinkedHashMap<>();
            root.get("rows").fields().forEachRemaining(e ->
                    rows.put(e.getKey(), new double[] {e.getValue().get(0).asDouble(), e.getValue().get(1).asDouble()}));
            return new Result(true, null, root.get("numpy").asText(), root.get("blas").asText(), rows, List.copyOf(unset));
        } catch (IOException | RuntimeException e) {
            return Result.absent("could not read numpy's answer (" + e.getMessage() + "): " + json);
        }
    }

    /** Prints one JSON line; argv: warmup repeats n cout cinK2 hw. */
    private static final String SCRIPT = """
            import json, statistics, sys, time
            try:
                import numpy as np
            except ImportError as e:
                print(json.dumps({"absent": "python3 has no numpy (%s); apt-get install python3-numpy" % e}))
                sys.exit(0)
            warm, reps, n, cout, cink, hw = (int(v) for v in sys.argv[1:7])
            rng = np.random.default_rng(0)
            def mat(r, c):
                return rng.standard_normal((r, c), dtype=np.float32)
            def med(f):
                for _ in range(warm):
                    f()
                ts = []
                for _ in range(reps):
                    t = time.perf_counter()
                    f()
                    ts.append((time.perf_counter() - t) * 1e3)
                return [statistics.median(ts), min(ts)]
            a, b, c = mat(n, n), mat(n, n), np.empty((n, n), np.float32)
            w, cols, y = mat(cout, cink), mat(cink, hw), np.empty((cout, hw), np.float32)
            gy, dw, dcols = mat(cout, hw), np.empty((cout, cink), np.float32), np.empty((cink, hw), np.float32)
            def bwd():
                np.matmul(gy, cols.T, out=dw)
                np.matmul(w.T, gy, out=dcols)
            rows = {"sgemm": med(lambda: np.matmul(a, b, out=c)),
                    "conv2d_fwd": med(lambda: np.matmul(w, cols, out=y)),
                    "conv2d_bwd": med(bwd)}
            blas = None
            try:
                from threadpoolctl import threadpool_info
                for i in threadpool_info():
                    if i.get("user_api") == "blas":
                        blas = "%s %s, kernel %s, %s threads (threadpoolctl)" % (
                            i.get("internal_api"), i.get("version"), i.get("architecture"), i.get("num_threads"))
                        break
            except Exception:
                pass
            if blas is None:
                try:
                    cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
                    blas = "%s %s" % (cfg.get("name"), cfg.get("version"))
                except Exception:
                    blas = "unknown BLAS"
                kernel = None
                try:
                    import ctypes
                    libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.split()[-1].lower()})
                    for lib in libs:
                        h = ctypes.CDLL(lib)
                        for name in [p + "openblas_get_corename" + s for p in ("", "scipy_") for s in ("", "64_", "_64")]:
                            f = getattr(h, name, None)
                            if f is not None:
                                f.restype = ctypes.c_char_p
                                kernel = f().decode()
                                break
                        if kernel:
                            break
                except Exception:
                    kernel = None
                if kernel:
                    blas += ", kernel %s (openblas_get_corename)" % kernel
                else:
                    blas += " (kernel unknown: threadpoolctl not installed)"
            print(json.dumps({"numpy": np.__version__, "blas": blas, "rows": rows}))
            """;
}
