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
            let destination = directory + "/export.sql"
            write("first", to: directory + "/a")
            try FilePlacement.placeNew(directory + "/a", at: destination)
            #expect(read(destination) == "first" && !FileManager.default.fileExists(atPath: directory + "/a"))

            write("second", to: directory + "/b")
            #expect { try FilePlacement.placeNew(directory + "/b", at: destination) } throws: { error in
                (error as? FilePlacementError)?.exists == true
            }
            #expect(read(destination) == "first" && read(directory + "/b") == "second")

            // vfat and some FUSE mounts: link() fails with EPERM; renameat2(RENAME_NOREPLACE) places the file.
            let unsupported: (String, String) -> Int32 = { _, _ in
                errno = EPERM
                return -1
            }
            let other = directory + "/other.sql"
            try FilePlacement.placeNew(directory + "/b", at: other, hardLink: unsupported, renameNoReplace: FilePlacement.renameNoReplace)
            #expect(read(other) == "second" && !FileManager.default.fileExists(atPath: directory + "/b"))
            write("third", to: directory + "/c")
            #expect {
                try FilePlacement.placeNew(directory + "/c", at: other, hardLink: unsupported, renameNoReplace: FilePlacement.renameNoReplace)
            } throws: { error in
                (error as? FilePlacementError)?.exists == true
            }
            #expect(read(other) == "second" && read(directory + "/c") == "third")

            // NFS: neither; the name is claimed with O_EXCL, then the file renamed over the claim.
            let noReplaceUnsupported: (String, String) -> Int32 = { _, _ in
                errno = EINVAL
                return -1
            }
            let third = directory + "/third.sql"
            try FilePlacement.placeNew(directory + "/c", at: third, hardLink: unsupported, renameNoReplace: noReplaceUnsupported)
            #expect(read(third) == "third" && !FileManager.default.fileExists(atPath: directory + "/c"))
            write("fourth", to: directory + "/d")
            #expect {
                try FilePlacement.placeNew(directory + "/d", at: third, hardLink: unsupported, renameNoReplace: noReplaceUnsupported)
            } throws: { error in
                (error as? FilePlacementError)?.exists == true
            }
            #expect(read(third) == "third" && read(directory + "/d") == "fourth")

            // Any other failure is reported as it is, and nothing is claimed.
            let denied: (String, String) -> Int32 = { _, _ in
                errno = EACCES
                return -1
            }
            #expect(throws: FilePlacementError.self) {
                try FilePlacement.placeNew(directory + "/d", at: directory + "/new.sql", hardLink: denied, renameNoReplace: denied)
            }
            #expect(!FileManager.default.fileExists(atPath: directory + "/new.sql"))

            try FilePlacement.replace(directory + "/d", at: other)
            #expect(read(other) == "fourth" && !FileManager.default.fileExists(atPath: directory + "/d"))
        }
    }
}
