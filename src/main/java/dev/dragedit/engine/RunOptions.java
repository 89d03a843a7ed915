package dev.dragedit.engine;

/**
 * What a run asked for: the device ({@code --device}) and whether every op is shadowed by the CPU op set
 * ({@code --validate}). {@link Engine#open} turns it into the run's op set.
 */
public record RunOptions(DeviceChoice device, boolean validate) {
    /** The message of the one combination that can never work. */
    public static final String VALIDATE_NEEDS_CUDA = "--validate shadows the CUDA op set; use --device cuda or emulated";

    /** --device auto, no validation: what a run without either option gets. */
    public static final RunOptions DEFAULT = new RunOptions(DeviceChoice.AUTO, false);

    public RunOptions {
        if (device == null) throw new IllegalArgumentException("RunOptions: device is null");
    }

    /**
     * Throws {@link OptionsException} when the options contradict each other whatever the machine has:
     * {@code --validate} with {@code --device cpu}.
     */
    public RunOptions check() {
        if (validate && device == DeviceChoice.CPU) throw new OptionsException(VALIDATE_NEEDS_CUDA);
        return this;
    }
}
