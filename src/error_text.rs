//! How an error is said to a person where it becomes text (the window, a
//! message to it, a warning in a session): its message and every cause
//! after it, once each, as `anyhow` prints `{:#}` at the command line.
//! Library errors keep their causes as `#[source]`, so `to_string()` alone
//! would say only the top line ("cannot write x.csv", without the reason).
use std::error::Error;

/// `message: cause: cause…`
pub fn error_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let line = next.to_string();
        // A wrapper that repeats its cause's text adds nothing.
        if !text.ends_with(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        cause = next.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::write_atomic;

    #[test]
    fn a_failed_write_says_the_path_and_the_reason() {
        let dir = crate::files::scratch_dir("error-chain");
        std::fs::write(dir.join("blocker"), b"a file").expect("write");
        let error = write_atomic(&dir.join("blocker/x.csv"), b"x").expect_err("a file is no folder");
        assert_eq!(error.to_string(), format!("cannot write {}", dir.join("blocker/x.csv").display()));
        let text = error_chain(&error);
        assert!(text.starts_with(&format!("cannot write {}: ", dir.join("blocker/x.csv").display())), "{text}");
        assert!(text.contains("(os error"), "{text}");
        assert_eq!(text.matches("cannot write").count(), 1, "{text}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
