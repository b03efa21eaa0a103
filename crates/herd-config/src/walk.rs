//! A small typed walk over a parsed TOML document that keeps every key's line.
//!
//! The `toml` crate parses into spanned tables ([`toml::de::DeTable`]); this module turns
//! spans into 1-based lines and offers typed getters that fail with an error naming the file,
//! the line and the key. Unknown keys are errors with a "did you mean" hint. No I/O here.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::ConfigError;

/// The source text of one file, for turning byte offsets into lines.
pub(crate) struct Doc<'a> {
    pub(crate) path: &'a Path,
    line_starts: Vec<usize>,
}

/// A value and the 1-based line it was written on.
#[derive(Debug, Clone)]
pub(crate) struct At<T> {
    pub(crate) value: T,
    pub(crate) line: usize,
}

impl<'a> Doc<'a> {
    pub(crate) fn new(path: &'a Path, text: &str) -> Doc<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(idx, _)| idx + 1));
        Doc { path, line_starts }
    }

    /// The 1-based line holding byte `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(idx) => idx + 1,
            Err(idx) => idx,
        }
    }

    pub(crate) fn error(&self, line: usize, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line,
            key: key.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn error_at(
        &self,
        span: Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        self.error(self.line_of(span.start), key, message)
    }
}

/// One TOML table being read: knows its name for messages (`[timing]`, `[[nodes]]`).
pub(crate) struct Table<'d, 'i> {
    pub(crate) doc: &'d Doc<'d>,
    pub(crate) table: &'d DeTable<'i>,
    /// How messages name the table: "the top level", "[timing]", "[[nodes]]".
    pub(crate) title: String,
    /// Prefix of dotted keys in errors: "" or "timing." or "nodes[2].".
    pub(crate) prefix: String,
    /// The line of the table header (for "missing key" errors).
    pub(crate) line: usize,
}

impl<'d, 'i> Table<'d, 'i> {
    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Fails on the first key not in `known`, suggesting the closest known key.
    pub(crate) fn check_keys(&self, known: &[&str]) -> Result<(), ConfigError> {
        for (key, _) in self.table.iter() {
            let name: &str = key.get_ref();
            if known.contains(&name) {
                continue;
            }
            let hint = match closest(name, known) {
                Some(best) => format!(" (did you mean '{best}'?)"),
                None => format!(" (known keys: {})", known.join(", ")),
            };
            return Err(self.doc.error_at(
                key.span(),
                &self.full_key(name),
                format!("unknown key '{name}' in {}{hint}", self.title),
            ));
        }
        Ok(())
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'d Spanned<DeValue<'i>>> {
        self.table.get(key)
    }

    pub(crate) fn line_of(&self, value: &Spanned<DeValue<'_>>) -> usize {
        self.doc.line_of(value.span().start)
    }

    pub(crate) fn wrong_type(
        &self,
        key: &str,
        value: &Spanned<DeValue<'_>>,
        want: &str,
    ) -> ConfigError {
        self.doc.error_at(
            value.span(),
            &self.full_key(key),
            format!("'{key}' must be {want}, not {}", type_name(value.get_ref())),
        )
    }

    pub(crate) fn invalid(
        &self,
        key: &str,
        line: usize,
        message: impl Into<String>,
    ) -> ConfigError {
        self.doc.error(line, &self.full_key(key), message)
    }

    pub(crate) fn missing(&self, key: &str, hint: &str) -> ConfigError {
        self.doc.error(
            self.line,
            &self.full_key(key),
            format!("missing key '{key}' in {} ({hint})", self.title),
        )
    }

    pub(crate) fn string(&self, key: &str) -> Result<Option<At<String>>, ConfigError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::String(text) => Ok(Some(At {
                value: text.to_string(),
                line: self.line_of(value),
            })),
            _ => Err(self.wrong_type(key, value, "a string in quotes")),
        }
    }

    pub(crate) fn required_string(&self, key: &str, hint: &str) -> Result<At<String>, ConfigError> {
        self.string(key)?.ok_or_else(|| self.missing(key, hint))
    }

    pub(crate) fn bool(&self, key: &str) -> Result<Option<At<bool>>, ConfigError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::Boolean(flag) => Ok(Some(At {
                value: *flag,
                line: self.line_of(value),
            })),
            _ => Err(self.wrong_type(key, value, "true or false")),
        }
    }

    /// A non-negative integer no larger than `max`.
    pub(crate) fn integer(&self, key: &str, max: u64) -> Result<Option<At<u64>>, ConfigError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let DeValue::Integer(int) = value.get_ref() else {
            return Err(self.wrong_type(key, value, "a whole number"));
        };
        let line = self.line_of(value);
        match u64::from_str_radix(int.as_str(), int.radix()) {
            Ok(number) if number <= max => Ok(Some(At {
                value: number,
                line,
            })),
            _ => Err(self.invalid(
                key,
                line,
                format!("'{key}' = {int} is out of range (use 0 to {max})"),
            )),
        }
    }

    /// The sub-table `key`, or None when absent; `title` names it in messages.
    pub(crate) fn table(
        &self,
        key: &str,
        title: &str,
    ) -> Result<Option<Table<'d, 'i>>, ConfigError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::Table(table) => Ok(Some(Table {
                doc: self.doc,
                table,
                title: title.to_string(),
                prefix: format!("{}{key}.", self.prefix),
                line: self.line_of(value),
            })),
            _ => Err(self.wrong_type(key, value, &format!("a table ({title})"))),
        }
    }
}

/// How messages name a TOML value's type.
pub(crate) fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The known key closest to `name` by edit distance, when it is close enough to be a typo.
fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, candidate)| {
            let extended = candidate.len() >= 4
                && (name.starts_with(*candidate) || candidate.starts_with(name));
            *distance <= 2.max(candidate.len() / 4) || extended
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_suggests_nearest_key() {
        assert_eq!(
            closest("adrs", &["name", "addrs", "witness"]),
            Some("addrs")
        );
        assert_eq!(closest("zzzzzz", &["name", "addrs"]), None);
    }

    #[test]
    fn lines_are_one_based() {
        let doc = Doc::new(Path::new("x"), "a\nbb\nc");
        assert_eq!(doc.line_of(0), 1);
        assert_eq!(doc.line_of(2), 2);
        assert_eq!(doc.line_of(5), 3);
    }
}
