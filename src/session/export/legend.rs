//! The annotated video's legend: what each box colour means, drawn small
//! in the corner that the faces cover least over the whole video (one
//! corner for the whole video, so it does not jump about).
use opencv::core::{Mat, MatTraitConst, Point, Rect, Scalar, Size};
use opencv::imgproc;

use crate::session::model::Session;

/// What a face's box colour says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BoxMeaning {
    /// One of the face's events is on and the reviewer confirmed it.
    Confirmed,
    /// A tracked face: no event on, or only unconfirmed ones.
    Face,
}

impl BoxMeaning {
    pub(super) const ALL: [BoxMeaning; 2] = [Self::Confirmed, Self::Face];

    /// BGR, as OpenCV draws.
    pub(super) fn colour(self) -> (f64, f64, f64) {
        match self {
            Self::Confirmed => (0.0, 220.0, 0.0),
            Self::Face => (0.0, 220.0, 255.0),
        }
    }

    pub(super) fn legend_text(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed event",
            Self::Face => "face / unconfirmed event",
        }
    }
}

/// A legend wider than this share of the frame would hide too much of a
/// small video; it is left out there.
const MAX_WIDTH_SHARE: f64 = 0.5;

/// Where the corners are tried, best first when the faces leave several
/// free: the bottom, where the timestamp and the face labels are not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Corner {
    BottomLeft,
    BottomRight,
    TopRight,
    /// Below the timestamp.
    TopLeft,
}

/// The legend as laid out for one video.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Legend {
    /// Where it goes, background included.
    pub(super) area: Rect,
    pub(super) corner: Corner,
    font_scale: f64,
    thickness: i32,
    line_height: i32,
    padding: i32,
    /// Height of the text above its baseline.
    ascent: i32,
}

impl Legend {
    /// Laid out for a `width`×`height` video, in the corner the session's
    /// face boxes overlap least (summed over its frames); `None` where it
    /// would not fit in half the frame's width.
    pub(super) fn place(
        session: &Session,
        width: i32,
        height: i32,
        timestamp_line: i32,
    ) -> opencv::Result<Option<Self>> {
        // Smaller than the labels on the faces: it is read once.
        let font_scale = (f64::from(height) / 720.0 * 0.45).clamp(0.3, 0.7);
        let thickness = 1;
        let mut text_width = 0;
        let (mut ascent, mut text_height) = (0, 0);
        for meaning in BoxMeaning::ALL {
            let mut baseline = 0;
            let size = imgproc::get_text_size(
                meaning.legend_text(),
                imgproc::FONT_HERSHEY_SIMPLEX,
                font_scale,
                thickness,
                &mut baseline,
            )?;
            text_width = text_width.max(size.width);
            ascent = ascent.max(size.height);
            text_height = text_height.max(size.height + baseline);
        }
        let padding = (text_height / 3).max(2);
        let line_height = text_height + padding;
        let swatch = text_height;
        let rows = BoxMeaning::ALL.len() as i32;
        let size = Size::new(padding * 3 + swatch + text_width, padding + rows * line_height);
        if f64::from(size.width) > MAX_WIDTH_SHARE * f64::from(width) || size.height > height / 2 {
            return Ok(None);
        }
        let margin = padding * 2;
        let at = |corner| {
            let (x, y) = match corner {
                Corner::BottomLeft => (margin, height - margin - size.height),
                Corner::BottomRight => (width - margin - size.width, height - margin - size.height),
                Corner::TopRight => (width - margin - size.width, margin),
                Corner::TopLeft => (margin, timestamp_line + margin),
            };
            Rect::new(x.max(0), y.max(0), size.width, size.height)
        };
        let corners = [Corner::BottomLeft, Corner::BottomRight, Corner::TopRight, Corner::TopLeft];
        // The first corner of least overlap: ties keep the order above.
        let mut best = (Corner::BottomLeft, f64::INFINITY);
        for corner in corners {
            let covered = faces_overlap(session, at(corner));
            if covered < best.1 {
                best = (corner, covered);
            }
        }
        Ok(Some(Self { area: at(best.0), corner: best.0, font_scale, thickness, line_height, padding, ascent }))
    }

    /// Darkens its area and writes one swatch and line per box colour.
    pub(super) fn draw(&self, image: &mut Mat) -> opencv::Result<()> {
        let size = image.size()?;
        let area = self.area & Rect::new(0, 0, size.width, size.height);
        if area.width <= 0 || area.height <= 0 {
            return Ok(());
        }
        {
            // Darkened rather than blacked out: what is behind still shows.
            let mut region = Mat::roi_mut(image, area)?;
            let mut darker = Mat::default();
            region.convert_to(&mut darker, -1, 0.35, 0.0)?;
            darker.copy_to(&mut region)?;
        }
        let swatch = self.line_height - self.padding;
        for (row, meaning) in BoxMeaning::ALL.into_iter().enumerate() {
            let top = self.area.y + self.padding + row as i32 * self.line_height;
            let (b, g, r) = meaning.colour();
            let colour = Scalar::new(b, g, r, 0.0);
            let square = Rect::new(self.area.x + self.padding, top, swatch, swatch);
            imgproc::rectangle(image, square, colour, -1, imgproc::LINE_8, 0)?;
            // Descenders hang below the baseline, within the swatch's height.
            let baseline = top + self.ascent;
            imgproc::put_text(
                image,
                meaning.legend_text(),
                Point::new(self.area.x + self.padding * 2 + swatch, baseline),
                imgproc::FONT_HERSHEY_SIMPLEX,
                self.font_scale,
                Scalar::new(255.0, 255.0, 255.0, 0.0),
                self.thickness,
                imgproc::LINE_AA,
                false,
            )?;
        }
        Ok(())
    }
}

/// Area of `rect` under face boxes, summed over the session's frames.
fn faces_overlap(session: &Session, rect: Rect) -> f64 {
    let mut covered = 0.0;
    for face in session.frames.iter().flat_map(|frame| &frame.faces) {
        let b = &face.bbox;
        let face_rect =
            Rect::new(b.x.floor() as i32, b.y.floor() as i32, b.width.ceil() as i32 + 1, b.height.ceil() as i32 + 1);
        covered += f64::from((face_rect & rect).area());
    }
    covered
}

#[cfg(test)]
mod tests {
    use opencv::core::CV_8UC3;

    use super::*;
    use crate::face::FaceBox;
    use crate::session::model::{FaceFrame, FrameRecord};

    fn with_face_at(x: f32, y: f32) -> Session {
        let face = FaceFrame {
            face_id: 1,
            bbox: FaceBox { x, y, width: 200.0, height: 200.0 },
            landmarks: [[0.0; 2]; 5],
            landmarks68: None,
            confidence: 0.9,
            detected: true,
            motion: None,
            moving: None,
            probabilities: None,
        };
        Session { frames: vec![FrameRecord { index: 0, timestamp_s: 0.0, faces: vec![face] }], ..Session::default() }
    }

    #[test]
    fn the_legend_says_what_each_box_colour_means() {
        let lines: Vec<(&str, (f64, f64, f64))> =
            BoxMeaning::ALL.iter().map(|m| (m.legend_text(), m.colour())).collect();
        // BGR: green for confirmed, yellow for every other face.
        assert_eq!(lines, [("confirmed event", (0.0, 220.0, 0.0)), ("face / unconfirmed event", (0.0, 220.0, 255.0))]);
    }

    #[test]
    fn the_legend_takes_the_corner_the_faces_leave_free() {
        let place = |session: &Session| Legend::place(session, 1280, 720, 28).expect("layout").expect("fits");
        // No faces: bottom left, the first choice.
        let free = place(&Session::default());
        assert_eq!(free.corner, Corner::BottomLeft);
        assert!(free.area.x < 40 && free.area.y + free.area.height > 680, "{:?}", free.area);
        assert_eq!(place(&with_face_at(0.0, 520.0)).corner, Corner::BottomRight);
        // Faces low on both sides: a top corner, clear of the timestamp.
        let mut both = with_face_at(0.0, 520.0);
        let mut right = both.frames[0].faces[0].clone();
        right.bbox.x = 1080.0;
        both.frames[0].faces.push(right);
        let top = place(&both);
        assert_eq!(top.corner, Corner::TopRight);
        // Small: at most a fifth of a 720p frame's width.
        assert!(top.area.width < 1280 / 5 && top.area.height < 720 / 8, "{:?}", top.area);
    }

    #[test]
    fn a_frame_too_small_for_the_legend_goes_without() {
        assert_eq!(Legend::place(&Session::default(), 160, 120, 10).expect("layout"), None);
        assert!(Legend::place(&Session::default(), 320, 240, 10).expect("layout").is_some());
    }

    #[test]
    fn drawing_the_legend_changes_its_area_only() {
        let legend = Legend::place(&Session::default(), 640, 360, 14).expect("layout").expect("fits");
        let grey = Scalar::all(120.0);
        let mut image = Mat::new_rows_cols_with_default(360, 640, CV_8UC3, grey).expect("mat");
        legend.draw(&mut image).expect("draw");
        let mean = |r: Rect| {
            let m = opencv::core::mean_def(&Mat::roi(&image, r).expect("roi")).expect("mean");
            [m[0], m[1], m[2]]
        };
        let inside = mean(legend.area);
        assert!(inside[0] < 100.0, "legend area not darkened: {inside:?}");
        // The swatches: green then yellow, top to bottom (BGR).
        let first_swatch = Rect::new(legend.area.x + legend.padding, legend.area.y + legend.padding, 3, 3);
        assert_eq!(mean(first_swatch), [0.0, 220.0, 0.0]);
        let second = Rect::new(first_swatch.x, first_swatch.y + legend.line_height, 3, 3);
        assert_eq!(mean(second), [0.0, 220.0, 255.0]);
        let above = Rect::new(0, 0, 640, legend.area.y);
        assert_eq!(mean(above), [120.0; 3], "drawn outside its area");
    }
}
