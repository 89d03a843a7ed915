package dev.dragedit.bench;

import dev.dragedit.ops.Conv2dParams;
import dev.dragedit.ops.Ops;
import dev.dragedit.tensor.Tensor;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a forward spends its time, op by op: a decorator of the {@link Ops} interface (a dynamic proxy, so every op
 * of the set is covered without listing them) that times each call with the wall clock and counts its FLOPs the
 * way sd15.md §7 does (conv2d 2·Ci/g·Co·kh·kw·Ho·Wo, linear 2·in·out·tokens, attention 4·B·H·Lq·Lk·D, matmul
 * 2·M·N·K). Calls are grouped by op and the variant that matters for speed (3×3 / 1×1 / strided convolutions,
 * self- / cross-attention, the unary function), so a table of the groups says which kernel to work on. Used by
 * {@code dragedit bench unet --profile} on one extra forward after the timed ones; the FLOP totals also check
 * {@link UnetBenchFlops} against what the model really computes.
 */
public final class UnetBenchProfile {
    /** One group of calls: total wall time, calls, FLOPs (0 for ops that are not counted). */
    public record Row(String op, int calls, double ms, double flops) {
        public double gflops() { return flops > 0 && ms > 0 ? Timing.gflops(flops, ms) : Double.NaN; }
    }

    private static final class Acc {
        int calls;
        long nanos;
        double flops;
    }

    private final Ops delegate;
    private final Map<String, Acc> groups = new LinkedHashMap<>();
    private final Ops proxy;

    public UnetBenchProfile(Ops delegate) {
        this.delegate = delegate;
        InvocationHandler h = this::invoke;
        this.proxy = (Ops) Proxy.newProxyInstance(Ops.class.getClassLoader(), new Class<?>[]{Ops.class}, h);
    }

    /** The op set to compute with: {@code delegate}'s ops, each call timed. */
    public Ops ops() { return proxy; }

    /** The groups so far, most time first. */
    public List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        groups.forEach((k, a) -> rows.add(new Row(k, a.calls, a.nanos / 1e6, a.flops)));
        rows.sort(Comparator.comparingDouble(Row::ms).reversed());
        return rows;
    }

    /** Total time inside ops (ms). */
    public double totalMs() { return groups.values().stream().mapToLong(a -> a.nanos).sum() / 1e6; }

    /** FLOPs of the counted ops whose group name starts with {@code prefix} ("conv2d", "linear", "attention", "matmul"). */
    public double flops(String prefix) {
        double f = 0;
        for (Map.Entry<String, Acc> e : groups.entrySet()) if (e.getKey().startsWith(prefix)) f += e.getValue().flops;
        return f;
    }

    public void reset() { groups.clear(); }

    private Object invoke(Object self, Method m, Object[] args) throws Throwable {
        if (m.getDeclaringClass() == Object.class) {
            return switch (m.getName()) {
                case "equals" -> self == args[0];
                case "hashCode" -> System.identityHashCode(self);
                default -> "profiled " + delegate.name();
            };
        }
        long t0 = System.nanoTime();
        Object result;
        try {
            result = m.invoke(delegate, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
        long dt = System.nanoTime() - t0;
        if (m.getName().equals("name")) return result;
        Acc a = groups.computeIfAbsent(group(m.getName(), args), k -> new Acc());
        a.calls++;
        a.nanos += dt;
        a.flops += flops(m.getName(), args, result);
        return result;
    }

    /** The group of a call: the op, plus the variant that changes which kernel (and how fast) it runs. */
    static String group(String op, Object[] args) {
        switch (op) {
            case "conv2d" -> {
                Tensor w = (Tensor) args[1];
                Conv2dParams p = (Conv2dParams) args[3];
                String g = "conv2d " + w.dim(2) + "×" + w.dim(3);
                if (p.strideH() != 1 || p.strideW() != 1) g += " stride " + p.strideH();
                return g;
            }
            case "attention" -> {
                Tensor q = (Tensor) args[0], k = (Tensor) args[1];
                return q.dim(2) == k.dim(2) ? "attention self" : "attention cross";
            }
            case "unary", "unaryBackward" -> {
                return op + " " + args[0];
            }
            default -> {
                return op;
            }
        }
    }

    /** The FLOPs §7 counts for a call; 0 for everything else. */
    static double flops(String op, Object[] args, Object result) {
        switch (op) {
            case "conv2d" -> {
                Tensor w = (Tensor) args[1], y = (Tensor) result;
                // w [Cout, Cin/groups, kh, kw]: each output element is a dot product of Cin/groups·kh·kw terms
                return 2.0 * y.numel() * w.dim(1) * w.dim(2) * w.dim(3);
            }
            case "linear" -> {
                Tensor x = (Tensor) args[0], w = (Tensor) args[1];
                return 2.0 * x.numel() * w.dim(0);
            }
            case "attention" -> {
                Tensor q = (Tensor) args[0], k = (Tensor) args[1];
                return 4.0 * q.dim(0) * q.dim(1) * q.dim(2) * k.dim(2) * q.dim(3);
            }
            case "matmul" -> {
                Tensor a = (Tensor) args[0], y = (Tensor) result;
                boolean transA = (Boolean) args[2];
                int kDim = transA ? a.dim(a.rank() - 2) : a.dim(a.rank() - 1);
                return 2.0 * y.numel() * kDim;
            }
            default -> {
                return 0;
            }
        }
    }
}
