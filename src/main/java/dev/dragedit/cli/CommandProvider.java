package dev.dragedit.cli;

import java.util.List;

/**
 * How a module adds commands to {@code dragedit} without the CLI knowing it: implement this, list the class in
 * {@code META-INF/services/dev.dragedit.cli.CommandProvider}, and {@link Main} picks it up through
 * {@link java.util.ServiceLoader}. The shaded jar merges every module's service files, so the weights converter and
 * the viewer can each bring their own subcommands ({@code convert}, {@code view}).
 */
public interface CommandProvider {
    /**
     * Picocli command objects: instances of {@code @Command}-annotated classes (or {@code CommandLine}s).
     * A new instance per call, since picocli stores parsed options in them.
     */
    List<Object> commands();

    /**
     * Where they go: the empty string for top-level commands ({@code dragedit NAME}), or the name of an existing
     * command to nest under it, e.g. {@code "bench"} for {@code dragedit bench NAME}.
     */
    default String parent() { return ""; }
}
