package app.doorstep.logic

import app.doorstep.core.AssuranceKind
import app.doorstep.core.AssuranceStatus
import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import app.doorstep.core.Fixtures
import app.doorstep.core.LoginInfo
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotSame
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** Navigation as plain state, the session's drafts, and the words a refused sign-in gets. */
class NavigationTest {
    @Test
    fun `top-level screens start a new stack, others push, back pops down to the bottom`() {
        val nav = Navigator(Route.Today)
        nav.go(Route.Household("h1"))
        nav.go(Route.VisitForm("h1"))
        assertEquals(listOf(Route.Today, Route.Household("h1"), Route.VisitForm("h1")), nav.stack.value)
        assertTrue(nav.back())
        assertEquals(Route.Household("h1"), nav.current)
        nav.go(Route.Households)
        assertEquals(listOf(Route.Households), nav.stack.value, "a bottom-bar screen forgets the history")
        assertFalse(nav.back(), "at the bottom back is the platform's")
        assertEquals(Route.Households, nav.current)
    }

    @Test
    fun `a visit draft outlives its screen until saved or discarded, and sign-in goes to today`() = runBlocking {
        DoorstepClient.open(Fixtures.tempDir().resolve("s.db").toFile(), Fixtures.newKey(), "vm-phone").use { client ->
            val id = client.saveHousehold(Fixtures.household())
            var reported: LoginInfo? = null
            val session = AppSession.start(client, onSignedIn = { reported = it })
            assertEquals(Route.SignIn, session.navigator.current, "a store nobody signed in to starts at sign-in")
            val draft = session.visitForm(id)
            draft.setAssurance(AssuranceKind.FOOD, AssuranceStatus.OK)
            assertSame(draft, session.visitForm(id), "coming back to the form finds the same draft")
            session.closeVisitForm(id)
            assertNotSame(draft, session.visitForm(id), "a discarded draft is gone")
            val info = LoginInfo("http://127.0.0.1:1", "helper1", "helper", "d1")
            session.signedIn(info)
            assertEquals(Route.Today, session.navigator.current)
            assertEquals("helper1", session.user.value)
            assertEquals(info, reported)
        }
    }

    @Test
    fun `each refusal of a sign-in maps to the words the screen shows`() {
        fun refused(code: String) = DoorstepError.Refused(code, "en", "zh", false)
        assertEquals(LoginViewModel.Refusal.WRONG_PASSWORD, refusalOf(refused("wrong_password")))
        assertEquals(LoginViewModel.Refusal.DEVICE_REVOKED, refusalOf(refused("token_revoked")))
        assertEquals(LoginViewModel.Refusal.ACCOUNT_DISABLED, refusalOf(refused("account_disabled")))
        assertEquals(LoginViewModel.Refusal.OTHER, refusalOf(refused("out_of_scope")))
        assertEquals(LoginViewModel.Refusal.UPDATE_REQUIRED, refusalOf(DoorstepError.UpdateRequired("old", "旧")))
        assertEquals(LoginViewModel.Refusal.NO_NETWORK, refusalOf(DoorstepError.Network("refused", true)))
        assertEquals(LoginViewModel.Refusal.OTHER, refusalOf(DoorstepError.Internal("x")))
    }
}
