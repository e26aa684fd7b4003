package app.doorstep.logic

import app.doorstep.core.AlertLevel
import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import app.doorstep.core.HouseholdDetail
import app.doorstep.core.HouseholdFilter
import app.doorstep.core.HouseholdSummary
import app.doorstep.core.PovertyStatus
import app.doorstep.core.maskNationalId
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/** The household list with its filters (village, status, alert level, text: name, number or masked ID). */
class HouseholdListViewModel(private val client: DoorstepClient) {
    data class State(val households: List<HouseholdSummary> = emptyList(), val error: UiText? = null)

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

    suspend fun refresh() {
        _state.value = try {
            State(client.households(filter()))
        } catch (e: DoorstepError) {
            State(_state.value.households, e.toUiText())
        }
    }
}

/** One household: members (IDs masked), last visits, open problems, screenings and unresolved conflicts. */
class HouseholdDetailViewModel(private val client: DoorstepClient, val householdId: String) {
    /** A member line as the detail screen shows it. */
    data class MemberLine(val id: String, val name: String, val birthDate: String, val maskedId: String)

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
                .map { MemberLine(it.id, it.name, it.birthDate, maskNationalId(it.nationalId)) }
            State.Loaded(detail, members)
        } catch (e: DoorstepError) {
            State.Failed(e.toUiText())
        }
    }
}
