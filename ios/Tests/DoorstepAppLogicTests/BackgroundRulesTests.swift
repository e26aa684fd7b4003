// The background sync's decisions, the same cases as android/app-logic's BackgroundRulesTest, plus the string
// table: every key in both languages, and the screens' flows that are not forms (conflict values, set-aside export).
import DoorstepAppLogic
import DoorstepKit
import XCTest

final class RecordingScheduler: SyncScheduler {
    var log: [String] = []
    func schedulePeriodic(_ spec: PeriodicSpec) { log.append("periodic \(spec.name) \(spec.network)") }
    func scheduleOneOff(_ spec: OneOffSpec) { log.append("once \(spec.name) \(spec.network)") }
    func cancelAll() { log.append("cancel all") }
    func askUser(_ reason: StopReason, _ message: UiText) { log.append("ask \(reason)") }
}

final class BackgroundRulesTests: XCTestCase {
    func testRecordsAndSignaturesGoOnAnyNetworkPhotosOnlyOnUnmeteredUnlessAllowed() {
        XCTAssertNil(BackgroundRules.sendPlan(NetworkConditions(connected: false, unmetered: false)))
        let metered = BackgroundRules.sendPlan(NetworkConditions(connected: true, unmetered: false))!
        XCTAssertTrue(metered.records && metered.signatures)
        XCTAssertFalse(metered.photosAndScans)
        XCTAssertEqual(metered.networkKind, .metered)
        let allowed = BackgroundRules.sendPlan(NetworkConditions(connected: true, unmetered: false, allowMeteredAttachments: true))!
        XCTAssertTrue(allowed.photosAndScans)
        XCTAssertTrue(allowed.allowMetered)
        let wifi = BackgroundRules.sendPlan(NetworkConditions(connected: true, unmetered: true))!
        XCTAssertTrue(wifi.photosAndScans)
        XCTAssertEqual(wifi.networkKind, .unmetered)
        XCTAssertEqual(BackgroundRules.followUp(pendingBlobs: 1, plan: metered)?.network, .unmetered)
        XCTAssertNil(BackgroundRules.followUp(pendingBlobs: 1, plan: wifi))
        XCTAssertNil(BackgroundRules.followUp(pendingBlobs: 0, plan: metered))
    }

    func testTriggersScheduleOneOffRunsOnlyWhenWorkWaits() {
        XCTAssertNil(BackgroundRules.oneOff(for: .leftForeground, pendingChanges: 0, pendingBlobs: 0))
        XCTAssertEqual(BackgroundRules.oneOff(for: .networkLost, pendingChanges: 3, pendingBlobs: 0)?.reason, .recordedOffline)
        XCTAssertEqual(BackgroundRules.oneOff(for: .leftForeground, pendingChanges: 0, pendingBlobs: 1)?.network, .connected)
        XCTAssertEqual(BackgroundRules.oneOff(for: .signedIn, pendingChanges: 0, pendingBlobs: 0)?.reason, .signedIn)
    }

    func testFailuresBackOffExponentiallyAndGiveUpAfterTheLastAttempt() {
        let network = DoorstepClientError.network("connection refused", retryable: true)
        guard case .retry(let first, _) = BackgroundRules.decide(network, attempt: 0) else { return XCTFail() }
        XCTAssertEqual(first, 30)
        guard case .retry(let third, _) = BackgroundRules.decide(network, attempt: 2) else { return XCTFail() }
        XCTAssertEqual(third, 120)
        XCTAssertEqual(BackgroundRules.backoff.delaySeconds(20), 3600)
        guard case .giveUp = BackgroundRules.decide(network, attempt: BackgroundRules.backoff.maxAttempts - 1) else {
            return XCTFail("the last attempt gives up")
        }
        guard case .retry = BackgroundRules.decide(DoorstepClientError.storage("database is locked"), attempt: 0) else {
            return XCTFail()
        }
    }

    func testRevokedDeviceDisabledAccountOrNoSignInStopTheScheduleAndAskToSignIn() {
        for code in ["token_revoked", "account_disabled", "unauthorized"] {
            let outcome = BackgroundRules.decide(
                DoorstepClientError.refused(code: code, message: "refused", messageZh: "拒绝", retryable: false), attempt: 0)
            XCTAssertEqual(outcome, .stop(.signIn, BackgroundRules.signInAgain), code)
        }
        XCTAssertEqual(BackgroundRules.decide(DoorstepClientError.notSignedIn, attempt: 0), .stop(.signIn, BackgroundRules.signInAgain))
        guard case .stop(.updateRequired, let message) = BackgroundRules.decide(
            DoorstepClientError.updateRequired(message: "protocol 3", messageZh: "请更新应用"), attempt: 0) else { return XCTFail() }
        XCTAssertEqual(message.zh, "请更新应用")
        guard case .stop(.unlock, _) = BackgroundRules.decide(DoorstepClientError.wrongKey, attempt: 0) else { return XCTFail() }
    }

    func testARunIsSkippedWhileAnotherSyncRuns() {
        XCTAssertTrue(BackgroundRules.anotherSyncRunning(.syncing(sent: 1, received: 0)))
        XCTAssertTrue(BackgroundRules.anotherSyncRunning(.attachments(done: 0, total: 2, bytesDone: 0, bytesTotal: 100)))
        XCTAssertFalse(BackgroundRules.anotherSyncRunning(.idle))
        XCTAssertFalse(BackgroundRules.anotherSyncRunning(.synced(sent: 1, received: 1, roundTrips: 1)))
    }

    func testTheControllerSchedulesAtSignInStopsOnARefusalAndSchedulesAttachmentsForWifi() {
        let scheduler = RecordingScheduler()
        let controller = BackgroundSyncController(scheduler: scheduler)
        controller.signedIn()
        XCTAssertEqual(scheduler.log, ["periodic \(BackgroundRules.periodicWork) connected", "once \(BackgroundRules.oneOffWork) connected"])
        scheduler.log = []
        controller.appStopsSyncing(.leftForeground, pendingChanges: 0, pendingBlobs: 0)
        XCTAssertEqual(scheduler.log, [])
        let wifi = OneOffSpec(name: BackgroundRules.attachmentsWork, network: .unmetered, reason: .attachmentsWaitForWifi)
        controller.handle(.synced(sent: 1, received: 0, pendingBlobs: 1, followUp: wifi))
        controller.handle(.stop(.signIn, BackgroundRules.signInAgain))
        XCTAssertEqual(scheduler.log, ["once \(BackgroundRules.attachmentsWork) unmetered", "cancel all", "ask signIn"])
    }

    func testNoNetworkIsARetryAndTheStoreIsNotOpened() async {
        var opened = false
        let runner = BackgroundSyncRunner {
            opened = true
            throw DoorstepClientError.internal("must not open")
        }
        guard case .retry = await runner.run(NetworkConditions(connected: false, unmetered: false)) else { return XCTFail() }
        XCTAssertFalse(opened)
    }
}

final class StringsTests: XCTestCase {
    func testEveryKeyHasAChineseAndAnEnglishText() {
        for key in L10nKey.allCases {
            XCTAssertFalse((L10n.zh[key] ?? "").isEmpty, "no Chinese text for \(key)")
            XCTAssertFalse((L10n.en[key] ?? "").isEmpty, "no English text for \(key)")
            XCTAssertEqual(L10n.zh[key]?.components(separatedBy: "%@").count,
                           L10n.en[key]?.components(separatedBy: "%@").count, "placeholders differ for \(key)")
        }
    }

    func testConflictValuesReadAsPeopleWriteThem() {
        XCTAssertEqual(readable("\"13800000001\""), "13800000001")
        XCTAssertEqual(readable("150"), "150")
        XCTAssertEqual(readable("null"), "—")
    }
}
