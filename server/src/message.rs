//! A message a person reads, in the two languages the pages and the console speak. Refusals of administration
//! commands and of page forms carry both, so a Chinese page never shows an English sentence (and the console,
//! which speaks English, prints the English one).

use std::fmt;

/// One message in English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub en: String,
    pub zh: String,
}

impl Message {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self { en: en.into(), zh: zh.into() }
    }

    /// The text for a language code (`zh` or `en`).
    pub fn pick(&self, lang: &str) -> &str {
        if lang == "en" {
            &self.en
        } else {
            &self.zh
        }
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en)
    }
}
