//! Every enumeration of the domain, each variant with its stable code and its Chinese and English labels.
//!
//! The code is what JSON, CSV and the CLI use; the labels are what pages and ledgers show. One macro defines all of
//! them so that adding a variant updates parsing, labels and listing together. Documents store the code too (format
//! 2, `form`), so renaming a variant changes nothing stored.

use serde::{Deserialize, Serialize};

macro_rules! labelled_enum {
    ($(#[$meta:meta])* $name:ident default $default:ident { $($variant:ident => ($code:literal, $zh:literal, $en:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, uniffi::Enum)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl Default for $name {
            fn default() -> Self { Self::$default }
        }

        impl $name {
            /// Every variant, in display order.
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];
            /// The stable code used in JSON, CSV and on the command line.
            pub fn code(self) -> &'static str { match self { $(Self::$variant => $code),+ } }
            /// The label shown to users in Chinese.
            pub fn label_zh(self) -> &'static str { match self { $(Self::$variant => $zh),+ } }
            /// The label shown to users in English.
            pub fn label_en(self) -> &'static str { match self { $(Self::$variant => $en),+ } }
            /// The label in the language asked for (`"en"` or anything else for Chinese).
            pub fn label(self, lang: &str) -> &'static str {
                if lang == "en" { self.label_en() } else { self.label_zh() }
            }
            /// Parses a code (or either label), for the CLI and imports.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == s || v.label_zh() == s || v.label_en().eq_ignore_ascii_case(s))
            }
        }

        impl super::form::Coded for $name {
            fn all() -> &'static [Self] { Self::ALL }
            fn code(self) -> &'static str { <$name>::code(self) }
            fn legacy_name(self) -> &'static str { match self { $(Self::$variant => stringify!($variant)),+ } }
        }
        $crate::coded_in_documents!($name);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.code()) }
        }
    };
}

labelled_enum!(
    /// Poverty status of a household; changes are recorded as dated transitions.
    PovertyStatus default Ordinary {
        Ordinary => ("ordinary", "一般农户", "Ordinary rural household"),
        RegisteredPoor => ("registered_poor", "建档立卡贫困户", "Registered poor"),
        Lifted => ("lifted", "已脱贫户", "Lifted out of poverty"),
        Monitored => ("monitored", "脱贫监测户", "Monitored (unstable after exit)"),
        Edge => ("edge", "边缘易致贫户", "Edge (at risk)"),
    }
);

labelled_enum!(
    /// What happened at a poverty status transition.
    TransitionEvent default Identified {
        Identified => ("identified", "识别纳入", "Identified"),
        Exited => ("exited", "脱贫退出", "Exited poverty"),
        Relapsed => ("relapsed", "返贫", "Relapsed"),
        RiskEliminated => ("risk_eliminated", "消除返贫风险", "Risk eliminated"),
    }
);

labelled_enum!(
    /// Why a household is at risk; a household may have several.
    RiskCause default Illness {
        Illness => ("illness", "因病", "Illness"),
        Disability => ("disability", "因残", "Disability"),
        Schooling => ("schooling", "因学", "Schooling costs"),
        Disaster => ("disaster", "因灾", "Disaster"),
        Epidemic => ("epidemic", "疫情", "Epidemic"),
        LackOfLabour => ("lack_of_labour", "缺劳力", "Lack of labour"),
        Accident => ("accident", "意外事故", "Accident"),
        Unemployment => ("unemployment", "失业", "Unemployment"),
        RigidExpenses => ("rigid_expenses", "刚性支出", "High rigid expenses"),
    }
);

labelled_enum!(
    /// Alert level of a monitored household (红黄蓝三级预警).
    AlertLevel default Blue {
        Red => ("red", "红色预警", "Red"),
        Yellow => ("yellow", "黄色预警", "Yellow"),
        Blue => ("blue", "蓝色预警", "Blue"),
    }
);

labelled_enum!(
    /// State of one assurance.
    AssuranceStatus default NotChecked {
        NotChecked => ("not_checked", "未核查", "Not checked"),
        Ok => ("ok", "达标", "OK"),
        Problem => ("problem", "有问题", "Problem"),
        NotApplicable => ("n_a", "不适用", "N/A"),
    }
);

labelled_enum!(
    /// Names of the six assurances, for problems that concern one of them.
    AssuranceKind default Food {
        Food => ("food", "不愁吃", "Food"),
        Clothing => ("clothing", "不愁穿", "Clothing"),
        Education => ("education", "义务教育", "Compulsory education"),
        Medical => ("medical", "基本医疗", "Basic medical care"),
        Housing => ("housing", "住房安全", "Safe housing"),
        Water => ("water", "饮水安全", "Safe drinking water"),
    }
);

labelled_enum!(
    /// Kind of an assistance measure (一户一策).
    MeasureKind default Industry {
        Industry => ("industry", "产业帮扶", "Industry"),
        Employment => ("employment", "就业帮扶", "Employment"),
        Education => ("education", "教育帮扶", "Education"),
        Health => ("health", "健康帮扶", "Health"),
        Housing => ("housing", "住房保障", "Housing"),
        SafetyNet => ("safety_net", "兜底保障", "Social safety net"),
        MicroCredit => ("micro_credit", "小额信贷", "Micro-credit"),
        PublicWelfareJob => ("public_welfare_job", "公益性岗位", "Public-welfare job"),
    }
);

labelled_enum!(
    /// Progress of an assistance measure.
    MeasureStatus default Planned {
        Planned => ("planned", "计划", "Planned"),
        InProgress => ("in_progress", "实施中", "In progress"),
        Done => ("done", "已完成", "Done"),
        Stopped => ("stopped", "已终止", "Stopped"),
    }
);

labelled_enum!(
    /// How a household was relocated (易地扶贫搬迁).
    RelocationKind default Centralised {
        Centralised => ("centralised", "集中安置", "Centralised"),
        InPlace => ("in_place", "分散安置", "In place"),
    }
);

labelled_enum!(
    /// Sex as recorded on the national ID.
    Sex default Unknown {
        Male => ("male", "男", "Male"),
        Female => ("female", "女", "Female"),
        Unknown => ("unknown", "未知", "Unknown"),
    }
);

labelled_enum!(
    /// Relation of a member to the head of household.
    Relation default Other {
        Head => ("head", "户主", "Head"),
        Spouse => ("spouse", "配偶", "Spouse"),
        Child => ("child", "子女", "Child"),
        Parent => ("parent", "父母", "Parent"),
        Grandchild => ("grandchild", "孙子女", "Grandchild"),
        ChildInLaw => ("child_in_law", "儿媳/女婿", "Child-in-law"),
        Sibling => ("sibling", "兄弟姐妹", "Sibling"),
        Other => ("other", "其他", "Other"),
    }
);

labelled_enum!(
    /// Natural changes of a member (自然增加 / 自然减少).
    MemberEventKind default Born {
        Born => ("born", "出生", "Born"),
        Died => ("died", "死亡", "Died"),
        MarriedIn => ("married_in", "婚入", "Married in"),
        MarriedOut => ("married_out", "婚出", "Married out"),
        MovedIn => ("moved_in", "迁入", "Moved in"),
        MovedOut => ("moved_out", "迁出", "Moved out"),
    }
);

labelled_enum!(
    /// Kind of a member's disability.
    DisabilityKind default Physical {
        Visual => ("visual", "视力残疾", "Visual"),
        Hearing => ("hearing", "听力残疾", "Hearing"),
        Speech => ("speech", "言语残疾", "Speech"),
        Physical => ("physical", "肢体残疾", "Physical"),
        Intellectual => ("intellectual", "智力残疾", "Intellectual"),
        Mental => ("mental", "精神残疾", "Mental"),
        Multiple => ("multiple", "多重残疾", "Multiple"),
    }
);

labelled_enum!(
    /// Conditions the family-doctor team follows.
    Condition default Other {
        Hypertension => ("hypertension", "高血压", "Hypertension"),
        Diabetes => ("diabetes", "2型糖尿病", "Type 2 diabetes"),
        SevereMental => ("severe_mental", "严重精神障碍", "Severe mental disorder"),
        Tuberculosis => ("tuberculosis", "肺结核", "Tuberculosis"),
        Echinococcosis => ("echinococcosis", "包虫病", "Echinococcosis"),
        Cataract => ("cataract", "白内障", "Cataract"),
        Other => ("other", "其他", "Other"),
    }
);

labelled_enum!(
    /// Employment of a working-age member ("一人一卡").
    Employment default NotApplicable {
        NotApplicable => ("n_a", "不适用", "N/A"),
        Employed => ("employed", "务工", "Employed"),
        Farming => ("farming", "务农", "Farming"),
        Unemployed => ("unemployed", "待业", "Unemployed"),
        Student => ("student", "在校", "Student"),
    }
);

labelled_enum!(
    /// Kind of a visit.
    VisitKind default Monthly {
        Monthly => ("monthly", "月度走访", "Monthly helper visit"),
        DoctorFollowUp => ("doctor_follow_up", "家医随访", "Family-doctor follow-up"),
        Verification => ("verification", "核查回头看", "Verification"),
        CrossCheck => ("cross_check", "互查", "Cross-check"),
        CampaignScreening => ("campaign_screening", "集中筛查", "Campaign screening"),
        Condolence => ("condolence", "慰问", "Condolence visit"),
    }
);

labelled_enum!(
    /// Status of a problem found on a visit.
    ProblemStatus default Open {
        Open => ("open", "待解决", "Open"),
        InProgress => ("in_progress", "处理中", "In progress"),
        Resolved => ("resolved", "已解决", "Resolved"),
    }
);

labelled_enum!(
    /// How satisfied the household said it was.
    Satisfaction default Satisfied {
        VerySatisfied => ("very_satisfied", "非常满意", "Very satisfied"),
        Satisfied => ("satisfied", "满意", "Satisfied"),
        Neutral => ("neutral", "一般", "Neutral"),
        Dissatisfied => ("dissatisfied", "不满意", "Dissatisfied"),
    }
);

labelled_enum!(
    /// Whether a glucose reading was fasting or random.
    GlucoseKind default Fasting {
        Fasting => ("fasting", "空腹", "Fasting"),
        Random => ("random", "随机", "Random"),
    }
);

labelled_enum!(
    /// How urgently a member should be referred.
    ReferralLevel default None {
        None => ("none", "无需转诊", "None"),
        Routine => ("routine", "常规转诊", "Routine"),
        Urgent => ("urgent", "紧急转诊", "Urgent"),
    }
);

labelled_enum!(
    /// Roles of users; scope on the server follows from the role.
    Role default Helper {
        Helper => ("helper", "帮扶责任人", "Helper"),
        Doctor => ("doctor", "家庭医生", "Doctor"),
        Supervisor => ("supervisor", "督导", "Supervisor"),
        Inspector => ("inspector", "检查员", "Inspector"),
        Admin => ("admin", "管理员", "Admin"),
    }
);

labelled_enum!(
    /// Kind of a document in the store and on the wire.
    DocKind default Household {
        Household => ("household", "农户", "Household"),
        Visit => ("visit", "走访", "Visit"),
        Screening => ("screening", "筛查", "Screening"),
        Rules => ("rules", "规则", "Rules"),
    }
);

labelled_enum!(
    /// Blood-pressure classification (Chinese guideline grades).
    BpGrade default Normal {
        Normal => ("normal", "正常", "Normal"),
        HighNormal => ("high_normal", "正常高值", "High-normal"),
        Grade1 => ("grade1", "1级高血压", "Hypertension grade 1"),
        Grade2 => ("grade2", "2级高血压", "Hypertension grade 2"),
        Grade3 => ("grade3", "3级高血压", "Hypertension grade 3"),
    }
);

labelled_enum!(
    /// Glucose band of a reading.
    GlucoseBand default Normal {
        Normal => ("normal", "正常", "Normal"),
        Impaired => ("impaired", "空腹血糖受损", "Impaired"),
        Diabetes => ("diabetes", "糖尿病范围", "Diabetes range"),
    }
);

labelled_enum!(
    /// BMI band (Chinese adult cut-offs).
    BmiBand default Normal {
        Underweight => ("underweight", "偏瘦", "Underweight"),
        Normal => ("normal", "正常", "Normal"),
        Overweight => ("overweight", "超重", "Overweight"),
        Obese => ("obese", "肥胖", "Obese"),
    }
);
