// The app's screens: sign in, today, households (filters and search), household, the monthly visit form, the
// doctor follow-up and screening form, conflicts, sync and the records set aside. Attachments (photo, drawn
// signature) are in AttachmentViews.swift. Every text comes from the string table (L10n, Chinese and English);
// the logic is DoorstepAppLogic's view models, tested by XCTest.
import DoorstepAppLogic
import DoorstepKit
import SwiftUI

private func t(_ key: L10nKey) -> String { L10n.text(key) }

/// An error shown beside the field it belongs to.
struct FieldErrors: View {
    let errors: [FieldError]

    var body: some View {
        ForEach(errors, id: \.self) { error in
            Text(L10n.language == "en" ? error.messageEn : error.messageZh)
                .font(.caption)
                .foregroundColor(.red)
                .fixedSize(horizontal: false, vertical: true)
        }
    }
}

// MARK: Sign in

struct LoginView: View {
    @StateObject var model: LoginModel
    let onSignedIn: (LoginInfo) -> Void

    var body: some View {
        Form {
            Section(header: Text(t(.signIn))) {
                TextField(t(.server), text: $model.server).keyboardType(.URL).autocapitalization(.none)
                    .disableAutocorrection(true)
                TextField(t(.user), text: $model.user).autocapitalization(.none).disableAutocorrection(true)
                SecureField(t(.password), text: $model.password)
            }
            // Each refusal in words: wrong password, revoked device, update required, no network.
            if let error = model.error { Text(error.text).foregroundColor(.red) }
            Button(t(.signIn)) {
                Task { if let info = await model.signIn() { onSignedIn(info) } }
            }
            .frame(minHeight: 48)
            .disabled(!model.canSubmit || model.busy)
        }
        .navigationTitle(t(.signIn))
    }
}

// MARK: Today

struct DueListView: View {
    @StateObject var model: DueListModel
    let client: DoorstepClient
    let user: String

    var body: some View {
        List {
            if model.items.isEmpty { Text(t(.nothingDue)).foregroundColor(.secondary) }
            ForEach(model.items, id: \.self) { item in
                // One tap starts the visit (or the follow-up) the item is due for.
                NavigationLink(destination: start(item)) {
                    VStack(alignment: .leading, spacing: 4) {
                        Text("\(item.headName) · \(item.householdNumber)").font(.headline)
                        if let member = item.memberName { Text(member).font(.subheadline) }
                        Text(L10n.language == "en" ? item.reasonEn : item.reasonZh)
                            .foregroundColor(item.overdue ? .red : .secondary)
                        Text(item.overdue ? t(.overdue) : L10n.format(.dueBy, item.dueDate))
                            .font(.caption)
                            .foregroundColor(item.overdue ? .red : .secondary)
                    }
                    .frame(minHeight: 48)
                }
            }
        }
        .navigationTitle(t(.today))
        .task { await model.refresh() }
        .refreshable { await model.refresh() }
    }

    @ViewBuilder
    private func start(_ item: DueItem) -> some View {
        if let member = item.memberId {
            ScreeningFormView(model: ScreeningFormModel(client: client, householdId: item.householdId, memberId: member,
                                                        screener: user, asFollowUp: true), client: client)
        } else {
            VisitFormView(model: VisitFormModel(client: client, householdId: item.householdId, visitor: user),
                          client: client)
        }
    }
}

// MARK: Households

/// Red, yellow and blue alerts, as the monitoring rules name them.
func alertColor(_ alert: AlertLevel?) -> Color {
    switch alert {
    case .red?: return .red
    case .yellow?: return .orange
    case .blue?: return .blue
    case nil: return .clear
    }
}

struct HouseholdListView: View {
    @StateObject var model: HouseholdListModel
    let client: DoorstepClient
    let user: String

    var body: some View {
        List {
            Section {
                Picker(t(.village), selection: $model.village) {
                    Text(t(.allVillages)).tag(String?.none)
                    ForEach(model.villages, id: \.self) { Text($0).tag(String?.some($0)) }
                }
                Picker(t(.status), selection: $model.status) {
                    Text(t(.allStatuses)).tag(PovertyStatus?.none)
                    ForEach([PovertyStatus.registeredPoor, .lifted, .monitored, .edge, .ordinary], id: \.self) {
                        Text(L10n.label($0)).tag(PovertyStatus?.some($0))
                    }
                }
                Picker(t(.alert), selection: $model.alert) {
                    Text(t(.allAlerts)).tag(AlertLevel?.none)
                    ForEach([AlertLevel.red, .yellow, .blue], id: \.self) {
                        Text(L10n.label($0)).foregroundColor(alertColor($0)).tag(AlertLevel?.some($0))
                    }
                }
            }
            if let error = model.error { Text(error.text).foregroundColor(.red) }
            if model.households.isEmpty { Text(t(.noHouseholds)).foregroundColor(.secondary) }
            ForEach(model.households, id: \.id) { household in
                NavigationLink(destination: HouseholdDetailView(
                    model: HouseholdDetailModel(client: client, householdId: household.id), client: client, user: user)) {
                    HStack(spacing: 12) {
                        RoundedRectangle(cornerRadius: 2).fill(alertColor(household.alert)).frame(width: 6)
                        VStack(alignment: .leading, spacing: 4) {
                            Text("\(household.headName) · \(household.number)").font(.headline)
                            Text("\(household.village) · \(L10n.label(household.status))").foregroundColor(.secondary)
                            HStack {
                                Text(L10n.format(.members, String(household.members)))
                                if household.openProblems > 0 {
                                    Text(L10n.format(.openProblems, String(household.openProblems))).foregroundColor(.red)
                                }
                                if let last = household.lastVisit { Text(L10n.format(.lastVisit, last)) }
                            }
                            .font(.caption)
                        }
                    }
                    .frame(minHeight: 48)
                }
            }
        }
        .searchable(text: $model.text, prompt: t(.search))
        .onChange(of: model.text) { _ in Task { await model.refresh() } }
        .onChange(of: model.village) { _ in Task { await model.refresh() } }
        .onChange(of: model.status) { _ in Task { await model.refresh() } }
        .onChange(of: model.alert) { _ in Task { await model.refresh() } }
        .navigationTitle(t(.households))
        .task { await model.refresh() }
    }
}

// MARK: Household

struct HouseholdDetailView: View {
    @StateObject var model: HouseholdDetailModel
    let client: DoorstepClient
    let user: String

    var body: some View {
        List {
            if let detail = model.detail {
                if !detail.conflicts.isEmpty {
                    NavigationLink(destination: ConflictsView(model: ConflictsModel(client: client))) {
                        Label(L10n.format(.conflictsBadge, String(detail.conflicts.count)),
                              systemImage: "exclamationmark.triangle.fill")
                            .foregroundColor(.orange)
                    }
                }
                Section(header: Text(t(.members))) {
                    ForEach(detail.household.members.values.sorted { $0.birthDate < $1.birthDate }, id: \.id) { member in
                        MemberRow(member: member, client: client, householdId: model.householdId, user: user)
                    }
                }
                Section(header: Text(t(.problems))) {
                    ForEach(detail.openProblems, id: \.problemId) { problem in
                        VStack(alignment: .leading) {
                            Text(problem.description)
                            Text("\(problem.date) · \(L10n.label(problem.status))").font(.caption).foregroundColor(.secondary)
                        }
                    }
                }
                Section(header: Text(t(.lastVisits))) {
                    ForEach(detail.lastVisits, id: \.id) { visit in
                        VStack(alignment: .leading, spacing: 4) {
                            Text("\(visit.date) \(visit.note)").lineLimit(2)
                            if !visit.attachments.isEmpty {
                                Thumbnails(model: AttachmentsModel(client: client, docId: visit.id))
                            }
                        }
                    }
                }
                Section(header: Text(t(.screenings))) {
                    ForEach(detail.screenings, id: \.screening.id) { item in
                        ScreeningRow(item: item, name: detail.household.members[item.screening.memberId]?.name ?? "")
                    }
                }
                NavigationLink(t(.newVisit), destination: VisitFormView(
                    model: VisitFormModel(client: client, householdId: model.householdId, visitor: user), client: client))
                    .frame(minHeight: 48)
            } else if let error = model.error {
                Text(error.text)
            }
        }
        .navigationTitle(model.detail?.household.headName ?? t(.household))
        .task { await model.refresh() }
        .refreshable { await model.refresh() }
    }
}

private struct MemberRow: View {
    let member: Member
    let client: DoorstepClient
    let householdId: String
    let user: String

    var body: some View {
        NavigationLink(destination: ScreeningFormView(model: ScreeningFormModel(
            client: client, householdId: householdId, memberId: member.id, screener: user, asFollowUp: true),
            client: client)) {
            VStack(alignment: .leading, spacing: 4) {
                Text("\(member.name) · \(member.birthDate)").font(.headline)
                if !member.nationalId.isEmpty {
                    Text("\(t(.maskedId)) \(Forms.maskNationalId(member.nationalId))").font(.caption)
                }
                if let contract = member.contract {
                    Text(L10n.format(.contract, contract.team, contract.signedDate)).font(.caption)
                } else {
                    Text(t(.noContract)).font(.caption).foregroundColor(.secondary)
                }
                if !member.conditions.isEmpty {
                    Text("\(t(.conditions)): " + member.conditions.map { String(describing: $0) }.joined(separator: ", "))
                        .font(.caption)
                        .foregroundColor(.orange)
                }
            }
            .frame(minHeight: 48)
        }
    }
}

private struct ScreeningRow: View {
    let item: ClassifiedScreening
    let name: String

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            Text("\(item.screening.date) · \(name)")
            HStack {
                if let s = item.screening.systolic, let d = item.screening.diastolic {
                    Text("\(Int(s))/\(Int(d)) mmHg")
                }
                if let grade = item.classification.bpGrade { Text(String(describing: grade)) }
                if let glucose = item.screening.glucose { Text(String(format: "%.1f mmol/L", glucose)) }
            }
            .font(.caption)
            .foregroundColor(item.classification.abnormal ? .red : .secondary)
            if item.classification.suggestedReferral == .urgent {
                Text(t(.urgentReferral)).font(.caption).foregroundColor(.red)
            }
        }
    }
}

// MARK: Monthly visit

struct VisitFormView: View {
    @StateObject var model: VisitFormModel
    let client: DoorstepClient

    var body: some View {
        Form {
            if model.resumedDraft && !model.saved { Text(t(.draftKept)).font(.caption).foregroundColor(.secondary) }
            Section(header: Text(t(.sixAssurances))) {
                ForEach([AssuranceKind.food, .clothing, .education, .medical, .housing, .water], id: \.self) { kind in
                    VStack(alignment: .leading) {
                        Picker(L10n.label(kind), selection: Binding(
                            get: { model.visit.findings[kind].status },
                            set: { model.set(kind, status: $0) })) {
                            ForEach([AssuranceStatus.ok, .problem, .notApplicable, .notChecked], id: \.self) {
                                Text(L10n.label($0)).tag($0)
                            }
                        }
                        .pickerStyle(.segmented)
                        TextField(t(.assuranceNote), text: Binding(
                            get: { model.visit.findings[kind].note }, set: { model.setNote(kind, $0) }))
                        FieldErrors(errors: model.errors(for: "findings.\(String(describing: kind))"))
                    }
                }
            }
            Section(header: Text(t(.problems))) {
                ForEach(model.problemIds, id: \.self) { id in
                    if let problem = model.visit.problems[id] {
                        VStack(alignment: .leading) {
                            Text(problem.description)
                            Picker(t(.problemStatus), selection: Binding(
                                get: { problem.status }, set: { model.setProblemStatus(id, $0) })) {
                                ForEach([ProblemStatus.open, .inProgress, .resolved], id: \.self) {
                                    Text(L10n.label($0)).tag($0)
                                }
                            }
                            .pickerStyle(.segmented)
                        }
                    }
                }
                TextField(t(.newProblem), text: $model.newProblem)
                Button(t(.add)) { model.addProblem(assurance: nil) }.frame(minHeight: 48)
                FieldErrors(errors: model.errors(for: "problems"))
            }
            Section(header: Text(t(.measures))) {
                TextField(t(.measuresHint), text: Binding(
                    get: { model.visit.measuresDelivered.joined(separator: ",") },
                    set: { model.visit.measuresDelivered = $0.split(separator: ",").map(String.init) }))
                FieldErrors(errors: model.errors(for: "measures_delivered"))
            }
            Section(header: Text(t(.satisfaction))) {
                Picker(t(.satisfaction), selection: $model.visit.satisfaction) {
                    ForEach([Satisfaction?.none, .verySatisfied, .satisfied, .neutral, .dissatisfied], id: \.self) {
                        Text(L10n.label($0)).tag($0)
                    }
                }
            }
            Section(header: Text(t(.note))) {
                TextEditor(text: $model.visit.note).frame(minHeight: 80)
                FieldErrors(errors: model.errors(for: "note"))
                FieldErrors(errors: model.errors(for: "date"))
            }
            FieldErrors(errors: model.errors(for: ""))
            Button(model.saved ? t(.saved) : t(.save)) { Task { await model.save() } }
                .frame(minHeight: 48)
                .disabled(model.saved)
            Section(header: Text(t(.attachments))) {
                if let id = model.savedId {
                    NavigationLink(t(.attachments), destination: AttachmentsView(model: AttachmentsModel(client: client, docId: id)))
                } else {
                    Text(t(.saveVisitFirst)).foregroundColor(.secondary)
                }
            }
        }
        .navigationTitle(t(.monthlyVisit))
    }
}

// MARK: Follow-up and screening

/// A classification value as text, or a dash while the numbers are not there yet.
private func shown<T>(_ value: T?) -> String {
    value.map { String(describing: $0) } ?? "—"
}

struct ScreeningFormView: View {
    @StateObject var model: ScreeningFormModel
    let client: DoorstepClient

    private func field(_ label: L10nKey, _ input: ScreeningFormModel.Input) -> some View {
        VStack(alignment: .leading) {
            TextField(t(label), text: Binding(get: { model.texts[input] ?? "" }, set: { model.input(input, $0) }))
                .keyboardType(.decimalPad)
                .frame(minHeight: 48)
            FieldErrors(errors: model.errors[input.rawValue] ?? [])
        }
    }

    var body: some View {
        Form {
            Toggle(t(.asFollowUp), isOn: $model.asFollowUp).disabled(model.saved)
            Section(header: Text(t(.measurements))) {
                field(.systolic, .systolic)
                field(.diastolic, .diastolic)
                field(.glucose, .glucose)
                field(.height, .height)
                field(.weight, .weight)
            }
            // Shown as the numbers are typed.
            Section(header: Text(t(.classification))) {
                Text("\(t(.bpGrade)): " + shown(model.classification.bpGrade))
                Text("\(t(.glucoseBand)): " + shown(model.classification.glucoseBand))
                Text("\(t(.bmi)): " + (model.classification.bmi.map { String(format: "%.1f", $0) } ?? "—"))
                Text("\(t(.referral)): " + String(describing: model.classification.suggestedReferral))
                    .foregroundColor(model.classification.suggestedReferral == .urgent ? .red : .primary)
            }
            FieldErrors(errors: model.errors[""] ?? [])
            Button(model.saved ? t(.saved) : t(.save)) { Task { await model.save() } }
                .frame(minHeight: 48)
                .disabled(model.saved || !model.errors.isEmpty)
            if let id = model.savedId {
                NavigationLink(t(.attachments), destination: AttachmentsView(model: AttachmentsModel(client: client, docId: id)))
            }
        }
        .navigationTitle(model.asFollowUp ? t(.followUp) : t(.screening))
    }
}

// MARK: Conflicts

struct ConflictsView: View {
    @StateObject var model: ConflictsModel

    var body: some View {
        List {
            Text(t(.conflictsIntro)).font(.caption).foregroundColor(.secondary)
            if model.conflicts.isEmpty { Text(t(.noConflicts)) }
            ForEach(model.conflicts, id: \.self) { conflict in
                Section(header: Text(conflict.field)) {
                    ForEach(conflict.values, id: \.self) { value in
                        Button {
                            Task { await model.choose(conflict, value) }
                        } label: {
                            VStack(alignment: .leading, spacing: 4) {
                                Text(readable(value.valueJson)).font(.headline)
                                Text(model.writer(value)).font(.caption).foregroundColor(.secondary)
                                Text(t(.chooseValue)).font(.caption).foregroundColor(.accentColor)
                            }
                            .frame(minHeight: 48)
                        }
                    }
                }
            }
            if let error = model.error { Text(error.text).foregroundColor(.red) }
        }
        .navigationTitle(t(.conflicts))
        .task { await model.refresh() }
    }
}

// MARK: Sync

struct SyncView: View {
    @StateObject var model: SyncModel
    let client: DoorstepClient

    var body: some View {
        List {
            Section(header: Text(t(.syncState))) {
                Text(model.summary.text)
                if let status = model.status {
                    Text(L10n.format(.pendingDocs, String(status.pending)))
                    Text(L10n.format(.pendingPhotos, String(status.pendingBlobs),
                                     ByteCountFormatter.string(fromByteCount: Int64(status.pendingBlobBytes), countStyle: .file)))
                    Text(L10n.format(.lastSuccess, model.lastSuccess.map {
                        DateFormatter.localizedString(from: $0, dateStyle: .short, timeStyle: .short)
                    } ?? t(.never)))
                    Text("\(t(.server)): \(status.server ?? "—")")
                }
                if let error = model.error {
                    Text("\(t(.lastError)): \(error.text)").foregroundColor(.red)
                }
            }
            Section(footer: Text(t(.allowMeteredHint))) {
                Toggle(t(.allowMetered), isOn: Binding(
                    get: { model.allowMetered },
                    set: { allow in
                        UserDefaults.standard.set(allow, forKey: BackgroundSyncTasks.allowMeteredKey)
                        Task { await model.setAllowMetered(allow, unmetered: BackgroundSyncTasks.shared.conditions().unmetered) }
                    }))
            }
            Button(t(.syncNow)) { Task { await model.syncNow() } }.frame(minHeight: 48)
            if let status = model.status, status.setAside > 0 {
                NavigationLink(L10n.format(.setAsideCount, String(status.setAside)),
                               destination: SetAsideView(model: SetAsideModel(client: client)))
            } else {
                NavigationLink(t(.setAside), destination: SetAsideView(model: SetAsideModel(client: client)))
            }
            NavigationLink(t(.conflicts), destination: ConflictsView(model: ConflictsModel(client: client)))
        }
        .navigationTitle(t(.sync))
        .task { await model.refresh() }
        .task { await model.observe() }
    }
}

// MARK: Set aside

struct SetAsideView: View {
    @StateObject var model: SetAsideModel
    @State private var sharing = false

    var body: some View {
        List {
            Text(t(.setAsideIntro)).font(.caption).foregroundColor(.secondary)
            if model.docs.isEmpty { Text(t(.noSetAside)) }
            ForEach(model.docs, id: \.docId) { doc in
                VStack(alignment: .leading, spacing: 4) {
                    Text("\(doc.kind) · \(doc.docId)").font(.headline).lineLimit(1)
                    Text(model.reason(doc)).font(.caption)
                    Text(L10n.format(.unsynced, String(doc.unsynced))).font(.caption).foregroundColor(.orange)
                    Text(shortTime(doc.atMs)).font(.caption).foregroundColor(.secondary)
                }
            }
            if let error = model.error { Text(error.text).foregroundColor(.red) }
            Button(t(.export)) { sharing = true }.frame(minHeight: 48).disabled(model.docs.isEmpty)
        }
        .navigationTitle(t(.setAside))
        .task { await model.refresh() }
        .sheet(isPresented: $sharing) { ShareSheet(items: [exportFile()]) }
    }

    /// The export as a file the share sheet can hand to mail, chat or Files.
    private func exportFile() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("doorstep-set-aside.json")
        try? model.export().write(to: url, options: [.atomic, .completeFileProtection])
        return url
    }
}
