package dev.keel.bench;

import dev.keel.core.crypto.AeadEngine;
import java.util.Locale;

/**
 * The {@code engine} parameter of the ESP benchmarks: {@code auto} leaves {@link AeadEngine}'s own
 * choice, {@code openssl} or {@code jca} force one for the AEAD suites. The choice is made once per
 * JVM, so it is set before the first cipher exists, which a forked trial (JMH's default, one fork
 * per parameter combination) guarantees; a trial that ends up on another engine fails.
 */
final class EspBenchmarkEngine {

    private EspBenchmarkEngine() {
    }

    static void select(String engine) {
        String wanted = engine.toLowerCase(Locale.ROOT);
        if (wanted.equals("auto")) {
            return;
        }
        System.setProperty(AeadEngine.PROPERTY, wanted);
        AeadEngine selected = AeadEngine.selected();
        if (!selected.name().equalsIgnoreCase(wanted)) {
            throw new IllegalStateException("engine=" + engine + " asked, but this JVM already runs " + selected
                    + " (" + AeadEngine.selectionReason() + "); run forked (-f 1 or more)");
        }
    }
}
