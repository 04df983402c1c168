/**
 * Reading configuration YAML the same way in every service: {@link dev.keel.core.config.YamlText}
 * reads a file (size limit, strict UTF-8) and composes it into SnakeYAML's node tree (never
 * constructing objects from tags); {@link dev.keel.core.config.Nodes} walks the tree and checks
 * keys (with "did you mean" suggestions), types, ranges, durations, sizes, booleans and IP
 * endpoints; {@link dev.keel.core.config.Units} parses durations and byte sizes in swanctl's
 * vocabulary; {@link dev.keel.core.config.Problems} collects every problem as
 * {@code file:line:col: key.path: message} ({@link dev.keel.core.config.ConfigProblem}). Each
 * service has one reader per section of its file on top of these.
 */
package dev.keel.core.config;
