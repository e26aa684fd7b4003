// Every text the iOS screens show, in Chinese (the default) and English, in one table: a screen names a key, never
// a literal. Chinese is the default; English is shown when the phone's first preferred language is not Chinese.
// The test `StringsTests` checks that every key has both texts.
import DoorstepKit
import Foundation

/// The keys of the string table.
public enum L10nKey: String, CaseIterable {
    // Sign in
    case signIn, server, user, password, unlocking, openFailed
    // Tabs and titles
    case today, households, sync, household, monthlyVisit, followUp, screening, conflicts, attachments, setAside
    // Today
    case overdue, dueBy, startVisit, startFollowUp, nothingDue
    // Households
    case search, allVillages, allStatuses, allAlerts, village, status, alert, members, openProblems, lastVisit
    case noHouseholds
    // Household
    case contract, noContract, conditions, lastVisits, screenings, conflictsBadge, newVisit, newFollowUp
    case maskedId
    // Visit form
    case sixAssurances, assuranceNote, problems, newProblem, add, problemStatus, measures, measuresHint
    case satisfaction, note, save, saved, draftKept, fixFields
    // Screening / follow-up
    case measurements, systolic, diastolic, glucose, height, weight, classification, bpGrade, glucoseBand, bmi
    case referral, urgentReferral, asFollowUp
    // Conflicts
    case conflictsIntro, chooseValue, writtenBy, noConflicts
    // Attachments
    case addPhoto, takePhoto, chooseFile, signature, drawSignature, clear, saveSignature, remove, openFile
    case onPhone, uploaded, waitingUpload, notOnPhone, noAttachments, saveVisitFirst
    // Sync
    case syncState, pendingDocs, pendingPhotos, lastSuccess, never, lastError, allowMetered, allowMeteredHint
    case syncNow, setAsideCount
    // Set aside
    case setAsideIntro, export, noSetAside, unsynced, reasonOutOfScope, reasonLeftScope
    // Background sync notifications
    case signInAgainTitle, updateRequiredTitle, unlockFailedTitle
    // Values
    case notChecked, ok, problem, notApplicable, problemOpen, inProgress, resolved
    case verySatisfied, satisfied, neutral, dissatisfied, notAsked
    case alertRed, alertYellow, alertBlue
    case statusOrdinary, statusRegisteredPoor, statusLifted, statusMonitored, statusEdge
    case food, clothing, education, medical, housing, water
}

public enum L10n {
    /// The language shown: Chinese unless the phone's first language is something else.
    public static var language: String =
        Locale.preferredLanguages.first.map { $0.hasPrefix("zh") ? "zh" : "en" } ?? "zh"

    public static func text(_ key: L10nKey) -> String {
        let table = language == "en" ? en : zh
        return table[key] ?? zh[key] ?? key.rawValue
    }

    /// A text with `%@` placeholders filled in order.
    public static func format(_ key: L10nKey, _ args: CVarArg...) -> String {
        String(format: text(key), arguments: args)
    }

    public static let zh: [L10nKey: String] = [
        .signIn: "登录", .server: "服务器地址", .user: "用户名", .password: "密码", .unlocking: "正在解锁数据",
        .openFailed: "无法打开数据", .today: "今日待访", .households: "农户", .sync: "同步", .household: "农户详情",
        .monthlyVisit: "月度走访", .followUp: "家医随访", .screening: "筛查", .conflicts: "冲突",
        .attachments: "附件", .setAside: "暂存待移交", .overdue: "已逾期", .dueBy: "截止 %@",
        .startVisit: "开始走访", .startFollowUp: "开始随访", .nothingDue: "今天没有待访任务",
        .search: "姓名、户号或身份证号", .allVillages: "全部村", .allStatuses: "全部类别", .allAlerts: "全部预警",
        .village: "村", .status: "类别", .alert: "预警", .members: "%@ 人", .openProblems: "问题 %@",
        .lastVisit: "上次走访 %@", .noHouseholds: "没有符合条件的农户", .contract: "签约 %@（%@）",
        .noContract: "未签约", .conditions: "慢病", .lastVisits: "最近走访", .screenings: "筛查记录",
        .conflictsBadge: "%@ 处冲突待处理", .newVisit: "新增走访", .newFollowUp: "新增随访", .maskedId: "身份证",
        .sixAssurances: "两不愁三保障", .assuranceNote: "说明", .problems: "问题清单", .newProblem: "新问题",
        .add: "添加", .problemStatus: "状态", .measures: "帮扶措施", .measuresHint: "措施，用逗号分隔",
        .satisfaction: "满意度", .note: "备注", .save: "保存", .saved: "已保存", .draftKept: "草稿已保留",
        .fixFields: "请检查标红的字段", .measurements: "测量", .systolic: "收缩压 mmHg", .diastolic: "舒张压 mmHg",
        .glucose: "空腹血糖 mmol/L", .height: "身高 cm", .weight: "体重 kg", .classification: "分级",
        .bpGrade: "血压", .glucoseBand: "血糖", .bmi: "BMI", .referral: "建议转诊", .urgentReferral: "紧急转诊",
        .asFollowUp: "记为家医随访", .conflictsIntro: "以下字段在两台设备上被同时修改，请选择保留的值",
        .chooseValue: "保留此值", .writtenBy: "%@ 在 %@ 上，%@", .noConflicts: "没有冲突",
        .addPhoto: "添加照片", .takePhoto: "拍照", .chooseFile: "选择文件", .signature: "签字",
        .drawSignature: "请在框内签字", .clear: "清除", .saveSignature: "保存签字", .remove: "删除", .openFile: "查看",
        .onPhone: "已在手机上", .uploaded: "已上传", .waitingUpload: "等待上传", .notOnPhone: "查看时下载",
        .noAttachments: "没有附件", .saveVisitFirst: "保存记录后可添加附件", .syncState: "状态",
        .pendingDocs: "待发送记录 %@", .pendingPhotos: "待上传附件 %@（%@）", .lastSuccess: "上次成功 %@",
        .never: "从未", .lastError: "上次错误", .allowMetered: "用手机流量上传照片",
        .allowMeteredHint: "关闭时照片和扫描件只在无线网络上传，签字随时上传", .syncNow: "立即同步",
        .setAsideCount: "暂存待移交 %@ 条", .setAsideIntro: "以下记录服务器已不再接收（农户已调整），请导出后移交",
        .export: "导出移交", .noSetAside: "没有暂存记录", .unsynced: "%@ 处修改未同步",
        .reasonOutOfScope: "服务器拒收（不在负责范围）", .reasonLeftScope: "农户已调出负责范围",
        .signInAgainTitle: "请重新登录", .updateRequiredTitle: "请更新应用", .unlockFailedTitle: "无法解锁数据",
        .notChecked: "未核查", .ok: "达标", .problem: "有问题", .notApplicable: "不适用", .problemOpen: "待解决",
        .inProgress: "处理中", .resolved: "已解决", .verySatisfied: "非常满意", .satisfied: "满意",
        .neutral: "一般", .dissatisfied: "不满意", .notAsked: "未填", .alertRed: "红色预警",
        .alertYellow: "黄色预警", .alertBlue: "蓝色预警", .statusOrdinary: "一般农户",
        .statusRegisteredPoor: "建档立卡贫困户", .statusLifted: "已脱贫户", .statusMonitored: "脱贫监测户",
        .statusEdge: "边缘易致贫户", .food: "不愁吃", .clothing: "不愁穿", .education: "义务教育",
        .medical: "基本医疗", .housing: "住房安全", .water: "饮水安全",
    ]

    public static let en: [L10nKey: String] = [
        .signIn: "Sign in", .server: "Server address", .user: "User name", .password: "Password",
        .unlocking: "Unlocking the data", .openFailed: "The data could not be opened", .today: "Today",
        .households: "Households", .sync: "Sync", .household: "Household", .monthlyVisit: "Monthly visit",
        .followUp: "Doctor follow-up", .screening: "Screening", .conflicts: "Conflicts", .attachments: "Attachments",
        .setAside: "Set aside", .overdue: "Overdue", .dueBy: "Due by %@", .startVisit: "Start visit",
        .startFollowUp: "Start follow-up", .nothingDue: "Nothing due today", .search: "Name, number or ID",
        .allVillages: "All villages", .allStatuses: "All statuses", .allAlerts: "All alerts", .village: "Village",
        .status: "Status", .alert: "Alert", .members: "%@ members", .openProblems: "%@ problems",
        .lastVisit: "Last visit %@", .noHouseholds: "No household matches", .contract: "Contract %@ (%@)",
        .noContract: "No contract", .conditions: "Conditions", .lastVisits: "Last visits", .screenings: "Screenings",
        .conflictsBadge: "%@ conflicts to settle", .newVisit: "New visit", .newFollowUp: "New follow-up",
        .maskedId: "ID", .sixAssurances: "Six assurances", .assuranceNote: "Note", .problems: "Problems",
        .newProblem: "New problem", .add: "Add", .problemStatus: "Status", .measures: "Measures delivered",
        .measuresHint: "Measures, comma separated", .satisfaction: "Satisfaction", .note: "Note", .save: "Save",
        .saved: "Saved", .draftKept: "Draft kept", .fixFields: "Please check the fields marked in red",
        .measurements: "Measurements", .systolic: "Systolic mmHg", .diastolic: "Diastolic mmHg",
        .glucose: "Fasting glucose mmol/L", .height: "Height cm", .weight: "Weight kg",
        .classification: "Classification", .bpGrade: "Blood pressure", .glucoseBand: "Glucose", .bmi: "BMI",
        .referral: "Suggested referral", .urgentReferral: "Urgent referral", .asFollowUp: "Record as a follow-up",
        .conflictsIntro: "These fields were changed on two devices at once; choose the value to keep",
        .chooseValue: "Keep this value", .writtenBy: "%@ on %@, %@", .noConflicts: "No conflicts",
        .addPhoto: "Add photo", .takePhoto: "Take photo", .chooseFile: "Choose file", .signature: "Signature",
        .drawSignature: "Sign inside the box", .clear: "Clear", .saveSignature: "Save signature", .remove: "Remove",
        .openFile: "Open", .onPhone: "On the phone", .uploaded: "Uploaded", .waitingUpload: "Waiting to upload",
        .notOnPhone: "Downloaded when opened", .noAttachments: "No attachments",
        .saveVisitFirst: "Save the record to add attachments", .syncState: "State", .pendingDocs: "%@ records to send",
        .pendingPhotos: "%@ attachments to upload (%@)", .lastSuccess: "Last success %@", .never: "never",
        .lastError: "Last error", .allowMetered: "Upload photos over mobile data",
        .allowMeteredHint: "When off, photos and scans upload on Wi-Fi only; signatures always upload",
        .syncNow: "Sync now", .setAsideCount: "%@ records set aside",
        .setAsideIntro: "The server no longer takes these records (the household was reassigned); export them for hand-over",
        .export: "Export for hand-over", .noSetAside: "Nothing set aside", .unsynced: "%@ changes not synced",
        .reasonOutOfScope: "Refused by the server (out of scope)", .reasonLeftScope: "The household left your area",
        .signInAgainTitle: "Sign in again", .updateRequiredTitle: "Update the app",
        .unlockFailedTitle: "The data could not be unlocked", .notChecked: "Not checked", .ok: "OK",
        .problem: "Problem", .notApplicable: "N/A", .problemOpen: "Open", .inProgress: "In progress", .resolved: "Resolved",
        .verySatisfied: "Very satisfied", .satisfied: "Satisfied", .neutral: "Neutral", .dissatisfied: "Dissatisfied",
        .notAsked: "Not asked", .alertRed: "Red alert", .alertYellow: "Yellow alert", .alertBlue: "Blue alert",
        .statusOrdinary: "Ordinary", .statusRegisteredPoor: "Registered poor", .statusLifted: "Lifted out of poverty",
        .statusMonitored: "Monitored", .statusEdge: "Edge (at risk)", .food: "Food", .clothing: "Clothing",
        .education: "Compulsory education", .medical: "Basic medical care", .housing: "Safe housing",
        .water: "Safe drinking water",
    ]

    /// The label of an enum value the screens show.
    public static func label(_ status: AssuranceStatus) -> String {
        switch status {
        case .notChecked: return text(.notChecked)
        case .ok: return text(.ok)
        case .problem: return text(.problem)
        case .notApplicable: return text(.notApplicable)
        }
    }

    public static func label(_ status: ProblemStatus) -> String {
        switch status {
        case .open: return text(.problemOpen)
        case .inProgress: return text(.inProgress)
        case .resolved: return text(.resolved)
        }
    }

    public static func label(_ satisfaction: Satisfaction?) -> String {
        switch satisfaction {
        case .verySatisfied?: return text(.verySatisfied)
        case .satisfied?: return text(.satisfied)
        case .neutral?: return text(.neutral)
        case .dissatisfied?: return text(.dissatisfied)
        case nil: return text(.notAsked)
        }
    }

    public static func label(_ alert: AlertLevel) -> String {
        switch alert {
        case .red: return text(.alertRed)
        case .yellow: return text(.alertYellow)
        case .blue: return text(.alertBlue)
        }
    }

    public static func label(_ status: PovertyStatus) -> String {
        switch status {
        case .ordinary: return text(.statusOrdinary)
        case .registeredPoor: return text(.statusRegisteredPoor)
        case .lifted: return text(.statusLifted)
        case .monitored: return text(.statusMonitored)
        case .edge: return text(.statusEdge)
        }
    }

    public static func label(_ kind: AssuranceKind) -> String {
        switch kind {
        case .food: return text(.food)
        case .clothing: return text(.clothing)
        case .education: return text(.education)
        case .medical: return text(.medical)
        case .housing: return text(.housing)
        case .water: return text(.water)
        }
    }
}
