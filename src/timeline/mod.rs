//! The session: everything one analysis produced (source, faces, per-frame
//! tracks, events with their review status), saved as RON and reloadable,
//! and its exports.
pub mod delta;
pub mod export;
pub mod io;
pub mod journal;
pub mod session;

pub use delta::{DeltaTracker, SessionDelta};
pub use io::SessionError;
pub use session::*;

#[cfg(test)]
mod tests;
