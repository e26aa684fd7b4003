package app.doorstep.logic

import app.doorstep.core.Conflict
import app.doorstep.core.ConflictValue
import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * The conflicts screen: every field two devices wrote while apart, with each value, who wrote it, on which device
 * and when. The user picks the right value and the core writes it as a new change, which syncs like any edit, so
 * the other devices see the field settled too.
 */
class ConflictsViewModel(private val client: DoorstepClient, private val householdId: String? = null) {
    /** One value of a conflicted field and its author. */
    data class Side(
        val valueJson: String,
        val value: FieldValue,
        val user: String,
        val device: String,
        /** Device time of the write, `yyyy-MM-dd HH:mm` in the phone's zone (device clocks drift: advisory). */
        val writtenAt: String,
    )

    /** A conflicted field of one record. */
    data class Item(
        val docId: String,
        /** The field's dotted path as the core names it (`phone`, `members.<id>.name`). */
        val field: String,
        val label: FieldLabel,
        val record: RecordLabel,
        val sides: List<Side>,
    ) {
        /** Stable key for lists and tests. */
        val key: String get() = docId + "/" + this.field
    }

    data class State(
        val items: List<Item> = emptyList(),
        val loading: Boolean = true,
        /** The item being resolved right now (its buttons are disabled). */
        val resolving: String? = null,
        val error: UiText? = null,
    )

    private val _state = MutableStateFlow(State())
    val state: StateFlow<State> = _state.asStateFlow()

    /** Reads the conflicts again (after a sync, or when the screen opens). */
    suspend fun refresh() {
        _state.value = try {
            val labels = RecordLabels(client)
            val conflicts = client.conflicts().filter { householdId == null || labels.householdOf(it.docId) == householdId }
            State(items = conflicts.map { toItem(it, labels) }, loading = false)
        } catch (e: DoorstepError) {
            _state.value.copy(loading = false, error = e.toUiText())
        }
    }

    /** Settles [item] with the value of [side]; true when the core took it. The list is read again either way. */
    suspend fun choose(item: Item, side: Side): Boolean {
        _state.value = _state.value.copy(resolving = item.key, error = null)
        val ok = try {
            client.resolveConflict(item.docId, item.field, side.valueJson)
            true
        } catch (e: DoorstepError) {
            _state.value = _state.value.copy(error = e.toUiText())
            false
        }
        val error = _state.value.error
        refresh()
        _state.value = _state.value.copy(resolving = null, error = error ?: _state.value.error)
        return ok
    }

    private suspend fun toItem(c: Conflict, labels: RecordLabels): Item {
        val record = labels.of(c.docId)
        val members = (record as? RecordLabel.Household)?.members.orEmpty()
        return Item(
            docId = c.docId,
            field = c.field,
            label = FieldLabel.of(c.field, members),
            record = record,
            sides = c.values.sortedBy { it.deviceTimeMs }.map { it.toSide() },
        )
    }
}

private fun ConflictValue.toSide() = ConflictsViewModel.Side(
    valueJson = valueJson,
    value = FieldValue.parse(valueJson),
    user = user,
    device = device,
    writtenAt = formatLocalTime(deviceTimeMs),
)
