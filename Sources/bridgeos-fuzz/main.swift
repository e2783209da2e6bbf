import Foundation

// The libFuzzer target (docs/reliability.md). Built with the fuzzer it hands its inputs to libFuzzer's
// driver; built normally it replays inputs (a crash libFuzzer saved, or a corpus) so a crash can be
// reproduced and debugged with the plain toolchain:
//   BRIDGEOS_FUZZ=1 swift build --product bridgeos-fuzz --build-path .build-fuzz   (see Package.swift)
//   .build-fuzz/debug/bridgeos-fuzz -max_total_time=600 fuzz-corpus/
//   swift build --product bridgeos-fuzz && .build/debug/bridgeos-fuzz crash-<digest>

/// One input, as libFuzzer calls it (libFuzzer's runtime also looks the symbol up by this name).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    FuzzOne.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

let testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in fuzzTestOneInput(data, size) }

#if FUZZING
// SwiftPM names this file's code the executable's `main`, so libFuzzer's own `main` is not linked: its
// driver is called from here (LLVMFuzzerRunDriver, in libFuzzer since LLVM 11).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
#else
var replayed = 0
for path in CommandLine.arguments.dropFirst() {
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("bridgeos-fuzz: cannot read \(path)\n".utf8))
        exit(66)
    }
    data.withUnsafeBytes { bytes in _ = testOneInput(bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count) }
    replayed += 1
}
print("bridgeos-fuzz: \(replayed) input(s) replayed, none crashed")
#endif
