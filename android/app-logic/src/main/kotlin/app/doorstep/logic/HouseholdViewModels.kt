package app.doorstep.logic

import app.doorstep.core.AlertLevel
import app.doorstep.core.Condition
import app.doorstep.core.DoctorContract
import app.doorstep.core.Relation
import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import app.doorstep.core.HouseholdDetail
import app.doorstep.core.HouseholdFilter
import app.doorstep.core.HouseholdSummary
import app.doorstep.core.PovertyStatus
import app.doorstep.core.allHouseholds
import app.doorstep.core.maskNationalId
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/** The household list with its filters (village, status, alert level, text: name, number or masked ID). */
class HouseholdListViewModel(private val client: DoorstepClient) {
    /** The households matching the filter, the villages to filter by, and what failed. */
    data class State(
        val households: List<HouseholdSummary> = emptyList(),
        val error: UiText? = null,
        val villages: List<String> = emptyList(),
        val loaded: Boolean = false,
    )

    val text = MutableStateFlow("")
    val village = MutableStateFlow<String?>(null)
    val status = MutableStateFlow<PovertyStatus?>(null)
    val alert = MutableStateFlow<AlertLevel?>(null)
    private val _state = MutableStateFlow(State())
    val state: StateFlow<State> = _state.asStateFlow()

    /** The filter the core applies, from what the user chose; blank text means no text filter. */
    fun filter(): HouseholdFilter = HouseholdFilter(
        village = village.value, status = status.value, alert = alert.value,
        text = text.value.trim().ifEmpty { null }, helper = null,
    )

    /** Reloads the list with the current filter; the village choices come from every household the user sees. */
    suspend fun refresh() {
        _state.value = try {
            val villages = _state.value.villages.ifEmpty {
                client.households(allHouseholds()).map { it.village }.filter { it.isNotBlank() }.distinct().sorted()
            }
            State(client.households(filter()), null, villages, loaded = true)
        } catch (e: DoorstepError) {
            _state.value.copy(error = e.toUiText(), loaded = true)
        }
    }
}

/** One household: members (IDs masked), last visits, open problems, screenings and unresolved conflicts. */
class HouseholdDetailViewModel(private val client: DoorstepClient, val householdId: String) {
    /** A member line as the detail screen shows it. */
    data class MemberLine(
        val id: String,
        val name: String,
        val birthDate: String,
        val maskedId: String,
        val relation: Relation = Relation.OTHER,
        val contract: DoctorContract? = null,
        val conditions: List<Condition> = emptyList(),
    )

    sealed interface State {
        data object Loading : State
        data class Loaded(val detail: HouseholdDetail, val members: List<MemberLine>) : State
        data class Failed(val message: UiText) : State
    }

    private val _state = MutableStateFlow<State>(State.Loading)
    val state: StateFlow<State> = _state.asStateFlow()

    suspend fun refresh() {
        _state.value = try {
            val detail = client.householdDetail(householdId)
            val members = detail.household.members.values
                .sortedBy { it.birthDate }
                .map {
                    MemberLine(it.id, it.name, it.birthDate, maskNationalId(it.nationalId), it.relation, it.contract, it.conditions)
                }
            State.Loaded(detail, members)
        } catch (e: DoorstepError) {
            State.Failed(e.toUiText())
        }
    }
}
