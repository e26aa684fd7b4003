package app.doorstep.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.horizontalScroll
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.PaddingValues
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxHeight
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.width
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.background
import androidx.compose.foundation.layout.IntrinsicSize
import androidx.compose.material3.Card
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import app.doorstep.core.AlertLevel
import app.doorstep.core.HouseholdSummary
import app.doorstep.core.PovertyStatus
import app.doorstep.logic.AppSession
import app.doorstep.logic.Route

/** The households the user sees: search by name, number or masked ID; filter by village, status and alert. */
@Composable
fun HouseholdsScreen(session: AppSession) {
    val vm = session.households
    val text by vm.text.collectAsState()
    val village by vm.village.collectAsState()
    val status by vm.status.collectAsState()
    val alert by vm.alert.collectAsState()
    val state by vm.state.collectAsState()
    LaunchedEffect(text, village, status, alert) { vm.refresh() }
    Column(Modifier.fillMaxSize()) {
        Column(Modifier.padding(horizontal = 16.dp, vertical = 8.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
            OutlinedTextField(
                text, { vm.text.value = it }, Modifier.fillMaxWidth().testTag("search"),
                label = { Text(str(Str.HH_SEARCH)) }, singleLine = true,
            )
            ChipRow(str(Str.HH_FILTER_VILLAGE), state.villages, village, { it }) { vm.village.value = it }
            ChipRow(str(Str.HH_FILTER_STATUS), PovertyStatus.entries, status, { str(it.label()) }) { vm.status.value = it }
            ChipRow(str(Str.HH_FILTER_ALERT), AlertLevel.entries, alert, { str(it.label()) }) { vm.alert.value = it }
            Text(str(Str.HH_COUNT, state.households.size), style = MaterialTheme.typography.labelLarge)
            state.error?.let { ErrorText(it.text()) }
        }
        LazyColumn(
            Modifier.fillMaxSize().testTag("household-list"),
            contentPadding = PaddingValues(start = 16.dp, end = 16.dp, bottom = 16.dp),
            verticalArrangement = Arrangement.spacedBy(8.dp),
        ) {
            if (state.loaded && state.households.isEmpty()) item { Text(str(Str.HH_EMPTY)) }
            items(state.households, key = { it.id }) { h ->
                HouseholdRow(h) { session.navigator.go(Route.Household(h.id)) }
            }
        }
    }
}

/** One filter: "all" plus one chip per choice, scrolling sideways when they do not fit. */
@Composable
private fun <T> ChipRow(title: String, choices: List<T>, selected: T?, label: @Composable (T) -> String, onSelect: (T?) -> Unit) {
    Row(
        Modifier.fillMaxWidth().horizontalScroll(rememberScrollState()),
        horizontalArrangement = Arrangement.spacedBy(6.dp),
        verticalAlignment = Alignment.CenterVertically,
    ) {
        Text(title, style = MaterialTheme.typography.labelLarge)
        FilterChip(selected = selected == null, onClick = { onSelect(null) }, label = { Text(str(Str.HH_ALL)) },
            modifier = Modifier.heightIn(min = MinTouch))
        choices.forEach { c ->
            val text = label(c)
            FilterChip(
                selected = selected == c, onClick = { onSelect(if (selected == c) null else c) },
                label = { Text(text, maxLines = 1) }, modifier = Modifier.heightIn(min = MinTouch).testTag("filter:$text"),
            )
        }
    }
}

@Composable
private fun HouseholdRow(h: HouseholdSummary, onOpen: () -> Unit) {
    Card(Modifier.fillMaxWidth().heightIn(min = MinTouch).clickable(onClick = onOpen).testTag("household:${h.number}")) {
        Row(Modifier.height(IntrinsicSize.Min)) {
            Box(Modifier.width(6.dp).fillMaxHeight().background(h.alert?.let { AlertColors.of(it) } ?: Color.Transparent))
            Column(Modifier.padding(12.dp).weight(1f), verticalArrangement = Arrangement.spacedBy(2.dp)) {
                Row(verticalAlignment = Alignment.CenterVertically, horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    Text(h.headName, Modifier.weight(1f), style = MaterialTheme.typography.titleMedium)
                    AlertBadge(h.alert)
                }
                Text("${h.number} · ${h.village}${if (h.hamlet.isNotBlank()) " · " + h.hamlet else ""}")
                Text(
                    listOf(
                        str(h.status.label()), str(Str.HH_MEMBERS, h.members.toInt()), str(Str.HH_PROBLEMS, h.openProblems.toInt()),
                        h.lastVisit?.let { str(Str.HH_LAST_VISIT, it) } ?: str(Str.HH_NEVER_VISITED),
                    ).joinToString(" · "),
                    style = MaterialTheme.typography.bodySmall,
                    color = MaterialTheme.colorScheme.onSurfaceVariant,
                )
            }
        }
    }
}
