// Reads a PyTorch checkpoint (.ckpt/.pt/.bin written by torch.save >= 1.6): a ZIP holding <root>/data.pkl, the
// pickled object, and <root>/data/<key>, the raw little-endian bytes of each storage (torch/serialization.py,
// _save / _load). data.pkl goes through our restricted Unpickler, so only tensors and plain containers come out;
// each tensor view is then resolved against its storage entry: memory-mapped when contiguous, copied when it is a
// strided view (a transposed or sliced tensor saved as such), honouring storage_offset and strides.
package dev.dragedit.convert.ckpt;

import dev.dragedit.convert.ConvertException;
import dev.dragedit.convert.pickle.StorageRef;
import dev.dragedit.convert.pickle.TensorRef;
import dev.dragedit.convert.pickle.Unpickler;
import dev.dragedit.tensor.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The state dict of a torch.save checkpoint as tensors (no Python, nothing executed). */
public final class CkptReader {
    private CkptReader() {}

    /** Largest data.pkl accepted (SD1.5's is ~100 KB; full training checkpoints a few MB). */
    static final int MAX_PICKLE_BYTES = 256 << 20;

    /**
     * The tensors of {@code file}'s state dict: the value under "state_dict" when the top-level dict has one (Lightning
     * and the LDM training scripts save {"state_dict": ..., "global_step": ...}), else the top-level dict itself.
     * Entries that are not tensors (step counters and the like) are left out.
     */
    public static Map<String, Tensor> read(Path file) throws IOException {
        try (ZipArchive zip = ZipArchive.open(file)) {
            ZipArchive.Entry pkl = null;
            for (ZipArchive.Entry e : zip.entries().values()) {
                String n = e.name();
                int slash = n.indexOf('/');
                if (slash > 0 && n.substring(slash + 1).equals("data.pkl")) {
                    if (pkl != null) throw new ConvertException(file + ": has two pickles (" + pkl.name() + ", " + n + "); expected one <root>/data.pkl");
                    pkl = e;
                }
            }
            if (pkl == null) throw new ConvertException(file + ": ZIP archive without <root>/data.pkl; not a torch.save checkpoint");
            String root = pkl.name().substring(0, pkl.name().indexOf('/') + 1);
            byte[] bytes = zip.readAll(pkl, MAX_PICKLE_BYTES);
            Object top = new Unpickler(bytes, file + ":" + pkl.name()).load();
            if (!(top instanceof Map<?, ?> topMap))
                throw new ConvertException(file + ": the pickle holds " + kind(top) + ", expected a dict (a state dict, or a dict with \"state_dict\")");
            Map<?, ?> sd = topMap.get("state_dict") instanceof Map<?, ?> inner ? inner : topMap;
            Map<String, ByteBuffer> storages = new HashMap<>();
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : sd.entrySet()) {
                if (!(e.getKey() instanceof String key) || !(e.getValue() instanceof TensorRef ref)) continue;
                out.put(key, tensor(zip, root, key, ref, storages));
            }
            if (out.isEmpty()) throw new ConvertException(file + ": the checkpoint holds no tensors");
            return out;
        }
    }

    private static Tensor tensor(ZipArchive zip, String root, String key, TensorRef ref, Map<String, ByteBuffer> storages) throws IOException {
        StorageRef st = ref.storage();
        if (st.dtype() == null)
            throw new ConvertException(zip.path() + ": tensor " + key + " is stored as " + st.type().qualified() + ", an element type dragedit does not hold");
        ByteBuffer data = storages.get(st.key());
        if (data == null) {
            ZipArchive.Entry en = zip.entries().get(root + "data/" + st.key());
            if (en == null) throw new ConvertException(zip.path() + ": tensor " + key + " refers to storage " + st.key() + ", but the archive has no " + root + "data/" + st.key());
            data = zip.map(en);
            storages.put(st.key(), data);
        }
        int eb = st.elementBytes();
        if ((long) data.capacity() < st.numel() * eb)
            throw new ConvertException(zip.path() + ": storage " + st.key() + " holds " + data.capacity() + " bytes, less than the "
                    + st.numel() + " elements of " + eb + " bytes its pickle declares (truncated?)");
        long n = ref.numel();
        if (n * eb > Integer.MAX_VALUE - 16) throw new ConvertException(zip.path() + ": tensor " + key + " is over 2 GiB");
        if (ref.contiguous()) {
            ByteBuffer slice = data.slice((int) (ref.offset() * eb), (int) (n * eb)).order(ByteOrder.LITTLE_ENDIAN);
            return Tensor.mapped(slice, st.dtype(), ref.size());
        }
        // A strided view: gather element by element into row-major order.
        byte[] dst = new byte[(int) (n * eb)];
        int[] size = ref.size();
        long[] stride = ref.stride();
        int rank = size.length;
        int[] idx = new int[rank];
        long src = ref.offset();
        for (long i = 0; i < n; i++) {
            data.get((int) (src * eb), dst, (int) (i * eb), eb);
            for (int d = rank - 1; d >= 0; d--) { // odometer increment of the multi-index, tracking the source offset
                if (++idx[d] < size[d]) { src += stride[d]; break; }
                src -= (long) (size[d] - 1) * stride[d];
                idx[d] = 0;
            }
        }
        return Tensor.mapped(ByteBuffer.wrap(dst), st.dtype(), size);
    }

    private static String kind(Object o) {
        if (o == null) return "None";
        if (o instanceof List<?>) return "a list";
        if (o instanceof Unpickler.PyTuple) return "a tuple";
        if (o instanceof TensorRef) return "a single tensor";
        return "a " + o.getClass().getSimpleName();
    }
}
