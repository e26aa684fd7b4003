package app.doorstep.android

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.rememberNavController
import app.doorstep.core.AssuranceKind
import app.doorstep.core.AssuranceStatus
import app.doorstep.core.DoorstepClient
import app.doorstep.core.LoginInfo
import app.doorstep.core.ReferralLevel
import app.doorstep.logic.DueListViewModel
import app.doorstep.logic.HouseholdDetailViewModel
import app.doorstep.logic.HouseholdListViewModel
import app.doorstep.logic.LoginViewModel
import app.doorstep.logic.ScreeningFormViewModel
import app.doorstep.logic.SyncViewModel
import app.doorstep.logic.UiText
import app.doorstep.logic.VisitFormViewModel
import app.doorstep.logic.of
import kotlinx.coroutines.launch
import java.time.LocalDate
import java.util.Locale

/** The user's language picks one side of every two-language text. */
private fun UiText.text(): String = if (Locale.getDefault().language == "zh") zh else en

/** The app's screens and the routes between them. */
@Composable
fun DoorstepNavigation(client: DoorstepClient, user: String) {
    val nav = rememberNavController()
    Column(Modifier.fillMaxSize()) {
        SyncBar(client)
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp), modifier = Modifier.padding(horizontal = 8.dp)) {
            TextButton(onClick = { nav.navigate("due") }) { Text("今日待访") }
            TextButton(onClick = { nav.navigate("households") }) { Text("农户") }
        }
        NavHost(nav, startDestination = "due") {
            composable("due") { DueListScreen(client) { nav.navigate("household/$it") } }
            composable("households") { HouseholdListScreen(client) { nav.navigate("household/$it") } }
            composable("household/{id}") { entry ->
                val id = entry.arguments?.getString("id").orEmpty()
                HouseholdDetailScreen(client, id,
                    onVisit = { nav.navigate("visit/$id") },
                    onScreen = { member -> nav.navigate("screening/$id/$member") })
            }
            composable("visit/{id}") { entry ->
                VisitFormScreen(client, entry.arguments?.getString("id").orEmpty(), user) { nav.popBackStack() }
            }
            composable("screening/{id}/{member}") { entry ->
                ScreeningFormScreen(client, entry.arguments?.getString("id").orEmpty(),
                    entry.arguments?.getString("member").orEmpty(), user) { nav.popBackStack() }
            }
        }
    }
}

@Composable
fun LoginScreen(client: DoorstepClient, onSignedIn: (LoginInfo) -> Unit) {
    val vm = remember { LoginViewModel(client) }
    val scope = rememberCoroutineScope()
    val server by vm.server.collectAsState()
    val user by vm.user.collectAsState()
    val password by vm.password.collectAsState()
    val state by vm.state.collectAsState()
    LaunchedEffect(state) { (state as? LoginViewModel.State.SignedIn)?.let { onSignedIn(it.info) } }
    Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Text("登录 / Sign in", style = MaterialTheme.typography.headlineSmall)
        OutlinedTextField(server, { vm.server.value = it }, label = { Text("服务器 / Server") })
        OutlinedTextField(user, { vm.user.value = it }, label = { Text("用户名 / User") })
        OutlinedTextField(password, { vm.password.value = it }, label = { Text("密码 / Password") },
            visualTransformation = PasswordVisualTransformation())
        (state as? LoginViewModel.State.Failed)?.let { Text(it.message.text(), color = Color.Red) }
        Button(onClick = { scope.launch { vm.signIn() } }, enabled = state != LoginViewModel.State.SigningIn) {
            Text("登录 / Sign in")
        }
    }
}

@Composable
fun SyncBar(client: DoorstepClient) {
    val vm = remember { SyncViewModel(client) }
    val scope = rememberCoroutineScope()
    val state by vm.state.collectAsState()
    val error by vm.error.collectAsState()
    LaunchedEffect(state) { vm.refreshStatus() }
    Row(Modifier.fillMaxWidth().padding(8.dp), horizontalArrangement = Arrangement.SpaceBetween) {
        Text(error?.text() ?: vm.summary().text())
        TextButton(onClick = { scope.launch { vm.syncNow() } }) { Text("同步 / Sync") }
    }
    HorizontalDivider()
}

@Composable
fun DueListScreen(client: DoorstepClient, onOpen: (String) -> Unit) {
    val vm = remember { DueListViewModel(client) }
    val state by vm.state.collectAsState()
    LaunchedEffect(Unit) { vm.refresh() }
    LazyColumn(Modifier.fillMaxSize()) {
        item { Text("逾期 ${state.overdue} / Overdue ${state.overdue}", Modifier.padding(8.dp)) }
        items(state.items) { item ->
            Column(Modifier.fillMaxWidth().clickable { onOpen(item.householdId) }.padding(8.dp)) {
                Text("${item.headName} · ${item.householdNumber}", style = MaterialTheme.typography.titleMedium)
                Text(UiText(item.reasonZh, item.reasonEn).text(), color = if (item.overdue) Color.Red else Color.Gray)
            }
        }
    }
}

@Composable
fun HouseholdListScreen(client: DoorstepClient, onOpen: (String) -> Unit) {
    val vm = remember { HouseholdListViewModel(client) }
    val text by vm.text.collectAsState()
    val state by vm.state.collectAsState()
    LaunchedEffect(text) { vm.refresh() }
    Column {
        OutlinedTextField(text, { vm.text.value = it }, label = { Text("姓名、户号或身份证 / Name, number or ID") },
            modifier = Modifier.fillMaxWidth().padding(8.dp))
        LazyColumn {
            items(state.households) { h ->
                Column(Modifier.fillMaxWidth().clickable { onOpen(h.id) }.padding(8.dp)) {
                    Text("${h.headName} · ${h.number}", style = MaterialTheme.typography.titleMedium)
                    Text("${h.village} · ${h.members} 人 · 问题 ${h.openProblems} · ${h.lastVisit ?: "未走访"}")
                }
            }
        }
    }
}

@Composable
fun HouseholdDetailScreen(client: DoorstepClient, id: String, onVisit: () -> Unit, onScreen: (String) -> Unit) {
    val vm = remember(id) { HouseholdDetailViewModel(client, id) }
    val state by vm.state.collectAsState()
    LaunchedEffect(id) { vm.refresh() }
    Column(Modifier.padding(8.dp).verticalScroll(rememberScrollState())) {
        when (val s = state) {
            HouseholdDetailViewModel.State.Loading -> Text("…")
            is HouseholdDetailViewModel.State.Failed -> Text(s.message.text(), color = Color.Red)
            is HouseholdDetailViewModel.State.Loaded -> {
                Text(s.detail.household.headName, style = MaterialTheme.typography.headlineSmall)
                Text("成员 / Members", style = MaterialTheme.typography.titleMedium)
                s.members.forEach { m ->
                    Text("${m.name} ${m.birthDate} ${m.maskedId}", Modifier.clickable { onScreen(m.id) }.padding(4.dp))
                }
                Text("未解决问题 / Open problems", style = MaterialTheme.typography.titleMedium)
                s.detail.openProblems.forEach { Text("· ${it.description}") }
                Text("最近走访 / Last visits", style = MaterialTheme.typography.titleMedium)
                s.detail.lastVisits.forEach { Text("${it.date} ${it.note}") }
                if (s.detail.conflicts.isNotEmpty()) Text("冲突 ${s.detail.conflicts.size} / Conflicts", color = Color.Red)
                Button(onClick = onVisit) { Text("新增走访 / New visit") }
            }
        }
    }
}

private val assuranceNames = listOf(
    AssuranceKind.FOOD to "吃 / Food", AssuranceKind.CLOTHING to "穿 / Clothing",
    AssuranceKind.EDUCATION to "义务教育 / Education", AssuranceKind.MEDICAL to "基本医疗 / Medical",
    AssuranceKind.HOUSING to "住房安全 / Housing", AssuranceKind.WATER to "饮水安全 / Water",
)

private val statusNames = listOf(
    AssuranceStatus.OK to "达标", AssuranceStatus.PROBLEM to "有问题", AssuranceStatus.NOT_APPLICABLE to "不适用",
)

@Composable
fun VisitFormScreen(client: DoorstepClient, householdId: String, user: String, onDone: () -> Unit) {
    val vm = remember(householdId) { VisitFormViewModel(client, householdId, user, LocalDate.now().toString()) }
    val scope = rememberCoroutineScope()
    val visit by vm.visit.collectAsState()
    val errors by vm.errors.collectAsState()
    var problem by remember { mutableStateOf("") }
    var measures by remember { mutableStateOf("") }
    Column(Modifier.padding(8.dp).verticalScroll(rememberScrollState())) {
        Text("两不愁三保障 / Six assurances", style = MaterialTheme.typography.titleMedium)
        assuranceNames.forEach { (kind, name) ->
            Text(name)
            Row(horizontalArrangement = Arrangement.spacedBy(4.dp)) {
                statusNames.forEach { (status, label) ->
                    FilterChip(selected = visit.findings.of(kind).status == status,
                        onClick = { vm.setAssurance(kind, status, visit.findings.of(kind).note) },
                        label = { Text(label) })
                }
            }
        }
        Text("问题 / Problems", style = MaterialTheme.typography.titleMedium)
        visit.problems.values.forEach { Text("· ${it.description}") }
        OutlinedTextField(problem, { problem = it }, label = { Text("新问题 / New problem") })
        TextButton(onClick = { if (problem.isNotBlank()) vm.addProblem(problem); problem = "" }) { Text("添加 / Add") }
        OutlinedTextField(measures, { measures = it; vm.setMeasuresDelivered(it.split(',').map(String::trim).filter(String::isNotEmpty)) },
            label = { Text("帮扶措施 / Measures delivered") })
        OutlinedTextField(visit.note, vm::setNote, label = { Text("备注 / Note") }, minLines = 3)
        errors.forEach { (field, list) -> Text("$field: ${list.first().messageZh}", color = Color.Red) }
        Button(onClick = { scope.launch { if (vm.save()) onDone() } }) { Text("保存 / Save") }
    }
}

@Composable
fun ScreeningFormScreen(client: DoorstepClient, householdId: String, memberId: String, user: String, onDone: () -> Unit) {
    val vm = remember(memberId) {
        ScreeningFormViewModel(client, householdId, memberId, user, LocalDate.now().toString())
    }
    val scope = rememberCoroutineScope()
    val classification by vm.classification.collectAsState()
    val errors by vm.errors.collectAsState()
    val inputs = listOf(
        ScreeningFormViewModel.Input.SYSTOLIC to "收缩压 mmHg / Systolic",
        ScreeningFormViewModel.Input.DIASTOLIC to "舒张压 mmHg / Diastolic",
        ScreeningFormViewModel.Input.GLUCOSE to "空腹血糖 mmol/L / Fasting glucose",
        ScreeningFormViewModel.Input.HEIGHT to "身高 cm / Height",
        ScreeningFormViewModel.Input.WEIGHT to "体重 kg / Weight",
    )
    Column(Modifier.padding(8.dp).verticalScroll(rememberScrollState())) {
        inputs.forEach { (input, label) ->
            var text by remember { mutableStateOf(vm.text(input)) }
            OutlinedTextField(text, { text = it; vm.onInput(input, it) }, label = { Text(label) },
                isError = errors.containsKey(input.field),
                supportingText = { errors[input.field]?.firstOrNull()?.let { Text(it.messageZh) } },
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Decimal))
        }
        Text("血压 / BP: ${classification.bpGrade ?: "—"}")
        Text("血糖 / Glucose: ${classification.glucoseBand ?: "—"}")
        Text("BMI: ${classification.bmi?.let { "%.1f".format(it) } ?: "—"} ${classification.bmiBand ?: ""}")
        Text("建议转诊 / Referral: ${classification.suggestedReferral}",
            color = if (classification.suggestedReferral == ReferralLevel.URGENT) Color.Red else Color.Unspecified)
        Button(onClick = { scope.launch { if (vm.save()) onDone() } }, enabled = errors.isEmpty()) { Text("保存 / Save") }
    }
}
