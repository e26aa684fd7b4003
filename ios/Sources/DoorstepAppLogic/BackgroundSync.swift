// When the phone syncs while the app is not in use, and what it sends on which network: the decisions of the iOS
// background tasks (BGAppRefreshTask, BGProcessingTask), the same as android/app-logic's BackgroundRules (tested on
// the JVM there, by XCTest here). The app target only registers the tasks, reads the network and schedules.
import DoorstepKit
import Foundation

/// The network a scheduled run waits for (BGProcessingTaskRequest.requiresNetworkConnectivity; an unmetered
/// network is checked when the task starts, since iOS cannot wait for Wi-Fi specifically).
public enum NetworkRequirement: Equatable {
    case connected
    case unmetered
}

/// The phone's network when a run starts (NWPath: satisfied, not expensive) and the user's mobile-data switch.
public struct NetworkConditions: Equatable {
    public let connected: Bool
    public let unmetered: Bool
    public let allowMeteredAttachments: Bool

    public init(connected: Bool, unmetered: Bool, allowMeteredAttachments: Bool = false) {
        self.connected = connected
        self.unmetered = unmetered
        self.allowMeteredAttachments = allowMeteredAttachments
    }
}

/// What one run sends; `networkKind` and `allowMetered` go to the core's network policy.
public struct SendPlan: Equatable {
    /// Households, visits and screenings: always, they are small and the point of syncing.
    public let records: Bool
    /// Signatures are small and needed for the ledger: any network.
    public let signatures: Bool
    /// Photos and scanned forms: unmetered networks only, unless the user allows mobile data.
    public let photosAndScans: Bool
    public let networkKind: NetworkKind
    public let allowMetered: Bool
}

/// The repeating run (a BGAppRefreshTask, re-submitted after each run).
public struct PeriodicSpec: Equatable {
    public let name: String
    public let intervalMinutes: Int
    public let network: NetworkRequirement
}

/// A single run as soon as the network is there (a BGProcessingTask requiring network connectivity).
public struct OneOffSpec: Equatable {
    public let name: String
    public let network: NetworkRequirement
    public let reason: OneOffReason
}

public enum OneOffReason: Equatable {
    case signedIn
    case recordedOffline
    case attachmentsWaitForWifi
}

/// What asks for a one-off run.
public enum Trigger: Equatable {
    case signedIn
    case leftForeground
    case networkLost
}

/// Exponential backoff between the tries of one run.
public struct Backoff: Equatable {
    public let initialSeconds: Int
    public let maxSeconds: Int
    public let maxAttempts: Int

    /// The wait before try `attempt` + 1: initial × 2^attempt, capped.
    public func delaySeconds(_ attempt: Int) -> Int {
        let shift = min(max(attempt, 0), 30)
        return min(initialSeconds << shift, maxSeconds)
    }
}

/// Why background sync stopped until the user acts.
public enum StopReason: Equatable {
    /// The device was revoked, the account disabled, or nobody is signed in: cancel the schedule, ask to sign in.
    case signIn
    /// The server speaks a newer protocol: cancel the schedule, ask to update the app.
    case updateRequired
    /// The store key no longer opens the store: cancel, ask to unlock.
    case unlock
}

/// How one background run ended, and what the app does next.
public enum RunOutcome: Equatable {
    /// The sync finished; `followUp` is extra work to schedule (attachments waiting for Wi-Fi).
    case synced(sent: UInt64, received: UInt64, pendingBlobs: UInt64, followUp: OneOffSpec?)
    /// Nothing was done and nothing is wrong (another sync was already running).
    case skipped(String)
    /// Try again after `delaySeconds` (the next request's earliestBeginDate).
    case retry(delaySeconds: Int, message: UiText)
    /// This run failed for good; the periodic run tries again later.
    case giveUp(UiText)
    /// Background sync stops until the user acts on the message.
    case stop(StopReason, UiText)
}

public enum BackgroundRules {
    /// Task identifiers (listed under BGTaskSchedulerPermittedIdentifiers in the app's Info.plist).
    public static let periodicWork = "app.doorstep.sync.periodic"
    public static let oneOffWork = "app.doorstep.sync.soon"
    public static let attachmentsWork = "app.doorstep.sync.attachments"

    /// About every hour (iOS decides when, by how the phone is used); needs a network.
    public static let periodic = PeriodicSpec(name: periodicWork, intervalMinutes: 60, network: .connected)

    /// 30 s, 1 min, 2 min, … at most an hour, six tries; the periodic run goes on.
    public static let backoff = Backoff(initialSeconds: 30, maxSeconds: 3600, maxAttempts: 6)

    /// Refusal codes after which only the user can help: the token is gone, so signing in again is the way.
    static let signInCodes: Set<String> = ["token_revoked", "account_disabled", "unauthorized"]

    public static let signInAgain = UiText(zh: "设备已被停用或登录已失效，请重新登录后继续同步",
                                           en: "This device was signed out; sign in again to keep syncing")

    /// Records and signatures on any network; photos and scans on an unmetered one unless allowed. Nil: no network.
    public static func sendPlan(_ network: NetworkConditions) -> SendPlan? {
        guard network.connected else { return nil }
        return SendPlan(records: true, signatures: true,
                        photosAndScans: network.unmetered || network.allowMeteredAttachments,
                        networkKind: network.unmetered ? .unmetered : .metered,
                        allowMetered: network.allowMeteredAttachments)
    }

    /// A sync already running (the app's own) does the work; a second one would only wait for it.
    public static func anotherSyncRunning(_ state: SyncState) -> Bool {
        switch state {
        case .syncing, .attachments: return true
        default: return false
        }
    }

    /// A store that never signed in (or signed out) has nowhere to sync to.
    public static func signedIn(_ status: SyncStatus) -> Bool {
        !(status.server ?? "").isEmpty && !(status.user ?? "").isEmpty
    }

    /// Photos or scans that waited for Wi-Fi get their own run that starts on an unmetered network.
    public static func followUp(pendingBlobs: UInt64, plan: SendPlan) -> OneOffSpec? {
        guard pendingBlobs > 0, !plan.photosAndScans else { return nil }
        return OneOffSpec(name: attachmentsWork, network: .unmetered, reason: .attachmentsWaitForWifi)
    }

    /// Work still waiting when the app stops syncing by itself (background, network lost) gets a one-off run.
    public static func oneOff(for trigger: Trigger, pendingChanges: UInt64, pendingBlobs: UInt64) -> OneOffSpec? {
        if trigger == .signedIn { return OneOffSpec(name: oneOffWork, network: .connected, reason: .signedIn) }
        guard pendingChanges > 0 || pendingBlobs > 0 else { return nil }
        return OneOffSpec(name: oneOffWork, network: .connected, reason: .recordedOffline)
    }

    /// The outcome of a run that failed with `error` on its `attempt`-th try (0 for the first).
    public static func decide(_ error: Error, attempt: Int) -> RunOutcome {
        switch error as? DoorstepClientError {
        case .network(_, let retryable)?:
            return retryable ? retry(attempt, uiText(error)) : .giveUp(uiText(error))
        case .refused(let code, _, _, let retryable)?:
            if signInCodes.contains(code) { return .stop(.signIn, signInAgain) }
            return retryable ? retry(attempt, uiText(error)) : .giveUp(uiText(error))
        case .updateRequired?: return .stop(.updateRequired, uiText(error))
        case .notSignedIn?: return .stop(.signIn, signInAgain)
        case .wrongKey?: return .stop(.unlock, uiText(error))
        case .storage?: return retry(attempt, uiText(error))
        default: return .giveUp(uiText(error))
        }
    }

    /// A run that found no network: wait for one.
    public static func noNetwork(attempt: Int) -> RunOutcome {
        retry(attempt, UiText(zh: "没有网络，联网后自动同步", en: "No network; syncs by itself once connected"))
    }

    static func retry(_ attempt: Int, _ message: UiText) -> RunOutcome {
        attempt + 1 >= backoff.maxAttempts ? .giveUp(message)
            : .retry(delaySeconds: backoff.delaySeconds(attempt), message: message)
    }
}

/// One background run: open the shared store, skip while a sync runs, set the network policy, sync, decide.
public struct BackgroundSyncRunner {
    private let openStore: () async throws -> DoorstepClient

    /// `openStore` gives the process's opened store (`SharedStore.shared`), opening it when the app was not running.
    public init(openStore: @escaping () async throws -> DoorstepClient) {
        self.openStore = openStore
    }

    /// Runs once on `network`; `attempt` counts earlier tries. Never throws.
    public func run(_ network: NetworkConditions, attempt: Int = 0) async -> RunOutcome {
        guard let plan = BackgroundRules.sendPlan(network) else { return BackgroundRules.noNetwork(attempt: attempt) }
        do {
            let client = try await openStore()
            if BackgroundRules.anotherSyncRunning(client.syncState) { return .skipped("a sync is already running") }
            guard BackgroundRules.signedIn(try await client.syncStatus()) else {
                return .stop(.signIn, BackgroundRules.signInAgain)
            }
            try await client.setNetwork(plan.networkKind, allowMetered: plan.allowMetered)
            try await client.setOnline(true)
            let result = try await client.syncNow()
            let status = try await client.syncStatus()
            return .synced(sent: result.sent, received: result.received, pendingBlobs: status.pendingBlobs,
                           followUp: BackgroundRules.followUp(pendingBlobs: status.pendingBlobs, plan: plan))
        } catch {
            return BackgroundRules.decide(error, attempt: attempt)
        }
    }
}

/// The platform's scheduler: BGTaskScheduler on iOS.
public protocol SyncScheduler: AnyObject {
    /// Schedules the periodic run, keeping one already submitted.
    func schedulePeriodic(_ spec: PeriodicSpec)
    /// Schedules a single run, replacing a waiting one of the same name.
    func scheduleOneOff(_ spec: OneOffSpec)
    /// Cancels every scheduled run (sign-out, revoked device, update required).
    func cancelAll()
    /// Tells the user, in a notification, what to do so syncing can go on.
    func askUser(_ reason: StopReason, _ message: UiText)
}

/// Turns app events and run outcomes into scheduling, as on Android.
public final class BackgroundSyncController {
    private let scheduler: SyncScheduler

    public init(scheduler: SyncScheduler) {
        self.scheduler = scheduler
    }

    /// Sign-in: the periodic run from now on, and a first run as soon as there is a network.
    public func signedIn() {
        scheduler.schedulePeriodic(BackgroundRules.periodic)
        if let once = BackgroundRules.oneOff(for: .signedIn, pendingChanges: 0, pendingBlobs: 0) {
            scheduler.scheduleOneOff(once)
        }
    }

    /// App start with a signed-in store: makes sure the periodic run is submitted.
    public func started(signedIn: Bool) {
        if signedIn { scheduler.schedulePeriodic(BackgroundRules.periodic) }
    }

    /// The app goes to the background or loses the network: waiting work gets a one-off run.
    public func appStopsSyncing(_ trigger: Trigger, pendingChanges: UInt64, pendingBlobs: UInt64) {
        if let once = BackgroundRules.oneOff(for: trigger, pendingChanges: pendingChanges, pendingBlobs: pendingBlobs) {
            scheduler.scheduleOneOff(once)
        }
    }

    public func signedOut() { scheduler.cancelAll() }

    /// After a run: follow-up work, or stopping and asking the user.
    public func handle(_ outcome: RunOutcome) {
        switch outcome {
        case .synced(_, _, _, let followUp?): scheduler.scheduleOneOff(followUp)
        case .stop(let reason, let message):
            scheduler.cancelAll()
            scheduler.askUser(reason, message)
        default: break
        }
    }
}

/// The one opened store of the process, shared by the screens and the background tasks (one sync engine, one sync
/// at a time). The core keeps two opens of one file safe too, but there is no reason to have two.
public actor SharedStore {
    public static let shared = SharedStore()
    private var opening: Task<DoorstepClient, Error>?
    private var path: URL?

    /// The opened store at `path`, opening it on first use with the key `key` returns. Callers that arrive while
    /// it opens wait for the same open.
    public func open(path: URL, deviceName: String, key: @escaping () throws -> Data) async throws -> DoorstepClient {
        if let opening {
            precondition(self.path?.standardizedFileURL == path.standardizedFileURL, "another store is open")
            return try await opening.value
        }
        let task = Task { try await DoorstepClient.open(path: path, key: try key(), deviceName: deviceName) }
        opening = task
        self.path = path
        do {
            return try await task.value
        } catch {
            opening = nil
            self.path = nil
            throw error
        }
    }

    /// The store if something in this process opened it (waiting for an open under way), else nil.
    public var current: DoorstepClient? {
        get async { try? await opening?.value }
    }

    /// Forgets the store at sign-out (the client closes when released).
    public func close() {
        opening = nil
        path = nil
    }
}
