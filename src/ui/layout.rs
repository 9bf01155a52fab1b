//! The window's size and how its height is shared: the window opens at a
//! size that fits the common 1280×800 and 1366×768 laptop screens with
//! their title bar and taskbar, and the timeline and event list take
//! shares of the height between the menu and the status line, so that the
//! video keeps a usable part of it down to the smallest window.
use eframe::egui::{vec2, Rangef, Vec2};

/// The inner size the window opens at: 1366×768 less a 48 px taskbar, a
/// 38 px title bar and the frame leaves about 676 px.
pub const DEFAULT_WINDOW: Vec2 = vec2(1200.0, 672.0);
/// The scripted screenshots keep the size they were always taken at.
pub const SCREENSHOT_WINDOW: Vec2 = vec2(1280.0, 800.0);
pub const MIN_WINDOW: Vec2 = vec2(720.0, 480.0);
/// What a screen loses to the window's frame and title bar and a taskbar.
const SCREEN_CHROME: Vec2 = vec2(16.0, 90.0);

/// A smaller inner size when the window at `inner` would not fit a screen
/// of `monitor` points with its chrome; `None` when it fits.
pub fn fit_to_screen(inner: Vec2, monitor: Vec2) -> Option<Vec2> {
    let room = monitor - SCREEN_CHROME;
    (inner.x > room.x || inner.y > room.y).then(|| inner.min(room).max(MIN_WINDOW))
}

/// Heights of the two panels under the video (points).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PanelHeights {
    pub timeline: Rangef,
    pub timeline_default: f32,
    pub events: Rangef,
    pub events_default: f32,
}

impl PanelHeights {
    /// Shares of `available`, the height between the menu and the status
    /// line. The maxima leave the video at least 35 % of it however the
    /// panels are dragged; the minima keep the transport, a plot and two
    /// event rows; the defaults stop growing once the panels show plenty.
    pub fn share(available: f32) -> Self {
        // Whole points, so that the sizes are the same on every machine.
        let part = |share: f32, cap: f32| (available * share).round().min(cap).max(0.0);
        let timeline = Rangef::new(part(0.22, 180.0), part(0.35, f32::INFINITY));
        let events = Rangef::new(part(0.18, 150.0), part(0.30, f32::INFINITY));
        Self {
            timeline,
            timeline_default: part(0.28, 230.0).clamp(timeline.min, timeline.max),
            events,
            events_default: part(0.24, 200.0).clamp(events.min, events.max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both laptop screens hold the default window with its chrome; a
    /// smaller screen gets a smaller window, never under the minimum.
    #[test]
    fn the_default_window_fits_laptop_screens() {
        for screen in [vec2(1280.0, 800.0), vec2(1366.0, 768.0)] {
            let outer = DEFAULT_WINDOW + SCREEN_CHROME;
            assert!(outer.x <= screen.x && outer.y <= screen.y, "{outer:?} on {screen:?}");
            assert_eq!(fit_to_screen(DEFAULT_WINDOW, screen), None);
        }
        // The old default on the smaller laptop screen: its status line was
        // under the taskbar; now the window is shrunk to fit.
        assert_eq!(fit_to_screen(SCREENSHOT_WINDOW, vec2(1366.0, 768.0)), Some(vec2(1280.0, 678.0)));
        assert_eq!(fit_to_screen(SCREENSHOT_WINDOW, vec2(1920.0, 1080.0)), None);
        assert_eq!(fit_to_screen(DEFAULT_WINDOW, vec2(1024.0, 600.0)), Some(vec2(1008.0, 510.0)));
        assert_eq!(fit_to_screen(DEFAULT_WINDOW, vec2(640.0, 400.0)), Some(MIN_WINDOW));
    }

    /// At the smallest window (about 400 points between menu and status)
    /// the panels still fit and the video keeps 48 %; at the default window
    /// the panels are near their old sizes and the video has the most.
    #[test]
    fn the_panels_share_the_height_and_leave_the_video_room() {
        let small = PanelHeights::share(400.0);
        assert_eq!((small.timeline_default, small.events_default), (112.0, 96.0));
        assert_eq!(400.0 - small.timeline_default - small.events_default, 192.0, "the video's part");
        assert!(small.timeline.min + small.events.min <= 0.4 * 400.0);
        assert!(400.0 - small.timeline.max - small.events.max >= 0.35 * 400.0 - 0.01);
        let default = PanelHeights::share(600.0);
        assert_eq!((default.timeline_default, default.events_default), (168.0, 144.0));
        assert_eq!(600.0 - default.timeline_default - default.events_default, 288.0);
        let tall = PanelHeights::share(1200.0);
        assert_eq!((tall.timeline_default, tall.events_default), (230.0, 200.0), "capped");
        assert_eq!((tall.timeline.min, tall.events.min), (180.0, 150.0));
    }
}
