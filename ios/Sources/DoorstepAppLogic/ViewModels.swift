// The app's view models (login, due list, households, visit and screening forms, sync): the same logic as
// android/app-logic, over DoorstepKit, kept out of the app target so that XCTest runs them on a Mac.
import Combine
import DoorstepKit
import Foundation

/// A message in both languages the app speaks.
public struct UiText: Equatable {
    public let zh: String
    public let en: String

    public init(zh: String, en: String) {
        self.zh = zh
        self.en = en
    }

    /// The text in the language the screens show (`L10n.language`).
    public var text: String { L10n.language == "en" ? en : zh }
}

public func uiText(_ error: Error) -> UiText {
    switch error as? DoorstepClientError {
    case .validation?: return UiText(zh: "请检查标红的字段", en: "Please check the fields marked in red")
    case .notFound?: return UiText(zh: "记录不存在", en: "Record not found")
    case .wrongKey?: return UiText(zh: "无法解锁数据，请重新登录", en: "The data could not be unlocked; sign in again")
    case .storage?: return UiText(zh: "手机存储出错", en: "Phone storage failed")
    case .network?: return UiText(zh: "网络不可用，稍后自动重试", en: "No connection; will retry by itself")
    case .refused(_, let message, let messageZh, _)?: return UiText(zh: messageZh, en: message)
    case .updateRequired(let message, let messageZh)?: return UiText(zh: messageZh, en: message)
    case .attachmentRefused(_, _, let detail, let detailZh)?: return UiText(zh: detailZh, en: detail)
    case .notSignedIn?: return UiText(zh: "请先登录", en: "Please sign in first")
    case .untrusted(_, let message, let messageZh)?: return UiText(zh: messageZh, en: message)
    default: return UiText(zh: "内部错误", en: "Internal error")
    }
}

public func today() -> String {
    let formatter = DateFormatter()
    formatter.calendar = Calendar(identifier: .gregorian)
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyy-MM-dd"
    return formatter.string(from: Date())
}

@MainActor
public final class LoginModel: ObservableObject {
    private let client: DoorstepClient
    @Published public var server = ""
    @Published public var user = ""
    @Published public var password = ""
    @Published public private(set) var busy = false
    @Published public private(set) var error: UiText?

    public init(client: DoorstepClient) { self.client = client }

    public var canSubmit: Bool { !server.isEmpty && !user.isEmpty && !password.isEmpty }

    public func signIn() async -> LoginInfo? {
        busy = true
        defer {
            busy = false
            password = ""
        }
        do {
            return try await client.login(serverUrl: server, user: user, password: password)
        } catch {
            self.error = uiText(error)
            return nil
        }
    }
}

@MainActor
public final class DueListModel: ObservableObject {
    private let client: DoorstepClient
    @Published public private(set) var items: [DueItem] = []
    @Published public private(set) var error: UiText?

    public init(client: DoorstepClient) { self.client = client }

    public func refresh() async {
        do {
            items = try await client.due(on: today()).sorted {
                ($0.overdue ? 0 : 1, $0.dueDate) < ($1.overdue ? 0 : 1, $1.dueDate)
            }
        } catch {
            self.error = uiText(error)
        }
    }
}

@MainActor
public final class HouseholdListModel: ObservableObject {
    private let client: DoorstepClient
    /// Search text: name, household number or masked ID number.
    @Published public var text = ""
    @Published public var village: String?
    @Published public var status: PovertyStatus?
    @Published public var alert: AlertLevel?
    @Published public private(set) var households: [HouseholdSummary] = []
    /// Every village of the device's households, for the village filter.
    @Published public private(set) var villages: [String] = []
    @Published public private(set) var error: UiText?

    public init(client: DoorstepClient) { self.client = client }

    public var filter: HouseholdFilter {
        HouseholdFilter(village: village, status: status, alert: alert, text: text.isEmpty ? nil : text, helper: nil)
    }

    public func refresh() async {
        do {
            households = try await client.households(filter)
            if villages.isEmpty || (village == nil && status == nil && alert == nil && text.isEmpty) {
                villages = Array(Set(try await client.households(.all).map { $0.village })).sorted()
            }
            error = nil
        } catch {
            self.error = uiText(error)
        }
    }
}

@MainActor
public final class HouseholdDetailModel: ObservableObject {
    private let client: DoorstepClient
    public let householdId: String
    @Published public private(set) var detail: HouseholdDetail?
    @Published public private(set) var error: UiText?

    public init(client: DoorstepClient, householdId: String) {
        self.client = client
        self.householdId = householdId
    }

    public func refresh() async {
        do {
            detail = try await client.householdDetail(householdId)
        } catch {
            self.error = uiText(error)
        }
    }
}

@MainActor
public final class VisitFormModel: ObservableObject {
    /// Unsaved visits by household: a draft survives leaving the form and coming back (for the app's lifetime).
    private static var drafts: [String: Visit] = [:]

    private let client: DoorstepClient
    @Published public var visit: Visit {
        didSet { if savedId == nil { Self.drafts[visit.householdId] = visit } }
    }
    @Published public var newProblem = ""
    @Published public private(set) var errors: [String: [FieldError]] = [:]
    /// The id of the saved visit: attachments can be added from then on.
    @Published public private(set) var savedId: String?
    /// True when the form opened with a draft left earlier.
    public let resumedDraft: Bool

    public var saved: Bool { savedId != nil }

    public init(client: DoorstepClient, householdId: String, visitor: String, kind: VisitKind = .monthly,
                visitorRole: Role = .helper) {
        self.client = client
        if let draft = Self.drafts[householdId], draft.kind == kind {
            visit = draft
            resumedDraft = true
        } else {
            visit = Visit.new(householdId: householdId, visitor: visitor, date: today(), kind: kind,
                              visitorRole: visitorRole)
            resumedDraft = false
        }
    }

    public func set(_ kind: AssuranceKind, status: AssuranceStatus) {
        visit.findings[kind] = AssuranceCheck(status: status, note: visit.findings[kind].note)
    }

    public func setNote(_ kind: AssuranceKind, _ note: String) {
        visit.findings[kind] = AssuranceCheck(status: visit.findings[kind].status, note: note)
    }

    public func addProblem(assurance: AssuranceKind?) {
        guard !newProblem.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        visit.problems[UUID().uuidString] = Problem(description: newProblem, assurance: assurance, status: .open,
                                                    resolvedDate: nil, action: "")
        newProblem = ""
    }

    public func setProblemStatus(_ id: String, _ status: ProblemStatus) {
        guard var problem = visit.problems[id] else { return }
        problem.status = status
        problem.resolvedDate = status == .resolved ? today() : nil
        visit.problems[id] = problem
    }

    /// The problems in a stable order for display.
    public var problemIds: [String] { visit.problems.keys.sorted() }

    /// The errors of one field (a dotted path such as `findings.water.note`), shown beside it.
    public func errors(for field: String) -> [FieldError] {
        errors.filter { $0.key == field || $0.key.hasPrefix(field + ".") }.flatMap { $0.value }
    }

    public func save() async {
        errors = Dictionary(grouping: Forms.validate(visit).filter { $0.field != "id" }, by: { $0.field })
        guard errors.isEmpty else { return }
        do {
            savedId = try await client.save(visit)
            Self.drafts[visit.householdId] = nil
        } catch DoorstepClientError.validation(let list) {
            errors = Dictionary(grouping: list, by: { $0.field })
        } catch {
            errors = ["": [FieldError(field: "", code: "error", messageEn: uiText(error).en, messageZh: uiText(error).zh)]]
        }
    }
}

@MainActor
public final class ScreeningFormModel: ObservableObject {
    public enum Input: String, CaseIterable {
        case systolic, diastolic, glucose
        case height = "height_cm"
        case weight = "weight_kg"
    }

    private let client: DoorstepClient
    private let base: Screening
    @Published public private(set) var texts: [Input: String] = [:]
    @Published public private(set) var screening: Screening
    @Published public private(set) var classification: Classification
    @Published public private(set) var errors: [String: [FieldError]] = [:]
    /// The id of the saved screening: attachments can be added from then on.
    @Published public private(set) var savedId: String?
    /// Also record a family-doctor follow-up visit that this screening belongs to.
    @Published public var asFollowUp: Bool
    private let screener: String

    public var saved: Bool { savedId != nil }

    public init(client: DoorstepClient, householdId: String, memberId: String, screener: String,
                asFollowUp: Bool = false) {
        self.client = client
        self.screener = screener
        self.asFollowUp = asFollowUp
        base = Screening.new(householdId: householdId, memberId: memberId, date: today(), screener: screener)
        screening = base
        classification = Forms.classify(base)
    }

    /// Called on every keystroke: classification and range checks follow the numbers as they are typed.
    public func input(_ input: Input, _ text: String) {
        texts[input] = text
        func number(_ i: Input) -> Double? {
            guard let t = texts[i]?.trimmingCharacters(in: .whitespaces), !t.isEmpty else { return nil }
            return Double(t.replacingOccurrences(of: ",", with: "."))
        }
        var s = base
        s.systolic = number(.systolic)
        s.diastolic = number(.diastolic)
        s.glucose = number(.glucose)
        s.heightCm = number(.height)
        s.weightKg = number(.weight)
        screening = s
        classification = Forms.classify(s)
        var found = Forms.validate(s).filter { $0.field != "id" }
        for i in Input.allCases where !(texts[i] ?? "").isEmpty && number(i) == nil {
            found.append(FieldError(field: i.rawValue, code: "number", messageEn: "must be a number", messageZh: "应为数字"))
        }
        errors = Dictionary(grouping: found, by: { $0.field })
    }

    public func save() async {
        guard errors.isEmpty else { return }
        do {
            var toSave = screening
            if asFollowUp {
                var visit = Visit.new(householdId: base.householdId, visitor: screener, date: base.date,
                                      kind: .doctorFollowUp, visitorRole: .doctor)
                visit.memberId = base.memberId
                toSave.visitId = try await client.save(visit)
            }
            savedId = try await client.save(toSave)
        } catch DoorstepClientError.validation(let list) {
            errors = Dictionary(grouping: list, by: { $0.field })
        } catch {
            errors = ["": [FieldError(field: "", code: "error", messageEn: uiText(error).en, messageZh: uiText(error).zh)]]
        }
    }
}

@MainActor
public final class SyncModel: ObservableObject {
    private let client: DoorstepClient
    @Published public private(set) var state: SyncState = .idle
    @Published public private(set) var status: SyncStatus?
    /// The last failure in words: of "sync now", or of the last sync the core ran by itself.
    @Published public private(set) var error: UiText?
    /// Photos and scans over mobile data (the user's switch; signatures always go).
    @Published public private(set) var allowMetered: Bool

    public init(client: DoorstepClient, allowMetered: Bool = false) {
        self.client = client
        self.allowMetered = allowMetered
    }

    /// Follows the core's sync state for as long as the screen is shown.
    public func observe() async {
        for await next in client.syncStates() {
            state = next
            if case .failed(let reason, _) = next { error = UiText(zh: "同步失败：\(reason)", en: "Sync failed: \(reason)") }
            status = try? await client.syncStatus()
        }
    }

    public func refresh() async {
        status = try? await client.syncStatus()
    }

    public func syncNow() async {
        error = nil
        do {
            try await client.syncNow()
        } catch {
            self.error = uiText(error)
        }
        status = try? await client.syncStatus()
    }

    /// The metered-data switch; `unmetered` is the phone's current network.
    public func setAllowMetered(_ allow: Bool, unmetered: Bool) async {
        allowMetered = allow
        do {
            try await client.setNetwork(unmetered ? .unmetered : .metered, allowMetered: allow)
        } catch {
            self.error = uiText(error)
        }
    }

    /// When the last sync finished, as the device's local time, or nil.
    public var lastSuccess: Date? {
        status?.lastSyncMs.map { Date(timeIntervalSince1970: TimeInterval($0) / 1000) }
    }

    public var summary: UiText {
        switch state {
        case .idle: return UiText(zh: "待同步 \(status?.pending ?? 0) 条", en: "\(status?.pending ?? 0) changes to send")
        case .offline: return UiText(zh: "离线，数据保存在手机上", en: "Offline; data is kept on the phone")
        case .syncing(let sent, let received):
            return UiText(zh: "正在同步（已发送 \(sent)，已接收 \(received)）", en: "Syncing (sent \(sent), received \(received))")
        case .attachments(let done, let total, _, _):
            return UiText(zh: "正在上传附件（\(done)/\(total)）", en: "Uploading attachments (\(done)/\(total))")
        case .synced: return UiText(zh: "已同步", en: "Synced")
        case .failed(let reason, _): return UiText(zh: "同步失败：\(reason)", en: "Sync failed: \(reason)")
        }
    }
}
