//! Review verdicts carried from one analysis of a source to another: a
//! re-analysis with other settings, or edits autosaved before a crash
//! brought back onto the session they were made on. A verdict goes to the
//! event of the same face whose interval overlaps it most; one that finds
//! no such event is kept in `Session::reviewed_not_spotted`, never lost.
use super::model::{Event, Review, Session};

/// Which verdict stays when an event that already has one is matched by a
/// different one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precedence {
    /// The session's own (given while a re-analysis ran: newer than the
    /// ones it replaces).
    Existing,
    /// The incoming (autosaved edits: newer than the saved file).
    Incoming,
}

/// What `carry_reviews` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Carried {
    /// Verdicts now on an event of the session.
    pub onto_events: usize,
    /// Verdicts kept in the "reviewed, no longer spotted" list.
    pub not_spotted: usize,
}

impl Carried {
    pub fn total(&self) -> usize {
        self.onto_events + self.not_spotted
    }
}

/// Whether the reviewer did anything to `event`.
pub fn is_reviewed(event: &Event) -> bool {
    event.review != Review::default()
}

/// The session's reviewed events and its "no longer spotted" list: what a
/// re-analysis or an autosave must carry.
pub fn reviewed_events(session: &Session) -> Vec<Event> {
    session.events.iter().filter(|e| is_reviewed(e)).chain(&session.reviewed_not_spotted).cloned().collect()
}

/// Frames two intervals share over the frames they span together
/// (inclusive ends), 0 when they do not overlap.
fn interval_iou(a: &Event, b: &Event) -> f64 {
    let shared = a.offset_frame.min(b.offset_frame) as i64 - a.onset_frame.max(b.onset_frame) as i64 + 1;
    if shared <= 0 {
        return 0.0;
    }
    let spanned = a.offset_frame.max(b.offset_frame) - a.onset_frame.min(b.onset_frame) + 1;
    shared as f64 / spanned as f64
}

/// Moves the verdicts of `reviewed` onto `session`'s events: same face,
/// overlapping interval, the best-overlapping pairs first, one verdict an
/// event. The rest, and the losers of `precedence`, join
/// `session.reviewed_not_spotted` (a verdict equal to the event's own is
/// simply matched).
pub fn carry_reviews(reviewed: Vec<Event>, session: &mut Session, precedence: Precedence) -> Carried {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, old) in reviewed.iter().enumerate() {
        for (j, new) in session.events.iter().enumerate() {
            let iou = interval_iou(old, new);
            if old.face_id == new.face_id && iou > 0.0 {
                pairs.push((iou, i, j));
            }
        }
    }
    // Best overlap first; ties by position, so the result is the same every time.
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut placed = vec![false; reviewed.len()];
    let mut taken = vec![false; session.events.len()];
    let mut carried = Carried::default();
    for (_, i, j) in pairs {
        if placed[i] || taken[j] {
            continue;
        }
        let (old, new) = (&reviewed[i], &mut session.events[j]);
        let keeps_its_own = is_reviewed(new) && new.review != old.review && precedence == Precedence::Existing;
        if keeps_its_own {
            continue;
        }
        new.review = old.review.clone();
        placed[i] = true;
        taken[j] = true;
        carried.onto_events += 1;
    }
    for (old, placed) in reviewed.into_iter().zip(placed) {
        if !placed && !session.reviewed_not_spotted.contains(&old) {
            session.reviewed_not_spotted.push(old);
            carried.not_spotted += 1;
        }
    }
    session.reviewed_not_spotted.sort_by_key(|e| (e.onset_frame, e.face_id, e.id));
    carried
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::ReviewStatus;

    fn event(id: u32, face_id: u32, onset_frame: u64, offset_frame: u64) -> Event {
        Event { id, face_id, onset_frame, apex_frame: (onset_frame + offset_frame) / 2, offset_frame, ..Event::default() }
    }

    fn reviewed(mut event: Event, status: ReviewStatus, note: &str) -> Event {
        event.review = Review { status, relabelled_class: None, note: note.into() };
        event
    }

    fn session(events: Vec<Event>) -> Session {
        Session { events, ..Session::default() }
    }

    #[test]
    fn a_verdict_follows_its_event_to_the_overlapping_one_of_the_same_face() {
        let earlier = vec![
            reviewed(event(1, 1, 100, 112), ReviewStatus::Confirmed, "brow flash"),
            reviewed(event(2, 1, 300, 310), ReviewStatus::Rejected, ""),
        ];
        // The re-analysis shifted the first event by 3 frames and numbered
        // everything anew; face 2 has an event at the same frames as the second.
        let mut new = session(vec![event(1, 2, 300, 310), event(2, 1, 103, 115), event(3, 1, 302, 309)]);
        let carried = carry_reviews(earlier, &mut new, Precedence::Existing);
        assert_eq!(carried, Carried { onto_events: 2, not_spotted: 0 });
        assert_eq!(new.events[0].review, Review::default(), "another face's event took a verdict");
        assert_eq!(new.events[1].review.status, ReviewStatus::Confirmed);
        assert_eq!(new.events[1].review.note, "brow flash");
        assert_eq!(new.events[2].review.status, ReviewStatus::Rejected);
        assert!(new.reviewed_not_spotted.is_empty());
    }

    #[test]
    fn a_verdict_with_no_match_is_kept_as_no_longer_spotted() {
        let earlier = vec![reviewed(event(4, 1, 500, 508), ReviewStatus::Confirmed, "lip press")];
        // The new event touches frame 509 only after the old one ended.
        let mut new = session(vec![event(1, 1, 509, 520)]);
        let carried = carry_reviews(earlier.clone(), &mut new, Precedence::Existing);
        assert_eq!(carried, Carried { onto_events: 0, not_spotted: 1 });
        assert_eq!(new.reviewed_not_spotted, earlier);
        assert_eq!(new.events[0].review, Review::default());
    }

    #[test]
    fn two_verdicts_never_land_on_one_event() {
        // Two earlier events inside one longer new event: the better overlap wins it.
        let earlier = vec![
            reviewed(event(1, 1, 100, 104), ReviewStatus::Confirmed, "a"),
            reviewed(event(2, 1, 106, 118), ReviewStatus::Rejected, "b"),
        ];
        let mut new = session(vec![event(1, 1, 100, 118)]);
        let carried = carry_reviews(earlier, &mut new, Precedence::Existing);
        assert_eq!(carried, Carried { onto_events: 1, not_spotted: 1 });
        assert_eq!(new.events[0].review.note, "b", "13 of 19 frames beat 5 of 19");
        assert_eq!(new.reviewed_not_spotted[0].review.note, "a");
    }

    #[test]
    fn precedence_decides_between_two_different_verdicts() {
        let incoming = vec![reviewed(event(1, 1, 10, 20), ReviewStatus::Rejected, "autosaved")];
        let own = reviewed(event(1, 1, 10, 20), ReviewStatus::Confirmed, "in the file");

        let mut kept = session(vec![own.clone()]);
        let carried = carry_reviews(incoming.clone(), &mut kept, Precedence::Existing);
        assert_eq!(kept.events[0].review.note, "in the file");
        assert_eq!(carried.not_spotted, 1, "the other verdict is kept, not dropped");

        let mut replaced = session(vec![own.clone()]);
        let carried = carry_reviews(incoming, &mut replaced, Precedence::Incoming);
        assert_eq!(replaced.events[0].review.note, "autosaved");
        assert_eq!(carried, Carried { onto_events: 1, not_spotted: 0 });

        // The same verdict again (an autosave of edits already saved) is just a match.
        let mut same = session(vec![own.clone()]);
        let carried = carry_reviews(vec![own], &mut same, Precedence::Existing);
        assert_eq!(carried, Carried { onto_events: 1, not_spotted: 0 });
    }

    #[test]
    fn the_no_longer_spotted_list_is_carried_again_and_not_duplicated() {
        let orphan = reviewed(event(9, 1, 700, 710), ReviewStatus::Confirmed, "kept");
        let mut first = session(vec![]);
        carry_reviews(vec![orphan.clone()], &mut first, Precedence::Existing);
        // Re-analysing again at a higher sensitivity finds it once more.
        let mut second = session(vec![event(1, 1, 701, 712)]);
        let carried = carry_reviews(reviewed_events(&first), &mut second, Precedence::Existing);
        assert_eq!(carried, Carried { onto_events: 1, not_spotted: 0 });
        assert_eq!(second.events[0].review.note, "kept");
        // Carrying the same list into a session that already holds it adds nothing.
        let mut third = session(vec![]);
        carry_reviews(vec![orphan.clone()], &mut third, Precedence::Existing);
        carry_reviews(vec![orphan], &mut third, Precedence::Existing);
        assert_eq!(third.reviewed_not_spotted.len(), 1);
    }
}
