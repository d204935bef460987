package dev.xbridge.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CacheSizeTest {
    @Test
    void theFullSizeFitsTheDefaultBudgetUpTo51PossibleCpus() {
        assertThat(CacheSize.FULL.bytesPerCpu()).isEqualTo(640 << 10);
        assertThat(CacheSize.fitting(CacheSize.DEFAULT_BUDGET, 1)).isEqualTo(CacheSize.FULL);
        assertThat(CacheSize.fitting(CacheSize.DEFAULT_BUDGET, 51)).isEqualTo(CacheSize.FULL);
        assertThat(CacheSize.fitting(CacheSize.DEFAULT_BUDGET, 52).bits()).isEqualTo(10);
    }

    @Test
    void moreCpusGetFewerSetsEachAndNeverMoreThanTheBudget() {
        for (int cpus : new int[] {1, 2, 8, 64, 128, 256, 1024, 1638, 1639, 8192}) {
            CacheSize c = CacheSize.fitting(CacheSize.DEFAULT_BUDGET, cpus);
            assertThat(c.bytesPerCpu() * cpus).as(cpus + " CPUs").isLessThanOrEqualTo(CacheSize.DEFAULT_BUDGET);
            if (c.on() && c.bits() < CacheSize.MAX_BITS) {
                assertThat(new CacheSize(c.bits() + 1).bytesPerCpu() * cpus).as("the next size up overruns")
                        .isGreaterThan(CacheSize.DEFAULT_BUDGET);
            }
        }
        assertThat(CacheSize.fitting(CacheSize.DEFAULT_BUDGET, 128)).isEqualTo(new CacheSize(9));
        assertThat(CacheSize.fitting(CacheSize.DEFAULT_BUDGET, 128).toString())
                .isEqualTo("512 flow sets, 1024 FDB sets: 160 KiB a CPU");
        // 20 KiB a CPU is the smallest: 1,638 CPUs fit in 32 MiB, 1,639 do not.
        assertThat(CacheSize.fitting(CacheSize.DEFAULT_BUDGET, 1638).bits()).isEqualTo(CacheSize.MIN_BITS);
        assertThat(CacheSize.fitting(CacheSize.DEFAULT_BUDGET, 1639)).isEqualTo(CacheSize.OFF);
        assertThat(CacheSize.fitting(0, 1)).isEqualTo(CacheSize.OFF);
    }

    @Test
    void offHasNoSetsAndTakesNothing() {
        assertThat(CacheSize.OFF.on()).isFalse();
        assertThat(CacheSize.OFF.flowSets()).isZero();
        assertThat(CacheSize.OFF.fdbSets()).isZero();
        assertThat(CacheSize.OFF.bytesPerCpu()).isZero();
        assertThat(CacheSize.OFF).hasToString("off");
    }

    @Test
    void sizesOutsideTheRangeAreRefused() {
        assertThatThrownBy(() -> new CacheSize(5)).hasMessageContaining("2^6 to 2^11");
        assertThatThrownBy(() -> new CacheSize(12)).hasMessageContaining("2^6 to 2^11");
        assertThatThrownBy(() -> CacheSize.fitting(1 << 20, 0)).hasMessageContaining("possible CPUs");
    }

    @Test
    void budgetsAreReadWithTheirUnits() {
        assertThat(CacheSize.parseBytes("32M")).isEqualTo(32L << 20);
        assertThat(CacheSize.parseBytes("512k")).isEqualTo(512L << 10);
        assertThat(CacheSize.parseBytes("1GiB")).isEqualTo(1L << 30);
        assertThat(CacheSize.parseBytes(" 4096 ")).isEqualTo(4096);
        assertThat(CacheSize.parseBytes("100B")).isEqualTo(100);
        assertThat(CacheSize.parseBytes("0")).isZero();
        assertThatThrownBy(() -> CacheSize.parseBytes("lots")).hasMessageContaining("'lots' is not a size");
        assertThatThrownBy(() -> CacheSize.parseBytes("12X")).hasMessageContaining("is not a size");
        assertThatThrownBy(() -> CacheSize.parseBytes("M")).hasMessageContaining("is not a size");
        assertThatThrownBy(() -> CacheSize.parseBytes("-1")).hasMessageContaining("out of range");
        assertThatThrownBy(() -> CacheSize.parseBytes("99999999999G")).hasMessageContaining("out of range");
    }

    @Test
    void byteCountsReadAsAnOperatorWouldWriteThem() {
        assertThat(CacheSize.bytes(640 << 10)).isEqualTo("640 KiB");
        assertThat(CacheSize.bytes(1280 << 10)).isEqualTo("1.3 MiB");
        assertThat(CacheSize.bytes(80L << 20)).isEqualTo("80 MiB");
    }
}
