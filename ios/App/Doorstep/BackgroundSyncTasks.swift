// Sync while the app is not in use: BGAppRefreshTask (about hourly, as iOS allows) and BGProcessingTask (a one-off
// run that requires network connectivity, after work recorded offline, and for photos waiting for Wi-Fi). Every
// decision is DoorstepAppLogic's BackgroundRules / BackgroundSyncRunner; here the tasks are registered, the network
// is read (NWPathMonitor) and the outcome is turned into the next request.
import BackgroundTasks
import DoorstepAppLogic
import DoorstepKit
import Foundation
import Network
import UIKit
import UserNotifications

/// Registers and schedules the background sync tasks; one per process, made at launch.
final class BackgroundSyncTasks: SyncScheduler {
    static let shared = BackgroundSyncTasks()
    /// UserDefaults key the sync screen writes when the user allows photos over mobile data.
    static let allowMeteredKey = "allowMeteredAttachments"

    private(set) lazy var controller = BackgroundSyncController(scheduler: self)
    private let monitor = NWPathMonitor()
    private var path: NWPath?
    /// Told when the network comes (true) or goes (false), for the opened store and the hand-over.
    var onNetworkChange: ((Bool) -> Void)?

    /// Must run before the app finishes launching (BGTaskScheduler's rule).
    func register() {
        monitor.pathUpdateHandler = { [weak self] path in
            let was = self?.path?.status
            self?.path = path
            if was != path.status { self?.onNetworkChange?(path.status == .satisfied) }
        }
        monitor.start(queue: DispatchQueue(label: "app.doorstep.network"))
        for id in [BackgroundRules.periodicWork, BackgroundRules.oneOffWork, BackgroundRules.attachmentsWork] {
            BGTaskScheduler.shared.register(forTaskWithIdentifier: id, using: nil) { [weak self] task in
                self?.run(task)
            }
        }
    }

    /// The network now, as the rules need it.
    func conditions() -> NetworkConditions {
        let path = self.path ?? monitor.currentPath
        return NetworkConditions(connected: path.status == .satisfied, unmetered: !path.isExpensive && !path.isConstrained,
                                 allowMeteredAttachments: UserDefaults.standard.bool(forKey: Self.allowMeteredKey))
    }

    private func run(_ task: BGTask) {
        let attempt = UserDefaults.standard.integer(forKey: attemptKey(task.identifier))
        let work = Task {
            let runner = BackgroundSyncRunner { try await AppStore.open() }
            let outcome = await runner.run(conditions(), attempt: attempt)
            // After expiry iOS has its answer already; the next run starts over.
            if !Task.isCancelled { finish(task, outcome: outcome, attempt: attempt) }
        }
        task.expirationHandler = {
            // iOS wants the time back: the sync stops between round trips and resumes next time without loss.
            work.cancel()
            task.setTaskCompleted(success: false)
        }
    }

    private func finish(_ task: BGTask, outcome: RunOutcome, attempt: Int) {
        controller.handle(outcome)
        switch outcome {
        case .retry(let delay, _):
            // Tries again as the one-off run, after the backoff delay.
            UserDefaults.standard.set(attempt + 1, forKey: attemptKey(BackgroundRules.oneOffWork))
            submit(BackgroundRules.oneOffWork, network: .connected, after: TimeInterval(delay))
        default:
            UserDefaults.standard.removeObject(forKey: attemptKey(BackgroundRules.oneOffWork))
        }
        if task.identifier == BackgroundRules.periodicWork, case .stop = outcome {
            // Stopped: cancelAll has removed the schedule; nothing is re-submitted.
        } else if task.identifier == BackgroundRules.periodicWork {
            schedulePeriodic(BackgroundRules.periodic)
        }
        if case .synced = outcome {
            task.setTaskCompleted(success: true)
        } else if case .skipped = outcome {
            task.setTaskCompleted(success: true)
        } else {
            task.setTaskCompleted(success: false)
        }
    }

    private func attemptKey(_ identifier: String) -> String { "bgAttempt." + identifier }

    // MARK: SyncScheduler

    func schedulePeriodic(_ spec: PeriodicSpec) {
        let request = BGAppRefreshTaskRequest(identifier: spec.name)
        request.earliestBeginDate = Date(timeIntervalSinceNow: TimeInterval(spec.intervalMinutes * 60))
        try? BGTaskScheduler.shared.submit(request)
    }

    func scheduleOneOff(_ spec: OneOffSpec) {
        // iOS cannot wait for Wi-Fi: attachments waiting for it are looked at again in a quarter of an hour at the
        // earliest, so a phone on mobile data is not woken over and over for nothing.
        submit(spec.name, network: spec.network, after: spec.network == .unmetered ? 15 * 60 : 0)
    }

    private func submit(_ identifier: String, network: NetworkRequirement, after delay: TimeInterval) {
        let request = BGProcessingTaskRequest(identifier: identifier)
        request.requiresNetworkConnectivity = true
        // iOS cannot wait for Wi-Fi as such; a run on mobile data sends records and signatures and leaves photos.
        request.requiresExternalPower = false
        request.earliestBeginDate = delay > 0 ? Date(timeIntervalSinceNow: delay) : nil
        try? BGTaskScheduler.shared.submit(request)
    }

    /// Asked at sign-in: the background sync may need to tell the user to sign in again or to update.
    func requestNotifications() {
        UNUserNotificationCenter.current().requestAuthorization(options: [.alert, .sound]) { _, _ in }
    }

    func cancelAll() {
        BGTaskScheduler.shared.cancelAllTaskRequests()
    }

    func askUser(_ reason: StopReason, _ message: UiText) {
        let content = UNMutableNotificationContent()
        switch reason {
        case .signIn: content.title = L10n.text(.signInAgainTitle)
        case .updateRequired: content.title = L10n.text(.updateRequiredTitle)
        case .unlock: content.title = L10n.text(.unlockFailedTitle)
        }
        content.body = message.text
        let request = UNNotificationRequest(identifier: "sync-stopped", content: content, trigger: nil)
        UNUserNotificationCenter.current().add(request)
    }
}

/// Where the app's store lives, opened once per process for the screens and the background tasks alike.
enum AppStore {
    static func open() async throws -> DoorstepClient {
        let dir = try FileManager.default.url(for: .applicationSupportDirectory, in: .userDomainMask,
                                              appropriateFor: nil, create: true)
        let name = await MainActor.run { UIDevice.current.name }
        return try await SharedStore.shared.open(path: dir.appendingPathComponent("doorstep.db"), deviceName: name) {
            try KeychainKey.load(account: "doorstep-store")
        }
    }
}
