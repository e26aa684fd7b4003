//! The audit log as a person reads it: each action named in the page's language, and its detail (a JSON object
//! of account names, codes, places and dates written by `accounts::audit_by`) told with labels, people's names and
//! code labels. Lines written before details were JSON are shown as they were written.

use super::i18n::Lang;
use super::People;
use crate::storage::{AuditEntry, PlaceKind};
use doorstep_core::model::Role;
use serde_json::Value;

/// Every action the server writes, with its words.
const ACTIONS: &[(&str, &str, &str)] = &[
    ("user.add", "新增用户", "Account added"),
    ("user.profile", "修改姓名或单位", "Name or unit changed"),
    ("user.disable", "停用用户", "Account disabled"),
    ("user.enable", "启用用户", "Account enabled"),
    ("user.password_reset", "重置密码", "Password reset"),
    ("user.password_change", "修改密码", "Password changed"),
    ("assign.helper", "分配帮扶农户", "Households assigned to a helper"),
    ("assign.reassign", "转交帮扶农户", "Households reassigned"),
    ("assign.team", "分配团队行政村", "Villages given to a team"),
    ("assign.remove_team", "移出团队行政村", "Villages taken from a team"),
    ("assign.area", "分配督导区域", "Area given to a supervisor"),
    ("assign.remove_area", "移出督导区域", "Area taken from a supervisor"),
    ("grant.inspector", "互查授权", "Inspector grant"),
    ("device.revoke", "撤销设备登录", "Device sign-in revoked"),
    ("device.replace", "设备重新登录", "Device signed in again"),
    ("rules.set", "修改走访规则", "Schedule rules changed"),
    ("place.add_township", "新增乡镇", "Township added"),
    ("place.add_village", "新增行政村", "Village added"),
    ("place.rename", "地名更名", "Place renamed"),
    ("blobs.gc", "清理附件", "Attachments cleaned up"),
];

/// The words for the detail's keys.
const KEYS: &[(&str, &str, &str)] = &[
    ("user", "用户", "Account"),
    ("role", "角色", "Role"),
    ("team", "团队", "Team"),
    ("display_name", "姓名", "Name"),
    ("unit", "单位", "Unit"),
    ("households", "农户", "Households"),
    ("from", "原帮扶责任人", "From"),
    ("to", "新帮扶责任人", "To"),
    ("villages", "行政村", "Villages"),
    ("village", "行政村", "Village"),
    ("townships", "乡镇", "Townships"),
    ("township", "乡镇", "Township"),
    ("until", "有效期至", "Until"),
    ("device", "设备", "Device"),
    ("from_device", "原设备", "Previous device"),
    ("kind", "类型", "Kind"),
    ("old", "原名称", "Old name"),
    ("new", "新名称", "New name"),
    ("moved", "涉及农户数", "Households moved"),
    ("rules", "规则", "Rules"),
    ("effective_from", "生效日期", "In force from"),
];

/// The schedule rules' fields and their words on the rules page (`t.rule_*`).
pub const RULE_FIELDS: &[(&str, &str)] = &[
    ("monthly_visits", "rule_monthly"),
    ("monitored_monthly_visits", "rule_monitored"),
    ("edge_monthly_visits", "rule_edge"),
    ("hypertension_followup_days", "rule_hyp"),
    ("diabetes_followup_days", "rule_dia"),
    ("mental_followup_days", "rule_mental"),
    ("lookahead_days", "rule_lookahead"),
];

/// One audit line in the page's language: the action's words and its detail told.
pub fn describe(entry: &AuditEntry, lang: Lang, people: &People) -> (String, String) {
    let action = ACTIONS
        .iter()
        .find(|(code, _, _)| *code == entry.action)
        .map(|(_, zh, en)| lang.pick(zh, en).to_string())
        .unwrap_or_else(|| entry.action.clone());
    let detail = match serde_json::from_str::<Value>(&entry.detail) {
        Ok(Value::Object(map)) => {
            let sep = lang.pick("；", "; ");
            // In the order of `KEYS` (who first, then what), whatever order the object was stored in.
            let rank = |k: &str| KEYS.iter().position(|(key, _, _)| *key == k).unwrap_or(KEYS.len());
            let mut fields: Vec<(&String, &Value)> = map.iter().filter(|(_, v)| !is_empty(v)).collect();
            fields.sort_by_key(|(k, _)| rank(k));
            fields
                .into_iter()
                .map(|(k, v)| format!("{}{}{}", key_label(k, lang), lang.pick("：", ": "), value(k, v, lang, people)))
                .collect::<Vec<_>>()
                .join(sep)
        }
        _ => entry.detail.clone(),
    };
    (action, detail)
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn key_label(key: &str, lang: Lang) -> String {
    KEYS.iter().find(|(k, _, _)| *k == key).map(|(_, zh, en)| lang.pick(zh, en).to_string()).unwrap_or(key.into())
}

fn value(key: &str, v: &Value, lang: Lang, people: &People) -> String {
    let list = |items: &[Value]| {
        items.iter().map(|i| value(key, i, lang, people)).collect::<Vec<_>>().join(lang.pick("、", ", "))
    };
    match (key, v) {
        (_, Value::Array(items)) => list(items),
        ("user" | "from" | "to", Value::String(name)) => {
            let shown = people.shown(name);
            if shown == *name {
                shown
            } else {
                format!("{shown}（{name}）")
            }
        }
        ("role", Value::String(code)) => {
            Role::parse(code).map(|r| r.label(lang.code()).to_string()).unwrap_or(code.clone())
        }
        ("kind", Value::String(code)) => {
            PlaceKind::parse(code).map(|k| k.label(lang.code()).to_string()).unwrap_or(code.clone())
        }
        ("rules", Value::Object(rules)) => {
            let texts = lang.texts();
            RULE_FIELDS
                .iter()
                .filter_map(|(field, word)| {
                    let n = rules.get(*field)?;
                    Some(format!("{} {n}", texts.get(word).copied().unwrap_or(field)))
                })
                .collect::<Vec<_>>()
                .join(lang.pick("，", ", "))
        }
        (_, Value::String(s)) => s.clone(),
        (_, Value::Bool(b)) => lang.pick(if *b { "是" } else { "否" }, if *b { "yes" } else { "no" }).to_string(),
        (_, other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::User;

    fn people() -> People {
        People::of(&[User {
            name: "helper01".into(),
            role: Role::Helper,
            team: None,
            password_hash: String::new(),
            disabled: false,
            created_ms: 0,
            display_name: "张三".into(),
            unit: "石门镇".into(),
            must_change_password: false,
        }])
    }

    fn entry(action: &str, detail: &str) -> AuditEntry {
        AuditEntry { at_ms: 0, actor: "admin".into(), action: action.into(), detail: detail.into() }
    }

    #[test]
    fn actions_and_details_read_in_the_pages_language() {
        let e = entry("grant.inspector", r#"{"user":"helper01","village":"石门村","until":"2026-12-31"}"#);
        let (action, detail) = describe(&e, Lang::Zh, &people());
        assert_eq!(action, "互查授权");
        assert_eq!(detail, "用户：张三（helper01）；行政村：石门村；有效期至：2026-12-31");
        let (action, detail) = describe(&e, Lang::En, &people());
        assert_eq!(action, "Inspector grant");
        assert_eq!(detail, "Account: 张三（helper01）; Village: 石门村; Until: 2026-12-31");
    }

    #[test]
    fn codes_lists_and_rules_become_words() {
        let e = entry("user.add", r#"{"user":"doc9","role":"doctor","team":""}"#);
        assert_eq!(describe(&e, Lang::Zh, &people()).1, "用户：doc9；角色：家庭医生");
        let e = entry("assign.team", r#"{"team":"T1","villages":["石门村","青山村"]}"#);
        assert_eq!(describe(&e, Lang::Zh, &people()).1, "团队：T1；行政村：石门村、青山村");
        let e = entry("rules.set", r#"{"rules":{"monthly_visits":2,"lookahead_days":7}}"#);
        let (_, d) = describe(&e, Lang::Zh, &people());
        assert!(d.contains("每户每月走访次数 2") && d.contains("提前提醒天数 7"), "{d}");
        // A line written before details were JSON is shown as written.
        let e = entry("user.disable", "helper2");
        assert_eq!(describe(&e, Lang::En, &people()), ("Account disabled".to_string(), "helper2".to_string()));
    }
}
