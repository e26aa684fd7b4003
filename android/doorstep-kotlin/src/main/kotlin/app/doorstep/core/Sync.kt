package app.doorstep.core

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import uniffi.doorstep_core.SyncEvent
import uniffi.doorstep_core.SyncListener
import uniffi.doorstep_core.SyncTaskHandle

typealias LoginInfo = uniffi.doorstep_core.LoginInfo
typealias SyncResult = uniffi.doorstep_core.SyncResult
typealias SyncStatus = uniffi.doorstep_core.SyncStatus
typealias SetAsideDoc = uniffi.doorstep_core.SetAsideDoc

/** What the sync indicator shows; the latest value of [DoorstepClient.syncState]. */
sealed interface SyncState {
    /** Nothing has happened since the store was opened. */
    data object Idle : SyncState

    /** The app said the phone has no network; writes wait on the device. */
    data object Offline : SyncState

    /** A sync is running; running totals of changes sent and received. */
    data class Syncing(val sent: Long, val received: Long) : SyncState

    /** The documents are synced and attachments are uploading: blobs and bytes done of the total. */
    data class Attachments(val done: Long, val total: Long, val bytesDone: Long, val bytesTotal: Long) : SyncState

    /** The last sync finished. */
    data class Synced(val sent: Long, val received: Long, val roundTrips: Int) : SyncState

    /** The last sync failed; when [retryable] the core tries again by itself, otherwise the user must act. */
    data class Failed(val reason: String, val retryable: Boolean) : SyncState
}

/** Turns the core's sync events (delivered on a core thread) into the state the UI observes. */
internal class SyncStateListener : SyncListener {
    val state = MutableStateFlow<SyncState>(SyncState.Idle)

    override fun onEvent(event: SyncEvent) {
        state.value = when (event) {
            is SyncEvent.Started -> SyncState.Syncing(0, 0)
            is SyncEvent.Progress -> SyncState.Syncing(event.sent.toLong(), event.received.toLong())
            is SyncEvent.Blobs -> SyncState.Attachments(
                event.done.toLong(), event.total.toLong(), event.bytesDone.toLong(), event.bytesTotal.toLong(),
            )
            is SyncEvent.Done -> SyncState.Synced(event.sent.toLong(), event.received.toLong(), event.roundTrips.toInt())
            is SyncEvent.Failed -> SyncState.Failed(event.reason, event.retryable)
        }
    }
}

/** The background sync the core runs while the app is in use; [cancel] it when the user signs out. */
class BackgroundSync internal constructor(private val handle: SyncTaskHandle) : AutoCloseable {
    /** Stops the background task; an ongoing round trip finishes or is dropped without losing data. */
    fun cancel() = handle.cancel()

    /** True once the task has stopped. */
    val isFinished: Boolean get() = handle.isFinished()

    override fun close() {
        cancel()
        handle.close()
    }
}

/** A read-only view of the listener's flow, for [DoorstepClient.syncState]. */
internal fun SyncStateListener.asFlow(): StateFlow<SyncState> = state.asStateFlow()
