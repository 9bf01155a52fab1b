//! The session on screen, whichever mode fills it: the window's one copy,
//! built from a run's deltas and edited by the reviewer.
use super::events::{apply_review_edit, ReviewEdit};
use super::timeline::TimelineLines;
use crate::session::{Event, Session, SessionDelta};

#[derive(Default)]
pub struct Document {
    pub session: Option<Session>,
    /// Changes not saved yet (the title shows a dot).
    pub dirty: bool,
    pub selected_face: Option<u32>,
    /// Bumped whenever the session changes (the timeline recomputes its
    /// lines only then).
    pub revision: u64,
    pub timeline_lines: TimelineLines,
}

impl Document {
    pub fn set_session(&mut self, session: Option<Session>) {
        self.session = session;
        self.revision += 1;
    }

    /// A new session replaces what was shown, unsaved.
    pub fn clear(&mut self) {
        self.set_session(None);
        self.selected_face = None;
        self.dirty = false;
    }

    /// Brings the session up to date with a run's changes.
    pub fn apply_delta(&mut self, delta: SessionDelta) {
        let Some(session) = &mut self.session else { return };
        session.apply_delta(delta);
        if self.selected_face.is_none() {
            self.selected_face = session.face_ids().first().copied();
        }
        self.revision += 1;
    }

    /// Takes a whole session from a run (its reviews already applied).
    pub fn take_session(&mut self, incoming: Session) {
        if self.selected_face.is_none() {
            self.selected_face = incoming.face_ids().first().copied();
        }
        self.set_session(Some(incoming));
    }

    /// Applies the reviewer's edit; the event as edited when it changed.
    pub fn apply_edit(&mut self, edit: &ReviewEdit) -> Option<&Event> {
        let session = self.session.as_mut()?;
        if !apply_review_edit(session, edit) {
            return None;
        }
        self.dirty = true;
        self.revision += 1;
        session.events.iter().find(|e| e.id == edit.event_id())
    }
}
