package dev.keel.esp.config;

import dev.keel.esp.forward.StaticSaPair;

/** A statically keyed SA pair as the configuration names it under {@code sas:}. */
public record NamedSaPair(String name, StaticSaPair pair) {
}
