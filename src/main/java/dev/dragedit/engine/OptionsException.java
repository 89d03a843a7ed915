package dev.dragedit.engine;

/**
 * Run options that cannot be honoured together ({@code --validate} with the CPU op set, chosen explicitly or by
 * {@code --device auto} on a machine without a GPU). A user error, not a failure: the CLI reports it as a usage
 * error (exit 2).
 */
public final class OptionsException extends IllegalArgumentException {
    public OptionsException(String message) { super(message); }
}
