package app.doorstep.logic

import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import app.doorstep.core.SyncState
import app.doorstep.core.SyncStatus
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/** The sync indicator and screen: live state from the core, pending count, last sync, and "sync now". */
class SyncViewModel(private val client: DoorstepClient) {
    /** The live state (started, progress, done, failed, offline) as the core reports it. */
    val state: StateFlow<SyncState> = client.syncState
    private val _status = MutableStateFlow<SyncStatus?>(null)
    val status: StateFlow<SyncStatus?> = _status.asStateFlow()
    private val _error = MutableStateFlow<UiText?>(null)
    val error: StateFlow<UiText?> = _error.asStateFlow()
    private val _problem = MutableStateFlow<SyncProblem?>(null)

    /** Why the last "sync now" failed, by kind, for the sync screen's words; null after a sync that worked. */
    val problem: StateFlow<SyncProblem?> = _problem.asStateFlow()

    /** A one-line summary for the top bar. */
    fun summary(): UiText = when (val s = state.value) {
        SyncState.Idle -> UiText("待同步 ${_status.value?.pending ?: 0} 条", "${_status.value?.pending ?: 0} changes to send")
        SyncState.Offline -> UiText("离线，数据保存在手机上", "Offline; data is kept on the phone")
        is SyncState.Syncing -> UiText("正在同步（已发送 ${s.sent}，已接收 ${s.received}）", "Syncing (sent ${s.sent}, received ${s.received})")
        is SyncState.Attachments -> UiText("正在上传附件（${s.done}/${s.total}）", "Uploading attachments (${s.done}/${s.total})")
        is SyncState.Synced -> UiText("已同步", "Synced")
        is SyncState.Failed -> UiText("同步失败：${s.reason}", "Sync failed: ${s.reason}")
    }

    suspend fun refreshStatus() {
        _status.value = try {
            client.syncStatus()
        } catch (e: DoorstepError) {
            _error.value = e.toUiText()
            _status.value
        }
    }

    /** Syncs now; failures are shown, never thrown at the UI. */
    suspend fun syncNow() {
        _error.value = null
        _problem.value = null
        try {
            client.syncNow()
        } catch (e: DoorstepError) {
            _error.value = e.toUiText()
            _problem.value = SyncProblem.of(e)
        }
        refreshStatus()
    }

    /** The last failure to show: of "sync now", or else of the background sync as its state reports it. */
    fun lastProblem(): SyncProblem? =
        _problem.value ?: (state.value as? SyncState.Failed)?.let { SyncProblem.ofReason(it.reason) }

    /** From the platform's connectivity callback. */
    suspend fun networkChanged(online: Boolean) = client.setOnline(online)
}
