//! `stem.session.json`: the whole session, pretty-printed, for tools that
//! read JSON but not RON. `Session::load` reads it back.
use std::path::Path;

use super::ExportError;
use crate::session::model::Session;

pub(crate) fn json_string(session: &Session, path: &Path) -> Result<String, ExportError> {
    let mut text = serde_json::to_string_pretty(session).map_err(|e| ExportError::Serialize {
        path: path.to_path_buf(),
        format: "JSON",
        source: Box::new(e),
    })?;
    text.push('\n');
    Ok(text)
}
