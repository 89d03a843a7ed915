// Writes a torch.save-style checkpoint for the tests: a ZIP of stored entries <root>/data.pkl, <root>/data/<key>
// (little-endian storage bytes) and <root>/version, as torch/serialization.py _save lays it out, with the pickle
// made by PickleWriter. Tensors can share a storage or be strided views of it, to exercise offsets and strides.
package dev.dragedit.convert.testing;

import dev.dragedit.tensor.DType;
import dev.dragedit.tensor.Tensor;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

public final class CkptWriter {
    private CkptWriter() {}

    /** Writes {@code stateDict} (under "state_dict", beside a "global_step" int) as contiguous tensors, one storage each. */
    public static void write(Path file, Map<String, Tensor> stateDict) throws IOException {
        PickleWriter p = new PickleWriter().proto().emptyDict().mark();
        p.str("global_step").integer(470000);
        p.str("state_dict").emptyDict().mark();
        Map<String, byte[]> storages = new LinkedHashMap<>();
        int i = 0;
        for (Map.Entry<String, Tensor> e : stateDict.entrySet()) {
            Tensor t = e.getValue();
            String key = String.valueOf(i++);
            int[] shape = t.shape();
            long[] size = new long[shape.length], stride = new long[shape.length];
            long s = 1;
            for (int d = shape.length - 1; d >= 0; d--) { size[d] = shape[d]; stride[d] = s; s *= shape[d]; }
            p.str(e.getKey()).tensor(storageType(t.dtype()), key, t.numel(), 0, size, stride);
            storages.put(key, bytes(t));
        }
        p.setItems().setItems().stop();
        writeZip(file, "archive", p.bytes(), storages);
    }

    public static String storageType(DType d) {
        return switch (d) {
            case F32 -> "FloatStorage";
            case F16 -> "HalfStorage";
            case BF16 -> "BFloat16Storage";
            case F64 -> "DoubleStorage";
            case I64 -> "LongStorage";
            case I32 -> "IntStorage";
            case U8 -> "ByteStorage";
        };
    }

    public static byte[] bytes(Tensor t) {
        ByteBuffer b = t.toBytes();
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return a;
    }

    /** A ZIP of stored entries: root/data.pkl, root/data/KEY..., root/version. */
    public static void writeZip(Path file, String root, byte[] pickle, Map<String, byte[]> storages) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(os)) {
            stored(z, root + "/data.pkl", pickle);
            for (Map.Entry<String, byte[]> e : storages.entrySet()) stored(z, root + "/data/" + e.getKey(), e.getValue());
            stored(z, root + "/version", "3\n".getBytes());
        }
    }

    public static void stored(ZipOutputStream z, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        z.putNextEntry(e);
        z.write(data);
        z.closeEntry();
    }
}
