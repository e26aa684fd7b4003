package app.doorstep.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import app.doorstep.core.AssuranceKind
import app.doorstep.core.AssuranceStatus
import app.doorstep.core.FieldError
import app.doorstep.core.ProblemStatus
import app.doorstep.core.Satisfaction
import app.doorstep.logic.AppSession
import app.doorstep.logic.Route
import app.doorstep.logic.VisitFormViewModel
import app.doorstep.logic.of
import kotlinx.coroutines.launch

/**
 * The monthly helper visit: the six assurances (OK / problem / N/A, each with a note), problems and their status,
 * measures delivered, satisfaction and a note. Each error shows under its own field. The draft lives in the
 * session, so leaving the screen (to look something up) and coming back keeps everything typed.
 */
@OptIn(ExperimentalLayoutApi::class)
@Composable
fun VisitFormScreen(session: AppSession, householdId: String) {
    val vm = session.visitForm(householdId)
    val scope = rememberCoroutineScope()
    val visit by vm.visit.collectAsState()
    val errors by vm.errors.collectAsState()
    val newProblem by vm.newProblem.collectAsState()
    val measures by vm.measuresText.collectAsState()
    ScreenColumn(Modifier.testTag("visit-form")) {
        Text(str(Str.VF_DATE) + " " + visit.date, style = MaterialTheme.typography.bodyLarge)
        FieldErrors("date", errors["date"])

        SectionTitle(str(Str.VF_ASSURANCES))
        AssuranceKind.entries.forEach { kind -> AssuranceCard(vm, kind, visit.findings.of(kind), errors) }

        SectionTitle(str(Str.VF_PROBLEMS))
        visit.problems.forEach { (key, p) ->
            Card(Modifier.fillMaxWidth()) {
                Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
                    Row(verticalAlignment = Alignment.CenterVertically) {
                        Text(p.description, Modifier.weight(1f))
                        TextButton(onClick = { vm.removeProblem(key) }, Modifier.heightIn(min = MinTouch)) { Text(str(Str.REMOVE)) }
                    }
                    FlowRow(horizontalArrangement = Arrangement.spacedBy(6.dp)) {
                        ProblemStatus.entries.forEach { st ->
                            FilterChip(selected = p.status == st, onClick = { vm.setProblemStatus(key, st) },
                                label = { Text(str(st.label())) }, modifier = Modifier.heightIn(min = MinTouch))
                        }
                    }
                    errors.filterKeys { it.startsWith("problems.$key") }.forEach { (f, e) -> FieldErrors(f, e) }
                }
            }
        }
        Row(verticalAlignment = Alignment.CenterVertically, horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            OutlinedTextField(newProblem, { vm.newProblem.value = it }, Modifier.weight(1f).testTag("new-problem"),
                label = { Text(str(Str.VF_NEW_PROBLEM)) })
            Button(
                onClick = { if (newProblem.isNotBlank()) vm.addProblem(newProblem.trim()); vm.newProblem.value = "" },
                modifier = Modifier.heightIn(min = MinTouch).testTag("add-problem"),
            ) { Text(str(Str.ADD)) }
        }

        OutlinedTextField(
            measures, vm::setMeasuresText, Modifier.fillMaxWidth().testTag("measures"),
            label = { Text(str(Str.VF_MEASURES)) }, placeholder = { Text(str(Str.VF_MEASURES_HINT)) }, minLines = 2,
        )
        errors.filterKeys { it.startsWith("measures_delivered") }.forEach { (f, e) -> FieldErrors(f, e) }

        SectionTitle(str(Str.VF_SATISFACTION))
        FlowRow(horizontalArrangement = Arrangement.spacedBy(6.dp)) {
            Satisfaction.entries.forEach { s ->
                FilterChip(selected = visit.satisfaction == s, onClick = { vm.setSatisfaction(if (visit.satisfaction == s) null else s) },
                    label = { Text(str(s.label())) }, modifier = Modifier.heightIn(min = MinTouch))
            }
        }
        FieldErrors("satisfaction", errors["satisfaction"])

        OutlinedTextField(visit.note, vm::setNote, Modifier.fillMaxWidth().testTag("note"),
            label = { Text(str(Str.VF_NOTE)) }, minLines = 3, isError = errors.containsKey("note"))
        FieldErrors("note", errors["note"])

        if (errors.isNotEmpty()) ErrorText(str(Str.VF_HAS_ERRORS, errors.size))
        Button(
            onClick = {
                scope.launch {
                    if (vm.save()) {
                        session.closeVisitForm(householdId)
                        session.navigator.back()
                        if (session.navigator.current != Route.Household(householdId)) session.navigator.go(Route.Household(householdId))
                    }
                }
            },
            modifier = Modifier.fillMaxWidth().heightIn(min = MinTouch).testTag("save"),
        ) { Text(str(Str.SAVE)) }
        TextButton(
            onClick = { session.closeVisitForm(householdId); session.navigator.back() },
            modifier = Modifier.heightIn(min = MinTouch),
        ) { Text(str(Str.DISCARD)) }
        Text(str(Str.VF_DRAFT_KEPT), style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.onSurfaceVariant)
    }
}

@OptIn(ExperimentalLayoutApi::class)
@Composable
private fun AssuranceCard(
    vm: VisitFormViewModel,
    kind: AssuranceKind,
    check: app.doorstep.core.AssuranceCheck,
    errors: Map<String, List<FieldError>>,
) {
    val field = "findings.${kind.name.lowercase()}"
    val name = str(kind.label())
    Card(Modifier.fillMaxWidth().testTag("assurance:${kind.name}")) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
            Text(name, style = MaterialTheme.typography.titleSmall)
            FlowRow(Modifier.testTag(field), horizontalArrangement = Arrangement.spacedBy(6.dp)) {
                listOf(AssuranceStatus.OK, AssuranceStatus.PROBLEM, AssuranceStatus.NOT_APPLICABLE).forEach { st ->
                    FilterChip(
                        selected = check.status == st, onClick = { vm.setAssurance(kind, st, check.note) },
                        label = { Text(str(st.label())) },
                        modifier = Modifier.heightIn(min = MinTouch).testTag("$field:${st.name}"),
                    )
                }
            }
            FieldErrors(field, errors[field])
            OutlinedTextField(
                check.note, { vm.setAssurance(kind, check.status, it) }, Modifier.fillMaxWidth().testTag("$field.note"),
                label = { Text(str(Str.VF_NOTE_FOR, name)) }, isError = errors.containsKey("$field.note"),
            )
            FieldErrors("$field.note", errors["$field.note"])
        }
    }
}
