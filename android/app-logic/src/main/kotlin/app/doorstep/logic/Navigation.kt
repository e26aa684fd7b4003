package app.doorstep.logic

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * Every screen of the app and what it needs to open. Navigation is plain state (a back stack of these), so it works
 * the same on Android and the desktop, survives in a plain view model and is tested on the JVM.
 */
sealed interface Route {
    /** Server, user and password; the first screen until the device is signed in. */
    data object SignIn : Route

    /** Due and overdue visits and follow-ups: the home screen of a signed-in user. */
    data object Today : Route

    /** Every household the user may see, with filters and search. */
    data object Households : Route

    /** One household: members, last visits, open problems, screenings, conflicts, attachments. */
    data class Household(val householdId: String) : Route

    /** The monthly helper visit form of a household. */
    data class VisitForm(val householdId: String) : Route

    /** The doctor's follow-up or screening form of one member. */
    data class ScreeningForm(val householdId: String, val memberId: String) : Route

    /** Fields written on two devices, each value with who wrote it; choosing one resolves it. */
    data object Conflicts : Route

    /** The photos and signatures of a visit or screening. */
    data class Attachments(val docId: String) : Route

    /** Sync state, pending documents and photos, last success and error, metered-network switch, "sync now". */
    data object Sync : Route

    /** Records the server refused after a reassignment, kept for hand-over. */
    data object SetAside : Route

    /** True for the screens at the top of the app (reached from the bottom bar), where back leaves the app. */
    val isTopLevel: Boolean get() = this == Today || this == Households || this == Sync || this == SignIn
}

/** The back stack. Top-level screens replace the stack; others push onto it; back pops. */
class Navigator(start: Route) {
    private val _stack = MutableStateFlow(listOf(start))

    /** The whole stack, oldest first; the screen shown is the last. */
    val stack: StateFlow<List<Route>> = _stack.asStateFlow()

    /** The screen shown now. */
    val current: Route get() = _stack.value.last()

    /** Opens [route]: a top-level screen starts a new stack, any other goes on top of the current one. */
    fun go(route: Route) {
        _stack.value = if (route.isTopLevel) listOf(route) else _stack.value + route
    }

    /** Goes back one screen; false when already at the bottom (the platform may then close the app). */
    fun back(): Boolean {
        if (_stack.value.size <= 1) return false
        _stack.value = _stack.value.dropLast(1)
        return true
    }

    /** Forgets the history and shows [route] (after sign-in, or sign-out). */
    fun reset(route: Route) {
        _stack.value = listOf(route)
    }
}
