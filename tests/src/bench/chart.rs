//! The report's chart: a hand-drawn PNG (the `png` crate and the public-domain `font8x8` bitmap
//! font), so no system font or fontconfig is needed. `plotters` draws text only through
//! font-kit (fontconfig) or a font file, which this chart does without.
//!
//! Left panel: API calls per scenario on a log scale (measured, theoretical minimum, naive).
//! Right panel: wall time per scenario. The header names the command and the commit.

use std::path::Path;

type Rgb = [u8; 3];
const BLACK: Rgb = [20, 20, 20];
const GREY: Rgb = [200, 200, 200];
pub const MEASURED: Rgb = [31, 119, 180];
pub const MINIMUM: Rgb = [44, 160, 44];
pub const NAIVE: Rgb = [214, 39, 40];
pub const WALL: Rgb = [255, 127, 14];

pub struct Bar {
    pub label: String,
    pub measured: u64,
    pub minimum: u64,
    pub naive: u64,
    pub wall_seconds: f64,
}

struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Self {
        Canvas { w, h, px: vec![255; w * h * 3] }
    }

    fn set(&mut self, x: usize, y: usize, c: Rgb) {
        if x < self.w && y < self.h {
            let i = (y * self.w + x) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    fn rect(&mut self, x: usize, y: usize, w: usize, h: usize, c: Rgb) {
        for yy in y..(y + h).min(self.h) {
            for xx in x..(x + w).min(self.w) {
                self.set(xx, yy, c);
            }
        }
    }

    /// 8x8 glyphs scaled by `scale`; returns the width drawn.
    fn text(&mut self, x: usize, y: usize, text: &str, scale: usize, c: Rgb) -> usize {
        let mut cx = x;
        for ch in text.chars() {
            let code = if ch.is_ascii() { ch as usize } else { b'?' as usize };
            let glyph = font8x8::legacy::BASIC_LEGACY[code];
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        self.rect(cx + col * scale, y + row * scale, scale, scale, c);
                    }
                }
            }
            cx += 8 * scale;
        }
        cx - x
    }

    fn text_right(&mut self, right: usize, y: usize, text: &str, scale: usize, c: Rgb) {
        let width = text.chars().count() * 8 * scale;
        self.text(right.saturating_sub(width), y, text, scale, c);
    }

    fn save(&self, path: &Path) -> std::io::Result<()> {
        let file = std::fs::File::create(path)?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), self.w as u32, self.h as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer.write_image_data(&self.px).map_err(std::io::Error::other)?;
        Ok(())
    }
}

fn human(n: f64) -> String {
    if n >= 1e6 {
        format!("{:.1}M", n / 1e6)
    } else if n >= 1e4 {
        format!("{:.0}k", n / 1e3)
    } else if n >= 1e3 {
        format!("{:.1}k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

/// Draws the chart; `header` lines go on top (command, commit, latency).
pub fn draw(path: &Path, header: &[String], bars: &[Bar]) -> std::io::Result<()> {
    let (w, label_w, panel_gap) = (1280usize, 330usize, 70usize);
    let row_h = 44usize;
    let top = 30 + header.len() * 14 + 40;
    let h = top + bars.len() * row_h + 70;
    let mut c = Canvas::new(w, h);
    c.text(16, 12, "zoho-google-contacts-sync benchmarks", 2, BLACK);
    for (i, line) in header.iter().enumerate() {
        c.text(16, 36 + i * 14, line, 1, BLACK);
    }

    // Left panel: API calls, log10 from 1 to the next power of ten above the largest bar.
    let calls_x = label_w;
    let calls_w = 520usize;
    let max = bars.iter().flat_map(|b| [b.measured, b.minimum, b.naive]).max().unwrap_or(1).max(10) as f64;
    let decades = max.log10().ceil().max(1.0);
    let scale_x = |v: u64| -> usize { ((v.max(1) as f64).log10() / decades * calls_w as f64) as usize };
    let wall_x = calls_x + calls_w + panel_gap;
    let wall_w = w - wall_x - 60;
    let max_wall = bars.iter().map(|b| b.wall_seconds).fold(0.0f64, f64::max).max(0.001);

    c.text(calls_x, top - 30, "API calls per scenario (log scale)", 1, BLACK);
    c.text(wall_x, top - 30, "wall time (s)", 1, BLACK);
    let bottom = top + bars.len() * row_h;
    for d in 0..=decades as usize {
        let x = calls_x + (d as f64 / decades * calls_w as f64) as usize;
        c.rect(x, top - 6, 1, bottom - top + 6, GREY);
        c.text(x.saturating_sub(8), bottom + 6, &human(10f64.powi(d as i32)), 1, BLACK);
    }
    for k in 0..=4 {
        let x = wall_x + k * wall_w / 4;
        c.rect(x, top - 6, 1, bottom - top + 6, GREY);
        c.text(x.saturating_sub(8), bottom + 6, &format!("{:.0}", max_wall * k as f64 / 4.0), 1, BLACK);
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = top + i * row_h;
        let label: String = bar.label.chars().take(40).collect();
        c.text_right(calls_x - 10, y + 16, &label, 1, BLACK);
        for (k, (value, colour)) in [(bar.measured, MEASURED), (bar.minimum, MINIMUM), (bar.naive, NAIVE)].into_iter().enumerate() {
            let yy = y + 4 + k * 12;
            let len = scale_x(value).max(1);
            c.rect(calls_x, yy, len, 10, colour);
            c.text(calls_x + len + 4, yy + 1, &human(value as f64), 1, BLACK);
        }
        let len = ((bar.wall_seconds / max_wall) * wall_w as f64) as usize;
        c.rect(wall_x, y + 14, len.max(1), 14, WALL);
        c.text(wall_x + len.max(1) + 4, y + 17, &format!("{:.1}", bar.wall_seconds), 1, BLACK);
    }
    let legend_y = bottom + 30;
    let mut x = calls_x;
    for (name, colour) in [("measured", MEASURED), ("theoretical minimum", MINIMUM), ("naive (1 call per contact)", NAIVE), ("wall time", WALL)] {
        c.rect(x, legend_y, 12, 10, colour);
        x += 18 + c.text(x + 18, legend_y + 1, name, 1, BLACK) + 24;
    }
    c.save(path)
}
