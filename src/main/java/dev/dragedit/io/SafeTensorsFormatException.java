// A safetensors file that cannot be read as one: what is wrong, in which file, at which tensor. Thrown for every
// malformed or unsupported input so callers see one clear IOException instead of whatever the parser tripped on.
package dev.dragedit.io;

import java.io.IOException;
import java.nio.file.Path;

/** A safetensors file is malformed, or holds something this reader does not support. */
public final class SafeTensorsFormatException extends IOException {
    private final Path file;
    private final String tensor;

    public SafeTensorsFormatException(Path file, String tensor, String problem) {
        super(file + (tensor == null ? "" : ": tensor " + quote(tensor)) + ": " + problem);
        this.file = file;
        this.tensor = tensor;
    }

    public SafeTensorsFormatException(Path file, String problem) {
        this(file, null, problem);
    }

    /** The file that was being read or written. */
    public Path file() { return file; }

    /** The tensor the problem is about, or null when it concerns the whole file. */
    public String tensor() { return tensor; }

    /** A name as it appears in messages: quoted, control characters escaped, cut short, since it comes from the file. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        int limit = Math.min(s.length(), 200);
        for (int i = 0; i < limit; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        if (limit < s.length()) b.append("...(").append(s.length()).append(" chars)");
        return b.append('"').toString();
    }
}
