// Shared by the tests: fresh stores in temp dirs, valid sample records, and a real doorstep-server process.
import DoorstepKit
import Foundation
import Security
import XCTest

enum Fixtures {
    /// A fresh random 32-byte key, as the app would keep in the Keychain.
    static func newKey() -> Data {
        var bytes = [UInt8](repeating: 0, count: 32)
        _ = SecRandomCopyBytes(kSecRandomDefault, bytes.count, &bytes)
        return Data(bytes)
    }

    /// A new empty directory for one test's stores.
    static func tempDir(_ prefix: String = "doorstep-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A date as the core expects it (`YYYY-MM-DD`), today or `days` from today.
    static func day(_ days: Int = 0) -> String {
        let formatter = DateFormatter()
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date().addingTimeInterval(TimeInterval(days * 86_400)))
    }

    /// A valid 18-character national ID for a birth date, with the ISO 7064 mod 11-2 check digit.
    static func nationalId(region: String, birthDate: String, sequence: String) -> String {
        let body = region + birthDate.replacingOccurrences(of: "-", with: "") + sequence
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(body, weights).reduce(0) { $0 + Int(String($1.0))! * $1.1 }
        let checks = Array("10X98765432")
        return body + String(checks[sum % 11])
    }

    /// A household of two in 石门村 assigned to `helper`.
    static func household(helper: String = "helper1", number: String = "HH-001", village: String = "石门村") -> Household {
        Household.new(
            number: number, village: village, headName: "王大山", povertyStatus: .monitored, township: "清水镇",
            helperIds: [helper],
            members: [
                Member.new(name: "王大山", sex: .male, birthDate: "1961-03-05", relation: .head,
                           nationalId: nationalId(region: "522422", birthDate: "1961-03-05", sequence: "123"),
                           conditions: [.hypertension]),
                Member.new(name: "李秀英", sex: .female, birthDate: "1964-08-19", relation: .spouse),
            ])
    }

    static func open(_ dir: URL, key: Data, device: String = "test-phone") async throws -> DoorstepClient {
        try await DoorstepClient.open(path: dir.appendingPathComponent("store.db"), key: key, deviceName: device)
    }
}

/// A real doorstep-server on a loopback port in a temp data dir (`DOORSTEP_SERVER_BIN`, or the repository's
/// target/debug build for macOS), started for a test and stopped after it.
final class ServerProcess {
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["DOORSTEP_SERVER_BIN"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("target/debug/doorstep-server")
    }

    let url: String
    private let process: Process

    /// Runs one admin command of the server on `dataDir` and fails if it fails.
    static func admin(_ dataDir: URL, _ args: [String]) throws {
        let p = Process()
        p.executableURL = binary
        p.arguments = ["--data", dataDir.path] + args
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw NSError(domain: "doorstep-server \(args)", code: Int(p.terminationStatus)) }
    }

    /// Starts `serve --listen 127.0.0.1:0` and reads its "listening on http://…" line.
    init(dataDir: URL) throws {
        process = Process()
        process.executableURL = ServerProcess.binary
        process.arguments = ["--data", dataDir.path, "serve", "--listen", "127.0.0.1:0"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var text = ""
        var found: String?
        for _ in 0..<1000 where found == nil {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            if let range = text.range(of: #"listening on (http://[^\s]+)"#, options: .regularExpression) {
                found = String(text[range].dropFirst("listening on ".count))
            }
        }
        guard let url = found else {
            process.terminate()
            throw NSError(domain: "doorstep-server did not start: \(text)", code: 1)
        }
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}
