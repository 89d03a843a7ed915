package dev.dragedit.convert.dragbench;

import dev.dragedit.convert.ConvertException;
import dev.dragedit.convert.pickle.Unpickler;
import dev.dragedit.convert.pickle.Unpickler.NdArray;
import dev.dragedit.convert.pickle.Unpickler.PyTuple;

import java.util.List;
import java.util.Map;

/**
 * A DragBench meta_data.pkl, as DragDiffusion's labeling_tool.py writes it: {@code pickle.dump({'prompt': str,
 * 'points': [[x, y], ...] (alternating handle and target, image pixels), 'mask': numpy uint8 H×W (1 = editable)})}.
 * Read with {@link Unpickler#forNumpy}: nothing but numpy arrays and plain containers is rebuilt.
 */
public record DragBenchMetaData(String prompt, double[][] points, byte[] mask, int maskHeight, int maskWidth) {
    /** Bounds on the pickle VM: a meta_data.pkl is a few hundred kilobytes (a 512×512 uint8 mask) of few opcodes. */
    static final Unpickler.Limits LIMITS = new Unpickler.Limits(1_000_000L, 10_000, 1_000, 100_000, 64 << 20, 100_000, 16);

    /** Parses the pickle's bytes; {@code source} names the file in messages. */
    public static DragBenchMetaData parse(byte[] pickle, String source) throws ConvertException {
        Object root = Unpickler.forNumpy(pickle, source, LIMITS).load();
        if (!(root instanceof Map<?, ?> m)) throw new ConvertException(source + ": expected a dict with 'prompt', 'points' and 'mask', found " + kind(root));
        for (String key : List.of("prompt", "points"))
            if (!m.containsKey(key)) throw new ConvertException(source + ": no '" + key + "' in the meta data (keys: " + m.keySet() + ")");
        if (!(m.get("prompt") instanceof String prompt)) throw new ConvertException(source + ": 'prompt' is " + kind(m.get("prompt")) + ", expected a string");
        double[][] points = points(m.get("points"), source);
        Object mk = m.get("mask");
        if (mk == null) return new DragBenchMetaData(prompt, points, null, 0, 0);
        if (!(mk instanceof NdArray a)) throw new ConvertException(source + ": 'mask' is " + kind(mk) + ", expected a numpy array");
        long[] shape = a.shape();
        if (shape.length == 3 && shape[2] >= 1) { // H×W×C: the first channel (as labeling_tool.py takes mask[:, :, 0])
            byte[] mask = new byte[Math.toIntExact(shape[0] * shape[1])];
            for (int i = 0; i < mask.length; i++) mask[i] = a.get((long) i * shape[2]) != 0 ? (byte) 1 : 0;
            return new DragBenchMetaData(prompt, points, mask, (int) shape[0], (int) shape[1]);
        }
        if (shape.length != 2) throw new ConvertException(source + ": 'mask' has shape " + java.util.Arrays.toString(shape) + ", expected H×W");
        byte[] mask = new byte[Math.toIntExact(a.size())];
        for (int i = 0; i < mask.length; i++) mask[i] = a.get(i) != 0 ? (byte) 1 : 0; // run_drag: mask / 255, then > 0 → 1
        return new DragBenchMetaData(prompt, points, mask, (int) shape[0], (int) shape[1]);
    }

    private static double[][] points(Object o, String source) throws ConvertException {
        List<?> items;
        if (o instanceof NdArray a) { // an N×2 array
            long[] s = a.shape();
            if (s.length != 2 || s[1] != 2) throw new ConvertException(source + ": 'points' array has shape " + java.util.Arrays.toString(s) + ", expected N×2");
            double[][] p = new double[(int) s[0]][];
            for (int i = 0; i < p.length; i++) p[i] = new double[]{a.get(2L * i), a.get(2L * i + 1)};
            return checkPairs(p, source);
        }
        if (o instanceof List<?> l) items = l;
        else if (o instanceof PyTuple t) items = t.items();
        else throw new ConvertException(source + ": 'points' is " + kind(o) + ", expected a list of [x, y]");
        double[][] p = new double[items.size()][];
        for (int i = 0; i < p.length; i++) {
            Object pt = items.get(i);
            List<?> xy = pt instanceof List<?> l ? l : pt instanceof PyTuple t ? t.items() : null;
            if (xy != null && xy.size() == 2 && xy.get(0) instanceof Number x && xy.get(1) instanceof Number y) {
                p[i] = new double[]{x.doubleValue(), y.doubleValue()};
            } else if (pt instanceof NdArray a && a.size() == 2) {
                p[i] = new double[]{a.get(0), a.get(1)};
            } else {
                throw new ConvertException(source + ": point " + i + " is " + kind(pt) + ", expected [x, y]");
            }
            if (!Double.isFinite(p[i][0]) || !Double.isFinite(p[i][1])) throw new ConvertException(source + ": point " + i + " is not finite");
        }
        return checkPairs(p, source);
    }

    private static double[][] checkPairs(double[][] p, String source) throws ConvertException {
        if (p.length == 0 || p.length % 2 != 0)
            throw new ConvertException(source + ": " + p.length + " points; expected alternating handle and target points, at least one pair");
        return p;
    }

    private static String kind(Object o) {
        if (o == null) return "None";
        if (o instanceof String) return "a string";
        if (o instanceof Number) return "a number " + o;
        if (o instanceof List<?> l) return "a list of " + l.size();
        if (o instanceof PyTuple t) return "a tuple of " + t.size();
        if (o instanceof Map<?, ?> m) return "a dict of " + m.size();
        if (o instanceof NdArray a) return "numpy " + a;
        return o.getClass().getSimpleName();
    }
}
