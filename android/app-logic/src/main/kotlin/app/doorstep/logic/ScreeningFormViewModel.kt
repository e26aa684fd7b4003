package app.doorstep.logic

import app.doorstep.core.Classification
import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import app.doorstep.core.FieldError
import app.doorstep.core.Screening
import app.doorstep.core.classify
import app.doorstep.core.newScreening
import app.doorstep.core.validate
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * The screening form. Numbers arrive as the text the user types; after every keystroke the core classifies what
 * parses (blood-pressure grade, glucose band, BMI band, suggested referral) and checks the ranges, so the doctor
 * sees "grade 3 → urgent referral" before saving. Text that does not parse is an error of that field.
 */
class ScreeningFormViewModel(
    private val client: DoorstepClient,
    householdId: String,
    memberId: String,
    screener: String,
    date: String,
) {
    /** The numeric inputs of the form, by the core's field names. */
    enum class Input(val field: String) { SYSTOLIC("systolic"), DIASTOLIC("diastolic"), GLUCOSE("glucose"), HEIGHT("height_cm"), WEIGHT("weight_kg") }

    private val base = newScreening(householdId, memberId, date, screener)
    private val texts = MutableStateFlow(Input.entries.associateWith { "" })

    /** The text of every number field as typed, kept with the draft. */
    val inputs: StateFlow<Map<Input, String>> = texts.asStateFlow()
    private val _screening = MutableStateFlow(base)
    val screening: StateFlow<Screening> = _screening.asStateFlow()
    private val _classification = MutableStateFlow(classify(base))
    val classification: StateFlow<Classification> = _classification.asStateFlow()
    private val _errors = MutableStateFlow<Map<String, List<FieldError>>>(emptyMap())
    val errors: StateFlow<Map<String, List<FieldError>>> = _errors.asStateFlow()
    private val _savedId = MutableStateFlow<String?>(null)
    val savedId: StateFlow<String?> = _savedId.asStateFlow()

    fun text(input: Input): String = texts.value.getValue(input)

    /** Called on every keystroke in one of the number fields. */
    fun onInput(input: Input, text: String) {
        texts.value = texts.value + (input to text)
        val parsed = texts.value.mapValues { (_, t) -> t.trim().replace(',', '.').ifEmpty { null }?.toDoubleOrNull() }
        val s = base.copy(
            systolic = parsed[Input.SYSTOLIC], diastolic = parsed[Input.DIASTOLIC], glucose = parsed[Input.GLUCOSE],
            heightCm = parsed[Input.HEIGHT], weightKg = parsed[Input.WEIGHT],
        )
        _screening.value = s
        _classification.value = classify(s)
        val unparsable = texts.value.filter { (i, t) -> t.isNotBlank() && parsed[i] == null }.keys.map {
            FieldError(it.field, "number", "must be a number", "应为数字")
        }
        _errors.value = (validate(s).filter { it.field != "id" } + unparsable).groupBy { it.field }
    }

    /** Saves the screening when the form has no errors. */
    suspend fun save(): Boolean {
        if (_errors.value.isNotEmpty()) return false
        return try {
            _savedId.value = client.saveScreening(_screening.value)
            true
        } catch (e: DoorstepError.Validation) {
            _errors.value = e.errors.groupBy { it.field }
            false
        }
    }
}
