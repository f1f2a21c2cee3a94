import Foundation
import RecRLTensor

/// Errors reading or writing a safetensors checkpoint.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file is shorter than its header says.
    case truncated(String)
    /// The header is not valid JSON or misses a field.
    case invalidHeader(String)
    /// A tensor's dtype is not F32.
    case unsupportedDType(name: String, dtype: String)
    /// A tensor's byte range is inconsistent with its shape or with the other tensors.
    case inconsistentOffsets(String)
    /// The model has a parameter the checkpoint lacks.
    case missingTensor(String)
    /// A tensor's shape in the checkpoint differs from the model's.
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// Reading or writing the file failed.
    case io(String)

    public var description: String {
        switch self {
        case let .truncated(m): return "truncated safetensors file: \(m)"
        case let .invalidHeader(m): return "invalid safetensors header: \(m)"
        case let .unsupportedDType(n, d): return "tensor '\(n)' has dtype \(d); only F32 is supported"
        case let .inconsistentOffsets(m): return "inconsistent safetensors offsets: \(m)"
        case let .missingTensor(n): return "checkpoint has no tensor named '\(n)'"
        case let .shapeMismatch(n, e, f): return "tensor '\(n)' has shape \(f) in the checkpoint, the model expects \(e)"
        case let .io(m): return m
        }
    }
}

/// Named float32 tensors in the safetensors format (Hugging Face): an 8-byte
/// little-endian header length, a JSON header mapping each name to its `dtype`,
/// `shape` and `data_offsets` (padded with spaces to a multiple of 8 bytes, with an
/// optional `__metadata__` string map), then the raw little-endian data.
public struct SafeTensors: Sendable, Equatable {
    /// The tensors by name.
    public var tensors: [String: Tensor]
    /// Free-form string metadata (`__metadata__`).
    public var metadata: [String: String]

    /// A file's contents: named tensors and string metadata.
    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Encodes to bytes (tensors in name order).
    public func encoded() -> [UInt8] {
        let names = tensors.keys.sorted()
        var entries: [String] = []
        var offset = 0
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        for name in names {
            let t = tensors[name]!
            let bytes = t.count * 4
            entries.append(
                "\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
            )
            offset += bytes
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for name in names {
            tensors[name]!.withUnsafeBufferPointer { p in
                for x in p { withUnsafeBytes(of: x.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
            }
        }
        return out
    }

    /// Decodes bytes, validating the header against the data.
    public init(bytes: [UInt8]) throws(CheckpointError) {
        guard bytes.count >= 8 else { throw .truncated("\(bytes.count) bytes, need at least 8 for the header length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(bytes.count - 8) else {
            throw .truncated("header length \(n) exceeds the \(bytes.count - 8) bytes after it")
        }
        let headerEnd = 8 + Int(n)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd]))
        } catch {
            throw .invalidHeader("not valid JSON")
        }
        guard let object = json as? [String: Any] else { throw .invalidHeader("top level is not an object") }
        let dataCount = bytes.count - headerEnd
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        var ranges: [(Int, Int, String)] = []
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw .invalidHeader("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw .invalidHeader("__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any] else { throw .invalidHeader("entry '\(name)' is not an object") }
            guard let dtype = entry["dtype"] as? String else { throw .invalidHeader("entry '\(name)' has no dtype") }
            guard dtype == "F32" else { throw .unsupportedDType(name: name, dtype: dtype) }
            guard let shapeAny = entry["shape"] as? [Any], let offsetsAny = entry["data_offsets"] as? [Any], offsetsAny.count == 2 else {
                throw .invalidHeader("entry '\(name)' needs shape and two data_offsets")
            }
            let shape = try shapeAny.map { (x: Any) throws(CheckpointError) -> Int in
                guard let i = exactInteger(x), i >= 0 else { throw .invalidHeader("entry '\(name)' has a bad shape") }
                return i
            }
            guard let begin = exactInteger(offsetsAny[0]), let end = exactInteger(offsetsAny[1]),
                begin >= 0, end >= begin
            else { throw .inconsistentOffsets("entry '\(name)' has bad data_offsets") }
            guard end <= dataCount else {
                throw .truncated("tensor '\(name)' ends at byte \(end) but the data has \(dataCount) bytes")
            }
            guard let count = Tensor.elementCount(of: shape), count <= Int.max / 4 else {
                throw .invalidHeader("entry '\(name)' has a shape whose element count overflows: \(shape)")
            }
            guard end - begin == count * 4 else {
                throw .inconsistentOffsets("tensor '\(name)' of shape \(shape) needs \(count * 4) bytes, offsets give \(end - begin)")
            }
            ranges.append((begin, end, name))
            var scalars = [Float](repeating: 0, count: count)
            for i in 0..<count {
                let o = headerEnd + begin + 4 * i
                let bits = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
                scalars[i] = Float(bitPattern: bits)
            }
            do { tensors[name] = try Tensor(shape: shape, scalars: scalars) } catch {
                throw .invalidHeader("entry '\(name)': \(error)")
            }
        }
        ranges.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var expected = 0
        for (begin, end, name) in ranges {
            guard begin == expected else {
                throw .inconsistentOffsets("tensor '\(name)' starts at \(begin), expected \(expected) (overlap or gap)")
            }
            expected = end
        }
        guard expected == dataCount else {
            throw .inconsistentOffsets("tensors cover \(expected) bytes but the data has \(dataCount)")
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Writes the file atomically (a temporary file renamed into place).
    public func write(to url: URL) throws(CheckpointError) {
        do { try Data(encoded()).write(to: url, options: .atomic) } catch {
            throw .io("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    /// Reads and validates a file.
    public init(contentsOf url: URL) throws(CheckpointError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .io("cannot read \(url.path): \(error.localizedDescription)")
        }
        try self.init(bytes: [UInt8](data))
    }
}

/// A JSON number that is an integer representable as `Int`, else nil (fractions, 1e30, strings).
private func exactInteger(_ x: Any) -> Int? {
    guard let n = x as? NSNumber else { return nil }
    if let i = Int(exactly: n.doubleValue) {
        // Large integers lose precision through Double: take the integer value when it agrees.
        let v = n.int64Value
        return Double(v) == n.doubleValue ? Int(v) : i
    }
    return nil
}

private func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

extension Layer {
    /// The layer's parameters by name, with an optional name prefix (e.g. `actor.`).
    public func namedParameters(prefix: String = "") -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        forEachParameter { name, p in out[prefix + name] = p }
        return out
    }

    /// Replaces every parameter with the tensor of the same name (after `prefix`)
    /// in `tensors`. Throws, leaving the layer unchanged, when one is missing or
    /// has another shape.
    public mutating func loadParameters(from tensors: [String: Tensor], prefix: String = "") throws(CheckpointError) {
        var copy = self
        var failure: CheckpointError?
        copy.visitParameters { name, p in
            guard failure == nil else { return }
            guard let t = tensors[prefix + name] else { failure = .missingTensor(prefix + name); return }
            guard t.shape == p.shape else {
                failure = .shapeMismatch(name: prefix + name, expected: p.shape, found: t.shape)
                return
            }
            p = t
        }
        if let failure { throw failure }
        self = copy
    }

    /// Saves the parameters to a safetensors file.
    public func saveCheckpoint(to url: URL, metadata: [String: String] = [:]) throws(CheckpointError) {
        try SafeTensors(tensors: namedParameters(), metadata: metadata).write(to: url)
    }

    /// Loads the parameters from a safetensors file written by ``saveCheckpoint(to:metadata:)``.
    public mutating func loadCheckpoint(from url: URL) throws(CheckpointError) {
        try loadParameters(from: SafeTensors(contentsOf: url).tensors)
    }
}
