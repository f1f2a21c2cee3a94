import Foundation

/// A field of a record: a byte range into the file buffer.
struct FieldRange {
    var start: Int
    var end: Int
    /// The field was enclosed in double quotes (range excludes the quotes).
    var quoted: Bool
    /// The quoted field contains `""` escapes that must be collapsed when decoded.
    var hasEscapes: Bool
}

/// Field separator of a text format.
enum FieldSeparator {
    case byte(UInt8)
    /// MovieLens 1M's two-byte `::`.
    case doubleColon
}

/// Scans records (lines, or RFC-4180 records when quoting is on) of a byte buffer without
/// allocating per line: fields are byte ranges into the buffer.
struct RecordScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    let separator: FieldSeparator
    let quoting: Bool
    private(set) var position: Int
    /// 1-based line number of the current record's first line.
    private(set) var line: Int = 0
    private var nextLine: Int = 1
    /// Fields of the current record; empty for a blank line.
    private(set) var fields: [FieldRange] = []

    init(bytes: UnsafeBufferPointer<UInt8>, separator: FieldSeparator, quoting: Bool, start: Int = 0) {
        self.bytes = bytes
        self.separator = separator
        self.quoting = quoting
        self.position = start
        fields.reserveCapacity(32)
    }

    /// Advances to the next record. Returns `false` at end of input.
    /// A final line without a trailing newline is still returned.
    mutating func next() -> Bool {
        let n = bytes.count
        guard position < n else { return false }
        fields.removeAll(keepingCapacity: true)
        line = nextLine
        var p = position
        var fieldStart = p
        // Blank line (possibly CRLF).
        if bytes[p] == 0x0A || (bytes[p] == 0x0D && (p + 1 == n || bytes[p + 1] == 0x0A)) {
            p += bytes[p] == 0x0D ? 1 : 0
            position = p + 1
            nextLine += 1
            return true
        }
        while true {
            // Start of a field.
            if quoting, p < n, bytes[p] == 0x22 {
                // Quoted field.
                var q = p + 1
                var escapes = false
                let contentStart = q
                var contentEnd = q
                var closed = false
                while q < n {
                    let b = bytes[q]
                    if b == 0x22 {
                        if q + 1 < n, bytes[q + 1] == 0x22 {
                            escapes = true
                            q += 2
                            continue
                        }
                        contentEnd = q
                        q += 1
                        closed = true
                        break
                    }
                    if b == 0x0A { nextLine += 1 }
                    q += 1
                }
                if !closed { contentEnd = q }
                // Skip anything up to the next separator / end of line (malformed trailing bytes are ignored).
                var r = q
                while r < n, bytes[r] != 0x0A, !isSeparator(at: r) { r += 1 }
                fields.append(FieldRange(start: contentStart, end: contentEnd, quoted: true, hasEscapes: escapes))
                p = r
            } else {
                var r = p
                while r < n {
                    let b = bytes[r]
                    if b == 0x0A { break }
                    if isSeparator(at: r) { break }
                    r += 1
                }
                var end = r
                if end > p, bytes[end - 1] == 0x0D, r == n || bytes[r] == 0x0A { end -= 1 }
                fields.append(FieldRange(start: fieldStart, end: end, quoted: false, hasEscapes: false))
                p = r
            }
            if p >= n {
                position = n
                nextLine += 1
                return true
            }
            if bytes[p] == 0x0A {
                position = p + 1
                nextLine += 1
                return true
            }
            // Separator.
            switch separator {
            case .byte: p += 1
            case .doubleColon: p += 2
            }
            fieldStart = p
            if p >= n {
                fields.append(FieldRange(start: p, end: p, quoted: false, hasEscapes: false))
                position = n
                nextLine += 1
                return true
            }
        }
    }

    @inline(__always)
    private func isSeparator(at i: Int) -> Bool {
        switch separator {
        case let .byte(s): return bytes[i] == s
        case .doubleColon: return bytes[i] == 0x3A && i + 1 < bytes.count && bytes[i + 1] == 0x3A
        }
    }

    // MARK: Field decoding

    /// The field's bytes with ASCII blanks trimmed.
    @inline(__always)
    func trimmed(_ f: FieldRange) -> (Int, Int) {
        var s = f.start, e = f.end
        while s < e, bytes[s] == 0x20 || bytes[s] == 0x09 { s += 1 }
        while e > s, bytes[e - 1] == 0x20 || bytes[e - 1] == 0x09 || bytes[e - 1] == 0x0D { e -= 1 }
        return (s, e)
    }

    /// Parses a decimal integer (optional sign, digits only).
    func int64(_ f: FieldRange) -> Int64? {
        var (s, e) = trimmed(f)
        guard s < e else { return nil }
        var negative = false
        if bytes[s] == 0x2D || bytes[s] == 0x2B {
            negative = bytes[s] == 0x2D
            s += 1
            guard s < e else { return nil }
        }
        var value: Int64 = 0
        while s < e {
            let d = bytes[s] &- 0x30
            guard d < 10 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(d))
            if o1 || o2 { return nil }
            value = a
            s += 1
        }
        return negative ? -value : value
    }

    /// Parses a decimal number such as `4`, `4.5`, `.5`, `-1` (an exponent falls back to `Double(String)`).
    func float(_ f: FieldRange) -> Float? {
        var (s, e) = trimmed(f)
        guard s < e else { return nil }
        var negative = false
        if bytes[s] == 0x2D || bytes[s] == 0x2B {
            negative = bytes[s] == 0x2D
            s += 1
        }
        var intPart: Double = 0
        var digits = 0
        while s < e, bytes[s] &- 0x30 < 10 {
            intPart = intPart * 10 + Double(bytes[s] &- 0x30)
            s += 1
            digits += 1
        }
        var frac: Double = 0
        var scale: Double = 1
        if s < e, bytes[s] == 0x2E {
            s += 1
            while s < e, bytes[s] &- 0x30 < 10 {
                frac = frac * 10 + Double(bytes[s] &- 0x30)
                scale *= 10
                s += 1
                digits += 1
            }
        }
        if s < e {
            // Exponent or garbage: let the standard library decide.
            guard let d = Double(latin1String(f).trimmingCharacters(in: .whitespaces)), d.isFinite else { return nil }
            return Float(d)
        }
        guard digits > 0 else { return nil }
        let v = intPart + frac / scale
        return Float(negative ? -v : v)
    }

    /// The raw field bytes (quotes removed, `""` collapsed).
    func rawBytes(_ f: FieldRange) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(f.end - f.start)
        var i = f.start
        while i < f.end {
            let b = bytes[i]
            out.append(b)
            if f.hasEscapes, b == 0x22, i + 1 < f.end, bytes[i + 1] == 0x22 { i += 2 } else { i += 1 }
        }
        return out
    }

    /// Decodes the field as Latin-1 (ISO-8859-1): every byte maps to the code point of the same value.
    func latin1String(_ f: FieldRange) -> String {
        let raw = rawBytes(f)
        if raw.allSatisfy({ $0 < 0x80 }) { return String(decoding: raw, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        for b in raw { scalars.append(Unicode.Scalar(b)) }
        return String(scalars)
    }

    /// Decodes the field as UTF-8, or returns `nil` if it is not valid UTF-8.
    func utf8String(_ f: FieldRange) -> String? {
        let raw = rawBytes(f)
        return String(validating: raw, as: UTF8.self)
    }

    /// Short printable excerpt of the field for error messages.
    func excerpt(_ f: FieldRange) -> String {
        let s = latin1String(f)
        return s.count > 40 ? String(s.prefix(40)) + "…" : s
    }
}

/// Reads a whole file into memory and checks it is a plausible 8-bit text file.
///
/// - Throws: ``DataError/missingFile(path:)``, ``DataError/unreadableFile(file:reason:)``,
///   ``DataError/emptyFile(file:)``, or ``DataError/unreadableEncoding(file:line:detail:)``
///   for UTF-16/UTF-32 byte-order marks or NUL bytes.
/// - Returns: the bytes and the offset just past a UTF-8 byte-order mark, if any.
func readTextFile(_ path: String) throws -> (bytes: [UInt8], start: Int) {
    let name = (path as NSString).lastPathComponent
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
        throw DataError.missingFile(path: path)
    }
    // An empty file is refused before it is read: Foundation's mapped read of a zero-length
    // file leaks its fallback buffer (found by the FuzzDatasets target).
    if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber, size.intValue == 0 {
        throw DataError.emptyFile(file: name)
    }
    let data: Data
    do {
        data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
        throw DataError.unreadableFile(file: name, reason: "\(error.localizedDescription)")
    }
    let bytes = [UInt8](data)
    var start = 0
    if bytes.count >= 2, (bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF) {
        throw DataError.unreadableEncoding(file: name, line: 1, detail: "UTF-16/UTF-32 byte-order mark; expected an 8-bit text file")
    }
    if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
    if let nul = bytes.firstIndex(of: 0) {
        var line = 1
        for b in bytes[..<nul] where b == 0x0A { line += 1 }
        throw DataError.unreadableEncoding(file: name, line: line, detail: "NUL byte; binary or UTF-16 data?")
    }
    if !bytes[start...].contains(where: { $0 != 0x0A && $0 != 0x0D && $0 != 0x20 && $0 != 0x09 }) {
        throw DataError.emptyFile(file: name)
    }
    return (bytes, start)
}
