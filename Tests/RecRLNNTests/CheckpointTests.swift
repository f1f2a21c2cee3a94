import XCTest
import Foundation
import RecRLTensor
import RecRLNN
import RecRLTestSupport

final class CheckpointTests: XCTestCase {
    func tempURL(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("recrl-test-\(UUID().uuidString)-\(name)")
    }

    func testRoundTripThroughFile() throws {
        var rng = testRNG(31)
        let model = MLP(sizes: [4, 7, 3], using: &rng)
        let url = tempURL("model.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.saveCheckpoint(to: url, metadata: ["format": "recrl", "note": "quote \" and \\ backslash"])
        var other = MLP(sizes: [4, 7, 3], using: &rng)
        XCTAssertNotEqual(other.namedParameters(), model.namedParameters())
        try other.loadCheckpoint(from: url)
        XCTAssertEqual(other.namedParameters(), model.namedParameters())
        let file = try SafeTensors(contentsOf: url)
        XCTAssertEqual(file.metadata["note"], "quote \" and \\ backslash")
    }

    func testHeaderLayoutAndPadding() throws {
        let st = SafeTensors(tensors: ["a": Tensor([1, 2, 3])], metadata: [:])
        let bytes = st.encoded()
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        XCTAssertEqual(n % 8, 0, "header length is padded to a multiple of 8")
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        XCTAssertEqual(header.trimmingCharacters(in: .whitespaces), #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#)
        XCTAssertEqual(bytes.count, 8 + n + 12)
        // Little-endian 1.0f = 00 00 80 3F
        XCTAssertEqual(Array(bytes[(8 + n)..<(8 + n + 4)]), [0x00, 0x00, 0x80, 0x3F])
        XCTAssertEqual(try SafeTensors(bytes: bytes), st)
    }

    /// A file written independently (as Python's safetensors would) reads back.
    func testReadsHandWrittenFile() throws {
        let header = Array(#"{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}"#.utf8)
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += header
        for x: Float in [0.5, -2] { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        let st = try SafeTensors(bytes: bytes)
        XCTAssertEqual(st.tensors["w"]?.shape, [1, 2])
        XCTAssertEqual(st.tensors["w"]?.scalars, [0.5, -2])
        XCTAssertEqual(st.metadata, ["k": "v"])
    }

    func expect(_ bytes: [UInt8], _ check: (CheckpointError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensors(bytes: bytes), file: file, line: line) { error in
            guard let e = error as? CheckpointError else { return XCTFail("wrong error type \(error)", file: file, line: line) }
            XCTAssertTrue(check(e), "unexpected error: \(e)", file: file, line: line)
        }
    }

    func withHeader(_ json: String, data: Int) -> [UInt8] {
        let h = Array(json.utf8)
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes + h + [UInt8](repeating: 0, count: data)
    }

    func testCorruptFileErrors() {
        let good = SafeTensors(tensors: ["a": Tensor([1, 2, 3]), "b": Tensor([4])]).encoded()
        expect(Array(good.prefix(5))) {
            if case .truncated = $0 { return true }; return false
        }
        expect(Array(good.dropLast(2))) {
            if case .truncated = $0 { return true }; return false
        }
        var hugeHeader = good
        hugeHeader[7] = 0x7F
        expect(hugeHeader) {
            if case .truncated = $0 { return true }; return false
        }
        expect(withHeader("{not json", data: 0)) { $0 == .invalidHeader("not valid JSON") }
        expect(withHeader(#"{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}"#, data: 2)) {
            $0 == .unsupportedDType(name: "a", dtype: "F16")
        }
        expect(withHeader(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: 4)) {
            if case .inconsistentOffsets = $0 { return true }; return false
        }
        expect(withHeader(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#, data: 6)) {
            if case .inconsistentOffsets = $0 { return true }; return false
        }
        expect(withHeader(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 8)) {
            if case .inconsistentOffsets = $0 { return true }; return false
        }
        expect(withHeader(#"{"a":{"dtype":"F32","data_offsets":[0,4]}}"#, data: 4)) {
            if case .invalidHeader = $0 { return true }; return false
        }
        // Dimensions whose product overflows, or that JSON gives as huge or fractional
        // numbers: a clear error, never a trap.
        expect(withHeader(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: 4)) {
            if case .invalidHeader = $0 { return true }; return false
        }
        expect(withHeader(#"{"a":{"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,4]}}"#, data: 4)) {
            if case .invalidHeader = $0 { return true }; return false
        }
        expect(withHeader(#"{"a":{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}}"#, data: 4)) {
            if case .invalidHeader = $0 { return true }; return false
        }
        expect(withHeader(#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: 4)) {
            if case .invalidHeader = $0 { return true }; return false
        }
        expect(withHeader(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,1e300]}}"#, data: 4)) {
            if case .inconsistentOffsets = $0 { return true }; return false
        }
    }

    func testSHA256KnownAnswers() {
        // FIPS 180-4 examples and a multi-block message.
        XCTAssertEqual(SHA256.hexDigest(of: [UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hexDigest(of: Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hexDigest(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(
            SHA256.hexDigest(of: [UInt8](repeating: 0x61, count: 1_000_000)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Feeding in pieces gives the same digest as one call.
        var h = SHA256()
        h.update(Array("ab".utf8)); h.update(Array("c".utf8))
        XCTAssertEqual(h.finalizeHex(), SHA256.hexDigest(of: Array("abc".utf8)))
    }

    func testLoadingIntoMismatchedModelThrowsAndLeavesModelUnchanged() throws {
        var rng = testRNG(32)
        let small = MLP(sizes: [4, 7, 3], using: &rng)
        var big = MLP(sizes: [4, 8, 3], using: &rng)
        let before = big.namedParameters()
        XCTAssertThrowsError(try big.loadParameters(from: small.namedParameters())) { error in
            XCTAssertEqual(error as? CheckpointError, .shapeMismatch(name: "layers.0.weight", expected: [4, 8], found: [4, 7]))
        }
        XCTAssertEqual(big.namedParameters(), before)
        var deeper = MLP(sizes: [4, 7, 3, 2], using: &rng)
        XCTAssertThrowsError(try deeper.loadParameters(from: small.namedParameters())) { error in
            XCTAssertEqual(error as? CheckpointError, .missingTensor("layers.2.weight"))
        }
        XCTAssertThrowsError(try SafeTensors(contentsOf: tempURL("missing"))) { error in
            if case .io = error as? CheckpointError {} else { XCTFail("expected io error, got \(error)") }
        }
    }
}
