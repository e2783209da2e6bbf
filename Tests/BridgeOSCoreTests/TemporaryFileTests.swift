@testable import BridgeOSCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Temporary files that may hold every conversation: claimed, swept only when abandoned, put in place
/// without ever replacing a file.
@Suite struct TemporaryFileTests {
    func withDirectory(_ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bridgeos-files-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }

    func write(_ text: String, to path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }

    func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test("a claimed file is new, private and locked; a sweep takes it only once its owner is gone and its lock released")
    func claimsAndSweeps() throws {
        try withDirectory { directory in
            let file = directory + "/bridgeos.sqlite"
            // A run whose pid means nothing here (another PID namespace, another host on a shared disk) but that
            // still holds its lock: kept.
            let foreign = try ClaimedFile.create(file + ".importing-999999999-7")
            write("x", to: foreign.path + "-wal")
            var info = stat()
            #expect(stat(foreign.path, &info) == 0 && info.st_mode & 0o777 == 0o600)
            #expect(throws: FilePlacementError.self) { try ClaimedFile.create(foreign.path) }
            #expect(StaleFiles.sweep(beside: file, marker: ".importing-").isEmpty)
            #expect(FileManager.default.fileExists(atPath: foreign.path))

            // Killed: the lock is gone with it, so the file and its companion go.
            foreign.release()
            foreign.release()  // once only: a second release closes nothing
            let removed = StaleFiles.sweep(beside: file, marker: ".importing-")
            #expect(Set(removed) == [foreign.path, foreign.path + "-wal"])

            // This process's own files, a live process's files, other names and a WAL without its file.
            let mine = try ClaimedFile.create(beside: file, marker: ".importing-")
            write("x", to: file + ".importing-1-1")  // pid 1 lives
            write("x", to: file + ".importing-999999998-2-shm")  // its main file is gone
            write("x", to: file + ".partial-999999999-3")
            write("x", to: file)
            #expect(StaleFiles.sweep(beside: file, marker: ".importing-") == [file + ".importing-999999998-2-shm"])
            for kept in [mine.path, file + ".importing-1-1", file + ".partial-999999999-3", file] {
                #expect(FileManager.default.fileExists(atPath: kept), "\(kept)")
            }
            mine.release()
        }
    }

    @Test("placing a file never replaces one, also where the file system has no hard links; replace is one step")
    func placement() throws {
        try withDirectory { directory in
            /// Places a new file, then refuses to place another over it: the first stays, the second is kept.
            func placesOnce(at destination: String, hardLink: (String, String) -> Int32, renameNoReplace: (String, String) -> Int32) throws {
                write("first", to: directory + "/a")
                try FilePlacement.placeNew(directory + "/a", at: destination, hardLink: hardLink, renameNoReplace: renameNoReplace)
                #expect(read(destination) == "first" && !FileManager.default.fileExists(atPath: directory + "/a"))
                write("second", to: directory + "/b")
                #expect {
                    try FilePlacement.placeNew(directory + "/b", at: destination, hardLink: hardLink, renameNoReplace: renameNoReplace)
                } throws: { error in
                    (error as? FilePlacementError)?.exists == true
                }
                #expect(read(destination) == "first" && read(directory + "/b") == "second")
            }
            func failing(_ code: Int32) -> (String, String) -> Int32 {
                { _, _ in
                    errno = code
                    return -1
                }
            }
            // With hard links.
            try placesOnce(at: directory + "/export.sql", hardLink: { link($0, $1) }, renameNoReplace: FilePlacement.renameNoReplace)
            // vfat and some FUSE mounts: link() fails with EPERM; renameat2(RENAME_NOREPLACE) places the file.
            try placesOnce(at: directory + "/other.sql", hardLink: failing(EPERM), renameNoReplace: FilePlacement.renameNoReplace)
            // NFS: neither; the name is claimed with O_EXCL, then the file renamed over the claim.
            try placesOnce(at: directory + "/third.sql", hardLink: failing(EPERM), renameNoReplace: failing(EINVAL))

            // Any other failure is reported as it is, and nothing is claimed.
            #expect(throws: FilePlacementError.self) {
                try FilePlacement.placeNew(directory + "/b", at: directory + "/new.sql", hardLink: failing(EACCES), renameNoReplace: failing(EACCES))
            }
            #expect(!FileManager.default.fileExists(atPath: directory + "/new.sql"))

            try FilePlacement.replace(directory + "/b", at: directory + "/other.sql")
            #expect(read(directory + "/other.sql") == "second" && !FileManager.default.fileExists(atPath: directory + "/b"))
        }
    }
}
