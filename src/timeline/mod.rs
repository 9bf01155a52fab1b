//! The session: everything one analysis produced (source, faces, per-frame
//! tracks, events with their review status), saved as RON and reloadable,
//! and its exports.
pub mod export;
pub mod io;
pub mod session;

pub use io::SessionError;
pub use session::*;

#[cfg(test)]
mod tests;
