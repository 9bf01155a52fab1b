//! The two panels under the video: the event list with its face picker,
//! and the timeline (with the transport bar when reviewing).
use eframe::egui::{self, RichText};

use super::app::Mode;
use super::document::Document;
use super::events::{event_list_ui, ReviewEdit};
use super::region_motion::region_motion_ui;
use super::timeline::{frame_at_time, timeline_ui};
use super::transport::transport_ui;
use crate::session::{ReviewStatus, Session};

/// Width of the selected event's details (region motion), points.
const REGION_DETAILS_WIDTH: f32 = 300.0;

/// Seconds of a live session the timeline shows (it scrolls).
const LIVE_TIMELINE_S: f64 = 60.0;

/// The event list with the face picker; review edits are recorded with the
/// run that is filling the session, if one is.
pub fn events_panel(ui: &mut egui::Ui, doc: &mut Document, mode: &mut Mode, sensitivity_now: f32) {
    ui.horizontal(|ui| {
        ui.heading("Events");
        let Some(session) = &doc.session else { return };
        ui.horizontal(|ui| {
            ui.label("Face:").on_hover_text("The face whose events the timeline shows");
            for id in session.face_ids() {
                ui.selectable_value(&mut doc.selected_face, Some(id), format!("{id}"))
                    .on_hover_text(format!("Show face {id}'s class and motion lines on the timeline"));
            }
        });
        if let Some(analysed) = analysed_sensitivity(session) {
            sensitivity_ui(ui, analysed, sensitivity_now);
        }
    });
    let playhead = match mode {
        Mode::Review(review) => review.playhead.frame,
        Mode::Live(_) => 0,
    };
    let Some(session) = &doc.session else {
        ui.label("No session yet.");
        return;
    };
    not_spotted_ui(ui, session);
    let selected = session.events.iter().find(|e| (e.onset_frame..=e.offset_frame).contains(&playhead)).map(|e| e.id);
    if !session.events.is_empty() {
        // The selected event's details beside the list.
        egui::Panel::right("event-details").resizable(false).exact_size(REGION_DETAILS_WIDTH).show(ui, |ui| {
            let event = selected.and_then(|id| session.events.iter().find(|e| e.id == id));
            egui::ScrollArea::vertical().id_salt("event-details-scroll").show(ui, |ui| region_motion_ui(ui, session, event));
        });
    }
    let mut output = event_list_ui(ui, session, selected);
    // C and R confirm and reject the event under the playhead (pressed
    // again, they take the verdict back, as the buttons do).
    if let Some(event_id) = selected.filter(|_| !ui.ctx().egui_wants_keyboard_input()) {
        let (confirm, reject) = ui.input(|i| (i.key_pressed(egui::Key::C), i.key_pressed(egui::Key::R)));
        let status = if confirm {
            Some(ReviewStatus::Confirmed)
        } else if reject {
            Some(ReviewStatus::Rejected)
        } else {
            None
        };
        if let Some(status) = status {
            output.edits.push(ReviewEdit::Toggle { event_id, status });
        }
    }
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

/// The spotting sensitivity a session was analysed at: recorded since
/// 2026-11-28, else worked out from its threshold.
pub fn analysed_sensitivity(session: &Session) -> Option<f32> {
    let setting = |key: &str| session.settings.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.parse::<f32>().ok());
    setting("sensitivity").or_else(|| setting("threshold_sigmas").map(crate::pipeline::sensitivity_of))
}

/// "sensitivity 0.50", and what to do when the settings now say otherwise.
fn sensitivity_ui(ui: &mut egui::Ui, analysed: f32, now: f32) {
    ui.separator();
    let text = format!("analysed at sensitivity {analysed:.2}");
    if (analysed - now).abs() < 0.005 {
        ui.weak(text).on_hover_text("The spotting sensitivity these events were found at (Settings)");
    } else {
        ui.label(RichText::new(format!("{text} (settings: {now:.2})")).color(ui.visuals().warn_fg_color))
            .on_hover_text("The settings' sensitivity differs: Settings > Re-analyse with these settings applies it");
    }
}

/// Verdicts of an earlier analysis that no event of this one matches:
/// listed, so the reviewer sees they were kept (they are saved with the session).
fn not_spotted_ui(ui: &mut egui::Ui, session: &Session) {
    if session.reviewed_not_spotted.is_empty() {
        return;
    }
    egui::CollapsingHeader::new(format!("Reviewed, no longer spotted ({})", session.reviewed_not_spotted.len()))
        .id_salt("reviewed-not-spotted")
        .show(ui, |ui| {
            for event in &session.reviewed_not_spotted {
                let class = session.class_names.get(event.final_class()).map_or("?", String::as_str);
                let status = match event.review.status {
                    ReviewStatus::Candidate => "not judged",
                    ReviewStatus::Confirmed => "confirmed",
                    ReviewStatus::Rejected => "rejected",
                };
                let note = if event.review.note.is_empty() { String::new() } else { format!(", \"{}\"", event.review.note) };
                ui.label(format!(
                    "face {}, {:.2}-{:.2} s (frames {}-{}), {status}, {class}{note}",
                    event.face_id, event.onset_s, event.offset_s, event.onset_frame, event.offset_frame
                ));
            }
        })
        .header_response
        .on_hover_text(
            "Verdicts from an earlier analysis of this video that no event of this one matches \
             (same face, overlapping interval). They stay in the session file.",
        );
}

/// The timeline, under the transport bar when reviewing; scrolling when
/// live. Returns the plot's own rectangle (without the transport bar),
/// which the timeline PNG shows.
pub fn timeline_panel(ui: &mut egui::Ui, doc: &mut Document, mode: &mut Mode) -> Option<egui::Rect> {
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
    let session = doc.session.as_ref()?;
    let plot = ui.scope(|ui| {
        timeline_ui(ui, session, doc.revision, &mut doc.timeline_lines, doc.selected_face, playhead_s, view)
    });
    if let (Some(t), Mode::Review(review)) = (plot.inner, mode) {
        let (fps, count) = (review.fps(Some(session)), review.frame_count(Some(session)));
        review.jump(Some(session), frame_at_time(t, fps, count));
    }
    Some(plot.response.rect)
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
        let _heavy = crate::pipeline::live_run::testing::one_heavy_test_at_a_time();
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
                events_panel(ui, &mut state.doc, &mut state.mode, 0.5);
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

    /// The review keys: N/P (PageDown/PageUp) go from event to event, C and
    /// R confirm and reject the event under the playhead, Home/End go to
    /// the ends.
    #[test]
    fn keys_move_between_events_and_give_verdicts() {
        use crate::session::{Event, SourceMeta};
        use crate::ui::review::{Playhead, ReviewMode};
        let event = |id: u32, onset_frame: u64| Event {
            id,
            onset_frame,
            apex_frame: onset_frame + 3,
            offset_frame: onset_frame + 8,
            probabilities: vec![0.2, 0.3, 0.5],
            ..Event::default()
        };
        let session = Session {
            source: SourceMeta { measured_fps: 30.0, frame_count: 300, ..SourceMeta::default() },
            class_names: vec!["negative".into(), "positive".into(), "surprise".into()],
            events: vec![event(0, 40), event(1, 120)],
            complete: true,
            ..Session::default()
        };
        let mut doc = Document::default();
        doc.set_session(Some(session));
        let review = ReviewMode { video: None, playhead: Playhead::default(), analysis: None, progress: None };
        let state = State { doc, mode: Mode::Review(review), notices: Notices::default(), ended: None };
        let mut harness = Harness::builder().with_size(egui::vec2(1100.0, 300.0)).build_ui_state(
            |ui, state: &mut State| {
                let ctx = ui.ctx().clone();
                if let Mode::Review(review) = &mut state.mode {
                    review.handle_keys(&ctx, state.doc.session.as_ref());
                }
                events_panel(ui, &mut state.doc, &mut state.mode, 0.5);
            },
            state,
        );
        let frame = |h: &Harness<'_, State>| match &h.state().mode {
            Mode::Review(review) => review.playhead.frame,
            Mode::Live(_) => unreachable!(),
        };
        let status =
            |h: &Harness<'_, State>, i: usize| h.state().doc.session.as_ref().map(|s| s.events[i].review.status);
        let press = |h: &mut Harness<'_, State>, key| {
            h.key_press(key);
            h.run();
        };
        press(&mut harness, egui::Key::N);
        assert_eq!(frame(&harness), 40);
        press(&mut harness, egui::Key::C);
        assert_eq!(status(&harness, 0), Some(ReviewStatus::Confirmed));
        press(&mut harness, egui::Key::PageDown);
        assert_eq!(frame(&harness), 120);
        press(&mut harness, egui::Key::R);
        assert_eq!(status(&harness, 1), Some(ReviewStatus::Rejected));
        assert_eq!(status(&harness, 0), Some(ReviewStatus::Confirmed), "only the event under the playhead");
        press(&mut harness, egui::Key::P);
        assert_eq!(frame(&harness), 40);
        press(&mut harness, egui::Key::End);
        assert_eq!(frame(&harness), 299);
        press(&mut harness, egui::Key::Home);
        assert_eq!(frame(&harness), 0);
        assert!(harness.state().doc.dirty, "verdicts are unsaved work");
    }

    /// The event list says what sensitivity its session was analysed at,
    /// and when the settings now differ.
    #[test]
    fn the_sensitivity_a_session_was_analysed_at_is_shown_with_it() {
        use crate::ui::review::ReviewMode;
        let run = |settings: Vec<(String, String)>, now: f32| {
            let mut doc = Document::default();
            doc.set_session(Some(Session { settings, complete: true, ..Session::default() }));
            let state = State { doc, mode: Mode::Review(ReviewMode::default()), notices: Notices::default(), ended: None };
            let mut harness = Harness::builder().with_size(egui::vec2(1100.0, 300.0)).build_ui_state(
                move |ui, state: &mut State| events_panel(ui, &mut state.doc, &mut state.mode, now),
                state,
            );
            harness.run();
            harness
        };
        let recorded = vec![("sensitivity".to_string(), "0.70".to_string())];
        run(recorded.clone(), 0.7).get_by_label("analysed at sensitivity 0.70");
        run(recorded, 0.5).get_by_label("analysed at sensitivity 0.70 (settings: 0.50)");
        // A session from before the sensitivity was recorded: from its threshold (12 × (1 − 0.7)).
        run(vec![("threshold_sigmas".to_string(), "3.6000001".to_string())], 0.5)
            .get_by_label("analysed at sensitivity 0.70 (settings: 0.50)");
        assert_eq!(crate::pipeline::sensitivity_of(6.0), 0.5, "the default threshold is sensitivity 0.5");
    }

    /// The timeline PNG shows the plot alone: the rectangle the panel
    /// returns lies below the transport bar, none of whose controls it holds.
    #[test]
    fn the_timeline_plot_rect_leaves_out_the_playback_controls() {
        use crate::session::{FrameRecord, SourceMeta};
        use crate::ui::review::{Playhead, ReviewMode};
        let session = Session {
            source: SourceMeta { measured_fps: 30.0, frame_count: 90, duration_s: 3.0, ..SourceMeta::default() },
            class_names: vec!["negative".into(), "positive".into(), "surprise".into()],
            frames: (0..90)
                .map(|index| FrameRecord { index, timestamp_s: index as f64 / 30.0, faces: vec![] })
                .collect(),
            complete: true,
            ..Session::default()
        };
        let mut doc = Document::default();
        doc.set_session(Some(session));
        let review = ReviewMode { video: None, playhead: Playhead::default(), analysis: None, progress: None };
        let state = (State { doc, mode: Mode::Review(review), notices: Notices::default(), ended: None }, None);
        // The transport's speed combo and seek slider have no accessible
        // names yet (not this test's concern).
        let mut harness =
            Harness::builder().with_size(egui::vec2(900.0, 260.0)).with_accessibility_check(false).build_ui_state(
                |ui, (state, plot): &mut (State, Option<egui::Rect>)| {
                    *plot = timeline_panel(ui, &mut state.doc, &mut state.mode);
                },
                state,
            );
        harness.run();
        let plot = harness.state().1.expect("a plot rect");
        let panel = harness.ctx.content_rect();
        assert!(plot.height() > 100.0 && plot.height() < panel.height() - 20.0, "plot {plot:?} in {panel:?}");
        for control in ["Play", "< frame", "frame >", "|< event", "event >|"] {
            let rect = harness.get_by_label(control).rect();
            assert!(!plot.intersects(rect) && rect.bottom() <= plot.top(), "{control} at {rect:?}, plot {plot:?}");
        }
    }
}
