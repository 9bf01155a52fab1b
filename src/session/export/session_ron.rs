//! `stem.session.ron`: the session in its native format, the same text
//! `Session::save_ron` writes.
use std::path::Path;

use super::ExportError;
use crate::session::model::Session;

pub(crate) fn ron_string(session: &Session, path: &Path) -> Result<String, ExportError> {
    session.to_ron_string().map_err(|e| ExportError::Serialize {
        path: path.to_path_buf(),
        format: "RON",
        source: Box::new(e),
    })
}
