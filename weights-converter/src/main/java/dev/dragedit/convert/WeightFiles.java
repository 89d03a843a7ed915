// Opens any weights file the converter accepts - safetensors or a torch.save ZIP checkpoint - as one ordered map
// of tensors plus the safetensors metadata, deciding by the file's first bytes rather than its extension (people
// rename .ckpt to .pt or .bin). Legacy (pre-1.6, non-ZIP) torch files are refused with a message saying so.
package dev.dragedit.convert;

import dev.dragedit.convert.ckpt.CkptReader;
import dev.dragedit.io.SafeTensors;
import dev.dragedit.io.SafeTensorsFormatException;
import dev.dragedit.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** A weights file read into memory-mapped tensors: safetensors or .ckpt. */
public record WeightFiles(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
    public static WeightFiles read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new ConvertException(file + ": no such file (expected a .safetensors or .ckpt weights file)");
        byte[] head = new byte[9];
        int n;
        try (InputStream in = Files.newInputStream(file)) { n = in.readNBytes(head, 0, 9); }
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4)
            return new WeightFiles(file, CkptReader.read(file), Map.of());
        if (n >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 2 && head[1] <= 5)
            throw new ConvertException(file + ": a legacy (pre-PyTorch-1.6) pickle checkpoint; only the ZIP format of torch.save is read");
        if (n == 9 && head[8] == '{') {
            try (SafeTensors st = SafeTensors.open(file)) {
                Map<String, Tensor> t = new LinkedHashMap<>();
                for (String name : st.names()) t.put(name, st.get(name));
                return new WeightFiles(file, t, st.metadata());
            } catch (SafeTensorsFormatException e) {
                throw new ConvertException(e.getMessage(), e);
            }
        }
        throw new ConvertException(file + ": neither a safetensors file nor a torch.save ZIP checkpoint (unrecognised first bytes)");
    }
}
