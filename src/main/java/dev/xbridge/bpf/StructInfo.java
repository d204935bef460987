package dev.xbridge.bpf;

import java.util.List;
import java.util.Optional;

/**
 * A struct's layout as BTF describes it: total size and each member's byte offset and size.
 * A test compares these against the Java flyweights' *_OFFSET constants.
 */
public record StructInfo(String name, int size, List<Member> members) {
    public StructInfo {
        members = List.copyOf(members);
    }

    /** One member; {@code name} is empty for an anonymous struct or union. */
    public record Member(String name, int offset, int size) {}

    public Optional<Member> member(String memberName) {
        return members.stream().filter(m -> m.name().equals(memberName)).findFirst();
    }
}
