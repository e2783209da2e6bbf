import Foundation

// libFuzzer's entry point. Built with the fuzzer (see docs/reliability.md):
//   swift build --product bridgeos-fuzz --build-path .build-fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library -Xswiftc -DFUZZING
//   .build-fuzz/debug/bridgeos-fuzz -max_total_time=600 fuzz-corpus/
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    FuzzOne.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if !FUZZING
// Built without the fuzzer, it replays inputs: each file named on the command line (a crash libFuzzer saved,
// or a corpus), so a crash can be reproduced and debugged with the normal toolchain.
var replayed = 0
for path in CommandLine.arguments.dropFirst() {
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("bridgeos-fuzz: cannot read \(path)\n".utf8))
        exit(66)
    }
    FuzzOne.run(Array(data))
    replayed += 1
}
print("bridgeos-fuzz: \(replayed) input(s) replayed, none crashed")
#endif
