package dev.dragedit.cuda;

/** A device allocation failed for lack of memory (after the device's own cache was trimmed). */
public final class DeviceOutOfMemoryException extends IllegalStateException {
    public DeviceOutOfMemoryException(String message) { super(message); }
}
