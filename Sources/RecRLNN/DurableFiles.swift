import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// File operations whose result survives a crash or power loss at any point: data is on
/// disk (`fsync`) before a name points at it, and names change by `rename(2)`, which POSIX
/// makes atomic. Model stores and registries build their versioned layouts from these.
public enum DurableFiles {
    /// An I/O failure, with the operation and the path.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// What failed, e.g. `"fsync /models/x/weights"`.
        public var operation: String
        /// `errno` at the failure.
        public var code: Int32
        public var description: String { "\(operation): \(String(cString: strerror(code)))" }
    }

    /// Writes `bytes` to a new file at `url` (which must not exist), `fsync`s it and closes
    /// it. The file is complete on disk when this returns.
    public static func writeNewFile(_ bytes: [UInt8], to url: URL) throws(Failure) {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(operation: "create \(url.path)", code: errno) }
        var written = 0
        let total = bytes.count
        let error: Int32? = bytes.withUnsafeBytes { raw -> Int32? in
            while written < total {
                let n = write(fd, raw.baseAddress! + written, total - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return fsync(fd) == 0 ? nil : errno
        }
        close(fd)
        if let error { throw Failure(operation: "write \(url.path)", code: error) }
    }

    /// `fsync`s a directory, so that the names created, renamed or removed in it are durable.
    public static func syncDirectory(_ url: URL) throws(Failure) {
        let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open directory \(url.path)", code: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure(operation: "fsync directory \(url.path)", code: errno) }
    }

    /// Renames `source` to `destination` atomically (replacing a file or symbolic link there)
    /// and syncs the destination's directory.
    public static func rename(_ source: URL, to destination: URL) throws(Failure) {
        guard posixRename(source.path, destination.path) == 0 else {
            throw Failure(operation: "rename \(source.path) to \(destination.path)", code: errno)
        }
        try syncDirectory(destination.deletingLastPathComponent())
    }

    /// Points the symbolic link `link` at `target` (a path relative to the link's folder)
    /// atomically: readers see the old target or the new one, never a missing link.
    public static func replaceSymbolicLink(_ link: URL, target: String) throws(Failure) {
        let temporary = link.deletingLastPathComponent()
            .appendingPathComponent(".\(link.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        guard symlink(target, temporary.path) == 0 else { throw Failure(operation: "symlink \(temporary.path)", code: errno) }
        do { try rename(temporary, to: link) } catch {
            unlink(temporary.path)
            throw error
        }
    }

    /// The target of the symbolic link at `url`, or nil when `url` is not a symbolic link.
    public static func symbolicLinkTarget(_ url: URL) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(url.path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return buffer.withUnsafeBufferPointer { p in
            String(decoding: UnsafeRawBufferPointer(start: p.baseAddress, count: n), as: UTF8.self)
        }
    }

    /// Whether the process `pid` is still running (for cleaning up after a writer killed
    /// part-way).
    public static func processIsAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}

@inline(__always)
private func posixRename(_ a: String, _ b: String) -> Int32 {
    #if canImport(Glibc)
        return Glibc.rename(a, b)
    #elseif canImport(Musl)
        return Musl.rename(a, b)
    #else
        return Darwin.rename(a, b)
    #endif
}
