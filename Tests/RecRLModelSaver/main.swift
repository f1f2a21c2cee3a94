// A test helper, not a product: saves DRR models into one folder, again and again, so
// that Tests/RecRLDRRTests/ModelStoreTests can kill it with SIGKILL at random points of a
// save and check what a load sees afterwards.
//
//   RecRLModelSaver DIR SEED            saves the model of SEED once, then exits
//   RecRLModelSaver DIR SEED_A SEED_B   saves A, B, A, B, ... until killed
import Foundation
import RecRLTensor
import RecRLDRR

/// A small random DRR model, a pure function of `seed`.
func model(seed: UInt64) throws -> (DRRModel, DRRManifest) {
    var c = DRRConfiguration()
    c.embeddingSize = 16
    c.windowSize = 3
    c.hiddenSize = 64
    var rng = Xoshiro256StarStar(seed: seed)
    let users = Tensor(randomNormal: [50, 16], using: &rng), items = Tensor(randomNormal: [400, 16], using: &rng)
    let scale = RewardScale(minimum: 1, maximum: 5)
    let model = try DRRModel(configuration: c, userEmbeddings: users, itemEmbeddings: items, rewardScale: scale, using: &rng)
    let manifest = DRRManifest(
        policy: "drr-ave", configuration: c, seed: seed, dataFingerprint: "saver-\(seed)",
        userIDs: (0..<50).map { "u\($0)" }, itemIDs: (0..<400).map { "i\($0)" }, rewardScale: scale)
    return (model, manifest)
}

let arguments = CommandLine.arguments
guard arguments.count == 3 || arguments.count == 4, let a = UInt64(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: RecRLModelSaver DIR SEED [SEED_B]\n".utf8))
    exit(2)
}
let directory = URL(fileURLWithPath: arguments[1])
let first = try model(seed: a)
if arguments.count == 3 {
    try DRRModelStore.save(first.0, manifest: first.1, to: directory)
    exit(0)
}
guard let b = UInt64(arguments[3]) else { exit(2) }
let second = try model(seed: b)
FileHandle.standardOutput.write(Data("saving\n".utf8))
while true {
    try DRRModelStore.save(first.0, manifest: first.1, to: directory)
    try DRRModelStore.save(second.0, manifest: second.1, to: directory)
}
