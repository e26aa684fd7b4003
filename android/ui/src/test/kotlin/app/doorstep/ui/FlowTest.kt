package app.doorstep.ui

import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.assertIsNotEnabled
import androidx.compose.ui.test.hasTestTag
import androidx.compose.ui.test.performScrollToNode
import androidx.compose.ui.test.onAllNodesWithTag
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.performTextInput
import app.doorstep.core.AssuranceStatus
import app.doorstep.logic.AppSession
import app.doorstep.logic.Route
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test

/** The screens driven as a user would, over a real encrypted store with a village of households. */
@OptIn(ExperimentalTestApi::class)
class FlowTest {
    private lateinit var store: TestStore
    private lateinit var ids: Seed.Ids

    @Before
    fun open() {
        store = TestStore.open()
        ids = runBlocking { Seed.village(store.client) }
    }

    @After
    fun close() = store.close()

    private fun SkikoComposeUiTest.show(session: AppSession) {
        setContent { DoorstepApp(session, TestPlatform(), Lang.ZH) }
        waitForIdle()
    }

    private fun SkikoComposeUiTest.count(tag: String) = onAllNodesWithTag(tag).fetchSemanticsNodes().size

    /** True when the lazy list [listTag] holds an item tagged [tag] (scrolling to it: lists draw only what shows). */
    private fun SkikoComposeUiTest.inList(listTag: String, tag: String): Boolean =
        runCatching { onNodeWithTag(listTag).performScrollToNode(hasTestTag(tag)) }.isSuccess && count(tag) == 1

    /** The due item of a household, scrolled into view (the list draws only what is on the screen). */
    private fun SkikoComposeUiTest.dueItem(number: String) =
        onNodeWithTag("due-list").performScrollToNode(hasTestTag("due:$number")).let { onNodeWithTag("due:$number") }

    /** How many due items of a household the list holds: scrolled to when there is one, none in the tree otherwise. */
    private fun SkikoComposeUiTest.dueCount(number: String): Int {
        val listed = runCatching { dueItem(number) }.isSuccess
        return if (listed) count("due:$number") else count("due:$number").also { assertEquals(0, it) }
    }

    /** Fills the six assurances (water with a problem) as a helper would, tapping the chips and typing. */
    private fun SkikoComposeUiTest.fillAssurances() {
        listOf("food", "clothing", "education", "medical", "housing").forEach {
            onNodeWithTag("findings.$it:OK").performScrollTo().performClick()
        }
        onNodeWithTag("findings.water:PROBLEM").performScrollTo().performClick()
        onNodeWithTag("findings.water.note").performScrollTo().performTextInput("井水浑浊")
    }

    @Test
    fun `a visit filled in and saved is on the household screen`() = onPhone {
        val session = store.session()
        val id = ids.households.getValue("刘建国")
        show(session)
        // One tap on the due item starts the visit.
        dueItem("HH-003").performClick()
        waitForIdle()
        assertEquals(Route.VisitForm(id), session.navigator.current)
        fillAssurances()
        onNodeWithTag("new-problem").performScrollTo().performTextInput("屋顶漏雨")
        onNodeWithTag("add-problem").performScrollTo().performClick()
        onNodeWithTag("measures").performScrollTo().performTextInput("申请危房改造")
        onNodeWithTag("note").performScrollTo().performTextInput("入户核实，户主在家")
        onNodeWithTag("save").performScrollTo().performClick()
        waitForIdle()

        assertEquals(Route.Household(id), session.navigator.current)
        onNodeWithTag("visit:${Seed.today}").performScrollTo()
        onNodeWithText("入户核实，户主在家").assertExistsOnScreen()
        onNodeWithText("${Seed.today} · 屋顶漏雨 (待解决)").assertExistsOnScreen()
        val stored = runBlocking { store.client.visitsOf(id) }.single()
        assertEquals(AssuranceStatus.PROBLEM, stored.findings.water.status)
        assertEquals("井水浑浊", stored.findings.water.note)
        assertEquals(listOf("申请危房改造"), stored.measuresDelivered)
    }

    @Test
    fun `an unfinished visit form shows each error beside its field and stores nothing`() = onPhone {
        val session = store.session()
        val id = ids.households.getValue("刘建国")
        session.navigator.go(Route.VisitForm(id))
        show(session)
        onNodeWithTag("findings.water:PROBLEM").performScrollTo().performClick()
        onNodeWithTag("save").performScrollTo().performClick()
        waitForIdle()
        assertBeside("error:findings.food", "findings.food")
        assertBeside("error:findings.water.note", "findings.water.note")
        assertEquals(Route.VisitForm(id), session.navigator.current)
        assertTrue(runBlocking { store.client.visitsOf(id) }.isEmpty())
    }

    @Test
    fun `a visit draft survives leaving the form`() = onPhone {
        val session = store.session()
        val id = ids.households.getValue("刘建国")
        session.navigator.go(Route.Household(id))
        show(session)
        onNodeWithTag("new-visit").performClick()
        waitForIdle()
        onNodeWithTag("findings.food:OK").performScrollTo().performClick()
        onNodeWithTag("note").performScrollTo().performTextInput("草稿内容")
        onNodeWithTag("back").performClick()
        waitForIdle()
        assertEquals(Route.Household(id), session.navigator.current)
        onNodeWithTag("new-visit").performClick()
        waitForIdle()
        onNodeWithText("草稿内容").performScrollTo().assertExistsOnScreen()
        assertEquals(AssuranceStatus.OK, session.visitForm(id).visit.value.findings.food.status)
    }

    @Test
    fun `an out-of-range blood pressure shows its error beside the field and stores nothing`() = onPhone {
        val session = store.session()
        val household = ids.households.getValue("张桂兰")
        val member = ids.members.getValue("张桂兰")
        session.navigator.go(Route.Household(household))
        show(session)
        onNodeWithTag("screen:张桂兰").performScrollTo().performClick()
        waitForIdle()
        onNodeWithTag("input:systolic").performTextInput("400")
        onNodeWithTag("input:diastolic").performTextInput("90")
        waitForIdle()
        assertBeside("error:systolic", "input:systolic")
        assertEquals(0, count("error:diastolic"))
        onNodeWithTag("save").performScrollTo().assertIsNotEnabled().performClick()
        waitForIdle()
        assertTrue(runBlocking { store.client.screeningsOf(member) }.isEmpty())
        assertTrue(session.navigator.current is Route.ScreeningForm)
    }

    @Test
    fun `the classification and referral follow the numbers as typed`() = onPhone {
        val session = store.session()
        session.navigator.go(Route.ScreeningForm(ids.households.getValue("张桂兰"), ids.members.getValue("张桂兰")))
        show(session)
        onNodeWithText("建议转诊：无需转诊").assertExists()
        onNodeWithTag("input:systolic").performTextInput("185")
        onNodeWithTag("input:diastolic").performTextInput("112")
        waitForIdle()
        onNodeWithText("血压：3级高血压").assertExists()
        onNodeWithText("建议转诊：紧急转诊").assertExists()
        onNodeWithTag("save").performScrollTo().performClick()
        waitForIdle()
        val saved = runBlocking { store.client.screeningsOf(ids.members.getValue("张桂兰")) }.single()
        assertEquals(185.0, saved.screening.systolic)
    }

    @Test
    fun `the due list changes after a visit is recorded`() = onPhone {
        val session = store.session()
        show(session)
        assertEquals(1, dueCount("HH-005"))
        assertEquals(false, session.dueList.state.value.items.single { it.householdNumber == "HH-005" }.overdue)
        dueItem("HH-005").performClick()
        waitForIdle()
        fillAssurances()
        onNodeWithTag("save").performScrollTo().performClick()
        waitForIdle()
        onNodeWithTag("nav-NAV_TODAY").performClick()
        waitForIdle()
        assertEquals(Route.Today, session.navigator.current)
        assertEquals(1, runBlocking { store.client.visitsOf(ids.households.getValue("赵春生")) }.count { it.date == Seed.today.toString() })
        assertEquals(0, dueCount("HH-005"))
        assertEquals(1, dueCount("HH-004"))
    }

    @Test
    fun `the household list filters by alert level and village and searches by name`() = onPhone {
        val session = store.session()
        session.navigator.go(Route.Households)
        show(session)
        fun listed() = (1..5).filter { inList("household-list", "household:HH-00$it") }
        assertEquals(listOf(1, 2, 3, 4, 5), listed())
        onNodeWithTag("filter:红色预警").performScrollTo().performClick()
        waitForIdle()
        assertEquals(listOf(1), listed())
        onNodeWithTag("filter:红色预警").performClick()
        onNodeWithTag("filter:龙潭村").performScrollTo().performClick()
        waitForIdle()
        assertEquals(listOf(4, 5), listed())
        onNodeWithTag("search").performTextInput("杨德明")
        waitForIdle()
        assertEquals(listOf(4), listed())
    }

    /** The error [errorTag] sits right under the field [fieldTag] (within 12 dp), not elsewhere on the screen. */
    private fun SkikoComposeUiTest.assertBeside(errorTag: String, fieldTag: String) {
        // Unclipped positions: the field may sit partly under the top bar once the error is scrolled into view.
        val error = onNodeWithTag(errorTag).performScrollTo().fetchSemanticsNode()
        val field = onNodeWithTag(fieldTag).fetchSemanticsNode()
        val gap = (error.positionInRoot.y - (field.positionInRoot.y + field.size.height)) / Phone.DENSITY
        assertTrue("$errorTag is ${gap}dp below $fieldTag", gap in -1f..12f)
    }
}

/** The node is drawn within the screen (not just somewhere in the tree). */
private fun androidx.compose.ui.test.SemanticsNodeInteraction.assertExistsOnScreen() = assertExists().also {
    val b = it.fetchSemanticsNode().boundsInRoot
    assertTrue("node at $b is not on the screen", b.height > 0 && b.top >= 0 && b.bottom <= Phone.HEIGHT_DP * Phone.DENSITY)
}
