package app.doorstep.ui

import androidx.compose.foundation.clickable
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
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import app.doorstep.core.ClassifiedScreening
import app.doorstep.core.HouseholdDetail
import app.doorstep.core.Visit
import app.doorstep.logic.AppSession
import app.doorstep.logic.HouseholdDetailViewModel
import app.doorstep.logic.Route

/**
 * One household: who lives there (contract, conditions), the last visits with their photos and signatures, open
 * problems, screenings with their classification, and a badge when two devices disagree on a field.
 */
@Composable
fun HouseholdScreen(session: AppSession, householdId: String) {
    val vm = remember(householdId) { session.householdDetail(householdId) }
    val state by vm.state.collectAsState()
    LaunchedEffect(householdId) { vm.refresh() }
    ScreenColumn(Modifier.testTag("household-screen")) {
        when (val s = state) {
            HouseholdDetailViewModel.State.Loading -> Loading()
            is HouseholdDetailViewModel.State.Failed -> ErrorText(s.message.text())
            is HouseholdDetailViewModel.State.Loaded -> Loaded(session, s)
        }
    }
}

@Composable
private fun Loaded(session: AppSession, s: HouseholdDetailViewModel.State.Loaded) {
    val d: HouseholdDetail = s.detail
    val h = d.household
    Row(verticalAlignment = Alignment.CenterVertically, horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        Text(h.headName, Modifier.weight(1f), style = MaterialTheme.typography.headlineSmall)
        AlertBadge(h.alertLevel)
    }
    Text("${h.number} · ${h.village} · ${str(h.povertyStatus.label())}", style = MaterialTheme.typography.bodyMedium)
    if (d.conflicts.isNotEmpty()) {
        Badge(
            str(Str.HD_CONFLICTS, d.conflicts.size), AlertColors.red,
            modifier = Modifier.heightIn(min = MinTouch).clickable { session.navigator.go(Route.Conflicts) }.testTag("conflict-badge"),
        )
    }
    Button(
        onClick = { session.navigator.go(Route.VisitForm(h.id)) },
        modifier = Modifier.fillMaxWidth().heightIn(min = MinTouch).testTag("new-visit"),
    ) { Text(str(Str.HD_NEW_VISIT)) }

    SectionTitle(str(Str.HD_MEMBERS))
    s.members.forEach { m ->
        Card(Modifier.fillMaxWidth().testTag("member:${m.name}")) {
            Row(Modifier.padding(12.dp), verticalAlignment = Alignment.CenterVertically) {
                Column(Modifier.weight(1f), verticalArrangement = Arrangement.spacedBy(2.dp)) {
                    Text("${m.name} · ${str(m.relation.label())}", style = MaterialTheme.typography.titleSmall)
                    Text(listOf(m.birthDate, m.maskedId).filter { it.isNotBlank() }.joinToString(" · "),
                        style = MaterialTheme.typography.bodySmall)
                    Text(
                        m.contract?.let { str(Str.HD_CONTRACT, it.team, it.signedDate) } ?: str(Str.HD_NO_CONTRACT),
                        style = MaterialTheme.typography.bodySmall,
                    )
                    if (m.conditions.isNotEmpty()) {
                        Text(str(Str.HD_CONDITIONS, m.conditions.map { str(it.label()) }.joinToString("、")),
                            style = MaterialTheme.typography.bodySmall, color = AlertColors.red)
                    }
                }
                OutlinedButton(
                    onClick = { session.navigator.go(Route.ScreeningForm(h.id, m.id)) },
                    modifier = Modifier.heightIn(min = MinTouch).testTag("screen:${m.name}"),
                ) { Text(str(Str.HD_SCREEN_MEMBER)) }
            }
        }
    }

    SectionTitle(str(Str.HD_OPEN_PROBLEMS))
    if (d.openProblems.isEmpty()) Text(str(Str.HD_NO_PROBLEMS))
    d.openProblems.forEach { p ->
        Text("${p.date} · ${p.description} (${str(p.status.label())})", color = AlertColors.red)
    }

    SectionTitle(str(Str.HD_LAST_VISITS))
    if (d.lastVisits.isEmpty()) Text(str(Str.HD_NO_VISITS))
    d.lastVisits.forEach { v -> VisitLine(session, v) }

    SectionTitle(str(Str.HD_SCREENINGS))
    if (d.screenings.isEmpty()) Text(str(Str.HD_NO_SCREENINGS))
    d.screenings.forEach { c -> ScreeningLine(session, c, s.members.firstOrNull { it.id == c.screening.memberId }?.name) }
}

@Composable
private fun VisitLine(session: AppSession, v: Visit) {
    Card(Modifier.fillMaxWidth().testTag("visit:${v.date}")) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(2.dp)) {
            Text(str(Str.HD_VISIT_LINE, v.date, v.visitor), style = MaterialTheme.typography.titleSmall)
            if (v.note.isNotBlank()) Text(v.note, style = MaterialTheme.typography.bodySmall)
            AttachmentThumbnails(session, v.id)
        }
    }
}

@Composable
private fun ScreeningLine(session: AppSession, c: ClassifiedScreening, memberName: String?) {
    val s = c.screening
    val k = c.classification
    Card(Modifier.fillMaxWidth().testTag("screening:${s.date}")) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(2.dp)) {
            Text(listOfNotNull(s.date, memberName).joinToString(" · "), style = MaterialTheme.typography.titleSmall)
            val parts = buildList {
                if (s.systolic != null && s.diastolic != null) {
                    add(str(Str.HD_BP, s.systolic!!.fmt(), s.diastolic!!.fmt()) + (k.bpGrade?.let { " " + str(it.label()) } ?: ""))
                }
                s.glucose?.let { add(str(Str.HD_GLUCOSE, it.fmt()) + (k.glucoseBand?.let { b -> " " + str(b.label()) } ?: "")) }
                k.bmi?.let { add(str(Str.HD_BMI, "%.1f".format(it)) + (k.bmiBand?.let { b -> " " + str(b.label()) } ?: "")) }
            }
            parts.forEach { Text(it, style = MaterialTheme.typography.bodySmall) }
            Text(str(Str.HD_REFERRAL, str(k.suggestedReferral.label())), color = AlertColors.ofReferral(k.suggestedReferral),
                style = MaterialTheme.typography.bodySmall)
            AttachmentThumbnails(session, s.id)
        }
    }
}

/** A measurement as typed: no trailing ".0". */
internal fun Double.fmt(): String = if (this % 1.0 == 0.0) toLong().toString() else toString()
