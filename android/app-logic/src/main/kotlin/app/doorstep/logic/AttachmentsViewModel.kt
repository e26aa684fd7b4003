package app.doorstep.logic

import app.doorstep.core.Attachment
import app.doorstep.core.AttachmentKind
import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * The attachments of one visit or screening: photos (camera or file), the household's drawn signature, scanned
 * forms. Thumbnails come from the bytes already on the phone; an attachment another device added is fetched only
 * when the user opens it, so a list never costs mobile data. Refusals (too large, quota, too many) are shown in
 * words and store nothing.
 */
class AttachmentsViewModel(private val client: DoorstepClient, val docId: String) {
    /** One attachment and, when its bytes are on the phone, those bytes for the thumbnail. */
    data class Item(val attachment: Attachment, val bytes: ByteArray?) {
        val hash: String get() = attachment.reference.hash
        val kind: AttachmentKind get() = attachment.reference.kind
        val isImage: Boolean get() = attachment.reference.mediaType.startsWith("image/") &&
            attachment.reference.mediaType != "image/svg+xml"

        override fun equals(other: Any?) = other is Item && other.attachment == attachment && other.bytes.contentEquals(bytes)
        override fun hashCode() = attachment.hashCode()
    }

    /** The full image the user opened: being fetched, shown, or not reachable. */
    sealed interface Viewer {
        val hash: String

        data class Loading(override val hash: String) : Viewer
        data class Shown(override val hash: String, val bytes: ByteArray, val mediaType: String) : Viewer {
            override fun equals(other: Any?) = other is Shown && other.hash == hash
            override fun hashCode() = hash.hashCode()
        }
        data class Failed(override val hash: String, val message: UiText) : Viewer
    }

    data class State(
        val items: List<Item> = emptyList(),
        val loading: Boolean = true,
        val busy: Boolean = false,
        val error: UiText? = null,
        val viewer: Viewer? = null,
    )

    private val _state = MutableStateFlow(State())
    val state: StateFlow<State> = _state.asStateFlow()

    /** Lists the attachments and reads the bytes of those on the phone for their thumbnails. */
    suspend fun refresh() {
        _state.value = try {
            _state.value.copy(items = client.attachments(docId).map { client.itemOf(it) }, loading = false)
        } catch (e: DoorstepError) {
            _state.value.copy(loading = false, error = e.toUiText())
        }
    }

    /** Attaches a photo the platform took or picked (already downscaled by it); the type is read from the bytes. */
    suspend fun addPhoto(bytes: ByteArray, caption: String = ""): Boolean = add(bytes, AttachmentKind.PHOTO, caption, null)

    /** Attaches a scanned paper form (PDF or image). */
    suspend fun addDocument(bytes: ByteArray, caption: String = ""): Boolean =
        add(bytes, AttachmentKind.DOCUMENT, caption, null)

    /** Attaches the household's drawn signature, a PNG. */
    suspend fun addSignature(png: ByteArray): Boolean = add(png, AttachmentKind.SIGNATURE, "", "image/png")

    private suspend fun add(bytes: ByteArray, kind: AttachmentKind, caption: String, mediaType: String?): Boolean {
        _state.value = _state.value.copy(busy = true, error = null)
        val ok = try {
            client.attachBytes(docId, bytes, kind, caption, mediaType)
            true
        } catch (e: DoorstepError) {
            _state.value = _state.value.copy(error = e.toUiText())
            false
        }
        refreshKeepingError()
        return ok
    }

    /** Opens the full attachment, downloading it first when it is not on the phone. */
    suspend fun open(hash: String) {
        val item = _state.value.items.firstOrNull { it.hash == hash } ?: return
        _state.value = _state.value.copy(viewer = Viewer.Loading(hash))
        val viewer = try {
            Viewer.Shown(hash, item.bytes ?: client.openAttachment(hash), item.attachment.reference.mediaType)
        } catch (e: DoorstepError) {
            Viewer.Failed(hash, e.toUiText())
        }
        if (_state.value.viewer?.hash == hash) _state.value = _state.value.copy(viewer = viewer)
        // What was fetched is now on the phone: the strip can show it without fetching again.
        if (item.bytes == null && viewer is Viewer.Shown) {
            _state.value = _state.value.copy(
                items = _state.value.items.map { if (it.hash == hash) it.copy(bytes = viewer.bytes) else it },
            )
        }
    }

    fun closeViewer() {
        _state.value = _state.value.copy(viewer = null)
    }

    /** Removes an attachment from the record (the removal syncs like any edit). */
    suspend fun remove(hash: String): Boolean {
        _state.value = _state.value.copy(busy = true, error = null, viewer = null)
        val ok = try {
            client.detach(docId, hash)
            true
        } catch (e: DoorstepError) {
            _state.value = _state.value.copy(error = e.toUiText())
            false
        }
        refreshKeepingError()
        return ok
    }

    private suspend fun refreshKeepingError() {
        val error = _state.value.error
        refresh()
        _state.value = _state.value.copy(busy = false, error = error ?: _state.value.error)
    }
}

/**
 * The attachments of every visit and screening of a household, for the thumbnail strip of the household screen:
 * newest record first, each attachment with the record it belongs to. Only bytes already on the phone are read.
 */
suspend fun householdAttachments(client: DoorstepClient, householdId: String): List<Pair<String, AttachmentsViewModel.Item>> {
    val detail = client.householdDetail(householdId)
    val docs = client.visitsOf(householdId).sortedByDescending { it.date }.map { it.id } +
        detail.screenings.sortedByDescending { it.screening.date }.map { it.screening.id }
    return docs.flatMap { doc ->
        client.attachments(doc).map { doc to client.itemOf(it) }
    }
}

/** An attachment with its bytes when they are on the phone and an image (never a download, never a PDF). */
private suspend fun DoorstepClient.itemOf(a: Attachment): AttachmentsViewModel.Item {
    val bytes = if (a.local && a.reference.mediaType.startsWith("image/")) {
        try {
            openAttachment(a.reference.hash)
        } catch (_: DoorstepError) {
            null
        }
    } else {
        null
    }
    return AttachmentsViewModel.Item(a, bytes)
}
