package app.doorstep.logic

import app.doorstep.core.AssuranceKind
import app.doorstep.core.AssuranceStatus
import app.doorstep.core.BpGrade
import app.doorstep.core.DoorstepClient
import app.doorstep.core.Fixtures
import app.doorstep.core.GlucoseBand
import app.doorstep.core.ReferralLevel
import app.doorstep.core.SyncState
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import java.time.LocalDate

/** The app's view models over a real store: what each screen shows after what the user does. */
class ViewModelTest {
    private lateinit var client: DoorstepClient
    private lateinit var householdId: String
    private lateinit var headId: String
    private val today = LocalDate.now()

    @BeforeEach
    fun open() = runBlocking {
        client = DoorstepClient.open(Fixtures.tempDir().resolve("s.db").toFile(), Fixtures.newKey(), "vm-phone")
        householdId = client.saveHousehold(Fixtures.household())
        headId = client.household(householdId).members.values.first { it.name == "王大山" }.id
    }

    @AfterEach
    fun close() = client.close()

    @Test
    fun `due list shows the household overdue, then due, then done as visits are recorded`() = runBlocking {
        val due = DueListViewModel(client) { today }
        suspend fun itemFor() = due.also { it.refresh() }.state.value.items
            .singleOrNull { it.householdId == householdId && it.kind.name == "HELPER_VISIT" }
        suspend fun visitOn(date: LocalDate) {
            val form = VisitFormViewModel(client, householdId, "helper1", date.toString())
            AssuranceKind.entries.forEach { form.setAssurance(it, AssuranceStatus.OK) }
            assertTrue(form.save(), "errors: ${form.errors.value}")
        }
        assertEquals(true, itemFor()?.overdue, "no visit last month: overdue")
        assertEquals(1, due.state.value.overdue)

        // A monitored household is visited twice a month by the default rules.
        val lastMonth = today.withDayOfMonth(1).minusDays(1)
        repeat(2) { visitOn(lastMonth) }
        assertEquals(false, itemFor()?.overdue, "last month done: due this month, not overdue")
        repeat(2) { visitOn(today) }
        assertNull(itemFor(), "this month done: nothing due")
    }

    @Test
    fun `visit form records six assurances, a problem, measures and a note`() = runBlocking {
        val form = VisitFormViewModel(client, householdId, "helper1", today.toString())
        form.setAssurance(AssuranceKind.WATER, AssuranceStatus.PROBLEM, "井水浑浊")
        form.setAssurance(AssuranceKind.EDUCATION, AssuranceStatus.NOT_APPLICABLE)
        assertFalse(form.save(), "four assurances are still unchecked")
        assertEquals(
            setOf("findings.food", "findings.clothing", "findings.medical", "findings.housing"),
            form.errors.value.keys,
        )
        listOf(AssuranceKind.FOOD, AssuranceKind.CLOTHING, AssuranceKind.MEDICAL, AssuranceKind.HOUSING)
            .forEach { form.setAssurance(it, AssuranceStatus.OK) }
        form.setAssurance(AssuranceKind.HOUSING, AssuranceStatus.PROBLEM)
        assertFalse(form.save(), "a problem without a note")
        assertEquals(setOf("findings.housing.note"), form.errors.value.keys)
        assertTrue(client.visitsOf(householdId).isEmpty(), "nothing stored while the form has errors")
        form.setAssurance(AssuranceKind.HOUSING, AssuranceStatus.OK)
        form.addProblem("饮水不安全", AssuranceKind.WATER)
        form.setMeasuresDelivered(listOf("HEALTH"))
        form.setNote("户主血压偏高")
        assertTrue(form.save(), "errors: ${form.errors.value}")
        val saved = client.visit(assertNotNull(form.savedId.value).let { form.savedId.value!! })
        assertEquals(AssuranceStatus.PROBLEM, saved.findings.water.status)
        assertEquals(AssuranceStatus.NOT_APPLICABLE, saved.findings.education.status)
        assertEquals("饮水不安全", saved.problems.values.single().description)
        assertEquals("户主血压偏高", saved.note)

        val detail = HouseholdDetailViewModel(client, householdId)
        detail.refresh()
        val loaded = detail.state.value as HouseholdDetailViewModel.State.Loaded
        assertEquals(1, loaded.detail.openProblems.size)
        assertEquals(2, loaded.members.size)
        assertFalse(loaded.members.any { it.maskedId.contains("19610305") }, "IDs are masked: ${loaded.members}")
    }

    @Test
    fun `visit form with a future date shows the error beside the date and stores nothing`() = runBlocking {
        val form = VisitFormViewModel(client, householdId, "helper1", today.plusDays(30).toString())
        assertFalse(form.save())
        assertTrue("date" in form.errors.value, "errors: ${form.errors.value}")
        assertNull(form.savedId.value)
        assertTrue(client.visitsOf(householdId).isEmpty())
    }

    @Test
    fun `screening form classifies as the numbers are typed`() = runBlocking {
        val form = ScreeningFormViewModel(client, householdId, headId, "doctor1", today.toString())
        assertNull(form.classification.value.bpGrade)
        form.onInput(ScreeningFormViewModel.Input.SYSTOLIC, "1")
        assertTrue("systolic" in form.errors.value, "1 mmHg is out of range")
        form.onInput(ScreeningFormViewModel.Input.SYSTOLIC, "18")
        form.onInput(ScreeningFormViewModel.Input.SYSTOLIC, "185")
        form.onInput(ScreeningFormViewModel.Input.DIASTOLIC, "11x")
        assertTrue("diastolic" in form.errors.value, "unparsable text is an error of its field")
        form.onInput(ScreeningFormViewModel.Input.DIASTOLIC, "112")
        assertEquals(BpGrade.GRADE3, form.classification.value.bpGrade)
        assertEquals(ReferralLevel.URGENT, form.classification.value.suggestedReferral)
        form.onInput(ScreeningFormViewModel.Input.GLUCOSE, "7,5")
        assertEquals(GlucoseBand.DIABETES, form.classification.value.glucoseBand)
        assertTrue(form.errors.value.isEmpty(), "errors: ${form.errors.value}")
        assertTrue(form.save())
        val stored = client.screeningsOf(headId).single()
        assertEquals(185.0, stored.screening.systolic)
        assertEquals(BpGrade.GRADE3, stored.classification.bpGrade)
    }

    @Test
    fun `household list filters by text and village`() = runBlocking {
        client.saveHousehold(Fixtures.household(number = "HH-002", village = "水口村").copy(headName = "张二妹"))
        val list = HouseholdListViewModel(client)
        list.refresh()
        assertEquals(2, list.state.value.households.size)
        list.text.value = "张二妹"
        list.refresh()
        assertEquals(listOf("HH-002"), list.state.value.households.map { it.number })
        list.text.value = ""
        list.village.value = "石门村"
        list.refresh()
        assertEquals(listOf(householdId), list.state.value.households.map { it.id })
    }

    @Test
    fun `login and sync screens show typed failures without a server`() = runBlocking {
        val login = LoginViewModel(client)
        login.signIn()
        assertTrue(login.state.value is LoginViewModel.State.Failed, "empty form is refused")
        login.server.value = "http://127.0.0.1:9" // discard port on loopback: nothing listens
        login.user.value = "helper1"
        login.password.value = "pw"
        login.signIn()
        assertTrue(login.state.value is LoginViewModel.State.Failed, "${login.state.value}")
        assertEquals("", login.password.value, "the password is cleared")

        val sync = SyncViewModel(client)
        sync.refreshStatus()
        assertTrue(sync.status.value!!.pending > 0u)
        sync.syncNow()
        assertEquals("请先登录", sync.error.value?.zh)
        sync.networkChanged(false)
        assertEquals(SyncState.Offline, sync.state.value)
        assertTrue(sync.summary().en.startsWith("Offline"))
    }
}
