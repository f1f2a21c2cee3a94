import Foundation

/// Whether /proc/cpuinfo lists the flag (read independently of the library); false where
/// there is no /proc/cpuinfo.
public func recrlCPUHas(_ flag: String) -> Bool {
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
    return info.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").contains(Substring(flag)) ?? false
}
