package app.doorstep.logic

import app.doorstep.core.AssuranceCheck
import app.doorstep.core.AssuranceKind
import app.doorstep.core.AssuranceStatus
import app.doorstep.core.Assurances
import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import app.doorstep.core.FieldError
import app.doorstep.core.Problem
import app.doorstep.core.ProblemStatus
import app.doorstep.core.Satisfaction
import app.doorstep.core.VisitKind
import app.doorstep.core.Visit
import app.doorstep.core.newVisit
import app.doorstep.core.validate
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import java.util.UUID

/**
 * The monthly visit form: the six assurances (两不愁三保障, each ok / problem / n.a. with a note), problems found,
 * measures delivered and a note. Errors come from the core's validation, keyed by field, shown beside each input.
 */
class VisitFormViewModel(private val client: DoorstepClient, householdId: String, visitor: String, date: String) {
    private val _visit = MutableStateFlow(newVisit(householdId, visitor, date))
    val visit: StateFlow<Visit> = _visit.asStateFlow()
    private val _errors = MutableStateFlow<Map<String, List<FieldError>>>(emptyMap())
    val errors: StateFlow<Map<String, List<FieldError>>> = _errors.asStateFlow()
    private val _savedId = MutableStateFlow<String?>(null)
    val savedId: StateFlow<String?> = _savedId.asStateFlow()

    /** Sets one assurance's status and note. */
    fun setAssurance(kind: AssuranceKind, status: AssuranceStatus, note: String = "") {
        val check = AssuranceCheck(status, note)
        _visit.value = _visit.value.copy(findings = _visit.value.findings.with(kind, check))
    }

    /** Adds an open problem (optionally tied to an assurance); returns its key in the visit. */
    fun addProblem(description: String, assurance: AssuranceKind? = null): String {
        val key = UUID.randomUUID().toString()
        val problem = Problem(description, assurance, ProblemStatus.OPEN, null, "")
        _visit.value = _visit.value.copy(problems = _visit.value.problems + (key to problem))
        return key
    }

    /** Moves a problem on (open → in progress → resolved); a resolved problem gets today's date. */
    fun setProblemStatus(key: String, status: ProblemStatus) {
        val p = _visit.value.problems[key] ?: return
        val resolved = if (status == ProblemStatus.RESOLVED) (p.resolvedDate ?: _visit.value.date) else null
        _visit.value = _visit.value.copy(problems = _visit.value.problems + (key to p.copy(status = status, resolvedDate = resolved)))
    }

    /** The text of the "new problem" field, kept with the draft. */
    val newProblem = MutableStateFlow("")

    /** The measures as typed (one per line), kept with the draft; the visit holds the non-blank lines. */
    val measuresText = MutableStateFlow("")

    fun setMeasuresText(text: String) {
        measuresText.value = text
        setMeasuresDelivered(text.lines().map(String::trim).filter(String::isNotEmpty))
    }

    fun setSatisfaction(satisfaction: Satisfaction?) {
        _visit.value = _visit.value.copy(satisfaction = satisfaction)
    }

    fun removeProblem(key: String) {
        _visit.value = _visit.value.copy(problems = _visit.value.problems - key)
    }

    fun setMeasuresDelivered(measures: List<String>) {
        _visit.value = _visit.value.copy(measuresDelivered = measures)
    }

    fun setNote(note: String) {
        _visit.value = _visit.value.copy(note = note)
    }

    /**
     * Shows every problem of the form now: the core's validation (the id is assigned on save, so it is not the
     * user's problem) plus what a monthly visit must have: each assurance checked, and a note on each problem.
     */
    fun check(): Map<String, List<FieldError>> =
        (validate(_visit.value).filter { it.field != "id" } + completeness(_visit.value)).groupBy { it.field }
            .also { _errors.value = it }

    /** Saves the visit; on a validation error the errors appear beside their fields and nothing is stored. */
    suspend fun save(): Boolean {
        if (check().isNotEmpty()) return false
        return try {
            _savedId.value = client.saveVisit(_visit.value)
            true
        } catch (e: DoorstepError.Validation) {
            _errors.value = e.errors.groupBy { it.field }
            false
        }
    }
}

/** What a monthly visit must record beyond a valid document: every assurance checked, every problem described. */
internal fun completeness(visit: Visit): List<FieldError> =
    if (visit.kind != VisitKind.MONTHLY) emptyList()
    else AssuranceKind.entries.mapNotNull { kind ->
        val check = visit.findings.of(kind)
        val field = "findings.${kind.name.lowercase()}"
        when {
            check.status == AssuranceStatus.NOT_CHECKED ->
                FieldError(field, "required", "choose OK, problem or N/A", "请选择达标、有问题或不适用")
            check.status == AssuranceStatus.PROBLEM && check.note.isBlank() ->
                FieldError("$field.note", "required", "describe the problem", "有问题时请写明情况")
            else -> null
        }
    }

/** The assurances with one of them replaced. */
internal fun Assurances.with(kind: AssuranceKind, check: AssuranceCheck): Assurances = when (kind) {
    AssuranceKind.FOOD -> copy(food = check)
    AssuranceKind.CLOTHING -> copy(clothing = check)
    AssuranceKind.EDUCATION -> copy(education = check)
    AssuranceKind.MEDICAL -> copy(medical = check)
    AssuranceKind.HOUSING -> copy(housing = check)
    AssuranceKind.WATER -> copy(water = check)
}

/** One assurance by kind, for rendering the six rows. */
fun Assurances.of(kind: AssuranceKind): AssuranceCheck = when (kind) {
    AssuranceKind.FOOD -> food
    AssuranceKind.CLOTHING -> clothing
    AssuranceKind.EDUCATION -> education
    AssuranceKind.MEDICAL -> medical
    AssuranceKind.HOUSING -> housing
    AssuranceKind.WATER -> water
}
