//! One colour per class, used by the timeline, the event list and the
//! overlays alike, so a class reads the same everywhere.
use eframe::egui::Color32;

const CLASS_PALETTE: [Color32; 6] = [
    Color32::from_rgb(229, 87, 87),  // negative: red
    Color32::from_rgb(92, 190, 96),  // positive: green
    Color32::from_rgb(80, 150, 245), // surprise: blue
    Color32::from_rgb(232, 170, 55), // further classes, if a model has them
    Color32::from_rgb(180, 110, 220),
    Color32::from_rgb(70, 200, 200),
];

pub fn class_colour(class: usize) -> Color32 {
    CLASS_PALETTE[class % CLASS_PALETTE.len()]
}

/// Reviewed-as-real events and unreviewed candidates differ at a glance.
pub const CONFIRMED: Color32 = Color32::from_rgb(60, 220, 60);
pub const CANDIDATE: Color32 = Color32::from_rgb(255, 220, 0);
pub const REJECTED: Color32 = Color32::from_rgb(150, 150, 150);

/// A status or warning colour readable on the current theme's panels:
/// the bright overlay colours wash out on a light background.
pub fn on_panel(colour: Color32, dark_mode: bool) -> Color32 {
    if dark_mode {
        colour
    } else {
        Color32::from_rgb(colour.r() / 5 * 3, colour.g() / 5 * 3, colour.b() / 5 * 3)
    }
}

/// The PAUSED banner over the live video: amber text on a near-opaque
/// dark plate, readable on white video as on black.
pub const BANNER_TEXT: Color32 = Color32::from_rgb(255, 200, 90);
pub const BANNER_PLATE: Color32 = Color32::from_rgba_premultiplied(16, 16, 16, 235);

/// `top` (premultiplied alpha) laid over an opaque `below`.
pub fn over(top: Color32, below: Color32) -> Color32 {
    let keep = 1.0 - f32::from(top.a()) / 255.0;
    let mix = |t: u8, b: u8| (f32::from(t) + f32::from(b) * keep).round().min(255.0) as u8;
    Color32::from_rgb(mix(top.r(), below.r()), mix(top.g(), below.g()), mix(top.b(), below.b()))
}

/// WCAG 2 contrast ratio of two opaque colours: 1 (none) to 21 (black on white).
pub fn contrast_ratio(a: Color32, b: Color32) -> f32 {
    let luminance = |c: Color32| {
        let linear = |v: u8| {
            let v = f32::from(v) / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(c.r()) + 0.7152 * linear(c.g()) + 0.0722 * linear(c.b())
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The JET colour map (blue → cyan → yellow → red) for `value` in 0..1,
/// as OpenCV's `COLORMAP_JET` that the exported video uses.
pub fn jet(value: f32) -> [u8; 3] {
    let v = value.clamp(0.0, 1.0);
    let channel = |centre: f32| ((1.5 - (4.0 * v - centre).abs()).clamp(0.0, 1.0) * 255.0).round() as u8;
    [channel(3.0), channel(2.0), channel(1.0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The banner's text stands out from its plate over any video, white
    /// included (bare amber on white reads at 1.6:1), at the 4.5:1 WCAG
    /// asks of normal text.
    #[test]
    fn the_paused_banner_reads_on_white_and_on_black_video() {
        assert!(contrast_ratio(Color32::from_rgb(240, 190, 80), Color32::WHITE) < 2.0);
        for video in [Color32::WHITE, Color32::from_rgb(250, 235, 200), Color32::BLACK, Color32::from_gray(128)] {
            let plate = over(BANNER_PLATE, video);
            let ratio = contrast_ratio(BANNER_TEXT, plate);
            assert!(ratio >= 7.0, "{ratio:.1}:1 over {video:?}");
        }
        assert!((contrast_ratio(Color32::BLACK, Color32::WHITE) - 21.0).abs() < 0.01);
    }

    #[test]
    fn jet_runs_from_blue_to_red() {
        assert_eq!(jet(0.0), [0, 0, 128]);
        assert_eq!(jet(1.0), [128, 0, 0]);
        assert_eq!(jet(0.5), [128, 255, 128]);
    }
}
