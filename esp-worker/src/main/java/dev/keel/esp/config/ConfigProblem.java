package dev.keel.esp.config;

/**
 * One thing wrong with a configuration: where (file, key path, position) and what. Messages
 * never contain secret material: secret files and variables are named, never quoted.
 *
 * @param file    the file, or the name given to inline text
 * @param path    dotted key path with 0-based list indexes, e.g.
 *                {@code connections.site-b.children.net.local_ts[1]}; empty for the whole file
 * @param line    1-based line of the offending node, 0 when unknown
 * @param column  1-based column, 0 when unknown
 * @param message what is wrong
 */
public record ConfigProblem(String file, String path, int line, int column, String message) {

    /** E.g. {@code keel.yaml:12:7: connections.a.version: IKEv1 is not supported}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(file);
        if (line > 0) {
            sb.append(':').append(line).append(':').append(column);
        }
        sb.append(": ");
        if (!path.isEmpty()) {
            sb.append(path).append(": ");
        }
        return sb.append(message).toString();
    }
}
