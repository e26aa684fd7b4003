package app.doorstep.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Card
import androidx.compose.material3.FilledTonalButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import app.doorstep.core.DueItem
import app.doorstep.core.DueKind
import app.doorstep.logic.AppSession
import app.doorstep.logic.Route
import app.doorstep.logic.UiText

/** Due and overdue visits and follow-ups, overdue first, each with its reason; one tap starts the visit. */
@Composable
fun TodayScreen(session: AppSession) {
    val vm = session.dueList
    val state by vm.state.collectAsState()
    LaunchedEffect(Unit) { vm.refresh() }
    LazyColumn(
        Modifier.fillMaxSize().testTag("due-list"),
        contentPadding = androidx.compose.foundation.layout.PaddingValues(16.dp),
        verticalArrangement = Arrangement.spacedBy(8.dp),
    ) {
        item {
            Text(
                str(Str.TODAY_COUNTS, state.overdue, state.items.size - state.overdue),
                style = MaterialTheme.typography.titleMedium,
            )
        }
        state.error?.let { item { ErrorText(it.text()) } }
        if (state.items.isEmpty() && state.error == null) item { Text(str(Str.TODAY_EMPTY)) }
        items(state.items, key = { "${it.kind}-${it.householdId}-${it.memberId}" }) { item ->
            DueCard(item) { session.navigator.go(startRoute(item)) }
        }
    }
}

/** Where tapping a due item leads: the visit form of the household, or the follow-up form of the member. */
fun startRoute(item: DueItem): Route = when (item.kind) {
    DueKind.HELPER_VISIT -> Route.VisitForm(item.householdId)
    DueKind.DOCTOR_FOLLOW_UP -> item.memberId?.let { Route.ScreeningForm(item.householdId, it) }
        ?: Route.Household(item.householdId)
}

@Composable
private fun DueCard(item: DueItem, onStart: () -> Unit) {
    val tag = if (item.kind == DueKind.HELPER_VISIT) "due:${item.householdNumber}" else "follow-up:${item.householdNumber}"
    Card(Modifier.fillMaxWidth().clickable(onClick = onStart).testTag(tag)) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
            Row(verticalAlignment = Alignment.CenterVertically, horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                Text(
                    listOfNotNull(item.headName, item.memberName?.takeIf { it != item.headName }).joinToString(" · "),
                    Modifier.weight(1f),
                    style = MaterialTheme.typography.titleMedium,
                )
                if (item.overdue) Badge(str(Str.TODAY_OVERDUE), AlertColors.red)
            }
            Text("${item.householdNumber} · ${item.village}", style = MaterialTheme.typography.bodyMedium)
            Text(
                UiText(item.reasonZh, item.reasonEn).text(),
                color = if (item.overdue) AlertColors.red else MaterialTheme.colorScheme.onSurfaceVariant,
            )
            Row(verticalAlignment = Alignment.CenterVertically) {
                Text(
                    str(if (item.kind == DueKind.HELPER_VISIT) Str.TODAY_HELPER_VISIT else Str.TODAY_FOLLOW_UP) +
                        " · " + str(Str.TODAY_DUE_ON, item.dueDate),
                    Modifier.weight(1f),
                    style = MaterialTheme.typography.bodySmall,
                )
                FilledTonalButton(onClick = onStart, Modifier.heightIn(min = MinTouch)) {
                    Text(str(if (item.kind == DueKind.HELPER_VISIT) Str.TODAY_START_VISIT else Str.TODAY_START_FOLLOW_UP))
                }
            }
        }
    }
}
