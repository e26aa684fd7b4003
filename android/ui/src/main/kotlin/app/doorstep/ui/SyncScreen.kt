package app.doorstep.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.semantics.role
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.unit.dp
import androidx.compose.foundation.selection.toggleable
import app.doorstep.core.DoorstepError
import app.doorstep.core.NetworkKind
import app.doorstep.core.SyncState
import app.doorstep.logic.AppSession
import app.doorstep.logic.Route
import app.doorstep.logic.SyncProblem
import app.doorstep.logic.formatLocalTime
import kotlinx.coroutines.launch

/**
 * Where the helper sees whether the work reached the township: the live state, what still waits (records, photos
 * and signatures), the last success, the last error in words, the mobile-data switch for photos, and "sync now".
 */
@Composable
fun SyncScreen(session: AppSession) {
    val vm = session.sync
    val platform = LocalPlatform.current
    val scope = rememberCoroutineScope()
    val syncState by vm.state.collectAsState()
    val status by vm.status.collectAsState()
    val problem by vm.problem.collectAsState()
    val network by platform.connectivity.network.collectAsState()
    val allowMetered by session.allowMeteredPhotos.collectAsState()
    var busy by remember { mutableStateOf(false) }
    var conflicts by remember { mutableStateOf(0) }
    LaunchedEffect(syncState) {
        vm.refreshStatus()
        conflicts = try {
            session.client.conflicts().size
        } catch (e: DoorstepError) {
            0
        }
    }
    ScreenColumn(Modifier.testTag("sync-screen")) {
        Card(Modifier.fillMaxWidth()) {
            Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
                Text(stateText(syncState), Modifier.testTag("sync-state"), style = MaterialTheme.typography.titleMedium)
                val s = status
                Text(str(ToolStr.SYNC_PENDING_DOCS, (s?.pending ?: 0uL).toLong()), Modifier.testTag("pending-docs"))
                Text(
                    str(ToolStr.SYNC_PENDING_BLOBS, (s?.pendingBlobs ?: 0uL).toLong(), sizeText((s?.pendingBlobBytes ?: 0uL).toLong())),
                    Modifier.testTag("pending-blobs"),
                )
                Text(
                    s?.lastSyncMs?.let { str(ToolStr.SYNC_LAST_SUCCESS, formatLocalTime(it)) } ?: str(ToolStr.SYNC_NEVER),
                    Modifier.testTag("last-success"),
                )
                Text(str(ToolStr.SYNC_NETWORK, str(networkLabel(network))), style = MaterialTheme.typography.bodySmall)
                Text(
                    if (s?.user != null) str(ToolStr.SYNC_ACCOUNT, s.user, s.server.orEmpty()) else str(ToolStr.SYNC_NOT_SIGNED_IN),
                    style = MaterialTheme.typography.bodySmall,
                )
            }
        }
        (problem ?: vm.lastProblem())?.let { p ->
            ErrorText(str(ToolStr.SYNC_LAST_ERROR, problemText(p)), Modifier.testTag("last-error"))
        }
        Button(
            onClick = {
                busy = true
                scope.launch {
                    try {
                        vm.syncNow()
                    } finally {
                        busy = false
                    }
                }
            },
            enabled = !busy,
            modifier = Modifier.fillMaxWidth().heightIn(min = MinTouch).testTag("sync-now"),
        ) { Text(str(if (busy) ToolStr.SYNC_BUSY else ToolStr.SYNC_NOW)) }

        Row(
            Modifier.fillMaxWidth().heightIn(min = MinTouch)
                .toggleable(allowMetered, role = Role.Switch) { allow ->
                    session.allowMeteredPhotos.value = allow
                    scope.launch { session.networkChanged(platform.connectivity.network.value) }
                }
                .testTag("metered-switch"),
            verticalAlignment = Alignment.CenterVertically,
            horizontalArrangement = Arrangement.spacedBy(12.dp),
        ) {
            Column(Modifier.weight(1f)) {
                Text(str(ToolStr.SYNC_METERED), style = MaterialTheme.typography.bodyLarge)
                Text(str(ToolStr.SYNC_METERED_HINT), style = MaterialTheme.typography.bodySmall)
            }
            Switch(checked = allowMetered, onCheckedChange = null)
        }

        if (conflicts > 0) {
            OutlinedButton(
                onClick = { session.navigator.go(Route.Conflicts) },
                modifier = Modifier.fillMaxWidth().heightIn(min = MinTouch).testTag("open-conflicts"),
            ) { Text(str(ToolStr.SYNC_CONFLICTS, conflicts)) }
        }
        val setAside = (status?.setAside ?: 0uL).toLong()
        if (setAside > 0) {
            OutlinedButton(
                onClick = { session.navigator.go(Route.SetAside) },
                modifier = Modifier.fillMaxWidth().heightIn(min = MinTouch).testTag("open-set-aside"),
            ) { Text(str(ToolStr.SYNC_SET_ASIDE, setAside)) }
        }
    }
}

@Composable
private fun stateText(s: SyncState): String = when (s) {
    SyncState.Idle -> str(ToolStr.SYNC_STATE_IDLE)
    SyncState.Offline -> str(ToolStr.SYNC_STATE_OFFLINE)
    is SyncState.Syncing -> str(ToolStr.SYNC_STATE_SYNCING, s.sent, s.received)
    is SyncState.Attachments -> str(ToolStr.SYNC_STATE_ATTACHMENTS, s.done, s.total)
    is SyncState.Synced -> str(ToolStr.SYNC_STATE_SYNCED)
    is SyncState.Failed -> str(ToolStr.SYNC_STATE_FAILED)
}

private fun networkLabel(kind: NetworkKind?): ToolStr = when (kind) {
    null -> ToolStr.SYNC_NETWORK_NONE
    NetworkKind.UNMETERED -> ToolStr.SYNC_NETWORK_WIFI
    NetworkKind.METERED -> ToolStr.SYNC_NETWORK_MOBILE
}

/** A sync failure in words that say what to do. */
@Composable
fun problemText(p: SyncProblem): String = when (p.kind) {
    SyncProblem.Kind.NETWORK -> str(ToolStr.SYNC_PROBLEM_NETWORK)
    SyncProblem.Kind.WRONG_PASSWORD -> str(ToolStr.SYNC_PROBLEM_WRONG_PASSWORD)
    SyncProblem.Kind.TOKEN_REVOKED -> str(ToolStr.SYNC_PROBLEM_TOKEN_REVOKED)
    SyncProblem.Kind.ACCOUNT_DISABLED -> str(ToolStr.SYNC_PROBLEM_ACCOUNT_DISABLED)
    SyncProblem.Kind.OUT_OF_SCOPE -> str(ToolStr.SYNC_PROBLEM_OUT_OF_SCOPE)
    SyncProblem.Kind.SERVER_BUSY -> str(ToolStr.SYNC_PROBLEM_SERVER_BUSY)
    SyncProblem.Kind.UPDATE_REQUIRED -> str(ToolStr.SYNC_PROBLEM_UPDATE_REQUIRED)
    SyncProblem.Kind.NOT_SIGNED_IN -> str(ToolStr.SYNC_PROBLEM_NOT_SIGNED_IN)
    SyncProblem.Kind.OTHER -> str(ToolStr.SYNC_PROBLEM_OTHER, p.detail)
}
