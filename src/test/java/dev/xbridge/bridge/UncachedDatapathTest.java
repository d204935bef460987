package dev.xbridge.bridge;

/**
 * Every rule of {@link DatapathTest} with fdb_cache off, as the daemon loads the datapath
 * where loads are not ordered (not x86): each frame then looks the fdb map up itself.
 */
class UncachedDatapathTest extends DatapathTest {
    @Override
    CacheSize caches() {
        return CacheSize.OFF;
    }
}
