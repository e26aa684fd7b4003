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

    public var text: String { Locale.preferredLanguages.first?.hasPrefix("zh") == true ? zh : en }
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
    @Published public var text = ""
    @Published public private(set) var households: [HouseholdSummary] = []

    public init(client: DoorstepClient) { self.client = client }

    public func refresh() async {
        let filter = HouseholdFilter(village: nil, status: nil, alert: nil, text: text.isEmpty ? nil : text, helper: nil)
        households = (try? await client.households(filter)) ?? households
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
    private let client: DoorstepClient
    @Published public var visit: Visit
    @Published public var newProblem = ""
    @Published public private(set) var errors: [String: [FieldError]] = [:]
    @Published public private(set) var saved = false

    public init(client: DoorstepClient, householdId: String, visitor: String) {
        self.client = client
        visit = Visit.new(householdId: householdId, visitor: visitor, date: today())
    }

    public func set(_ kind: AssuranceKind, status: AssuranceStatus) {
        visit.findings[kind] = AssuranceCheck(status: status, note: visit.findings[kind].note)
    }

    public func addProblem(assurance: AssuranceKind?) {
        guard !newProblem.isEmpty else { return }
        visit.problems[UUID().uuidString] = Problem(description: newProblem, assurance: assurance, status: .open,
                                                    resolvedDate: nil, action: "")
        newProblem = ""
    }

    public func save() async {
        errors = Dictionary(grouping: Forms.validate(visit).filter { $0.field != "id" }, by: { $0.field })
        guard errors.isEmpty else { return }
        do {
            _ = try await client.save(visit)
            saved = true
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
    @Published public private(set) var saved = false

    public init(client: DoorstepClient, householdId: String, memberId: String, screener: String) {
        self.client = client
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
            _ = try await client.save(screening)
            saved = true
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
    @Published public private(set) var error: UiText?

    public init(client: DoorstepClient) { self.client = client }

    /// Follows the core's sync state for as long as the screen is shown.
    public func observe() async {
        for await next in client.syncStates() {
            state = next
            status = try? await client.syncStatus()
        }
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
