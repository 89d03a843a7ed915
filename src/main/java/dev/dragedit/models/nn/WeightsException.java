package dev.dragedit.models.nn;

/**
 * A checkpoint that does not fit the model: a missing key, a tensor of the wrong shape or type, tensors the model
 * does not use, or an unreadable file. The message names the file, the key, and what was expected and found.
 */
public final class WeightsException extends RuntimeException {
    public WeightsException(String message) { super(message); }

    public WeightsException(String message, Throwable cause) { super(message, cause); }
}
