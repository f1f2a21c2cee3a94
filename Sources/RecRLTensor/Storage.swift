/// Contiguous, 64-byte aligned float32 storage shared copy-on-write by `Tensor` values.
@usableFromInline
final class TensorStorage: @unchecked Sendable {
    // Safety: a storage is only mutated through a Tensor that holds the sole
    // reference to it (checked with isKnownUniquelyReferenced), as with Array.
    @usableFromInline let pointer: UnsafeMutablePointer<Float>
    @usableFromInline let capacity: Int

    @usableFromInline
    init(capacity: Int) {
        self.capacity = capacity
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: Swift.max(capacity, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: Swift.max(capacity, 1))
    }

    @usableFromInline
    convenience init(copying other: TensorStorage, count: Int) {
        self.init(capacity: count)
        pointer.update(from: other.pointer, count: count)
    }

    deinit {
        UnsafeMutableRawPointer(pointer).deallocate()
    }
}
