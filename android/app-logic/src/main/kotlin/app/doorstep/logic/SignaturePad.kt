package app.doorstep.logic

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlin.math.hypot

/**
 * The strokes of a signature being drawn with a finger or a mouse, in the pad's own pixels. The screen feeds it
 * pointer events and draws [strokes]; the platform turns them into a PNG when the user accepts. A dot or a short
 * slip of the finger is not a signature: [isSignature] asks for some ink first.
 */
class SignaturePad(
    /** Total stroke length, in pad pixels, below which the drawing is not taken as a signature. */
    private val minInk: Float = 40f,
) {
    data class Point(val x: Float, val y: Float)

    private val _strokes = MutableStateFlow<List<List<Point>>>(emptyList())
    val strokes: StateFlow<List<List<Point>>> = _strokes.asStateFlow()

    fun start(x: Float, y: Float) {
        _strokes.value = _strokes.value + listOf(listOf(Point(x, y)))
    }

    /** Extends the stroke being drawn; a move without a start (the pointer came in from outside) starts one. */
    fun moveTo(x: Float, y: Float) {
        val all = _strokes.value
        if (all.isEmpty()) return start(x, y)
        _strokes.value = all.dropLast(1) + listOf(all.last() + Point(x, y))
    }

    fun clear() {
        _strokes.value = emptyList()
    }

    /** The length of every stroke added up, in pad pixels. */
    fun ink(): Float = _strokes.value.sumOf { s -> s.zipWithNext { a, b -> hypot(b.x - a.x, b.y - a.y).toDouble() }.sum() }
        .toFloat()

    val isSignature: Boolean get() = ink() >= minInk
}
