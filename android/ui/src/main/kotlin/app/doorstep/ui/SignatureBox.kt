package app.doorstep.ui

import androidx.compose.foundation.Canvas
import androidx.compose.foundation.background
import androidx.compose.foundation.border
import androidx.compose.foundation.gestures.awaitEachGesture
import androidx.compose.foundation.gestures.awaitFirstDown
import androidx.compose.foundation.shape.RoundedCornerShape
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.geometry.Size
import androidx.compose.ui.graphics.Canvas
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.Path
import androidx.compose.ui.graphics.StrokeCap
import androidx.compose.ui.graphics.StrokeJoin
import androidx.compose.ui.graphics.drawscope.CanvasDrawScope
import androidx.compose.ui.graphics.drawscope.DrawScope
import androidx.compose.ui.graphics.drawscope.Stroke
import androidx.compose.ui.input.pointer.pointerInput
import androidx.compose.ui.layout.onSizeChanged
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.Density
import androidx.compose.ui.unit.IntSize
import androidx.compose.ui.unit.LayoutDirection
import androidx.compose.ui.unit.dp
import app.doorstep.logic.SignaturePad

/** Ink colour and width of a signature, on the screen and in the PNG alike. */
private val ink = Color(0xFF0D1B4C)
private const val INK_WIDTH_PX = 5f

/**
 * The box the household signs in: every finger or mouse drag becomes a stroke of [pad], drawn as it goes.
 * [onSize] reports the box's size in pixels, the size of the PNG made from it.
 */
@Composable
fun SignatureBox(pad: SignaturePad, modifier: Modifier = Modifier, onSize: (IntSize) -> Unit = {}) {
    val strokes by pad.strokes.collectAsState()
    val shape = RoundedCornerShape(8.dp)
    Canvas(
        modifier
            .background(Color.White, shape)
            .border(2.dp, Color(0xFF9E9E9E), shape)
            .onSizeChanged(onSize)
            .testTag("signature-box")
            .pointerInput(pad) {
                awaitEachGesture {
                    val down = awaitFirstDown()
                    pad.start(down.position.x, down.position.y)
                    down.consume()
                    while (true) {
                        val event = awaitPointerEvent()
                        val change = event.changes.firstOrNull { it.id == down.id } ?: break
                        if (!change.pressed) break
                        pad.moveTo(change.position.x, change.position.y)
                        change.consume()
                    }
                }
            },
    ) { drawStrokes(strokes) }
}

private fun DrawScope.drawStrokes(strokes: List<List<SignaturePad.Point>>) {
    for (stroke in strokes) {
        if (stroke.size == 1) {
            drawCircle(ink, INK_WIDTH_PX / 2, Offset(stroke[0].x, stroke[0].y))
            continue
        }
        val path = Path().apply {
            moveTo(stroke[0].x, stroke[0].y)
            stroke.drop(1).forEach { lineTo(it.x, it.y) }
        }
        drawPath(path, ink, style = Stroke(INK_WIDTH_PX, cap = StrokeCap.Round, join = StrokeJoin.Round))
    }
}

/** The strokes drawn on white into an image of the box's size (at least 1×1), for the platform's PNG encoder. */
fun renderSignature(strokes: List<List<SignaturePad.Point>>, size: IntSize): ImageBitmap {
    val w = size.width.coerceAtLeast(1)
    val h = size.height.coerceAtLeast(1)
    val image = ImageBitmap(w, h)
    CanvasDrawScope().draw(Density(1f), LayoutDirection.Ltr, Canvas(image), Size(w.toFloat(), h.toFloat())) {
        drawRect(Color.White)
        drawStrokes(strokes)
    }
    return image
}
