//! The session: everything one analysis produced (source, faces, per-frame
//! tracks, events with their review status), saved as RON and reloadable,
//! and its exports.
pub mod carry;
pub mod deidentify;
pub mod delta;
pub mod export;
pub mod journal;
pub mod model;
pub mod persist;

pub use delta::{DeltaTracker, SessionDelta};
pub use model::*;
pub use persist::SessionError;

#[cfg(test)]
mod tests;
