//! The module-doc rule: a Rust file's first non-blank line is a `//!` comment.

/// Returns why the file lacks a module doc, or `None` when it has one.
pub(crate) fn missing_module_doc(text: &str) -> Option<&'static str> {
    let first = text.lines().map(str::trim).find(|line| !line.is_empty());
    match first {
        Some(line) if line.starts_with("//!") => None,
        Some(_) => Some("the first line is not a `//!` module doc (say what this module is)"),
        None => Some("the file is empty (delete it or give it a `//!` module doc)"),
    }
}

#[cfg(test)]
mod tests {
    use super::missing_module_doc;

    #[test]
    fn accepts_a_leading_module_doc() {
        assert_eq!(
            missing_module_doc("\n//! Parses things.\nfn f() {}\n"),
            None
        );
    }

    #[test]
    fn rejects_code_or_plain_comments_first() {
        assert!(missing_module_doc("use std::fs;\n//! late\n").is_some());
        assert!(missing_module_doc("// a plain comment\n").is_some());
        assert!(missing_module_doc("   \n").is_some());
    }
}
