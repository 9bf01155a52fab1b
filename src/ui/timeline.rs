//! The timeline: the selected face's per-frame class probabilities over
//! time (one line per class, in the class colours), spotted events as
//! shaded intervals, and the playhead. Clicking or dragging on it seeks.
use eframe::egui::{self, Color32};
use egui_plot::{Corner, Legend, Line, Plot, PlotPoints, Span, VLine};

use super::colours::class_colour;
use crate::session::{FrameRecord, ReviewStatus, Session};

/// Probabilities are plotted at most this often: the track is computed at
/// ~10 Hz, and more points only cost drawing time.
const SAMPLE_EVERY_S: f64 = 0.1;

/// The frame shown at time `t_s` of a video of `frame_count` frames at
/// `fps`: the frame whose period contains `t_s`, clamped into the video.
pub fn frame_at_time(t_s: f64, fps: f64, frame_count: u64) -> u64 {
    if frame_count == 0 || fps.is_nan() || fps <= 0.0 || !t_s.is_finite() || t_s <= 0.0 {
        return 0;
    }
    // A hair of tolerance so that a click exactly on a frame's start
    // (k / fps, inexact in binary) lands on that frame, not the one before.
    let index = (t_s * fps + 1e-6).floor();
    (index as u64).min(frame_count - 1)
}

/// One face's class track: per class, (time, probability) points thinned to
/// about `SAMPLE_EVERY_S` apart, and the runs of them where the face moves.
/// At rest the probabilities read noise (the flow holds nothing to
/// classify), so the timeline draws them faint and the moving runs bold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClassTrack {
    pub all: Vec<Vec<[f64; 2]>>,
    /// Per class, the runs where the face moved (each with one point of
    /// rest on either side, so a short move still draws as a line).
    pub moving: Vec<Vec<Vec<[f64; 2]>>>,
}

/// The track of `face_id` over the session's frames at `positions`.
pub fn class_track(session: &Session, positions: std::ops::Range<usize>, face_id: u32) -> ClassTrack {
    let classes = session.class_names.len();
    let mut all = vec![Vec::new(); classes];
    let frames = session.frames.get(positions.clone()).unwrap_or_default();
    // Sessions from before the flag was recorded have none: drawn bold
    // throughout, as they were. Otherwise a frame not known to move
    // (the baseline still building) is drawn at rest.
    let flagged = frames.iter().flat_map(|f| &f.faces).any(|f| f.face_id == face_id && f.moving.is_some());
    // Whether each kept sample stands for a moving stretch (any frame since
    // the sample before moved).
    let mut sample_moving = Vec::new();
    let mut moved_since_last = false;
    let mut last_t = f64::NEG_INFINITY;
    let moving = session.moving_track(face_id, positions);
    for (record, moving) in frames.iter().zip(moving) {
        let Some(face) = record.faces.iter().find(|f| f.face_id == face_id) else { continue };
        moved_since_last |= moving.unwrap_or(!flagged);
        let Some(probabilities) = face.probabilities.as_ref() else { continue };
        if record.timestamp_s - last_t < SAMPLE_EVERY_S * 0.95 {
            continue;
        }
        last_t = record.timestamp_s;
        for (class, points) in all.iter_mut().enumerate() {
            points.push([record.timestamp_s, f64::from(probabilities.get(class).copied().unwrap_or(f32::NAN))]);
        }
        sample_moving.push(moved_since_last);
        moved_since_last = false;
    }
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, _) in sample_moving.iter().enumerate().filter(|(_, moving)| **moving) {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == i => *end = i,
            _ => runs.push((i, i)),
        }
    }
    let last = sample_moving.len().saturating_sub(1);
    let moving = all
        .iter()
        .map(|points| runs.iter().map(|&(first, end)| points[first.saturating_sub(1)..=(end + 1).min(last)].to_vec()).collect())
        .collect();
    ClassTrack { all, moving }
}

/// The motion percentile drawn at the top of the plot.
const SCALE_PERCENTILE: f64 = 0.98;

/// The face's facial-motion score over time, scaled to 0..1. At rest the class track reads noise; this line shows the reviewer
/// where the face actually moved.
pub fn motion_series(frames: &[FrameRecord], face_id: u32) -> Vec<[f64; 2]> {
    let points: Vec<[f64; 2]> = frames
        .iter()
        .filter_map(|record| {
            let motion = record.faces.iter().find(|f| f.face_id == face_id)?.motion?;
            motion.is_finite().then_some([record.timestamp_s, f64::from(motion)])
        })
        .collect();
    // Scaled by a high percentile, not the maximum, so one blink or head
    // turn does not flatten everything else; what exceeds it is clipped.
    let mut values: Vec<f64> = points.iter().map(|p| p[1]).collect();
    values.sort_by(f64::total_cmp);
    let scale = values.get(((values.len().saturating_sub(1)) as f64 * SCALE_PERCENTILE).round() as usize).copied();
    match scale {
        Some(scale) if scale > 0.0 => points.into_iter().map(|[t, m]| [t, (m / scale).min(1.0)]).collect(),
        _ => Vec::new(),
    }
}

/// The lines of the timeline, kept between UI frames: recomputing them
/// walks every frame in view, which for an hour of video is too much to do
/// sixty times a second.
#[derive(Default)]
pub struct TimelineLines {
    key: Option<(u64, Option<u32>, u64, u64)>,
    track: ClassTrack,
    motion: Vec<[f64; 2]>,
}

impl TimelineLines {
    /// The lines for `face_id` over `view` (seconds); recomputed only when
    /// the session `revision`, the face or the view changed.
    fn update(&mut self, session: &Session, revision: u64, face_id: Option<u32>, view: (f64, f64)) {
        let key = Some((revision, face_id, view.0.to_bits(), view.1.to_bits()));
        if self.key == key {
            return;
        }
        self.key = key;
        let first = session.frames.partition_point(|f| f.timestamp_s < view.0);
        let last = session.frames.partition_point(|f| f.timestamp_s <= view.1);
        let frames = &session.frames[first..last.max(first)];
        self.track = face_id.map(|id| class_track(session, first..last.max(first), id)).unwrap_or_default();
        self.motion = face_id.map(|id| motion_series(frames, id)).unwrap_or_default();
    }
}

/// Draws the timeline over `view` (seconds); returns the time clicked or
/// dragged to, if any. `revision` changes whenever the session does.
#[allow(clippy::too_many_arguments)]
pub fn timeline_ui(
    ui: &mut egui::Ui,
    session: &Session,
    revision: u64,
    lines: &mut TimelineLines,
    face_id: Option<u32>,
    playhead_s: f64,
    view: (f64, f64),
) -> Option<f64> {
    lines.update(session, revision, face_id, view);
    let track = &lines.track;
    let motion = &lines.motion;
    let events: Vec<_> = session
        .events
        .iter()
        .filter(|e| Some(e.face_id) == face_id && e.offset_s >= view.0 && e.onset_s <= view.1)
        .map(|e| {
            let end = (e.offset_s + session.frame_period_s()).min(view.1);
            (e.onset_s.max(view.0), end, e.final_class(), e.review.status)
        })
        .collect();
    // The theme's strongest text colour: white on dark, black on light.
    let playhead_colour = ui.visuals().strong_text_color();
    let height = ui.available_height().max(60.0);
    // Four legend rows need about 90 points: in a shorter plot the legend
    // would hide the lines, and the class colours are those of the event list.
    let mut plot = Plot::new("timeline");
    if height >= 120.0 {
        plot = plot.legend(Legend::default().position(Corner::RightTop));
    }
    let response = plot
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .show_crosshair(false)
        .height(height)
        // The x range follows `view` (it grows during an analysis and
        // scrolls in a live session): auto bounds over what is drawn, which
        // lies within the view, plus the view's ends.
        .default_y_bounds(0.0, 1.0)
        .auto_bounds([true, false])
        .include_x(view.0)
        .include_x(view.1.max(view.0 + 0.1))
        .x_axis_label("time (s)")
        .y_axis_label("p(class)")
        .y_axis_min_width(28.0)
        .y_grid_spacer(egui_plot::uniform_grid_spacer(|_| [0.05, 0.25, 0.5]))
        .y_axis_formatter(|mark, _| format!("{:.2}", mark.value))
        .show(ui, |plot| {
            for (onset, offset, class, status) in &events {
                let alpha = if *status == ReviewStatus::Rejected { 18 } else { 60 };
                let colour = class_colour(*class);
                let fill = Color32::from_rgba_unmultiplied(colour.r(), colour.g(), colour.b(), alpha);
                // Unnamed, so the legend lists the classes only.
                plot.add(Span::new("", *onset..=*offset).fill(fill).border_width(0.0));
            }
            if !motion.is_empty() {
                let grey = ui_grey(playhead_colour);
                let name = "motion (1 = this face's 98th percentile)";
                plot.add(Line::new(name, PlotPoints::from(motion.clone())).color(grey).width(1.5));
            }
            for (class, points) in track.all.iter().enumerate() {
                // At rest: faint and thin, so no one reads a class into stillness.
                let c = class_colour(class);
                let faint = Color32::from_rgba_unmultiplied(c.r(), c.g(), c.b(), 60);
                // Named only when nothing is bold, so the legend lists each class once.
                let name = if track.moving[class].is_empty() { session.class_name(class).into_owned() } else { String::new() };
                plot.add(Line::new(name, PlotPoints::from(points.clone())).color(faint).width(1.0));
                for run in &track.moving[class] {
                    let name = session.class_name(class).into_owned();
                    plot.add(Line::new(name, PlotPoints::from(run.clone())).color(c).width(2.0));
                }
            }
            plot.add(VLine::new("", playhead_s).color(playhead_colour).width(1.5));
        });
    let response_help = "Each class's probability per frame (0-1, left axis): bold where the face moves above its \
        resting motion or is inside an event, faint at rest (there it reads noise); in grey the face's motion, \
        scaled so that 1 is this face's 98th-percentile motion; shaded: the events in their class colour (faint \
        when rejected). Click or drag to seek.";
    let response = egui_plot::PlotResponse { response: response.response.on_hover_text(response_help), ..response };
    let pointer = response.response.interact_pointer_pos();
    let clicked = response.response.clicked() || response.response.dragged();
    match (clicked, pointer) {
        (true, Some(pos)) => Some(response.transform.value_from_position(pos).x.max(0.0)),
        _ => None,
    }
}

/// The motion line: the theme's strong text colour, half transparent.
fn ui_grey(strong: Color32) -> Color32 {
    Color32::from_rgba_unmultiplied(strong.r(), strong.g(), strong.b(), 110)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{FaceFrame, FrameRecord};

    #[test]
    fn motion_is_scaled_to_a_high_percentile_and_gaps_are_skipped() {
        let frame = |index: u64, motion: Option<f32>| FrameRecord {
            index,
            timestamp_s: index as f64 / 10.0,
            faces: vec![FaceFrame { face_id: 3, motion, ..FaceFrame::default() }],
        };
        let session = Session {
            frames: vec![frame(0, None), frame(1, Some(0.1)), frame(2, Some(0.4)), frame(3, Some(0.2))],
            ..Session::default()
        };
        // Three values: the 98th percentile is the largest.
        assert_eq!(motion_series(&session.frames, 3), vec![[0.1, 0.25], [0.2, 1.0], [0.3, 0.5]]);
        let mut long = session.clone();
        long.frames = (0..100).map(|i| frame(i, Some(if i == 50 { 10.0 } else { 0.1 + i as f32 / 1000.0 }))).collect();
        let series = motion_series(&long.frames, 3);
        assert_eq!(series[50][1], 1.0, "an outlier is clipped at the top");
        assert!(series[10][1] > 0.5, "the rest is not flattened by it: {}", series[10][1]);
        assert!(motion_series(&session.frames, 7).is_empty(), "another face has no motion line");
    }

    #[test]
    fn the_class_track_is_bold_only_where_the_face_moves() {
        use crate::session::Event;
        // 3 s at 30 fps, probabilities every frame; the spotter's flag says
        // moving at 1.00-1.10 s and, alone (noise), at frame 45; an event
        // covers frames 60-66.
        let frames: Vec<FrameRecord> = (0..90u64)
            .map(|index| FrameRecord {
                index,
                timestamp_s: index as f64 / 30.0,
                faces: vec![FaceFrame {
                    face_id: 3,
                    moving: Some((30..=33).contains(&index) || index == 45),
                    probabilities: Some(vec![0.2, 0.3, 0.5]),
                    ..FaceFrame::default()
                }],
            })
            .collect();
        let session = Session {
            class_names: vec!["negative".into(), "positive".into(), "surprise".into()],
            events: vec![Event { face_id: 3, onset_frame: 60, offset_frame: 66, ..Event::default() }],
            frames: frames.clone(),
            ..Session::default()
        };
        let track = class_track(&session, 0..90, 3);
        assert_eq!(track.all.len(), 3);
        assert_eq!(track.all[0].len(), 30, "one point per 0.1 s");
        let runs: Vec<(f64, f64)> = track.moving[2].iter().map(|r| (r[0][0], r[r.len() - 1][0])).collect();
        // Samples every 3 frames: the move (frames 30-33) is the samples at
        // frames 30 and 33, the event (60-66) those at 60, 63 and 66; each
        // run has one sample of rest either side.
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert!(close(runs[0].0, 27.0 / 30.0) && close(runs[0].1, 36.0 / 30.0), "{runs:?}");
        assert!(close(runs[1].0, 57.0 / 30.0) && close(runs[1].1, 69.0 / 30.0), "{runs:?}");
        assert_eq!(track.moving[2][0][1][1], 0.5);
        // An old session (no flag) reads as moving throughout.
        let unknown: Vec<FrameRecord> = frames
            .iter()
            .cloned()
            .map(|mut f| {
                f.faces[0].moving = None;
                f
            })
            .collect();
        let old = class_track(&Session { frames: unknown, events: Vec::new(), ..session }, 0..90, 3);
        assert_eq!(old.moving[0].len(), 1);
        assert_eq!(old.moving[0][0].len(), 30);
    }

    #[test]
    fn a_time_maps_to_the_frame_whose_period_holds_it() {
        assert_eq!(frame_at_time(0.0, 30.0, 360), 0);
        assert_eq!(frame_at_time(0.0333, 30.0, 360), 0);
        assert_eq!(frame_at_time(1.0 / 30.0, 30.0, 360), 1);
        assert_eq!(frame_at_time(0.1, 30.0, 360), 3);
        assert_eq!(frame_at_time(2.5, 30.0, 360), 75);
    }

    #[test]
    fn times_outside_the_video_clamp_to_its_ends() {
        assert_eq!(frame_at_time(-1.0, 30.0, 360), 0);
        assert_eq!(frame_at_time(99.0, 30.0, 360), 359);
        assert_eq!(frame_at_time(f64::NAN, 30.0, 360), 0);
        assert_eq!(frame_at_time(5.0, 0.0, 360), 0);
        assert_eq!(frame_at_time(5.0, 30.0, 0), 0);
    }
}
