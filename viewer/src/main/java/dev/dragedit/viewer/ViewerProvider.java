// Contributes the viewer's command to the dragedit CLI (cli/CommandProvider, loaded by ServiceLoader).
package dev.dragedit.viewer;

import dev.dragedit.cli.CommandProvider;

import java.util.List;

/** {@code dragedit view}. */
public final class ViewerProvider implements CommandProvider {
    @Override public List<Object> commands() { return List.of(new ViewerCommand()); }
}
