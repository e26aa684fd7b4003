// The signed-in device's store, as the app uses it: every call that touches the disk or the network is async and
// runs off the main actor on a global queue, so the UI never waits; failures arrive as DoorstepClientError.
import DoorstepCore
import Foundation

public final class DoorstepClient: @unchecked Sendable {
    let core: DoorstepCore.Doorstep
    private let listener = SyncStateBroadcaster()

    private init(core: DoorstepCore.Doorstep) {
        self.core = core
    }

    /// Opens (or creates) the encrypted store at `path` with the 32-byte `key` the app keeps in the Keychain.
    /// A wrong key fails with `.wrongKey`.
    public static func open(path: URL, key: Data, deviceName: String) async throws -> DoorstepClient {
        let client = try await background {
            DoorstepClient(core: try DoorstepCore.Doorstep.open(path: path.path, key: key, deviceName: deviceName))
        }
        try await client.call { try $0.setSyncListener(listener: client.listener) }
        return client
    }

    deinit {
        try? core.clearSyncListener()
    }

    /// Runs a core call on a global queue and turns the core's errors into DoorstepClientError.
    func call<T>(_ body: @escaping (DoorstepCore.Doorstep) throws -> T) async throws -> T {
        let core = self.core
        return try await DoorstepClient.background { try body(core) }
    }

    static func background<T>(_ body: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                do {
                    continuation.resume(returning: try body())
                } catch {
                    continuation.resume(throwing: DoorstepClientError.from(error))
                }
            }
        }
    }

    // MARK: Store

    /// Replaces the store key (after the app rotated it in the Keychain).
    public func rekey(_ newKey: Data) async throws { try await call { try $0.rekey(newKey: newKey) } }

    /// Saves a household (new when its id is empty, members too); returns its id.
    public func save(_ household: Household) async throws -> String {
        try await call { try $0.saveHousehold(household: household) }
    }

    /// Adds or replaces one member of a household; returns the member's id.
    public func save(_ member: Member, in householdId: String) async throws -> String {
        try await call { try $0.saveMember(householdId: householdId, member: member) }
    }

    public func household(_ id: String) async throws -> Household { try await call { try $0.getHousehold(id: id) } }

    /// Marks a household deleted (a tombstone that syncs like any edit).
    public func deleteHousehold(_ id: String) async throws { try await call { try $0.deleteHousehold(id: id) } }

    /// Saves a visit; returns its id.
    public func save(_ visit: Visit) async throws -> String { try await call { try $0.saveVisit(visit: visit) } }

    public func visit(_ id: String) async throws -> Visit { try await call { try $0.getVisit(id: id) } }

    public func deleteVisit(_ id: String) async throws { try await call { try $0.deleteVisit(id: id) } }

    /// Saves a screening; returns its id.
    public func save(_ screening: Screening) async throws -> String {
        try await call { try $0.saveScreening(screening: screening) }
    }

    public func screening(_ id: String) async throws -> Screening { try await call { try $0.getScreening(id: id) } }

    public func deleteScreening(_ id: String) async throws { try await call { try $0.deleteScreening(id: id) } }

    /// The household list, filtered by village, status, alert level, helper or text.
    public func households(_ filter: HouseholdFilter = .all) async throws -> [HouseholdSummary] {
        try await call { try $0.listHouseholds(filter: filter) }
    }

    /// Members, last visits, open problems, screenings and conflicts of one household.
    public func householdDetail(_ id: String) async throws -> HouseholdDetail {
        try await call { try $0.householdDetail(id: id) }
    }

    public func visits(of householdId: String) async throws -> [Visit] {
        try await call { try $0.visitsOfHousehold(householdId: householdId) }
    }

    /// A member's screenings, each with its classification.
    public func screenings(of memberId: String) async throws -> [ClassifiedScreening] {
        try await call { try $0.screeningsOfMember(memberId: memberId) }
    }

    public func openProblems() async throws -> [OpenProblem] { try await call { try $0.openProblems() } }

    /// Abnormal screenings with a referral and no follow-up yet.
    public func pendingReferrals() async throws -> [PendingReferral] { try await call { try $0.pendingReferrals() } }

    /// Due and overdue visits and follow-ups on `date` (`YYYY-MM-DD`).
    public func due(on date: String) async throws -> [DueItem] { try await call { try $0.due(date: date) } }

    /// The newest schedule rules (they may take effect after today; see `scheduleRules(on:)`).
    public func scheduleRules() async throws -> ScheduleRules { try await call { try $0.scheduleRules() } }

    /// The schedule rules in force on `date` (`YYYY-MM-DD`).
    public func scheduleRules(on date: String) async throws -> ScheduleRules {
        try await call { try $0.scheduleRulesOn(date: date) }
    }

    /// Sets the schedule rules, in force from today.
    public func setScheduleRules(_ rules: ScheduleRules) async throws {
        try await call { try $0.setScheduleRules(rules: rules) }
    }

    /// Sets the schedule rules, in force from `effectiveFrom` (not before the newest rules' date).
    public func setScheduleRules(_ rules: ScheduleRules, from effectiveFrom: String) async throws {
        try await call { try $0.setScheduleRulesFrom(rules: rules, effectiveFrom: effectiveFrom) }
    }

    /// Every field that two devices wrote concurrently, with each value and who wrote it.
    public func conflicts() async throws -> [Conflict] { try await call { try $0.conflicts() } }

    /// Settles a conflicted field with one of its values (or a new one), as JSON text.
    public func resolveConflict(docId: String, field: String, valueJson: String) async throws {
        try await call { try $0.resolveConflict(docId: docId, field: field, valueJson: valueJson) }
    }

    /// Every value a field has held, who wrote it and on which device.
    public func fieldHistory(docId: String, field: String) async throws -> [FieldVersion] {
        try await call { try $0.fieldHistory(docId: docId, field: field) }
    }

    /// How many changes wait to be sent to the server.
    public func pendingChanges() async throws -> UInt64 { try await call { try $0.pendingChanges() } }

    // MARK: Sync

    /// The sync state as it changes: started, progress, done or failed (with the reason), or offline.
    /// Each call returns a new stream that starts with the current state.
    public func syncStates() -> AsyncStream<SyncState> { listener.stream() }

    /// The latest sync state.
    public var syncState: SyncState { listener.current }

    /// Signs in to `serverUrl`; the device token is kept in the encrypted store, never in UserDefaults.
    /// A county server with a private CA or a self-signed certificate: pass its CA certificate as `caCertPem` (PEM
    /// text) or the SHA-256 fingerprint of its certificate as `pinSha256` (hex); the choice is kept for every later
    /// sync. `allowInsecureHttp` is a developer option for a plain `http://` server off this phone. A refused
    /// certificate fails with `DoorstepClientError.untrusted`.
    public func login(
        serverUrl: String,
        user: String,
        password: String,
        caCertPem: String? = nil,
        pinSha256: String? = nil,
        allowInsecureHttp: Bool = false
    ) async throws -> LoginInfo {
        try await call {
            try $0.login(
                serverUrl: serverUrl, user: user, password: password,
                caCertPem: caCertPem, pinSha256: pinSha256, allowInsecureHttp: allowInsecureHttp)
        }
    }

    /// Pushes everything unsent and pulls everything new; `syncStates()` follows its progress.
    @discardableResult
    public func syncNow() async throws -> SyncResult { try await call { try $0.syncNow() } }

    /// Tells the core whether the phone has a network (from NWPathMonitor); going online wakes the sync.
    public func setOnline(_ online: Bool) async throws {
        try await call { try $0.setOnline(online: online) }
        listener.networkChanged(online: online)
    }

    /// Pending changes, last sync, server and user, for the sync screen.
    public func syncStatus() async throws -> SyncStatus { try await call { try $0.syncStatus() } }

    /// Documents set aside for hand-over (the server refused them as out of scope); nothing is dropped silently.
    public func setAsideDocs() async throws -> [SetAsideDoc] { try await call { try $0.setAsideDocs() } }

    /// Hands over the signed-in account's unsynced work so that another account can sign in on this phone: it is
    /// set aside (listed by `setAsideDocs()`, exportable). Returns how many documents. Signing in as another account
    /// is refused with code `unsynced_work` until this is done or the work is synced.
    @discardableResult
    public func setAsideUnsynced() async throws -> UInt64 { try await call { try $0.setAsideUnsynced() } }

    /// Starts syncing in the background whenever online and something changed.
    public func startBackgroundSync() async throws -> BackgroundSync {
        BackgroundSync(handle: try await call { try $0.startBackgroundSync() })
    }

    /// Tells the core the kind of network (NWPath.isExpensive) and whether the user allows photos over mobile
    /// data; signatures upload on any network.
    public func setNetwork(_ kind: NetworkKind, allowMetered: Bool = false) async throws {
        try await call { try $0.setNetwork(kind: kind, allowMetered: allowMetered) }
    }

    // MARK: Attachments

    /// Attaches the file at `url` to a visit or screening; `mediaType` is sniffed from the bytes when nil.
    public func attachFile(
        to docId: String, url: URL, kind: AttachmentKind, caption: String = "", mediaType: String? = nil
    ) async throws -> AttachmentRef {
        try await call {
            try $0.attachFile(docId: docId, path: url.path, kind: kind, caption: caption, mediaType: mediaType)
        }
    }

    /// Attaches bytes (a downscaled photo, a drawn signature) to a visit or screening.
    public func attachBytes(
        to docId: String, bytes: Data, kind: AttachmentKind, caption: String = "", mediaType: String? = nil
    ) async throws -> AttachmentRef {
        try await call {
            try $0.attachBytes(docId: docId, bytes: bytes, kind: kind, caption: caption, mediaType: mediaType)
        }
    }

    /// The attachments of a visit or screening, with whether each is on the phone and uploaded.
    public func attachments(of docId: String) async throws -> [Attachment] {
        try await call { try $0.listAttachments(docId: docId) }
    }

    /// The bytes of an attachment, downloaded first when they are not on the phone.
    public func openAttachment(_ hash: String) async throws -> Data { try await call { try $0.openAttachment(hash: hash) } }

    /// Removes an attachment from a visit or screening.
    public func detach(_ hash: String, from docId: String) async throws {
        try await call { try $0.detach(docId: docId, hash: hash) }
    }

    public func attachmentLimits() async throws -> AttachmentLimits { try await call { try $0.attachmentLimits() } }

    /// Sets the size limits and the device quota of attachments.
    public func setAttachmentLimits(_ limits: AttachmentLimits) async throws {
        try await call { try $0.setAttachmentLimits(limits: limits) }
    }
}

/// Checks a form runs while the user types: quick, pure computations in the core, callable on any thread.
public enum Forms {
    /// Blood-pressure grade, glucose band, BMI band and suggested referral of the numbers typed so far.
    public static func classify(_ screening: Screening) -> Classification {
        DoorstepCore.classifyScreening(screening: screening)
    }

    public static func validate(_ screening: Screening) -> [FieldError] {
        DoorstepCore.validateScreening(screening: screening)
    }

    public static func validate(_ visit: Visit) -> [FieldError] { DoorstepCore.validateVisit(visit: visit) }

    public static func validate(_ household: Household) -> [FieldError] {
        DoorstepCore.validateHousehold(household: household)
    }

    /// A national ID as lists show it (birth date and sequence hidden).
    public static func maskNationalId(_ id: String) -> String { DoorstepCore.maskNationalId(id: id) }
}
