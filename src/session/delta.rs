//! What changed in a growing session since the last look: the worker that
//! owns a session sends these instead of the whole session, so the cost of
//! keeping the UI (and the live autosave) up to date does not grow with the
//! length of the recording.
use serde::{Deserialize, Serialize};

use super::model::{Event, FaceSummary, FrameRecord, Review, Session, SourceMeta};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionDelta {
    /// Frames added or changed, in index order; every stored frame from the
    /// first of these on is replaced (the analyzer fills in a frame's motion
    /// score up to a second after the frame itself).
    pub frames: Vec<FrameRecord>,
    /// Events added or changed, matched by id.
    pub events: Vec<Event>,
    /// The face summaries, whole (a handful).
    pub faces: Vec<FaceSummary>,
    pub source: SourceMeta,
    pub warnings: Vec<String>,
}

impl SessionDelta {
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty() && self.events.is_empty()
    }
}

impl Session {
    /// Brings this copy up to date with a delta taken from the original.
    pub fn apply_delta(&mut self, delta: SessionDelta) {
        splice_frames(&mut self.frames, delta.frames);
        upsert_events(&mut self.events, delta.events);
        self.faces = delta.faces;
        self.source = delta.source;
        self.warnings = delta.warnings;
    }

    /// Sets an event's review as the reviewer left it; `false` if there is
    /// no such event.
    pub fn apply_review(&mut self, event_id: u32, review: Review) -> bool {
        match self.events.iter_mut().find(|e| e.id == event_id) {
            Some(event) => {
                event.review = review;
                true
            }
            None => false,
        }
    }
}

impl SessionDelta {
    /// Folds a later delta into this one, so that applying the result
    /// equals applying both in turn.
    pub fn merge(&mut self, later: SessionDelta) {
        splice_frames(&mut self.frames, later.frames);
        upsert_events(&mut self.events, later.events);
        self.faces = later.faces;
        self.source = later.source;
        self.warnings = later.warnings;
    }
}

/// Replaces every frame from the first incoming one on.
fn splice_frames(frames: &mut Vec<FrameRecord>, incoming: Vec<FrameRecord>) {
    if let Some(first) = incoming.first() {
        let keep = frames.partition_point(|f| f.index < first.index);
        frames.truncate(keep);
        frames.extend(incoming);
    }
}

fn upsert_events(events: &mut Vec<Event>, incoming: Vec<Event>) {
    for event in incoming {
        match events.iter_mut().find(|e| e.id == event.id) {
            Some(existing) => *existing = event,
            None => events.push(event),
        }
    }
}

/// Tracks which part of a session changed since the last delta was taken.
#[derive(Clone, Debug, Default)]
pub struct DeltaTracker {
    /// Position (in `Session::frames`) of the first frame changed since.
    frames_from: usize,
    events_sent: usize,
}

impl DeltaTracker {
    /// Frame at `position` changed (or was added).
    pub fn frame_changed(&mut self, position: usize) {
        self.frames_from = self.frames_from.min(position);
    }

    /// Everything changed since the last call; the session is not touched.
    pub fn take(&mut self, session: &Session) -> SessionDelta {
        let from = self.frames_from.min(session.frames.len());
        let events_from = self.events_sent.min(session.events.len());
        self.frames_from = session.frames.len();
        self.events_sent = session.events.len();
        SessionDelta {
            frames: session.frames[from..].to_vec(),
            events: session.events[events_from..].to_vec(),
            faces: session.faces.clone(),
            source: session.source.clone(),
            warnings: session.warnings.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(index: u64, motion: Option<f32>) -> FrameRecord {
        FrameRecord {
            index,
            timestamp_s: index as f64 / 30.0,
            faces: vec![super::super::FaceFrame { face_id: 1, motion, ..Default::default() }],
        }
    }

    #[test]
    fn a_copy_kept_up_to_date_by_deltas_equals_the_original() {
        let mut original = Session::default();
        let mut copy = Session::default();
        // A second copy gets the same deltas merged three at a time (as
        // the autosave writes them).
        let (mut merged_copy, mut pending, mut merged) = (Session::default(), SessionDelta::default(), 0);
        let mut tracker = DeltaTracker::default();
        for index in 0..80u64 {
            original.frames.push(frame(index, None));
            tracker.frame_changed(original.frames.len() - 1);
            // The motion score of the frame 18 back is known only now.
            if index >= 18 {
                let back = (index - 18) as usize;
                original.frames[back].faces[0].motion = Some(index as f32);
                tracker.frame_changed(back);
            }
            if index % 20 == 19 {
                original.events.push(Event { id: index as u32, onset_frame: index - 5, ..Event::default() });
            }
            original.source.frame_count = index + 1;
            if index % 7 == 0 {
                let delta = tracker.take(&original);
                // Only what changed travels: never more than the 18-frame
                // back-fill plus the frames since the last delta.
                assert!(delta.frames.len() <= 18 + 7, "{} frames sent", delta.frames.len());
                copy.apply_delta(delta.clone());
                pending.merge(delta);
                merged += 1;
                if merged % 3 == 0 {
                    merged_copy.apply_delta(std::mem::take(&mut pending));
                }
            }
        }
        let last = tracker.take(&original);
        copy.apply_delta(last.clone());
        pending.merge(last);
        merged_copy.apply_delta(pending);
        assert_eq!(copy, original);
        assert_eq!(merged_copy, original);
        // Nothing changed: nothing is sent.
        assert!(tracker.take(&original).is_empty());
    }
}
