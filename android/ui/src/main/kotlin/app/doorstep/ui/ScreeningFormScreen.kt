package app.doorstep.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import app.doorstep.core.DoorstepError
import app.doorstep.logic.AppSession
import app.doorstep.logic.ScreeningFormViewModel.Input
import kotlinx.coroutines.launch

/**
 * The doctor's follow-up and screening: blood pressure, glucose, height and weight. The classification (BP grade,
 * glucose band, BMI band) and the suggested referral follow the numbers as they are typed; a number out of range
 * shows its error under the field and the form cannot be saved.
 */
@Composable
fun ScreeningFormScreen(session: AppSession, householdId: String, memberId: String) {
    val vm = session.screeningForm(householdId, memberId)
    val scope = rememberCoroutineScope()
    val inputs by vm.inputs.collectAsState()
    val errors by vm.errors.collectAsState()
    val k by vm.classification.collectAsState()
    var memberName by remember { mutableStateOf("") }
    LaunchedEffect(householdId, memberId) {
        memberName = try {
            session.client.household(householdId).members[memberId]?.name.orEmpty()
        } catch (e: DoorstepError) {
            ""
        }
    }
    ScreenColumn(Modifier.testTag("screening-form")) {
        if (memberName.isNotEmpty()) Text(memberName, style = MaterialTheme.typography.titleLarge)
        listOf(
            Input.SYSTOLIC to Str.SF_SYSTOLIC, Input.DIASTOLIC to Str.SF_DIASTOLIC, Input.GLUCOSE to Str.SF_GLUCOSE,
            Input.HEIGHT to Str.SF_HEIGHT, Input.WEIGHT to Str.SF_WEIGHT,
        ).forEach { (input, label) ->
            OutlinedTextField(
                inputs.getValue(input), { vm.onInput(input, it) }, Modifier.fillMaxWidth().testTag("input:${input.field}"),
                label = { Text(str(label)) }, singleLine = true, isError = errors.containsKey(input.field),
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Decimal),
            )
            FieldErrors(input.field, errors[input.field])
        }
        // Errors of fields without an input of their own (e.g. the date) still show, named by the form.
        errors.filterKeys { f -> Input.entries.none { it.field == f } }.forEach { (f, e) -> FieldErrors(f, e) }

        Card(Modifier.fillMaxWidth().testTag("classification")) {
            Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
                Text(str(Str.SF_RESULT), style = MaterialTheme.typography.titleSmall)
                val none = str(Str.SF_NOT_MEASURED)
                Text(str(Str.SF_BP, k.bpGrade?.let { str(it.label()) } ?: none))
                Text(str(Str.SF_GLUCOSE_BAND, k.glucoseBand?.let { str(it.label()) } ?: none))
                Text(str(Str.SF_BMI, k.bmi?.let { "%.1f".format(it) + (k.bmiBand?.let { b -> " " + str(b.label()) } ?: "") } ?: none))
                Text(
                    str(Str.SF_REFERRAL, str(k.suggestedReferral.label())),
                    Modifier.testTag("referral"),
                    color = AlertColors.ofReferral(k.suggestedReferral), fontWeight = FontWeight.Bold,
                )
            }
        }
        Button(
            onClick = {
                scope.launch {
                    if (vm.save()) {
                        session.closeScreeningForm(householdId, memberId)
                        session.navigator.back()
                    }
                }
            },
            enabled = errors.isEmpty(),
            modifier = Modifier.fillMaxWidth().heightIn(min = MinTouch).testTag("save"),
        ) { Text(str(Str.SAVE)) }
        TextButton(
            onClick = { session.closeScreeningForm(householdId, memberId); session.navigator.back() },
            modifier = Modifier.heightIn(min = MinTouch),
        ) { Text(str(Str.DISCARD)) }
    }
}
