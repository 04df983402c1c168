package dev.keel.sad.keys;

import dev.keel.proto.v1.ChildSaRecord;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The owning process's unwrapped CHILD SA keys, unwrapped on first use and zeroized when the SA
 * is deleted or moves to another node ({@link #evict}). Nothing else in the SA database holds a
 * plaintext key beyond the call that wrapped it.
 */
public final class KeyVault implements AutoCloseable {

    private final KeyWrap wrap;
    private final ConcurrentHashMap<String, ChildSaKeyMaterial> keys = new ConcurrentHashMap<>();

    public KeyVault(KeyWrap wrap) {
        this.wrap = wrap;
    }

    /** The keys of an SA record (with its wrapped keys), unwrapping them once. */
    public ChildSaKeyMaterial childKeys(ChildSaRecord r) {
        return keys.computeIfAbsent(r.getId(), (Function<String, ChildSaKeyMaterial>) id -> new ChildSaKeyMaterial(
                wrap.unwrap(r.getKeys().getEncryption().toByteArray(), r.getKeys().getKekId()),
                wrap.unwrap(r.getKeys().getIntegrity().toByteArray(), r.getKeys().getKekId())));
    }

    /** Zeroizes and forgets the keys of an SA, if held. */
    public void evict(String saId) {
        ChildSaKeyMaterial k = keys.remove(saId);
        if (k != null) {
            k.close();
        }
    }

    public int size() {
        return keys.size();
    }

    @Override
    public void close() {
        keys.values().forEach(ChildSaKeyMaterial::close);
        keys.clear();
    }
}
