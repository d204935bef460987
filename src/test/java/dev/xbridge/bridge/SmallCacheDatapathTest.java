package dev.xbridge.bridge;

/**
 * Every rule of {@link DatapathTest} with the smallest caches the loader chooses (a host with
 * many possible CPUs and a small {@code --cache-memory}): 64 flow sets and 128 FDB sets, where
 * a few dozen flows already push each other's copies out.
 */
class SmallCacheDatapathTest extends DatapathTest {
    @Override
    CacheSize caches() {
        return Datapath.fdbCacheSafeHere() ? new CacheSize(CacheSize.MIN_BITS) : CacheSize.OFF;
    }
}
