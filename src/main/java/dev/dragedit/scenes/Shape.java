package dev.dragedit.scenes;

/** The shapes a {@link SceneGenerator} draws; {@link #word()} is the caption's word for it. */
public enum Shape {
    DISC, SQUARE, TRIANGLE, ELLIPSE, BLOB;

    /** The lowercase English word used in captions ("disc", "square", ...). */
    public String word() { return name().toLowerCase(java.util.Locale.ROOT); }
}
