// Fuzzes the model manifest decoder and the configuration validation behind it: any bytes
// give a manifest or an error, never a crash.
import Foundation
import FuzzDriver
import RecRLDRR

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    guard let manifest = try? JSONDecoder().decode(DRRManifest.self, from: Data(bytes)) else { return 0 }
    _ = try? manifest.configuration.validate()
    _ = manifest.rewardScale.reward(forRating: 4)
    return 0
}

@_cdecl("FuzzManifest_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, test: fuzzManifest)
}
