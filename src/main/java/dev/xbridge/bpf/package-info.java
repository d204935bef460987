/**
 * libbpf 1.1 ({@code libbpf.so.1}) over {@code java.lang.foreign}: BPF objects, maps, programs,
 * links (XDP, tcx) and BTF, one Java type per kernel object, each owning (or borrowing) its fd;
 * and the pre-tcx TC attachment, a clsact qdisc with a cls_bpf filter ({@link dev.xbridge.bpf.ClsBpf}).
 *
 * <p>Errors are {@link dev.xbridge.bpf.BpfException}s naming the call, the object and the errno,
 * e.g. {@code bpf_map_update_elem fdb: file exists (EEXIST)}. libbpf's own log goes to the
 * {@code java.util.logging} logger {@code dev.xbridge.bpf.libbpf} at debug levels, and a failed
 * load carries the tail of the verifier log in its exception message.
 */
package dev.xbridge.bpf;
