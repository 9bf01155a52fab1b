//! The two panels under the video: the event list with its face picker,
//! and the timeline (with the transport bar when reviewing).
use eframe::egui;

use super::app::Mode;
use super::document::Document;
use super::events::event_list_ui;
use super::timeline::{frame_at_time, timeline_ui};
use super::transport::transport_ui;

/// Seconds of a live session the timeline shows (it scrolls).
const LIVE_TIMELINE_S: f64 = 60.0;

/// The event list with the face picker; review edits are recorded with the
/// run that is filling the session, if one is.
pub fn events_panel(ui: &mut egui::Ui, doc: &mut Document, mode: &mut Mode) {
    ui.horizontal(|ui| {
        ui.heading("Events");
        let Some(session) = &doc.session else { return };
        ui.horizontal(|ui| {
            ui.label("Face:");
            for id in session.face_ids() {
                ui.selectable_value(&mut doc.selected_face, Some(id), format!("{id}"));
            }
        });
    });
    let playhead = match mode {
        Mode::Review(review) => review.playhead.frame,
        Mode::Live(_) => 0,
    };
    let Some(session) = &doc.session else {
        ui.label("No session yet.");
        return;
    };
    let selected = session.events.iter().find(|e| (e.onset_frame..=e.offset_frame).contains(&playhead)).map(|e| e.id);
    let output = event_list_ui(ui, session, selected);
    for edit in &output.edits {
        let Some(event) = doc.apply_edit(edit) else { continue };
        // The verdict belongs to this window; the run's journal and
        // the session it ends with get it from here.
        let reviews = match mode {
            Mode::Live(live) => Some(&mut live.reviews),
            Mode::Review(review) => review.analysis.as_mut().map(|a| &mut a.reviews),
        };
        if let Some(reviews) = reviews {
            reviews.record(event.id, event.review.clone());
        }
    }
    if let (Some(frame), Mode::Review(review)) = (output.seek_to, mode) {
        review.jump(doc.session.as_ref(), frame);
    }
}

/// The timeline, under the transport bar when reviewing; scrolling when live.
pub fn timeline_panel(ui: &mut egui::Ui, doc: &mut Document, mode: &mut Mode) {
    let session = doc.session.as_ref();
    let (playhead_s, view) = match mode {
        Mode::Live(_) => {
            // The live timeline scrolls: the last minute, playhead at now.
            let now = session.and_then(|s| s.frames.last()).map_or(0.0, |f| f.timestamp_s);
            (now, ((now - LIVE_TIMELINE_S).max(0.0), now.max(LIVE_TIMELINE_S)))
        }
        Mode::Review(review) => {
            transport_ui(ui, review, session);
            (review.time_of_frame(session, review.playhead.frame), (0.0, review.duration_s(session)))
        }
    };
    let Some(session) = &doc.session else { return };
    let clicked = timeline_ui(ui, session, doc.revision, &mut doc.timeline_lines, doc.selected_face, playhead_s, view);
    if let (Some(t), Mode::Review(review)) = (clicked, mode) {
        let (fps, count) = (review.fps(Some(session)), review.frame_count(Some(session)));
        review.jump(Some(session), frame_at_time(t, fps, count));
    }
}
