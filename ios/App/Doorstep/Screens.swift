// The first screens: login, today's due list, households, household detail, the monthly visit form, the screening
// form (classification shown as numbers are typed) and sync. Their logic is DoorstepAppLogic (tested by XCTest).
import DoorstepAppLogic
import DoorstepKit
import SwiftUI

struct LoginView: View {
    @StateObject var model: LoginModel
    let onSignedIn: (LoginInfo) -> Void

    var body: some View {
        Form {
            Section(header: Text("登录 / Sign in")) {
                TextField("服务器 / Server", text: $model.server).keyboardType(.URL).autocapitalization(.none)
                TextField("用户名 / User", text: $model.user).autocapitalization(.none)
                SecureField("密码 / Password", text: $model.password)
            }
            if let error = model.error { Text(error.text).foregroundColor(.red) }
            Button("登录 / Sign in") {
                Task { if let info = await model.signIn() { onSignedIn(info) } }
            }
            .disabled(!model.canSubmit || model.busy)
        }
    }
}

struct DueListView: View {
    @StateObject var model: DueListModel
    let client: DoorstepClient
    let user: String

    var body: some View {
        List(model.items, id: \.self) { item in
            NavigationLink(destination: HouseholdDetailView(
                model: HouseholdDetailModel(client: client, householdId: item.householdId), client: client, user: user)) {
                VStack(alignment: .leading) {
                    Text("\(item.headName) · \(item.householdNumber)").font(.headline)
                    Text(item.reasonZh).foregroundColor(item.overdue ? .red : .secondary)
                }
            }
        }
        .navigationTitle("今日待访")
        .task { await model.refresh() }
        .refreshable { await model.refresh() }
    }
}

struct HouseholdListView: View {
    @StateObject var model: HouseholdListModel
    let client: DoorstepClient
    let user: String

    var body: some View {
        List(model.households, id: \.id) { household in
            NavigationLink(destination: HouseholdDetailView(
                model: HouseholdDetailModel(client: client, householdId: household.id), client: client, user: user)) {
                VStack(alignment: .leading) {
                    Text("\(household.headName) · \(household.number)").font(.headline)
                    Text("\(household.village) · \(household.members) 人 · 问题 \(household.openProblems)")
                        .foregroundColor(.secondary)
                }
            }
        }
        .searchable(text: $model.text)
        .onChange(of: model.text) { _ in Task { await model.refresh() } }
        .navigationTitle("农户")
        .task { await model.refresh() }
    }
}

struct HouseholdDetailView: View {
    @StateObject var model: HouseholdDetailModel
    let client: DoorstepClient
    let user: String

    var body: some View {
        List {
            if let detail = model.detail {
                Section(header: Text("成员 / Members")) {
                    ForEach(Array(detail.household.members.values), id: \.id) { member in
                        NavigationLink(destination: ScreeningFormView(model: ScreeningFormModel(
                            client: client, householdId: model.householdId, memberId: member.id, screener: user))) {
                            Text("\(member.name) \(member.birthDate) \(Forms.maskNationalId(member.nationalId))")
                        }
                    }
                }
                Section(header: Text("未解决问题 / Open problems")) {
                    ForEach(detail.openProblems, id: \.problemId) { Text($0.description) }
                }
                Section(header: Text("最近走访 / Last visits")) {
                    ForEach(detail.lastVisits, id: \.id) { Text("\($0.date) \($0.note)") }
                }
                NavigationLink("新增走访 / New visit", destination: VisitFormView(
                    model: VisitFormModel(client: client, householdId: model.householdId, visitor: user)))
            } else if let error = model.error {
                Text(error.text)
            }
        }
        .navigationTitle(model.detail?.household.headName ?? "")
        .task { await model.refresh() }
    }
}

/// One row of the six assurances (两不愁三保障) on the visit form.
private struct AssuranceRow: Identifiable {
    let kind: AssuranceKind
    let name: String
    var id: String { name }
}

private let assuranceRows = [
    AssuranceRow(kind: .food, name: "吃 / Food"), AssuranceRow(kind: .clothing, name: "穿 / Clothing"),
    AssuranceRow(kind: .education, name: "义务教育 / Education"), AssuranceRow(kind: .medical, name: "基本医疗 / Medical"),
    AssuranceRow(kind: .housing, name: "住房安全 / Housing"), AssuranceRow(kind: .water, name: "饮水安全 / Water"),
]

struct VisitFormView: View {
    @StateObject var model: VisitFormModel

    var body: some View {
        Form {
            Section(header: Text("两不愁三保障 / Six assurances")) {
                ForEach(assuranceRows) { row in
                    Picker(row.name, selection: Binding(
                        get: { model.visit.findings[row.kind].status },
                        set: { model.set(row.kind, status: $0) })) {
                        Text("未查").tag(AssuranceStatus.notChecked)
                        Text("达标").tag(AssuranceStatus.ok)
                        Text("有问题").tag(AssuranceStatus.problem)
                        Text("不适用").tag(AssuranceStatus.notApplicable)
                    }
                }
            }
            Section(header: Text("问题 / Problems")) {
                ForEach(Array(model.visit.problems.values), id: \.self) { Text($0.description) }
                TextField("新问题 / New problem", text: $model.newProblem)
                Button("添加 / Add") { model.addProblem(assurance: nil) }
            }
            Section(header: Text("帮扶措施 / Measures delivered")) {
                TextField("措施，逗号分隔 / Measures, comma separated", text: Binding(
                    get: { model.visit.measuresDelivered.joined(separator: ",") },
                    set: { model.visit.measuresDelivered = $0.split(separator: ",").map(String.init) }))
            }
            Section(header: Text("备注 / Note")) {
                TextEditor(text: $model.visit.note).frame(minHeight: 80)
            }
            ForEach(Array(model.errors.keys), id: \.self) { field in
                Text("\(field): \(model.errors[field]?.first?.messageZh ?? "")").foregroundColor(.red)
            }
            Button(model.saved ? "已保存 / Saved" : "保存 / Save") { Task { await model.save() } }
                .disabled(model.saved)
        }
        .navigationTitle("月度走访")
    }
}

/// A classification value as text, or a dash while the numbers are not there yet.
private func shown<T>(_ value: T?) -> String {
    value.map { String(describing: $0) } ?? "—"
}

struct ScreeningFormView: View {
    @StateObject var model: ScreeningFormModel

    private func field(_ label: String, _ input: ScreeningFormModel.Input) -> some View {
        VStack(alignment: .leading) {
            TextField(label, text: Binding(get: { model.texts[input] ?? "" }, set: { model.input(input, $0) }))
                .keyboardType(.decimalPad)
            if let error = model.errors[input.rawValue]?.first {
                Text(error.messageZh).font(.caption).foregroundColor(.red)
            }
        }
    }

    var body: some View {
        Form {
            Section(header: Text("测量 / Measurements")) {
                field("收缩压 mmHg / Systolic", .systolic)
                field("舒张压 mmHg / Diastolic", .diastolic)
                field("空腹血糖 mmol/L / Fasting glucose", .glucose)
                field("身高 cm / Height", .height)
                field("体重 kg / Weight", .weight)
            }
            Section(header: Text("分级 / Classification")) {
                Text("血压 / BP: " + shown(model.classification.bpGrade))
                Text("血糖 / Glucose: " + shown(model.classification.glucoseBand))
                Text("BMI: " + (model.classification.bmi.map { String(format: "%.1f", $0) } ?? "—"))
                Text("建议转诊 / Referral: " + shown(model.classification.suggestedReferral))
                    .foregroundColor(model.classification.suggestedReferral == .urgent ? .red : .primary)
            }
            Button(model.saved ? "已保存 / Saved" : "保存 / Save") { Task { await model.save() } }
                .disabled(model.saved || !model.errors.isEmpty)
        }
        .navigationTitle("筛查")
    }
}

struct SyncView: View {
    @StateObject var model: SyncModel

    var body: some View {
        List {
            Text(model.summary.text)
            if let status = model.status {
                Text("待发送 / Pending: \(status.pending)")
                Text("服务器 / Server: \(status.server ?? "—")")
            }
            if let error = model.error { Text(error.text).foregroundColor(.red) }
            Button("立即同步 / Sync now") { Task { await model.syncNow() } }
        }
        .navigationTitle("同步")
        .task { await model.observe() }
    }
}
