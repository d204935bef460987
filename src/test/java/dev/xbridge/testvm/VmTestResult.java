package dev.xbridge.testvm;

/**
 * One test's outcome inside the guest, as {@link VmTestMain} writes it (one
 * JSON object per line) and {@link KernelMatrixTest} reads it back.
 * {@code status} is SUCCESSFUL, FAILED, ABORTED (skipped by an assumption) or
 * SKIPPED (disabled); {@code message} and {@code trace} are empty on success.
 */
public record VmTestResult(String className, String name, String status, long millis, String message, String trace) {
    public boolean failed() {
        return status.equals("FAILED");
    }

    public boolean skipped() {
        return status.equals("ABORTED") || status.equals("SKIPPED");
    }

    /** {@code AccelerationTest.pingAndTcp...()} */
    public String shortName() {
        return className.substring(className.lastIndexOf('.') + 1) + "." + name;
    }
}
