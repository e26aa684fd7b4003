//! The pages' words in Chinese (the default) and English. Enum labels come from the core (`label_zh`/`label_en`);
//! this table holds only the words of the pages themselves.

use std::collections::BTreeMap;

/// The language of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// `"en"` is English; anything else is Chinese.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// Picks the Chinese or English text.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// Every text of the pages in this language, keyed by name, for the templates (`t.key`).
    pub fn texts(self) -> BTreeMap<&'static str, &'static str> {
        TEXTS.iter().map(|(k, zh, en)| (*k, self.pick(zh, en))).collect()
    }
}

const TEXTS: &[(&str, &str, &str)] = &[
    ("app", "入户帮扶", "Doorstep"),
    ("lang_switch", "English", "中文"),
    ("login", "登录", "Sign in"),
    ("logout", "退出", "Sign out"),
    ("user", "用户名", "User name"),
    ("password", "密码", "Password"),
    ("login_failed", "用户名或密码错误，或账号已停用。", "Wrong user name or password, or the account is disabled."),
    ("login_wait", "尝试次数过多，请稍后再试。", "Too many attempts; try again later."),
    ("overview", "总览", "Overview"),
    ("township", "乡镇", "Township"),
    ("village", "行政村", "Village"),
    ("hamlet", "自然村", "Hamlet"),
    ("month", "月份", "Month"),
    ("as_of", "截至日期", "As of"),
    ("as_of_note", "显示服务器在该日结束时已收到的数据", "Showing what the server had received by the end of"),
    ("all", "全部", "All"),
    ("apply", "筛选", "Apply"),
    ("households", "户数", "Households"),
    ("members", "人口", "Members"),
    ("coverage", "本月走访覆盖率", "Visit coverage this month"),
    ("coverage_by_village", "按行政村走访覆盖率", "Visit coverage by village"),
    ("coverage_by_helper", "按帮扶责任人走访覆盖率", "Visit coverage by helper"),
    ("assigned", "应走访户数", "Assigned"),
    ("visited", "已走访户数", "Visited"),
    ("rate", "比率", "Rate"),
    ("trend", "近12个月走访覆盖率趋势", "Monthly visit coverage, last 12 months"),
    ("overdue", "逾期未走访", "Overdue households"),
    ("overdue_month", "统计月份", "Month counted"),
    ("visits_done", "已走访/应走访", "Visits done / required"),
    ("followups_overdue", "慢病随访逾期", "Overdue chronic follow-ups"),
    ("last_followup", "上次随访", "Last follow-up"),
    ("due_date", "应随访日期", "Due"),
    ("contracts", "家庭医生签约率", "Family-doctor contract coverage"),
    ("group", "人群", "Group"),
    ("contracted", "已签约", "Contracted"),
    ("g_65", "65岁及以上老人", "Aged 65+"),
    ("g_child", "0-6岁儿童", "Children 0–6"),
    ("g_pregnant", "孕产妇", "Pregnant women"),
    ("g_chronic", "慢性病患者", "Chronic patients"),
    ("g_disabled", "残疾人", "Disabled people"),
    ("g_mental", "严重精神障碍患者", "Severe mental disorder"),
    ("g_poor", "建档立卡贫困户成员", "Members of registered-poor households"),
    ("screening", "体检筛查", "Screening"),
    ("screening_rate", "本年度体检率", "Screening coverage this year"),
    ("screened", "已体检", "Screened"),
    ("screenings_month", "本月筛查人次", "Screenings this month"),
    ("abnormal", "异常筛查及紧急转诊未随访", "Abnormal screenings and urgent referrals not followed up"),
    ("abnormal_total", "本年度异常筛查", "Abnormal screenings this year"),
    ("not_followed", "未随访", "Not followed up"),
    ("urgent_not_followed", "紧急转诊未随访", "Urgent referrals not followed up"),
    ("bp_control", "高血压患者血压控制率", "Blood-pressure control among hypertensive patients"),
    ("bp_controlled", "最近一次 < 140/90", "Last reading < 140/90"),
    ("no_reading", "无血压记录", "No reading"),
    ("with_reading", "有血压记录", "With a reading"),
    ("monitoring", "监测户与边缘户", "Monitored and edge households"),
    ("alert_levels", "预警等级", "Alert levels"),
    ("no_alert", "未定级", "No level"),
    ("risk_causes", "风险因素", "Risk causes"),
    ("count", "数量", "Count"),
    ("problems_open", "未解决问题", "Open problems"),
    ("insurance", "建档立卡人口医保参保率", "Insurance enrolment of registered-poor members"),
    ("insured", "已参保", "Insured"),
    ("ledgers", "台账下载", "Ledgers (CSV)"),
    ("ledger_households", "农户台账", "Household ledger"),
    ("ledger_visits", "走访台账", "Visit ledger"),
    ("ledger_screenings", "筛查台账", "Screening ledger"),
    ("ledger_problems", "问题清单", "Problems list"),
    ("household", "农户", "Household"),
    ("number", "户编号", "Number"),
    ("head", "户主", "Head"),
    ("address", "地址", "Address"),
    ("phone", "电话", "Phone"),
    ("status", "状态", "Status"),
    ("alert", "预警", "Alert"),
    ("helpers", "帮扶责任人", "Helpers"),
    ("doctor_team", "家医团队", "Doctor team"),
    ("income", "人均纯收入", "Income per person"),
    ("name", "姓名", "Name"),
    ("sex", "性别", "Sex"),
    ("birth", "出生日期", "Born"),
    ("relation", "与户主关系", "Relation"),
    ("national_id", "身份证号", "National ID"),
    ("conditions", "疾病", "Conditions"),
    ("contract", "签约", "Contract"),
    ("disability", "残疾", "Disability"),
    ("yes", "是", "yes"),
    ("no", "否", "no"),
    ("status_timeline", "贫困状态变化", "Poverty status timeline"),
    ("date", "日期", "Date"),
    ("event", "事件", "Event"),
    ("reason", "原因", "Reason"),
    ("visits", "走访记录", "Visits"),
    ("kind", "类型", "Kind"),
    ("visitor", "走访人", "Visitor"),
    ("problems", "问题", "Problems"),
    ("screenings", "体检筛查", "Screenings"),
    ("attachments", "附件", "Attachments"),
    ("not_uploaded", "尚未上传", "not uploaded yet"),
    ("member", "成员", "Member"),
    ("bp", "血压", "Blood pressure"),
    ("glucose", "血糖", "Glucose"),
    ("bmi", "体重指数", "BMI"),
    ("referral", "转诊", "Referral"),
    ("classification", "分级", "Classification"),
    ("history", "字段修改记录", "Field history"),
    ("field", "字段", "Field"),
    ("value", "值", "Value"),
    ("who", "修改人", "Who"),
    ("device", "设备", "Device"),
    ("device_time", "设备时间", "Device time"),
    ("received", "服务器收到时间", "Received"),
    ("conflicts", "未解决的冲突", "Unresolved conflicts"),
    ("no_conflicts", "无冲突", "No conflicts"),
    ("none", "无", "None"),
    ("helper_page", "帮扶责任人", "Helper"),
    ("this_month_visits", "本月走访", "Visits this month"),
    ("last_visit", "最近走访", "Last visit"),
    ("admin", "管理", "Admin"),
    ("users", "用户", "Users"),
    ("role", "角色", "Role"),
    ("team", "团队", "Team"),
    ("disabled", "已停用", "Disabled"),
    ("active", "正常", "Active"),
    ("disable", "停用", "Disable"),
    ("enable", "启用", "Enable"),
    ("add_user", "新增用户", "Add a user"),
    ("assignments", "分工", "Assignments"),
    ("assign", "分配", "Assign"),
    ("area", "负责区域", "Area"),
    ("rules", "走访规则", "Schedule rules"),
    ("save", "保存", "Save"),
    ("grants", "互查授权", "Inspector grants"),
    ("until", "有效期至", "Until"),
    ("expired", "已过期", "Expired"),
    ("grant", "授权", "Grant"),
    ("review", "动态调整", "Dynamic review"),
    ("period", "时段", "Period"),
    ("reviewed", "已核查", "Reviewed"),
    ("pending", "待核查", "Pending"),
    ("missed", "未核查", "Missed"),
    ("status_changed", "期间状态变化", "Status changed in period"),
    ("audit", "操作日志", "Audit log"),
    ("time", "时间", "Time"),
    ("action", "操作", "Action"),
    ("detail", "详情", "Detail"),
    ("saved", "已保存", "Saved"),
    ("more_rows", "仅显示前若干行，完整列表请下载台账", "Only the first rows are shown; download the ledger for all"),
    ("rule_monthly", "每户每月走访次数", "Helper visits a month per household"),
    ("rule_monitored", "监测户每月走访次数", "Visits a month, monitored households"),
    ("rule_edge", "边缘户每月走访次数", "Visits a month, edge households"),
    ("rule_hyp", "高血压随访间隔(天)", "Hypertension follow-up (days)"),
    ("rule_dia", "糖尿病随访间隔(天)", "Diabetes follow-up (days)"),
    ("rule_mental", "严重精神障碍随访间隔(天)", "Severe mental disorder follow-up (days)"),
    ("rule_lookahead", "提前提醒天数", "Days shown ahead"),
    ("open_household", "查看", "Open"),
    ("not_known", "该日期服务器尚未收到此记录。", "The server had not received this record by that day."),
];
