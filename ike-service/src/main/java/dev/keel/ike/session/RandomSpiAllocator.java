package dev.keel.ike.session;

import java.security.SecureRandom;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** A node-local {@link SpiAllocator}: random values above 255, checked against those in use. */
public final class RandomSpiAllocator implements SpiAllocator {

    private final SecureRandom random;
    private final Set<Integer> inUse = ConcurrentHashMap.newKeySet();

    /** An allocator drawing from {@code random}. */
    public RandomSpiAllocator(SecureRandom random) {
        this.random = random;
    }

    @Override
    public int allocate() {
        while (true) {
            int spi = random.nextInt();
            if (Integer.compareUnsigned(spi, 255) > 0 && inUse.add(spi)) {
                return spi;
            }
        }
    }

    @Override
    public void release(int spi) {
        inUse.remove(spi);
    }

    @Override
    public void reserve(int spi) {
        inUse.add(spi);
    }
}
