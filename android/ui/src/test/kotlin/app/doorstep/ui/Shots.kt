package app.doorstep.ui

import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.performTextInput
import app.doorstep.logic.AppSession
import app.doorstep.logic.Route

/**
 * One picture of a screen: its file name (without the language) and how to get there. [open] runs before the
 * screen is drawn (navigation); [act] after (typing, tapping), as a user would.
 */
@OptIn(ExperimentalTestApi::class)
class Shot(
    val name: String,
    val signedIn: Boolean = true,
    val open: (AppSession, Seed.Ids) -> Unit = { _, _ -> },
    val act: SkikoComposeUiTest.() -> Unit = {},
)

/** The pictures of the main screens; `toolShots` (ToolShots.kt) adds the record-tool screens. */
@OptIn(ExperimentalTestApi::class)
val mainShots: List<Shot> = listOf(
    Shot("sign-in", signedIn = false),
    Shot(
        "sign-in-refused",
        signedIn = false,
        act = {
            // A port nobody listens on: the refusal the helper sees out of signal.
            val closed = java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()).use { it.localPort }
            onNodeWithTag("server").performTextInput("http://127.0.0.1:$closed")
            onNodeWithTag("user").performTextInput("helper1")
            onNodeWithTag("password").performTextInput("password-1")
            onNodeWithTag("sign-in").performClick()
        },
    ),
    Shot("today"),
    Shot("households", open = { s, _ -> s.navigator.go(Route.Households) }),
    Shot("household", open = { s, ids -> s.navigator.go(Route.Household(ids.households.getValue("王大山"))) }),
    Shot("visit-form", open = { s, ids -> s.navigator.go(Route.VisitForm(ids.households.getValue("王大山"))) }),
    Shot(
        "visit-form-errors",
        open = { s, ids -> s.navigator.go(Route.VisitForm(ids.households.getValue("王大山"))) },
        act = {
            onNodeWithTag("findings.food:OK").performClick()
            onNodeWithTag("findings.water:PROBLEM").performClick()
            onNodeWithTag("save").performScrollTo().performClick()
            onNodeWithTag("findings.food").performScrollTo()
        },
    ),
    Shot(
        "screening-form",
        open = { s, ids ->
            s.navigator.go(Route.Household(ids.households.getValue("王大山")))
            s.navigator.go(Route.ScreeningForm(ids.households.getValue("王大山"), ids.members.getValue("王大山")))
        },
        act = {
            onNodeWithTag("input:systolic").performTextInput("185")
            onNodeWithTag("input:diastolic").performTextInput("112")
            onNodeWithTag("input:glucose").performTextInput("7.5")
            onNodeWithTag("input:height_cm").performTextInput("168")
            onNodeWithTag("input:weight_kg").performTextInput("80")
        },
    ),
)
