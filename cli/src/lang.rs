//! The language of the terminal: labels, headings and classifications in Chinese or English.
//!
//! Chosen once per run: `--lang zh|en` first, then the locale variables in POSIX order (`LC_ALL`, `LC_MESSAGES`,
//! `LANG`: the first one set and not empty decides). A `zh…` locale is Chinese, any other named language English;
//! `C`, `POSIX` or no locale at all say nothing about the reader, and then Chinese is used, as on the pages.
//! Enumeration labels are the core's (`label_zh` / `label_en`); `--json` output always keeps the codes.

use std::sync::OnceLock;

/// A language the CLI speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

static CURRENT: OnceLock<Lang> = OnceLock::new();

impl Lang {
    /// The code the core's `label(lang)` takes.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// One of two texts: Chinese or English.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// The language a locale name asks for (`zh_CN.UTF-8` → Chinese, `en_US.UTF-8` or `de_DE` → English), or
    /// `None` when it names no language (`C`, `POSIX`, `C.UTF-8`, empty).
    pub fn of_locale(locale: &str) -> Option<Lang> {
        let language = locale.split(['_', '.', '@', '-']).next().unwrap_or("").to_ascii_lowercase();
        match language.as_str() {
            "" | "c" | "posix" => None,
            "zh" => Some(Lang::Zh),
            _ => Some(Lang::En),
        }
    }

    /// The language for this run, from the flag or else the environment (see the module doc).
    pub fn detect(flag: Option<&str>, var: impl Fn(&str) -> Option<String>) -> Lang {
        if let Some(l) = flag.and_then(Lang::of_locale) {
            return l;
        }
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|name| var(name).filter(|v| !v.is_empty()))
            .next()
            .and_then(|v| Lang::of_locale(&v))
            .unwrap_or(Lang::Zh)
    }
}

/// Fixes the language of this run; later calls keep the first.
pub fn set(lang: Lang) {
    let _ = CURRENT.set(lang);
}

/// The language of this run (Chinese until [`set`] is called).
pub fn current() -> Lang {
    *CURRENT.get().unwrap_or(&Lang::Zh)
}

/// One of two texts in the language of this run.
pub fn t<'a>(zh: &'a str, en: &'a str) -> &'a str {
    current().pick(zh, en)
}

/// An enumeration's label in the language of this run, from the core's labels.
#[macro_export]
macro_rules! label {
    ($value:expr) => {
        $value.label($crate::lang::current().code())
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn the_flag_wins_then_the_locale_variables_in_posix_order() {
        assert_eq!(Lang::detect(Some("en"), env(&[("LANG", "zh_CN.UTF-8")])), Lang::En);
        assert_eq!(Lang::detect(Some("zh"), env(&[("LC_ALL", "en_US.UTF-8")])), Lang::Zh);
        assert_eq!(Lang::detect(None, env(&[("LC_ALL", "en_US.UTF-8"), ("LANG", "zh_CN.UTF-8")])), Lang::En);
        assert_eq!(Lang::detect(None, env(&[("LC_MESSAGES", "zh_TW.UTF-8"), ("LANG", "en_GB")])), Lang::Zh);
        assert_eq!(Lang::detect(None, env(&[("LC_ALL", ""), ("LANG", "en_GB")])), Lang::En);
        assert_eq!(Lang::detect(None, env(&[("LANG", "de_DE.UTF-8")])), Lang::En);
    }

    #[test]
    fn no_language_in_the_locale_means_chinese() {
        for locale in ["C", "POSIX", "C.UTF-8"] {
            assert_eq!(Lang::detect(None, env(&[("LANG", locale)])), Lang::Zh, "{locale}");
        }
        assert_eq!(Lang::detect(None, env(&[])), Lang::Zh);
        assert_eq!(Lang::of_locale("zh"), Some(Lang::Zh));
        assert_eq!(Lang::of_locale("en"), Some(Lang::En));
    }
}
