package app.doorstep.core

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.nio.file.Files

/** The library over a real encrypted store: records go in, come back, survive a reopen, and errors are typed. */
class StoreTest {
    private val dir = Fixtures.tempDir()
    private val key = Fixtures.newKey()

    private suspend fun open() = DoorstepClient.open(dir.resolve("store.db").toFile(), key, "test-phone")

    @Test
    fun `household, visit and screening are read back after reopening the store`() = runBlocking {
        val today = Fixtures.today()
        val ids = open().use { store ->
            val hh = store.saveHousehold(Fixtures.household())
            val head = store.household(hh).members.values.single { it.relation == Relation.HEAD }
            val visit = newVisit(hh, "helper1", today).copy(
                findings = uncheckedAssurances().copy(water = AssuranceCheck(AssuranceStatus.PROBLEM, "井水浑浊")),
                problems = mapOf("p1" to Problem("饮水不安全", AssuranceKind.WATER, ProblemStatus.OPEN, null, "")),
                measuresDelivered = listOf("HEALTH"),
                note = "走访正常",
            )
            val visitId = store.saveVisit(visit)
            val screeningId = store.saveScreening(
                newScreening(hh, head.id, today, "doctor1", systolic = 168.0, diastolic = 102.0, glucose = 6.5,
                    heightCm = 165.0, weightKg = 72.0),
            )
            Triple(hh, visitId, screeningId)
        }

        open().use { store ->
            val (hh, visitId, screeningId) = ids
            val household = store.household(hh)
            assertEquals("王大山", household.headName)
            assertEquals(2, household.members.size)
            assertTrue(household.members.values.all { it.id.isNotEmpty() })

            val visit = store.visit(visitId)
            assertEquals(AssuranceStatus.PROBLEM, visit.findings.water.status)
            assertEquals("井水浑浊", visit.findings.water.note)
            assertEquals("饮水不安全", visit.problems.getValue("p1").description)
            assertEquals(listOf(visitId), store.visitsOf(hh).map { it.id })

            val screening = store.screening(screeningId)
            assertEquals(168.0, screening.systolic)
            val classified = store.screeningsOf(screening.memberId).single()
            assertEquals(BpGrade.GRADE2, classified.classification.bpGrade)
            assertTrue(classified.classification.abnormal)

            val summary = store.households().single()
            assertEquals(hh, summary.id)
            assertEquals(1u, summary.openProblems)
            val detail = store.householdDetail(hh)
            assertEquals(1, detail.openProblems.size)
            assertEquals(1, detail.screenings.size)
            assertTrue(store.pendingChanges() > 0)
        }
    }

    @Test
    fun `a validation error is a typed exception naming the field`() = runBlocking {
        open().use { store ->
            val hh = store.saveHousehold(Fixtures.household())
            val member = store.household(hh).members.keys.first()
            val bad = newScreening(hh, member, Fixtures.today(), "doctor1", systolic = 400.0, diastolic = 80.0)
            val e = assertThrows<DoorstepError.Validation> { runBlocking { store.saveScreening(bad) } }
            assertTrue("systolic" in e.fields, "fields: ${e.fields}")
            assertTrue(e.errorsFor("systolic").single().messageZh.isNotBlank())
            assertTrue(store.screeningsOf(member).isEmpty(), "nothing invalid is stored")

            val noName = Fixtures.household().copy(headName = "")
            val e2 = assertThrows<DoorstepError.Validation> { runBlocking { store.saveHousehold(noName) } }
            assertTrue("head_name" in e2.fields, "fields: ${e2.fields}")
        }
    }

    @Test
    fun `a missing record and a wrong key are typed exceptions`() = runBlocking {
        open().use { store ->
            val e = assertThrows<DoorstepError.NotFound> { runBlocking { store.household("no-such-household") } }
            assertTrue(e.what.contains("no-such-household"))
            store.saveHousehold(Fixtures.household())
        }
        assertThrows<DoorstepError.WrongKey> {
            runBlocking { DoorstepClient.open(dir.resolve("store.db").toFile(), Fixtures.newKey(), "thief") }
        }
        val bytes = Files.readAllBytes(dir.resolve("store.db"))
        assertFalse(String(bytes, Charsets.UTF_8).contains("王大山"), "the file holds no plaintext name")
    }

    @Test
    fun `classification follows the numbers as they are typed`() {
        val base = newScreening("h", "m", Fixtures.today(), "doctor1")
        assertEquals(null, classify(base).bpGrade)
        assertEquals(BpGrade.NORMAL, classify(base.copy(systolic = 118.0, diastolic = 76.0)).bpGrade)
        val grade3 = classify(base.copy(systolic = 185.0, diastolic = 112.0))
        assertEquals(BpGrade.GRADE3, grade3.bpGrade)
        assertEquals(ReferralLevel.URGENT, grade3.suggestedReferral)
        assertEquals(GlucoseBand.DIABETES, classify(base.copy(glucose = 8.1)).glucoseBand)
        val bmi = classify(base.copy(heightCm = 160.0, weightKg = 80.0))
        assertNotNull(bmi.bmi)
        assertEquals(BmiBand.OBESE, bmi.bmiBand)
        assertTrue(validate(base.copy(diastolic = 250.0)).any { it.field == "diastolic" })
        assertEquals("522422********1234".length, maskNationalId(Fixtures.nationalId("522422", "1961-03-05", "123")).length)
    }

    @Test
    fun `deleted records leave the lists and due items come from the schedule`() = runBlocking {
        open().use { store ->
            val hh = store.saveHousehold(Fixtures.household())
            val due = store.due(Fixtures.today())
            assertTrue(due.any { it.householdId == hh && it.kind == DueKind.HELPER_VISIT }, "due: $due")
            val rules = store.scheduleRules()
            store.setScheduleRules(rules.copy(monthlyVisits = 2u))
            assertEquals(2u, store.scheduleRules().monthlyVisits)
            // Rules announced ahead take effect on their date; today is still judged by the rules in force.
            store.setScheduleRulesFrom(rules.copy(monthlyVisits = 3u), "2099-01-01")
            assertEquals(3u, store.scheduleRules().monthlyVisits)
            assertEquals(2u, store.scheduleRulesOn(Fixtures.today()).monthlyVisits)
            val visitId = store.saveVisit(newVisit(hh, "helper1", Fixtures.today()))
            store.deleteVisit(visitId)
            assertTrue(store.visitsOf(hh).isEmpty())
            assertTrue(store.openProblems().isEmpty())
            assertTrue(store.pendingReferrals().isEmpty())
            store.deleteHousehold(hh)
            assertTrue(store.households().isEmpty())
        }
    }

    @Test
    fun `a member is added, a field's history is kept, and a new key replaces the old one`() = runBlocking {
        val newKey = Fixtures.newKey()
        val hh = open().use { store ->
            val hh = store.saveHousehold(Fixtures.household())
            val child = store.saveMember(hh, newMember("王小明", Sex.MALE, "2012-06-01", Relation.GRANDCHILD))
            assertEquals("王小明", store.household(hh).members.getValue(child).name)
            store.saveHousehold(store.household(hh).copy(phone = "13800000001"))
            store.saveHousehold(store.household(hh).copy(phone = "13800000002"))
            val history = store.fieldHistory(hh, "phone")
            assertTrue(history.map { it.valueJson }.containsAll(listOf("\"13800000001\"", "\"13800000002\"")), "$history")
            assertTrue(history.all { it.device == "test-phone" })
            store.rekey(newKey)
            hh
        }
        assertThrows<DoorstepError.WrongKey> { runBlocking { open().close() } }
        DoorstepClient.open(dir.resolve("store.db").toFile(), newKey, "test-phone").use { store ->
            assertEquals(3, store.household(hh).members.size)
        }
    }
}
