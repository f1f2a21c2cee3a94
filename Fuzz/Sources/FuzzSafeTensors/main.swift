// Fuzzes the safetensors reader: any bytes give tensors or a CheckpointError, never a
// crash; what it accepts must encode and decode to the same tensors.
import FuzzDriver
import RecRLNN

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let decoded = try? SafeTensors(bytes: fuzzBytes(data, size)) else { return 0 }
    guard let again = try? SafeTensors(bytes: decoded.encoded()) else { fatalError("re-encoded file does not decode") }
    for (name, t) in decoded.tensors {
        guard let u = again.tensors[name], u.shape == t.shape else { fatalError("round trip changed tensor '\(name)'") }
    }
    return 0
}

@_cdecl("FuzzSafeTensors_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, test: fuzzSafeTensors)
}
