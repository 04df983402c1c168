/**
 * Reading configuration YAML the same way in every service: {@link dev.keel.core.config.Nodes}
 * walks SnakeYAML's node tree (never constructing objects from tags) and checks keys, types and
 * ranges; {@link dev.keel.core.config.Units} parses durations and byte sizes in swanctl's
 * vocabulary; {@link dev.keel.core.config.Problems} collects every problem as
 * {@code file:line:col: key.path: message} ({@link dev.keel.core.config.ConfigProblem}). The
 * callers read the files; nothing here does I/O.
 */
package dev.keel.core.config;
