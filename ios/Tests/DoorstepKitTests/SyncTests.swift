// The library against a real doorstep-server on a loopback port: login, sync both ways, the AsyncStream of sync
// state, a conflict made by two devices editing the same field offline, listed and resolved, and typed refusals.
// Mirrors android/doorstep-kotlin/src/test/kotlin/app/doorstep/core/SyncTest.kt.
import DoorstepKit
import XCTest

final class SyncTests: XCTestCase {
    private var server: ServerProcess!

    override func setUpWithError() throws {
        let data = try Fixtures.tempDir("doorstep-server")
        try ServerProcess.admin(data, ["user", "add", "helper1", "--role", "helper", "--password", "pw-helper1"])
        server = try ServerProcess(dataDir: data)
    }

    override func tearDown() {
        server?.stop()
    }

    private func device(_ name: String) async throws -> DoorstepClient {
        try await Fixtures.open(try Fixtures.tempDir(name), key: Fixtures.newKey(), device: name)
    }

    func testRecordsReachTheServerAndComeDownToASecondDevice() async throws {
        let a = try await device("phone-a")
        let b = try await device("phone-b")
        let info = try await a.login(serverUrl: server.url, user: "helper1", password: "pw-helper1")
        XCTAssertEqual(info.user, "helper1")
        let hh = try await a.save(Fixtures.household(number: "SYNC-1"))
        var visit = Visit.new(householdId: hh, visitor: "helper1", date: Fixtures.day())
        visit.note = "同步测试"
        _ = try await a.save(visit)

        var states = a.syncStates().makeAsyncIterator()
        let result = try await a.syncNow()
        XCTAssertGreaterThan(result.sent, 0)
        var sawSynced = false
        for _ in 0..<100 {
            guard let state = await states.next() else { break }
            if case .synced = state { sawSynced = true; break }
        }
        XCTAssertTrue(sawSynced, "the state stream reports the finished sync")
        let status = try await a.syncStatus()
        XCTAssertEqual(status.pending, 0)

        _ = try await b.login(serverUrl: server.url, user: "helper1", password: "pw-helper1")
        try await b.syncNow()
        let household = try await b.household(hh)
        XCTAssertEqual(household.headName, "王大山")
        let visits = try await b.visits(of: hh)
        XCTAssertEqual(visits.first?.note, "同步测试")
        try await b.setOnline(false)
        XCTAssertEqual(b.syncState, .offline)
        try await b.setOnline(true)
        let again = try await a.syncNow()
        XCTAssertEqual(again.sent, 0, "a second sync sends nothing new")
    }

    func testSameFieldOnTwoDevicesIsAConflictListedAndResolvedEverywhere() async throws {
        let a = try await device("phone-c")
        let b = try await device("phone-d")
        _ = try await a.login(serverUrl: server.url, user: "helper1", password: "pw-helper1")
        _ = try await b.login(serverUrl: server.url, user: "helper1", password: "pw-helper1")
        let hh = try await a.save(Fixtures.household(number: "CONFLICT-1"))
        try await a.syncNow()
        try await b.syncNow()

        var onA = try await a.household(hh)
        onA.phone = "13800000001"
        _ = try await a.save(onA)
        var onB = try await b.household(hh)
        onB.phone = "13900000002"
        _ = try await b.save(onB)
        try await a.syncNow()
        try await b.syncNow()
        try await a.syncNow()

        for store in [a, b] {
            let conflicts = try await store.conflicts()
            let phone = conflicts.first { $0.docId == hh && $0.field == "phone" }
            XCTAssertEqual(Set(phone?.values.map { $0.valueJson } ?? []), ["\"13800000001\"", "\"13900000002\""])
        }
        try await a.resolveConflict(docId: hh, field: "phone", valueJson: "\"13800000001\"")
        let history = try await a.fieldHistory(docId: hh, field: "phone")
        XCTAssertGreaterThanOrEqual(history.count, 2)
        try await a.syncNow()
        try await b.syncNow()
        let left = try await b.conflicts()
        XCTAssertFalse(left.contains { $0.docId == hh }, "resolved on the other device too")
        let settled = try await b.household(hh)
        XCTAssertEqual(settled.phone, "13800000001")
    }

    func testWrongPasswordIsATypedRefusalAndSyncBeforeLoginSaysSo() async throws {
        let a = try await device("phone-e")
        do {
            try await a.syncNow()
            XCTFail("sync before login must fail")
        } catch DoorstepClientError.notSignedIn {
        }
        do {
            _ = try await a.login(serverUrl: server.url, user: "helper1", password: "wrong")
            XCTFail("a wrong password must be refused")
        } catch DoorstepClientError.refused(let code, _, _, _) {
            XCTAssertEqual(code, "wrong_password")
        }
        let background = try await a.startBackgroundSync()
        background.cancel()
    }
}
