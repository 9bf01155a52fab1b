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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use egui_kittest::kittest::Queryable;
    use egui_kittest::Harness;

    use super::*;
    use crate::pipeline::live_run::testing::{demo_clip, settings, start};
    use crate::pipeline::live_run::{open_paced_file, LiveSettings};
    use crate::pipeline::RunCommand;
    use crate::session::journal::replay;
    use crate::session::{ReviewStatus, Session};
    use crate::ui::live_panel::LiveView;
    use crate::ui::live_session::LiveEnded;
    use crate::ui::notices::Notices;

    struct State {
        doc: Document,
        mode: Mode,
        notices: Notices,
        ended: Option<LiveEnded>,
    }

    fn step_until(harness: &mut Harness<'_, State>, done: impl Fn(&State) -> bool, what: &str) {
        let started = Instant::now();
        while !done(harness.state()) {
            assert!(started.elapsed() < Duration::from_secs(60), "{what}");
            std::thread::sleep(Duration::from_millis(20));
            harness.step();
        }
    }

    /// The reviewer confirms an event in the event list while a live
    /// session runs: the window journals the verdict at once, and the
    /// session it saves at the end has it.
    #[test]
    fn a_review_in_the_event_list_during_a_live_session_is_journalled_and_saved() {
        let dir = crate::files::scratch_dir("ui-live-review");
        let settings = LiveSettings { record: false, ..settings(&dir, "reviewed") };
        let journal = settings.paths().journal;
        let run = start(open_paced_file(demo_clip()), settings);
        let state = State {
            doc: Document::default(),
            mode: Mode::Live(LiveView::new(Some(run), "demo".into())),
            notices: Notices::default(),
            ended: None,
        };
        let mut harness = Harness::builder().with_size(egui::vec2(1100.0, 400.0)).build_ui_state(
            |ui, state: &mut State| {
                let ctx = ui.ctx().clone();
                if let Mode::Live(live) = &mut state.mode {
                    if let Some(ended) = live.poll(&ctx, &mut state.doc, &mut state.notices) {
                        state.ended = Some(ended);
                    }
                }
                events_panel(ui, &mut state.doc, &mut state.mode);
            },
            state,
        );
        let first_event = |state: &State| state.doc.session.as_ref().and_then(|s| s.events.first()).map(|e| e.id);
        step_until(&mut harness, |state| first_event(state).is_some(), "no event was spotted");
        harness.step();
        let id = first_event(harness.state()).expect("an event");
        let status = |session: &Session| session.events.iter().find(|e| e.id == id).map(|e| e.review.status);
        harness.get_all_by_label("Confirm").next().expect("a Confirm button").click();
        harness.run();
        assert_eq!(harness.state().doc.session.as_ref().and_then(status), Some(ReviewStatus::Confirmed));
        // In the journal at once: the autosave writes a verdict as it comes.
        let started = Instant::now();
        while replay(&journal).ok().and_then(|r| status(&r.session)) != Some(ReviewStatus::Confirmed) {
            assert!(started.elapsed() < Duration::from_secs(5), "the verdict never reached the journal");
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Mode::Live(live) = &harness.state().mode {
            live.run.as_ref().expect("running").send(RunCommand::Stop);
        }
        step_until(&mut harness, |state| state.ended.is_some(), "the session never ended");
        let ended = harness.state_mut().ended.take().expect("ended");
        let saved = ended.saved.expect("a save").expect("saved");
        assert_eq!(status(&Session::load(&saved).expect("loads")), Some(ReviewStatus::Confirmed));
        assert!(!journal.exists(), "the journal goes once the session is saved");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
