package app.doorstep.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import app.doorstep.logic.AppSession
import app.doorstep.logic.SetAsideViewModel
import app.doorstep.logic.SetAsideViewModel.Exported
import app.doorstep.logic.SetAsideViewModel.Reason
import kotlinx.coroutines.launch

/**
 * The records the server refused after a reassignment: what each is, why it was set aside, how many changes of it
 * never reached the server, and one button that exports them all to a hand-over file through the platform.
 */
@Composable
fun SetAsideScreen(session: AppSession) {
    val vm = remember(session) { SetAsideViewModel(session.client) }
    val state by vm.state.collectAsState()
    val platform = LocalPlatform.current
    val scope = rememberCoroutineScope()
    LaunchedEffect(vm) { vm.refresh() }
    ScreenColumn(Modifier.testTag("set-aside-screen")) {
        state.error?.let { ErrorText(it.text()) }
        when {
            state.loading -> Loading()
            state.items.isEmpty() -> Text(str(ToolStr.SA_EMPTY), Modifier.testTag("set-aside-empty"))
            else -> {
                Text(str(ToolStr.SA_INTRO), style = MaterialTheme.typography.bodyMedium)
                Button(
                    onClick = { scope.launch { vm.export(platform::saveFile) } },
                    modifier = Modifier.fillMaxWidth().heightIn(min = MinTouch).testTag("export"),
                ) { Text(str(ToolStr.SA_EXPORT)) }
                when (val e = state.exported) {
                    is Exported.Saved -> Text(str(ToolStr.SA_EXPORTED, e.count, e.fileName), Modifier.testTag("exported"))
                    Exported.Cancelled -> Text(str(ToolStr.SA_EXPORT_CANCELLED))
                    is Exported.Failed -> ErrorText(str(ToolStr.SA_EXPORT_FAILED, e.detail))
                    null -> {}
                }
                state.items.forEach { SetAsideCard(it) }
            }
        }
    }
}

@Composable
private fun SetAsideCard(item: SetAsideViewModel.Item) {
    Card(Modifier.fillMaxWidth().testTag("set-aside:${item.doc.docId}")) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(2.dp)) {
            Text(recordText(item.label), style = MaterialTheme.typography.titleSmall)
            Text(
                when (item.reason) {
                    Reason.OUT_OF_SCOPE -> str(ToolStr.SA_REASON_OUT_OF_SCOPE)
                    Reason.LEFT_SCOPE -> str(ToolStr.SA_REASON_LEFT_SCOPE)
                    Reason.OTHER -> str(ToolStr.SA_REASON_OTHER, item.doc.reason)
                },
                color = MaterialTheme.colorScheme.error, style = MaterialTheme.typography.bodySmall,
            )
            Text(str(ToolStr.SA_UNSYNCED, item.doc.unsynced.toLong()), style = MaterialTheme.typography.bodySmall)
            if (item.setAsideAt.isNotEmpty()) Text(str(ToolStr.SA_AT, item.setAsideAt), style = MaterialTheme.typography.bodySmall)
        }
    }
}
