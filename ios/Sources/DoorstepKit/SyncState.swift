// The sync state the UI observes, made from the core's sync events (delivered on a core thread).
import DoorstepCore
import Foundation

/// What the sync indicator shows.
public enum SyncState: Equatable, Sendable {
    /// Nothing has happened since the store was opened.
    case idle
    /// The app said the phone has no network; writes wait on the device.
    case offline
    /// A sync is running; running totals of changes sent and received.
    case syncing(sent: UInt64, received: UInt64)
    /// The documents are synced and attachments are uploading: blobs and bytes done of the total.
    case attachments(done: UInt64, total: UInt64, bytesDone: UInt64, bytesTotal: UInt64)
    /// The last sync finished.
    case synced(sent: UInt64, received: UInt64, roundTrips: UInt32)
    /// The last sync failed; when `retryable` the core tries again by itself, otherwise the user must act.
    case failed(reason: String, retryable: Bool)
}

/// Receives the core's events and hands each resulting state to every open AsyncStream.
final class SyncStateBroadcaster: SyncListener, @unchecked Sendable {
    private let lock = NSLock()
    private var state: SyncState = .idle
    private var continuations: [UUID: AsyncStream<SyncState>.Continuation] = [:]

    var current: SyncState {
        lock.lock()
        defer { lock.unlock() }
        return state
    }

    func onEvent(event: SyncEvent) {
        switch event {
        case .started: publish(.syncing(sent: 0, received: 0))
        case .progress(let sent, let received): publish(.syncing(sent: sent, received: received))
        case .blobs(let done, let total, let bytesDone, let bytesTotal):
            publish(.attachments(done: done, total: total, bytesDone: bytesDone, bytesTotal: bytesTotal))
        case .done(let sent, let received, let roundTrips):
            publish(.synced(sent: sent, received: received, roundTrips: roundTrips))
        case .failed(let reason, let retryable): publish(.failed(reason: reason, retryable: retryable))
        }
    }

    func networkChanged(online: Bool) {
        if !online {
            publish(.offline)
        } else if current == .offline {
            publish(.idle)
        }
    }

    func stream() -> AsyncStream<SyncState> {
        AsyncStream { continuation in
            let id = UUID()
            lock.lock()
            continuations[id] = continuation
            let now = state
            lock.unlock()
            continuation.yield(now)
            continuation.onTermination = { [weak self] _ in
                guard let self else { return }
                self.lock.lock()
                self.continuations[id] = nil
                self.lock.unlock()
            }
        }
    }

    private func publish(_ new: SyncState) {
        lock.lock()
        state = new
        let targets = Array(continuations.values)
        lock.unlock()
        for continuation in targets {
            continuation.yield(new)
        }
    }
}

/// The background sync the core runs while the app is in use; cancel it when the user signs out.
public final class BackgroundSync: @unchecked Sendable {
    private let handle: SyncTaskHandle

    init(handle: SyncTaskHandle) {
        self.handle = handle
    }

    /// Stops the background task; an ongoing round trip finishes or is dropped without losing data.
    public func cancel() { handle.cancel() }

    /// True once the task has stopped.
    public var isFinished: Bool { handle.isFinished() }

    deinit { handle.cancel() }
}
