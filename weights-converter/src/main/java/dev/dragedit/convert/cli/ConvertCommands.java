// Contributes the weights converter's commands to the dragedit CLI (cli/CommandProvider, loaded by ServiceLoader).
package dev.dragedit.convert.cli;

import dev.dragedit.cli.CommandProvider;

import java.util.List;

/** {@code dragedit convert}. */
public final class ConvertCommands implements CommandProvider {
    @Override public List<Object> commands() { return List.of(new ConvertCommand()); }
}
