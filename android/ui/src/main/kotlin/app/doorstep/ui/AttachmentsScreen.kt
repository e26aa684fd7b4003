package app.doorstep.ui

import androidx.compose.foundation.Image
import androidx.compose.foundation.background
import androidx.compose.foundation.border
import androidx.compose.foundation.clickable
import androidx.compose.foundation.horizontalScroll
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.aspectRatio
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.shape.RoundedCornerShape
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
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
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.layout.ContentScale
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.text.style.TextOverflow
import androidx.compose.ui.unit.dp
import app.doorstep.core.AttachmentKind
import app.doorstep.core.UploadState
import app.doorstep.logic.AppSession
import app.doorstep.logic.AttachmentsViewModel
import app.doorstep.logic.SignaturePad
import kotlinx.coroutines.launch

/**
 * The photos, signature and scans of one visit or screening: add a photo (camera or file, through the platform),
 * let the household sign with a finger or the mouse, open one full size (downloaded when it is not on the phone),
 * remove one.
 */
@Composable
fun AttachmentsScreen(session: AppSession, docId: String) {
    val vm = remember(session, docId) { AttachmentsViewModel(session.client, docId) }
    val state by vm.state.collectAsState()
    val platform = LocalPlatform.current
    val scope = rememberCoroutineScope()
    var signing by remember { mutableStateOf(false) }
    LaunchedEffect(vm) { vm.refresh() }
    val viewer = state.viewer
    ScreenColumn(Modifier.testTag("attachments-screen")) {
        when {
            viewer != null -> Viewer(viewer, onClose = vm::closeViewer)
            signing -> SignatureEditor(
                onCancel = { signing = false },
                onSave = { png -> scope.launch { if (vm.addSignature(png)) signing = false } },
                error = state.error?.text(),
            )
            else -> {
                Text(str(ToolStr.ATT_INTRO), style = MaterialTheme.typography.bodySmall)
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    Button(
                        onClick = { scope.launch { platform.photos.pick()?.let { vm.addPhoto(it.bytes) } } },
                        enabled = !state.busy,
                        modifier = Modifier.weight(1f).heightIn(min = MinTouch).testTag("add-photo"),
                    ) { Text(str(ToolStr.ATT_ADD_PHOTO), maxLines = 2) }
                    OutlinedButton(
                        onClick = { signing = true },
                        enabled = !state.busy,
                        modifier = Modifier.weight(1f).heightIn(min = MinTouch).testTag("sign"),
                    ) { Text(str(ToolStr.ATT_SIGN), maxLines = 2) }
                }
                if (state.busy) Text(str(ToolStr.ATT_BUSY), style = MaterialTheme.typography.bodySmall)
                state.error?.let { ErrorText(it.text()) }
                when {
                    state.loading -> Loading()
                    state.items.isEmpty() -> Text(str(ToolStr.ATT_EMPTY), Modifier.testTag("attachments-empty"))
                    else -> state.items.forEach { item ->
                        AttachmentCard(item, onOpen = { scope.launch { vm.open(item.hash) } }) {
                            scope.launch { vm.remove(item.hash) }
                        }
                    }
                }
            }
        }
    }
}

@Composable
private fun AttachmentCard(item: AttachmentsViewModel.Item, onOpen: () -> Unit, onRemove: () -> Unit) {
    var confirming by remember(item.hash) { mutableStateOf(false) }
    Card(Modifier.fillMaxWidth().testTag("attachment:${item.kind.name.lowercase()}")) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(6.dp)) {
            Row(horizontalArrangement = Arrangement.spacedBy(12.dp), verticalAlignment = Alignment.CenterVertically) {
                Thumbnail(item, Modifier.size(72.dp).clickable(onClick = onOpen))
                Column(Modifier.weight(1f), verticalArrangement = Arrangement.spacedBy(2.dp)) {
                    Text(str(kindLabel(item.kind)), style = MaterialTheme.typography.titleSmall)
                    val ref = item.attachment.reference
                    if (ref.caption.isNotBlank()) Text(ref.caption, style = MaterialTheme.typography.bodySmall)
                    Text(sizeText(ref.size.toLong()), style = MaterialTheme.typography.bodySmall)
                    if (!item.attachment.local && item.bytes == null) {
                        Text(str(ToolStr.ATT_NOT_ON_PHONE), style = MaterialTheme.typography.bodySmall)
                    }
                    uploadLabel(item.attachment.upload)?.let {
                        Text(str(it), style = MaterialTheme.typography.bodySmall,
                            color = if (item.attachment.upload == UploadState.BROKEN) AlertColors.red else Color.Unspecified)
                    }
                }
            }
            if (confirming) {
                Text(str(ToolStr.ATT_REMOVE_CONFIRM), color = MaterialTheme.colorScheme.error)
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    Button(onClick = onRemove, modifier = Modifier.heightIn(min = MinTouch).testTag("confirm-remove")) {
                        Text(str(ToolStr.ATT_REMOVE))
                    }
                    OutlinedButton(onClick = { confirming = false }, modifier = Modifier.heightIn(min = MinTouch)) {
                        Text(str(Str.CANCEL))
                    }
                }
            } else {
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    OutlinedButton(onClick = onOpen, modifier = Modifier.heightIn(min = MinTouch).testTag("open")) {
                        Text(str(ToolStr.ATT_OPEN))
                    }
                    TextButton(onClick = { confirming = true }, modifier = Modifier.heightIn(min = MinTouch).testTag("remove")) {
                        Text(str(ToolStr.ATT_REMOVE), color = MaterialTheme.colorScheme.error)
                    }
                }
            }
        }
    }
}

/** The image decoded once per attachment; a grey tile with the kind's name when there are no bytes or no image. */
@Composable
private fun Thumbnail(item: AttachmentsViewModel.Item, modifier: Modifier) {
    val platform = LocalPlatform.current
    val bitmap: ImageBitmap? = remember(item.hash, item.bytes != null) {
        item.bytes?.takeIf { item.isImage }?.let { platform.decodeImage(it) }
    }
    val shape = RoundedCornerShape(6.dp)
    if (bitmap != null) {
        Image(
            bitmap, contentDescription = str(kindLabel(item.kind)),
            modifier = modifier.background(Color.White, shape).border(1.dp, Color(0xFFBDBDBD), shape).testTag("thumbnail"),
            contentScale = if (item.kind == AttachmentKind.SIGNATURE) ContentScale.Fit else ContentScale.Crop,
        )
    } else {
        Box(modifier.background(Color(0xFFE0E0E0), shape).testTag("thumbnail-placeholder"), contentAlignment = Alignment.Center) {
            Text(str(kindLabel(item.kind)), style = MaterialTheme.typography.labelSmall, maxLines = 1,
                overflow = TextOverflow.Ellipsis)
        }
    }
}

@Composable
private fun Viewer(viewer: AttachmentsViewModel.Viewer, onClose: () -> Unit) {
    val platform = LocalPlatform.current
    Column(Modifier.fillMaxWidth().testTag("viewer"), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        when (viewer) {
            is AttachmentsViewModel.Viewer.Loading -> {
                Text(str(ToolStr.ATT_OPENING))
                Loading()
            }
            is AttachmentsViewModel.Viewer.Failed -> ErrorText(viewer.message.text())
            is AttachmentsViewModel.Viewer.Shown -> {
                val bitmap = remember(viewer.hash) {
                    viewer.bytes.takeIf { viewer.mediaType.startsWith("image/") }?.let { platform.decodeImage(it) }
                }
                if (bitmap != null) {
                    Image(
                        bitmap, contentDescription = null,
                        modifier = Modifier.fillMaxWidth().aspectRatio(bitmap.width.toFloat() / bitmap.height.coerceAtLeast(1))
                            .background(Color.White).testTag("full-image"),
                        contentScale = ContentScale.Fit,
                    )
                } else {
                    Text(str(ToolStr.ATT_CANNOT_SHOW, viewer.mediaType))
                }
            }
        }
        Button(onClick = onClose, modifier = Modifier.fillMaxWidth().heightIn(min = MinTouch).testTag("close-viewer")) {
            Text(str(ToolStr.ATT_CLOSE))
        }
    }
}

/** The signature box with its buttons; the PNG is made from the strokes at the box's own pixel size. */
@Composable
private fun SignatureEditor(onCancel: () -> Unit, onSave: (ByteArray) -> Unit, error: String?) {
    val pad = remember { SignaturePad() }
    val platform = LocalPlatform.current
    var tooShort by remember { mutableStateOf(false) }
    var boxSize by remember { mutableStateOf(androidx.compose.ui.unit.IntSize.Zero) }
    Text(str(ToolStr.ATT_SIGN_HINT), style = MaterialTheme.typography.titleMedium)
    SignatureBox(pad, Modifier.fillMaxWidth().aspectRatio(1.6f)) { boxSize = it }
    if (tooShort) ErrorText(str(ToolStr.ATT_SIGN_TOO_SHORT))
    error?.let { ErrorText(it) }
    Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        Button(
            onClick = {
                tooShort = !pad.isSignature
                if (!tooShort) onSave(platform.encodePng(renderSignature(pad.strokes.value, boxSize)))
            },
            modifier = Modifier.weight(1f).heightIn(min = MinTouch).testTag("save-signature"),
        ) { Text(str(ToolStr.ATT_SIGN_SAVE), maxLines = 2) }
        OutlinedButton(
            onClick = { pad.clear(); tooShort = false },
            modifier = Modifier.heightIn(min = MinTouch).testTag("clear-signature"),
        ) { Text(str(ToolStr.ATT_SIGN_CLEAR)) }
        TextButton(onClick = onCancel, modifier = Modifier.heightIn(min = MinTouch).testTag("cancel-signature")) {
            Text(str(Str.CANCEL))
        }
    }
}

/**
 * The thumbnails of one visit's or screening's attachments, in the household screen, and the way to the
 * attachments screen (also when there are none yet, to add the first).
 */
@Composable
fun AttachmentThumbnails(session: AppSession, docId: String) {
    val vm = remember(session, docId) { AttachmentsViewModel(session.client, docId) }
    val state by vm.state.collectAsState()
    LaunchedEffect(vm) { vm.refresh() }
    val open = { session.navigator.go(app.doorstep.logic.Route.Attachments(docId)) }
    if (state.items.isNotEmpty()) {
        Row(
            Modifier.fillMaxWidth().horizontalScroll(rememberScrollState()).testTag("thumbnails:$docId"),
            horizontalArrangement = Arrangement.spacedBy(6.dp),
        ) {
            state.items.forEach { Thumbnail(it, Modifier.size(56.dp).clickable(onClick = open)) }
        }
    }
    TextButton(onClick = open, modifier = Modifier.heightIn(min = MinTouch).testTag("attachments:$docId")) {
        Text(
            if (state.items.isEmpty()) str(ToolStr.ATT_STRIP_ADD) else str(ToolStr.ATT_STRIP_MORE, state.items.size),
            maxLines = 1, overflow = TextOverflow.Ellipsis,
        )
    }
}

private fun kindLabel(kind: AttachmentKind): ToolStr = when (kind) {
    AttachmentKind.PHOTO -> ToolStr.ATT_KIND_PHOTO
    AttachmentKind.SIGNATURE -> ToolStr.ATT_KIND_SIGNATURE
    AttachmentKind.DOCUMENT -> ToolStr.ATT_KIND_DOCUMENT
}

private fun uploadLabel(state: UploadState): ToolStr? = when (state) {
    UploadState.PENDING -> ToolStr.ATT_UPLOAD_PENDING
    UploadState.DONE -> ToolStr.ATT_UPLOAD_DONE
    UploadState.BROKEN -> ToolStr.ATT_UPLOAD_BROKEN
    UploadState.NOT_NEEDED -> null
}

/** Bytes as people read them (the same in both languages). */
fun sizeText(bytes: Long): String = when {
    bytes >= 1024 * 1024 -> "%.1f MB".format(bytes / (1024.0 * 1024.0))
    bytes >= 1024 -> "${(bytes + 512) / 1024} KB"
    else -> "$bytes B"
}
