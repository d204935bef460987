/**
 * Tests on the kernels users run: {@code scripts/testvm} boots a pinned
 * Debian stock kernel under QEMU with this machine's root shared read-only,
 * and these classes run commands and JUnit tests in it. {@link TestVm} runs a
 * command in a guest, {@link VmTestMain} is the JUnit launcher that runs
 * inside it, and {@link KernelMatrixTest} runs every {@code @Tag("vm")} test
 * (plus a few whole classes) on each kernel of {@code scripts/testvm-kernels}
 * and reports each result as a test of the host run. docs/testing.md says why
 * and what it costs.
 */
package dev.xbridge.testvm;
