// The one failure type of the weights converter: a file that cannot be converted (malformed, hostile, of an
// unsupported kind, or with keys that map to nothing). The message names the file and what was expected, so the CLI
// can print it as it is.
package dev.dragedit.convert;

import java.io.IOException;

/** A weights file that cannot be read or converted; the message says which file and why. */
public class ConvertException extends IOException {
    public ConvertException(String message) { super(message); }
    public ConvertException(String message, Throwable cause) { super(message, cause); }
}
