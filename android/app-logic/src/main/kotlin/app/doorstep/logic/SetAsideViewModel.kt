package app.doorstep.logic

import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import app.doorstep.core.SetAsideDoc
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import java.time.LocalDate

/**
 * The records the server refused after a reassignment (or that left this device's scope with changes unsent): the
 * core keeps them aside instead of dropping them, and this screen shows them and exports them to a file the helper
 * hands to whoever now holds the household. The file has the same form as `doorstep set-aside --export`.
 */
class SetAsideViewModel(private val client: DoorstepClient) {
    enum class Reason {
        /** The server refused a push: the device may no longer write this record. */
        OUT_OF_SCOPE,

        /** The record left the device's scope with changes the server never acknowledged. */
        LEFT_SCOPE,
        OTHER,
    }

    data class Item(val doc: SetAsideDoc, val label: RecordLabel, val reason: Reason, val setAsideAt: String)

    /** What the last export did. */
    sealed interface Exported {
        data class Saved(val fileName: String, val count: Int) : Exported
        data object Cancelled : Exported
        /** The platform could not write the file; [detail] is its reason, for the screen's message. */
        data class Failed(val detail: String) : Exported
    }

    data class State(
        val items: List<Item> = emptyList(),
        val loading: Boolean = true,
        val error: UiText? = null,
        val exported: Exported? = null,
    )

    private val _state = MutableStateFlow(State())
    val state: StateFlow<State> = _state.asStateFlow()

    suspend fun refresh() {
        _state.value = try {
            val items = client.setAsideDocs().sortedByDescending { it.atMs }.map { d ->
                Item(d, RecordLabel.fromJson(d.docId, d.kind, d.recordJson), reasonOf(d.reason), formatLocalTime(d.atMs))
            }
            _state.value.copy(items = items, loading = false, error = null)
        } catch (e: DoorstepError) {
            _state.value.copy(loading = false, error = e.toUiText())
        }
    }

    /** The file name offered for the hand-over file. */
    fun exportFileName(today: LocalDate = LocalDate.now()): String = "doorstep-set-aside-$today.json"

    /**
     * Writes every set-aside record through [save] (the platform's file picker or share sheet: it returns false
     * when the user cancelled). Nothing on the phone changes: the records stay until someone takes them over.
     */
    suspend fun export(save: suspend (fileName: String, mediaType: String, bytes: ByteArray) -> Boolean) {
        val docs = _state.value.items.map { it.doc }
        if (docs.isEmpty()) return
        val name = exportFileName()
        _state.value = _state.value.copy(
            exported = try {
                if (save(name, "application/json", exportJson(docs).toByteArray())) {
                    Exported.Saved(name, docs.size)
                } else {
                    Exported.Cancelled
                }
            } catch (e: java.io.IOException) {
                Exported.Failed(e.message.orEmpty())
            },
        )
    }

    companion object {
        private val pretty = Json { prettyPrint = true }

        fun reasonOf(code: String): Reason = when (code) {
            "out_of_scope" -> Reason.OUT_OF_SCOPE
            "left_scope" -> Reason.LEFT_SCOPE
            else -> Reason.OTHER
        }

        /** The hand-over file: the records with their JSON and their Automerge documents, as the CLI writes it. */
        fun exportJson(docs: List<SetAsideDoc>): String = pretty.encodeToString(
            JsonArray.serializer(),
            JsonArray(
                docs.map { d ->
                    buildJsonObject {
                        put("doc_id", d.docId)
                        put("kind", d.kind)
                        put("unsynced", JsonPrimitive(d.unsynced.toLong()))
                        put("reason", d.reason)
                        put("at_ms", d.atMs)
                        put("record_json", d.recordJson)
                        put("automerge_hex", d.automergeHex)
                    }
                },
            ),
        )
    }
}
