package app.doorstep.logic

import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import app.doorstep.core.DueItem
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import java.time.LocalDate

/** Today's due list, the first screen: overdue items first, then by due date. */
class DueListViewModel(private val client: DoorstepClient, private val today: () -> LocalDate = LocalDate::now) {
    /** The list and its counts, or what failed. */
    data class State(
        val items: List<DueItem> = emptyList(),
        val overdue: Int = 0,
        val error: UiText? = null,
        val loading: Boolean = false,
    )

    private val _state = MutableStateFlow(State())
    val state: StateFlow<State> = _state.asStateFlow()

    /** Reloads from the store (after a sync, a saved visit, or a new day). */
    suspend fun refresh() {
        _state.value = _state.value.copy(loading = true)
        _state.value = try {
            val items = client.due(today().toString()).sortedWith(compareBy({ !it.overdue }, { it.dueDate }))
            State(items = items, overdue = items.count { it.overdue })
        } catch (e: DoorstepError) {
            _state.value.copy(error = e.toUiText(), loading = false)
        }
    }
}
