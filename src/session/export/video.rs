//! `stem.annotated.mp4`: the source re-decoded, with each face's box, ID and
//! landmarks, the timestamp, a legend for the box colours, and while one
//! of its events is on (onset to offset inclusive) the event's class and
//! the EPIR attention heatmap over the face. Written at the source's rate, not the rate the analysis ran at,
//! so the video plays in real time and lines up with the source.
//!
//! Session frames and decoded frames are matched by index; a source that no
//! longer matches the session (gone, resized, different length) is an error,
//! not a silently misaligned overlay.
use std::path::{Path, PathBuf};

use opencv::core::{self, Mat, MatTrait, MatTraitConst, Point, Rect, Scalar, Size};
use opencv::imgproc;
use opencv::videoio::VideoWriterTrait;

use super::legend::{BoxMeaning, Legend};
use super::video_codec::{codecs_for, open_writer, VideoCodec};
use super::ExportError;
use crate::capture::{self, SourceKind};
use crate::face::Similarity;
use crate::files::{write_atomic_with, AtomicWithError};
use crate::session::model::{Event, FaceFrame, ReviewStatus, Session};

/// Weight of the heatmap over the face (0.4: the face stays readable).
const HEATMAP_ALPHA: f64 = 0.4;

const WHITE: (f64, f64, f64) = (255.0, 255.0, 255.0);

fn bgr((b, g, r): (f64, f64, f64)) -> Scalar {
    Scalar::new(b, g, r, 0.0)
}

/// Renders the annotated video to `path` (container from its extension:
/// .mp4/.m4v/.mov/.mkv in H.264 where there is an encoder, else MPEG-4
/// Part 2; .avi in Motion JPEG), atomically; returns the codec used.
/// `progress(done, total)` is called after every frame.
pub fn write_annotated_video(
    session: &Session,
    path: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VideoCodec, ExportError> {
    render(session, path, FacesShown::All, progress)
}

/// The annotated video for sharing: every face but `keep_face` is
/// smoothed away (its box and a margin, 8 samples across) in every frame it is
/// tracked, and drawn with no box, points or label; the kept face is drawn
/// as usual. `session` is the full one (the source is re-decoded).
pub fn write_deidentified_video(
    session: &Session,
    path: &Path,
    keep_face: Option<u32>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VideoCodec, ExportError> {
    render(session, path, FacesShown::Only(keep_face), progress)
}

/// Which faces the annotated video shows.
#[derive(Clone, Copy, Debug, PartialEq)]
enum FacesShown {
    All,
    /// This face (or none); every other one is hidden ([`hide_face`]).
    Only(Option<u32>),
}

fn render(
    session: &Session,
    path: &Path,
    shown: FacesShown,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VideoCodec, ExportError> {
    let video_err = |problem: String| ExportError::Video { path: path.to_path_buf(), problem };
    // An unsupported extension is refused before the source is decoded.
    codecs_for(path)?;
    let source_path = PathBuf::from(&session.source.path);
    let source_err = |problem: String| ExportError::Source { path: source_path.clone(), problem };
    if session.source.path.is_empty() {
        return Err(source_err("the session names no source to re-decode".into()));
    }
    if session.source.kind == SourceKind::Camera {
        return Err(source_err("a live camera session has no recording to re-decode".into()));
    }
    let fps = session.fps();
    if fps <= 0.0 {
        return Err(source_err("the session records no frame rate (measured or nominal)".into()));
    }
    // Image folders carry no timestamps; they play at the session's rate.
    let folder_fps = (session.source.kind == SourceKind::ImageFolder).then_some(fps);
    let mut source = capture::open(&source_path, folder_fps)?;
    let (width, height) = (source.info().width, source.info().height);
    if session.source.width > 0
        && session.source.height > 0
        && (width, height) != (session.source.width, session.source.height)
    {
        return Err(source_err(format!(
            "is {width}x{height} now, but the session was analysed at {}x{}: not the same video",
            session.source.width, session.source.height
        )));
    }
    let expected = expected_frames(session);
    let mut overlays = Overlays::new(session, height);
    overlays.shown = shown;
    overlays.legend = Legend::place(session, width, height, overlays.line_height())
        .map_err(|source| ExportError::VideoOpenCv { path: path.to_path_buf(), source })?;
    let out_fps = output_fps(session);

    let mut used = None;
    let result = write_atomic_with(path, |tmp: &Path| -> Result<(), ExportError> {
        let tmp_err = |source| ExportError::VideoOpenCv { path: path.to_path_buf(), source };
        let (mut writer, codec) = open_writer(tmp, path, out_fps, Size::new(width, height))?;
        used = Some(codec);
        let mut done = 0u64;
        // Frames go out at a constant rate; each is written into the slots
        // from its own time to the next frame's, so a variable-rate source
        // (dropped frames, a stalled camera) stays in step with the times
        // in the other exports instead of drifting ahead.
        let (mut pending, mut slots, mut first_t): (Option<Mat>, u64, Option<f64>) = (None, 0, None);
        while let Some(mut frame) = source.next_frame()? {
            if frame.index >= expected {
                if !session.complete {
                    // An analysis stopped early: render what it covered.
                    break;
                }
                return Err(source_err(format!(
                    "has more frames than the {expected} the session was analysed on: not the same video"
                )));
            }
            let size = frame.image.size().map_err(tmp_err)?;
            if (size.width, size.height) != (width, height) {
                return Err(source_err(format!(
                    "frame {} is {}x{}, not {width}x{height}",
                    frame.index, size.width, size.height
                )));
            }
            overlays.draw(&mut frame.image, frame.index, frame.timestamp_s).map_err(tmp_err)?;
            let starts_at = output_slot(frame.timestamp_s - *first_t.get_or_insert(frame.timestamp_s), out_fps);
            if let Some(previous) = pending.replace(frame.image) {
                let repeats = starts_at.saturating_sub(slots).max(1);
                for _ in 0..repeats {
                    writer.write(&previous).map_err(tmp_err)?;
                }
                slots += repeats;
            }
            done += 1;
            progress(done, expected);
        }
        if let Some(last) = pending {
            writer.write(&last).map_err(tmp_err)?;
            slots += 1;
        }
        if done < expected {
            return Err(source_err(format!(
                "ended after {done} frames, but the session was analysed on {expected}: truncated or not the same video"
            )));
        }
        // Finish the container before the rename makes the file visible.
        writer.release().map_err(tmp_err)?;
        // OpenCV's writer does not report a failed write (a full disk, a
        // size limit): read the file back before it replaces a good one.
        let written = written_frames(tmp);
        if written < slots {
            return Err(video_err(format!(
                "the written video holds {written} of its {slots} frames (disk full?); the earlier file, if any, is kept"
            )));
        }
        Ok(())
    });
    result.map_err(|e| match e {
        AtomicWithError::Io(e) => ExportError::Write(e),
        AtomicWithError::Writer(e) => e,
    })?;
    used.ok_or_else(|| video_err("no video writer was opened".into()))
}

/// Hides a face: its box and a fifth of its size around it, cut to the
/// frame, averaged down to 8 samples across and blown up again smoothly.
fn hide_face(image: &mut Mat, b: &crate::face::FaceBox) -> opencv::Result<()> {
    let size = image.size()?;
    let margin = 0.2 * b.width.max(b.height);
    let x0 = ((b.x - margin).floor() as i32).clamp(0, size.width);
    let y0 = ((b.y - margin).floor() as i32).clamp(0, size.height);
    let x1 = ((b.x + b.width + margin).ceil() as i32).clamp(x0, size.width);
    let y1 = ((b.y + b.height + margin).ceil() as i32).clamp(y0, size.height);
    if x1 - x0 < 2 || y1 - y0 < 2 {
        return Ok(());
    }
    let rect = Rect::new(x0, y0, x1 - x0, y1 - y0);
    let mut region = Mat::roi_mut(image, rect)?;
    let blocks = 8;
    let small_size =
        Size::new(blocks.min(rect.width), (blocks * rect.height / rect.width.max(1)).clamp(1, rect.height));
    let mut small = Mat::default();
    imgproc::resize(&region, &mut small, small_size, 0.0, 0.0, imgproc::INTER_AREA)?;
    let mut blown = Mat::default();
    // Smoothly, not in blocks: only the 8-across averages remain.
    imgproc::resize(&small, &mut blown, rect.size(), 0.0, 0.0, imgproc::INTER_LINEAR)?;
    blown.copy_to(&mut region)
}

/// The annotated video's constant rate: the source's declared rate, on
/// which a variable-rate source's frames sit (its measured rate is their
/// mean, lower where frames were dropped), unless it is missing or far from
/// the measured one (containers can declare a time base as a rate).
fn output_fps(session: &Session) -> f64 {
    let (declared, fps) = (session.source.nominal_fps, session.fps());
    if declared.is_finite() && declared >= 0.5 * fps && declared <= 2.0 * fps {
        declared
    } else {
        fps
    }
}

/// The output frame at which a source frame `t_s` after the first starts.
fn output_slot(t_s: f64, fps: f64) -> u64 {
    (t_s * fps + 0.5).floor().max(0.0) as u64
}

/// Frames a finished video file holds, counted by decoding it (a header's
/// count can promise frames a truncated file lacks); 0 when it cannot be
/// opened at all.
fn written_frames(path: &Path) -> u64 {
    let Ok(mut capture) = capture::open_video_capture(path) else { return 0 };
    let mut frame = Mat::default();
    let mut count = 0;
    while capture.read(&mut frame).unwrap_or(false) {
        count += 1;
    }
    count
}

/// Frames the session covers: the source's count as recorded, else one
/// past the last frame record.
fn expected_frames(session: &Session) -> u64 {
    if session.source.frame_count > 0 {
        session.source.frame_count
    } else {
        session.frames.last().map_or(0, |f| f.index + 1)
    }
}

/// What to draw, prepared once: events by face, and text sizes for the
/// picture's height.
struct Overlays<'a> {
    session: &'a Session,
    /// Events that are drawn: all but rejected ones.
    events: Vec<&'a Event>,
    font_scale: f64,
    thickness: i32,
    shown: FacesShown,
    /// Left out where the frame is too small for it.
    legend: Option<Legend>,
}

impl<'a> Overlays<'a> {
    fn new(session: &'a Session, height: i32) -> Self {
        let events = session.events.iter().filter(|e| e.review.status != ReviewStatus::Rejected).collect();
        // Readable at 120 px and at 1080 px alike.
        let font_scale = (f64::from(height) / 720.0).clamp(0.3, 1.5);
        let thickness = if height >= 720 { 2 } else { 1 };
        Self { session, events, font_scale, thickness, shown: FacesShown::All, legend: None }
    }

    /// The height of a line of text (the timestamp's baseline).
    fn line_height(&self) -> i32 {
        (28.0 * self.font_scale).round() as i32
    }

    fn draw(&self, image: &mut Mat, index: u64, timestamp_s: f64) -> opencv::Result<()> {
        if let Some(position) = self.session.frame_position(index) {
            for face in &self.session.frames[position].faces {
                match self.shown {
                    FacesShown::Only(keep) if keep != Some(face.face_id) => hide_face(image, &face.bbox)?,
                    _ => self.draw_face(image, face, index, self.session.face_points(position, face))?,
                }
            }
        }
        self.text(image, &format!("{timestamp_s:.3} s"), Point::new(4, self.line_height().max(10)), WHITE)?;
        match &self.legend {
            Some(legend) => legend.draw(image),
            None => Ok(()),
        }
    }

    fn draw_face(&self, image: &mut Mat, face: &FaceFrame, index: u64, points: &[[f32; 2]]) -> opencv::Result<()> {
        let size = image.size()?;
        let b = &face.bbox;
        let rect = Rect::new(b.x.round() as i32, b.y.round() as i32, b.width.round() as i32, b.height.round() as i32);
        let clipped = rect & Rect::new(0, 0, size.width, size.height);
        let active: Vec<&Event> = self
            .events
            .iter()
            .copied()
            .filter(|e| e.face_id == face.face_id && (e.onset_frame..=e.offset_frame).contains(&index))
            .collect();
        // Heatmap first, so the box, points and text stay on top of it.
        if let Some(event) = active.first() {
            match event.attention_crop {
                Some(crop) => blend_heatmap_through(image, &crop, event)?,
                None if clipped.width > 1 && clipped.height > 1 => blend_heatmap(image, clipped, event)?,
                None => {}
            }
        }
        let meaning = if active.iter().any(|e| e.review.status == ReviewStatus::Confirmed) {
            BoxMeaning::Confirmed
        } else {
            BoxMeaning::Face
        };
        let colour = meaning.colour();
        imgproc::rectangle(image, rect, bgr(colour), self.thickness, imgproc::LINE_8, 0)?;
        // 68 points get smaller dots than five, so they do not hide the face.
        let dot = if points.len() > 5 { 1.0 } else { 2.0 };
        for &[x, y] in points {
            let radius = (dot * self.font_scale / 0.4).round().max(1.0) as i32;
            imgproc::circle(
                image,
                Point::new(x.round() as i32, y.round() as i32),
                radius,
                bgr(colour),
                -1,
                imgproc::LINE_AA,
                0,
            )?;
        }
        let line = self.line_height();
        let above = (rect.y - 4).max(line);
        self.text(image, &format!("face {}", face.face_id), Point::new(rect.x.max(0), above), colour)?;
        let mut y = (rect.y + rect.height + line).min(size.height - 2);
        for event in &active {
            self.text(image, &self.label(event), Point::new(rect.x.max(0), y), colour)?;
            y = (y + line).min(size.height - 2);
        }
        Ok(())
    }

    /// "<class> <p>": the reviewer's class where relabelled (then without
    /// the model's probability, which is for another class).
    fn label(&self, event: &Event) -> String {
        let class = event.final_class();
        let name = self.session.class_name(class);
        match event.probabilities.get(class) {
            Some(p) if class == event.class => format!("{name} {p:.2}"),
            _ => format!("{name} (reviewed)"),
        }
    }

    fn text(&self, image: &mut Mat, text: &str, at: Point, colour: (f64, f64, f64)) -> opencv::Result<()> {
        // A dark outline keeps the text readable on any background.
        let font = imgproc::FONT_HERSHEY_SIMPLEX;
        imgproc::put_text(
            image,
            text,
            at,
            font,
            self.font_scale,
            bgr((0.0, 0.0, 0.0)),
            self.thickness + 2,
            imgproc::LINE_AA,
            false,
        )?;
        imgproc::put_text(image, text, at, font, self.font_scale, bgr(colour), self.thickness, imgproc::LINE_AA, false)
    }
}

/// The event's attention grid, scaled so its peak is red, upsampled
/// (bicubic) to `width`×`height` and JET-coloured; `None` without a grid.
fn heat_image(event: &Event, width: i32, height: i32) -> opencv::Result<Option<Mat>> {
    let (rows, cols) = (event.attention_rows, event.attention_cols);
    if rows == 0 || cols == 0 || event.attention.len() != rows * cols {
        return Ok(None);
    }
    let peak = event.attention.iter().copied().filter(|v| v.is_finite()).fold(0.0f32, f32::max);
    if peak <= 0.0 {
        return Ok(None);
    }
    let scaled: Vec<f32> =
        event.attention.iter().map(|&v| if v.is_finite() { (v / peak).max(0.0) } else { 0.0 }).collect();
    let grid = Mat::new_rows_cols_with_data(rows as i32, cols as i32, &scaled)?;
    let mut upsampled = Mat::default();
    imgproc::resize(&grid, &mut upsampled, Size::new(width, height), 0.0, 0.0, imgproc::INTER_CUBIC)?;
    let mut levels = Mat::default();
    // Bicubic overshoots past 0..1; convert_to saturates it back.
    upsampled.convert_to(&mut levels, core::CV_8U, 255.0, 0.0)?;
    let mut heat = Mat::default();
    imgproc::apply_color_map(&levels, &mut heat, imgproc::COLORMAP_JET)?;
    Ok(Some(heat))
}

/// Side of the heatmap before it is warped back onto the frame.
const HEAT_SIDE: i32 = 112;

/// The heatmap drawn where the model looked: the crop EPIR saw, mapped back
/// onto the frame through the inverse of `crop` (image → unit crop).
fn blend_heatmap_through(image: &mut Mat, crop: &Similarity, event: &Event) -> opencv::Result<()> {
    let Some(heat) = heat_image(event, HEAT_SIDE, HEAT_SIDE)? else { return Ok(()) };
    let to_crop = crop.scaled(f64::from(HEAT_SIDE));
    let matrix = Mat::from_slice_2d(&[[to_crop.a, -to_crop.b, to_crop.tx], [to_crop.b, to_crop.a, to_crop.ty]])?;
    let size = image.size()?;
    let (mut warped, mut mask) = (Mat::default(), Mat::default());
    let flags = imgproc::INTER_LINEAR | imgproc::WARP_INVERSE_MAP;
    imgproc::warp_affine(&heat, &mut warped, &matrix, size, flags, core::BORDER_CONSTANT, core::Scalar::all(0.0))?;
    let ones = Mat::new_rows_cols_with_default(HEAT_SIDE, HEAT_SIDE, core::CV_8UC1, core::Scalar::all(255.0))?;
    imgproc::warp_affine(&ones, &mut mask, &matrix, size, flags, core::BORDER_CONSTANT, core::Scalar::all(0.0))?;
    let mut blended = Mat::default();
    core::add_weighted(&*image, 1.0 - HEATMAP_ALPHA, &warped, HEATMAP_ALPHA, 0.0, &mut blended, -1)?;
    blended.copy_to_masked(image, &mask)
}

/// The event's heatmap over `region` (the face box), for sessions that do
/// not record the crop the attention covers.
fn blend_heatmap(image: &mut Mat, region: Rect, event: &Event) -> opencv::Result<()> {
    let Some(heat) = heat_image(event, region.width, region.height)? else { return Ok(()) };
    let mut roi = image.roi_mut(region)?;
    let mut blended = Mat::default();
    core::add_weighted(&roi, 1.0 - HEATMAP_ALPHA, &heat, HEATMAP_ALPHA, 0.0, &mut blended, -1)?;
    blended.copy_to(&mut roi)
}
