package app.doorstep.logic

import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import app.doorstep.core.LoginInfo
import app.doorstep.core.NetworkKind
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import java.time.LocalDate

/**
 * The open store and what the screens share while it is open: who is signed in, the back stack, and the view models
 * that must outlive their screen (a visit or screening draft survives leaving the form and coming back; it is
 * dropped only once saved or discarded). Android keeps one in its activity's ViewModel; the desktop in `main`.
 */
class AppSession(
    val client: DoorstepClient,
    user: String?,
    val today: () -> LocalDate = LocalDate::now,
    private val onSignedIn: (LoginInfo) -> Unit = {},
) {
    private val _user = MutableStateFlow(user.orEmpty())

    /** The signed-in user name, empty before sign-in. */
    val user: StateFlow<String> = _user.asStateFlow()

    /** Where the user is: sign-in first when the device has no account yet, else today's list. */
    val navigator = Navigator(if (user.isNullOrEmpty()) Route.SignIn else Route.Today)

    val login: LoginViewModel by lazy { LoginViewModel(client) }
    val dueList: DueListViewModel by lazy { DueListViewModel(client, today) }
    val households: HouseholdListViewModel by lazy { HouseholdListViewModel(client) }
    val sync: SyncViewModel by lazy { SyncViewModel(client) }

    private val visitDrafts = mutableMapOf<String, VisitFormViewModel>()
    private val screeningDrafts = mutableMapOf<Pair<String, String>, ScreeningFormViewModel>()

    /** The visit form of a household: the same draft until it is saved or discarded. */
    fun visitForm(householdId: String): VisitFormViewModel =
        visitDrafts.getOrPut(householdId) { VisitFormViewModel(client, householdId, _user.value, today().toString()) }

    /** Forgets the visit draft of a household (after saving, or when the user discards it). */
    fun closeVisitForm(householdId: String) {
        visitDrafts.remove(householdId)
    }

    /** The screening form of a member: the same draft until it is saved or discarded. */
    fun screeningForm(householdId: String, memberId: String): ScreeningFormViewModel =
        screeningDrafts.getOrPut(householdId to memberId) {
            ScreeningFormViewModel(client, householdId, memberId, _user.value, today().toString())
        }

    fun closeScreeningForm(householdId: String, memberId: String) {
        screeningDrafts.remove(householdId to memberId)
    }

    /** A household's detail; reloaded each time the screen opens, so a new one is cheap and always current. */
    fun householdDetail(householdId: String): HouseholdDetailViewModel = HouseholdDetailViewModel(client, householdId)

    /** After a successful sign-in: remember the user, tell the platform (it schedules background sync), go to today. */
    fun signedIn(info: LoginInfo) {
        _user.value = info.user
        navigator.reset(Route.Today)
        onSignedIn(info)
    }

    /**
     * The platform's network changed: tells the core (which wakes the sync when it comes back) and the kind of
     * network (photos upload only on unmetered ones unless the user allows mobile data).
     */
    suspend fun networkChanged(kind: NetworkKind?) {
        try {
            client.setOnline(kind != null)
            if (kind != null) client.setNetwork(kind, allowMeteredPhotos.value)
        } catch (e: DoorstepError) {
            // Nothing to show: the sync screen reports the store's own failures.
        }
    }

    /** The user's choice to upload photos over mobile data too (the sync screen's switch). */
    val allowMeteredPhotos = MutableStateFlow(false)

    companion object {
        /** Opens the session over an opened store, starting where the stored sign-in (if any) says. */
        suspend fun start(
            client: DoorstepClient,
            today: () -> LocalDate = LocalDate::now,
            onSignedIn: (LoginInfo) -> Unit = {},
        ): AppSession {
            val user = try {
                client.syncStatus().user
            } catch (e: DoorstepError) {
                null
            }
            return AppSession(client, user, today, onSignedIn)
        }
    }
}
