package app.doorstep.ui

import androidx.compose.runtime.Composable
import app.doorstep.logic.AppSession
import app.doorstep.logic.Route

/**
 * Which screen draws which route: the one place a new screen is registered (add its [Route] in app-logic's
 * Navigation.kt, then a branch here and a title below; the `when`s make a missing one a compile error).
 */
@Composable
fun RouteScreen(session: AppSession, route: Route) {
    when (route) {
        Route.SignIn -> SignInScreen(session)
        Route.Today -> TodayScreen(session)
        Route.Households -> HouseholdsScreen(session)
        is Route.Household -> HouseholdScreen(session, route.householdId)
        is Route.VisitForm -> VisitFormScreen(session, route.householdId)
        is Route.ScreeningForm -> ScreeningFormScreen(session, route.householdId, route.memberId)
        Route.Conflicts -> ConflictsScreen(session)
        is Route.Attachments -> AttachmentsScreen(session, route.docId)
        Route.Sync -> SyncScreen(session)
        Route.SetAside -> SetAsideScreen(session)
    }
}

/** The top bar's title of each route. */
fun Route.title(): StrKey = when (this) {
    Route.SignIn -> Str.SIGNIN_TITLE
    Route.Today -> Str.TODAY_TITLE
    Route.Households -> Str.HH_TITLE
    is Route.Household -> Str.HH_TITLE
    is Route.VisitForm -> Str.VF_TITLE
    is Route.ScreeningForm -> Str.SF_TITLE
    Route.Conflicts -> ToolStr.CONFLICTS_TITLE
    is Route.Attachments -> ToolStr.ATTACHMENTS_TITLE
    Route.Sync -> ToolStr.SYNC_TITLE
    Route.SetAside -> ToolStr.SET_ASIDE_TITLE
}
