package app.doorstep.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Card
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
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
import app.doorstep.core.AssuranceKind
import app.doorstep.logic.AppSession
import app.doorstep.logic.ConflictsViewModel
import app.doorstep.logic.FieldLabel
import app.doorstep.logic.FieldValue
import app.doorstep.logic.RecordLabel
import kotlinx.coroutines.launch

/**
 * Every field two devices wrote while apart: the record and field in words, then each value with who wrote it on
 * which device and when, and a button to keep that one.
 */
@Composable
fun ConflictsScreen(session: AppSession) {
    val vm = remember(session) { ConflictsViewModel(session.client) }
    val state by vm.state.collectAsState()
    val scope = rememberCoroutineScope()
    LaunchedEffect(vm) { vm.refresh() }
    ScreenColumn(Modifier.testTag("conflicts-screen")) {
        state.error?.let { ErrorText(it.text()) }
        when {
            state.loading -> Loading()
            state.items.isEmpty() -> Text(str(ToolStr.CONFLICTS_EMPTY), Modifier.testTag("conflicts-empty"))
            else -> {
                Text(str(ToolStr.CONFLICTS_INTRO), style = MaterialTheme.typography.bodyMedium)
                state.items.forEach { item ->
                    ConflictCard(item, enabled = state.resolving == null) { side -> scope.launch { vm.choose(item, side) } }
                }
            }
        }
    }
}

@Composable
private fun ConflictCard(item: ConflictsViewModel.Item, enabled: Boolean, onChoose: (ConflictsViewModel.Side) -> Unit) {
    Card(Modifier.fillMaxWidth().testTag("conflict:${item.field}")) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(6.dp)) {
            Text(recordText(item.record), style = MaterialTheme.typography.labelLarge)
            Text(fieldText(item.label), style = MaterialTheme.typography.titleMedium)
            item.sides.forEachIndexed { i, side ->
                if (i > 0) HorizontalDivider()
                Text(valueText(side.value), Modifier.testTag("conflict-value"), style = MaterialTheme.typography.bodyLarge)
                Text(
                    str(ToolStr.CONFLICT_WRITTEN_BY, side.user, side.device, side.writtenAt),
                    style = MaterialTheme.typography.bodySmall,
                )
                OutlinedButton(
                    onClick = { onChoose(side) },
                    enabled = enabled,
                    modifier = Modifier.fillMaxWidth().heightIn(min = MinTouch).testTag("choose:${side.device}"),
                ) { Text(str(ToolStr.CONFLICT_CHOOSE)) }
            }
        }
    }
}

/** A document in words: whose household, whose visit on which day. */
@Composable
fun recordText(label: RecordLabel): String = when (label) {
    is RecordLabel.Household -> str(ToolStr.RECORD_HOUSEHOLD, label.headName, label.number)
    is RecordLabel.Visit -> str(ToolStr.RECORD_VISIT, label.headName, label.date)
    is RecordLabel.Screening -> str(ToolStr.RECORD_SCREENING, label.memberName, label.date)
    is RecordLabel.Unknown -> str(ToolStr.RECORD_UNKNOWN, label.docId.take(8))
}

/** Field keys (ids taken out of the path) to their names; a key not listed is shown as it is. */
private val fieldNames: Map<String, ToolStr> = mapOf(
    "phone" to ToolStr.FIELD_PHONE, "head_name" to ToolStr.FIELD_HEAD_NAME, "address" to ToolStr.FIELD_ADDRESS,
    "hamlet" to ToolStr.FIELD_HAMLET, "village" to ToolStr.FIELD_VILLAGE, "number" to ToolStr.FIELD_NUMBER,
    "poverty_status" to ToolStr.FIELD_POVERTY_STATUS, "alert_level" to ToolStr.FIELD_ALERT_LEVEL,
    "income_per_person" to ToolStr.FIELD_INCOME, "doctor_team" to ToolStr.FIELD_DOCTOR_TEAM,
    "helper_ids" to ToolStr.FIELD_HELPERS, "members.name" to ToolStr.FIELD_NAME,
    "members.birth_date" to ToolStr.FIELD_BIRTH_DATE, "members.national_id" to ToolStr.FIELD_NATIONAL_ID,
    "members.relation" to ToolStr.FIELD_RELATION, "members.sex" to ToolStr.FIELD_SEX,
    "members.conditions" to ToolStr.FIELD_CONDITIONS, "members.contract" to ToolStr.FIELD_CONTRACT,
    "note" to ToolStr.FIELD_NOTE, "date" to ToolStr.FIELD_DATE, "satisfaction" to ToolStr.FIELD_SATISFACTION,
    "problems.status" to ToolStr.FIELD_PROBLEM_STATUS, "problems.description" to ToolStr.FIELD_PROBLEM,
    "measures_delivered" to ToolStr.FIELD_MEASURES, "systolic" to ToolStr.FIELD_SYSTOLIC,
    "diastolic" to ToolStr.FIELD_DIASTOLIC, "glucose" to ToolStr.FIELD_GLUCOSE, "height_cm" to ToolStr.FIELD_HEIGHT,
    "weight_kg" to ToolStr.FIELD_WEIGHT, "findings" to ToolStr.FIELD_FINDINGS, "referral" to ToolStr.FIELD_REFERRAL,
    "referral.level" to ToolStr.FIELD_REFERRAL,
)

/** A field in words: "王大山's name", "Drinking water (status)", "Phone". */
@Composable
fun fieldText(label: FieldLabel): String {
    val parts = label.key.split('.')
    val assurance = if (parts.size == 3 && parts[0] in setOf("assurances", "findings")) {
        AssuranceKind.entries.firstOrNull { it.name.equals(parts[1], ignoreCase = true) }
    } else {
        null
    }
    val name = when {
        assurance != null && parts[2] == "status" -> str(ToolStr.CONFLICT_STATUS, str(assurance.label()))
        assurance != null && parts[2] == "note" -> str(ToolStr.CONFLICT_NOTE, str(assurance.label()))
        else -> fieldNames[label.key]?.let { str(it) } ?: label.key
    }
    return label.memberName?.let { str(ToolStr.CONFLICT_MEMBER_FIELD, it, name) } ?: name
}

@Composable
private fun valueText(value: FieldValue): String = when (value) {
    is FieldValue.Text -> value.text
    is FieldValue.Number -> value.text
    is FieldValue.Bool -> str(if (value.value) ToolStr.CONFLICT_YES else ToolStr.CONFLICT_NO)
    FieldValue.Empty -> str(ToolStr.CONFLICT_EMPTY_VALUE)
    is FieldValue.Other -> value.json
}
