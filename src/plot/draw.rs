//! Drawing pieces shared by the figures: horizontal bar charts with category names, side
//! legends, text measurement, curve thinning and number formatting.

use super::figure::{bold, font, text, OrPlot};
use crate::error::Result;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

/// Width in pixels of `s` drawn in `style` on `area`.
pub(crate) fn text_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    style: &TextStyle,
) -> Result<u32> {
    Ok(area.estimate_text_size(s, style).plot()?.0)
}

/// Widest of `items` in `style`.
pub(crate) fn max_text_width<DB: DrawingBackend, S: AsRef<str>>(
    area: &DrawingArea<DB, Shift>,
    items: &[S],
    style: &TextStyle,
) -> Result<u32> {
    let mut w = 0;
    for s in items {
        w = w.max(text_width(area, s.as_ref(), style)?);
    }
    Ok(w)
}

/// Draws `s` at `pos` (relative to `area`) anchored by `h`/`v`.
pub(crate) fn put<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    style: &TextStyle,
    pos: (i32, i32),
    h: HPos,
    v: VPos,
) -> Result<()> {
    area.draw_text(s, &style.pos(Pos::new(h, v)), pos).plot()
}

/// Draws `s` rotated to read bottom-to-top, centred on `pos` (relative to `area`).
pub(crate) fn put_vertical<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    size: f64,
    pos: (i32, i32),
) -> Result<()> {
    let style = TextStyle::from(font(size).transform(FontTransform::Rotate270))
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text(s, &style, pos).plot()
}

/// Converts an absolute backend coordinate (as `ChartContext::backend_coord` gives) into one
/// relative to `area`.
pub(crate) fn rel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: (i32, i32)) -> (i32, i32) {
    let (x0, y0) = area.get_base_pixel();
    (p.0 - x0, p.1 - y0)
}

/// How a legend entry shows its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// A filled square (bars, points).
    Box,
    /// A solid line.
    Line,
    /// A dashed line.
    Dashed,
}

/// One legend row.
pub(crate) struct Entry {
    pub label: String,
    pub color: RGBColor,
    pub mark: Mark,
}

/// Draws a legend as a column of rows at the top-left of `area`, each row `row_h` pixels high,
/// with an optional bold heading. Rows that do not fit are summarised as "… N more".
pub(crate) fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: Option<&str>,
    entries: &[Entry],
    size: f64,
) -> Result<()> {
    let row_h = (size * 1.55).round() as i32;
    let (_, h) = area.dim_in_pixel();
    let mut y = 2;
    if let Some(head) = heading {
        let style = TextStyle::from(bold(size)).color(&BLACK);
        put(
            area,
            head,
            &style,
            (2, y + row_h / 2),
            HPos::Left,
            VPos::Center,
        )?;
        y += row_h;
    }
    let style = text(size);
    let fits = ((h as i32 - y) / row_h).max(0) as usize;
    let shown = if entries.len() > fits {
        fits.saturating_sub(1)
    } else {
        entries.len()
    };
    for e in &entries[..shown] {
        let cy = y + row_h / 2;
        match e.mark {
            Mark::Box => {
                let s = (size * 0.75).round() as i32;
                area.draw(&Rectangle::new(
                    [(4, cy - s / 2), (4 + s, cy - s / 2 + s)],
                    e.color.filled(),
                ))
                .plot()?;
            }
            Mark::Line => {
                area.draw(&PathElement::new(
                    vec![(2, cy), (24, cy)],
                    e.color.stroke_width(3),
                ))
                .plot()?;
            }
            Mark::Dashed => {
                for x in [2, 11, 20] {
                    area.draw(&PathElement::new(
                        vec![(x, cy), (x + 5, cy)],
                        e.color.stroke_width(3),
                    ))
                    .plot()?;
                }
            }
        }
        put(area, &e.label, &style, (30, cy), HPos::Left, VPos::Center)?;
        y += row_h;
    }
    if shown < entries.len() {
        let more = format!("… {} more", entries.len() - shown);
        put(
            area,
            &more,
            &style,
            (30, y + row_h / 2),
            HPos::Left,
            VPos::Center,
        )?;
    }
    Ok(())
}

/// A horizontal bar chart of named categories, first name at the top.
pub(crate) struct HBars<'a> {
    pub names: &'a [String],
    pub values: &'a [f64],
    pub colors: &'a [RGBColor],
    /// Text drawn just right of each bar's end.
    pub value_labels: &'a [String],
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    /// Upper end of the value axis (the lower end is 0, or `log_floor` on a log axis).
    pub x_max: f64,
    /// Log value axis with this lower end, when set.
    pub log_floor: Option<f64>,
    /// A vertical reference line and its label.
    pub reference: Option<(f64, String)>,
    pub label_size: f64,
}

/// Draws `b` into `area`: names right-aligned left of the bars, value labels at their ends
/// (moved right of the reference line where it would cross them).
pub(crate) fn hbars<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, b: &HBars) -> Result<()> {
    let n = b.names.len();
    let name_style = text(b.label_size);
    let name_w = max_text_width(area, b.names, &name_style)? as i32;
    // On a log axis the chart runs over log10 of the values, with ticks drawn here.
    let tr = |v: f64| match b.log_floor {
        Some(_) => v.max(f64::MIN_POSITIVE).log10(),
        None => v,
    };
    let base = b.log_floor.map_or(0.0, f64::log10);
    let x_max = tr(b.x_max);
    let mut chart = ChartBuilder::on(area)
        .margin_right(10)
        .margin_top(if b.reference.is_some() { 24 } else { 6 })
        .x_label_area_size(44)
        .y_label_area_size(name_w + 36)
        .build_cartesian_2d(base..x_max, 0f64..n.max(1) as f64)
        .plot()?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(if b.log_floor.is_some() { 0 } else { 10 })
        .x_desc(b.x_desc)
        .y_desc(b.y_desc)
        .x_label_formatter(&|v| fmt_num(*v))
        .label_style(text(13.0))
        .axis_desc_style(text(15.0))
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.12))
        .draw()
        .plot()?;
    if b.log_floor.is_some() {
        log_ticks(area, &chart, base, x_max, (0.0, n as f64))?;
    }
    let row = |i: usize| (n - 1 - i) as f64;
    let pad = if n > 20 { 0.12 } else { 0.18 };
    chart
        .draw_series(b.values.iter().enumerate().map(|(i, &v)| {
            Rectangle::new(
                [(base, row(i) + pad), (tr(v).max(base), row(i) + 1.0 - pad)],
                b.colors[i % b.colors.len().max(1)].filled(),
            )
        }))
        .plot()?;
    if let Some((x, label)) = &b.reference {
        let (x, top) = (tr(*x), n as f64);
        chart
            .draw_series(DashedLineSeries::new(
                vec![(x, 0.0), (x, top)],
                6,
                4,
                BLACK.stroke_width(2),
            ))
            .plot()?;
        let (px, py) = rel(area, chart.backend_coord(&(x, top)));
        put(
            area,
            label,
            &text(13.0),
            (px, py - 4),
            HPos::Center,
            VPos::Bottom,
        )?;
    }
    let value_style = text((b.label_size - 1.0).max(9.0)).color(&RGBColor(40, 40, 40));
    let ref_x = b
        .reference
        .as_ref()
        .map(|(x, _)| rel(area, chart.backend_coord(&(tr(*x), 0.0))).0);
    for (i, name) in b.names.iter().enumerate() {
        let (_, y) = chart.backend_coord(&(base, row(i) + 0.5));
        let (x_axis, _) = chart.backend_coord(&(base, 0.0));
        let (x, y) = rel(area, (x_axis, y));
        put(
            area,
            name,
            &name_style,
            (x - 6, y),
            HPos::Right,
            VPos::Center,
        )?;
        if let (Some(label), Some(&v)) = (b.value_labels.get(i), b.values.get(i)) {
            let (mut xe, _) = rel(area, chart.backend_coord(&(tr(v).max(base), 0.0)));
            // A label that the reference line would cross starts just right of it instead.
            if let Some(rx) = ref_x {
                let lw = text_width(area, label, &value_style)? as i32;
                if rx + 2 >= xe && rx < xe + lw + 10 {
                    xe = rx + 2;
                }
            }
            put(
                area,
                label,
                &value_style,
                (xe + 5, y),
                HPos::Left,
                VPos::Center,
            )?;
        }
    }
    Ok(())
}

/// Tick values for a log axis over `10^lo ..= 10^hi`: 1-2-5 steps per decade (only powers of
/// ten beyond four decades, every integer multiple below one decade).
pub(crate) fn log_tick_values(lo: f64, hi: f64) -> Vec<f64> {
    let span = hi - lo;
    let mults: &[f64] = if span > 4.0 {
        &[1.0]
    } else if span >= 1.0 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    };
    let mut out = Vec::new();
    let mut d = lo.floor() as i32;
    while f64::from(d) <= hi.ceil() {
        for m in mults {
            let v = m * 10f64.powi(d);
            let l = v.log10();
            if l >= lo - 1e-9 && l <= hi + 1e-9 {
                out.push(v);
            }
        }
        d += 1;
    }
    out
}

/// Draws grid lines, tick marks and labels of a log10 x axis (the chart's x runs over
/// `lo..hi` in log10 units) below the plotting area.
pub(crate) fn log_ticks<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &ChartContext<DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    lo: f64,
    hi: f64,
    (y0, y1): (f64, f64),
) -> Result<()> {
    for v in log_tick_values(lo, hi) {
        let l = v.log10();
        chart
            .plotting_area()
            .draw(&PathElement::new(
                vec![(l, y0), (l, y1)],
                BLACK.mix(0.12).stroke_width(1),
            ))
            .plot()?;
        let (px, py) = rel(area, chart.backend_coord(&(l, y0)));
        area.draw(&PathElement::new(vec![(px, py), (px, py + 5)], BLACK))
            .plot()?;
        put(
            area,
            &fmt_num(v),
            &text(13.0),
            (px, py + 7),
            HPos::Center,
            VPos::Top,
        )?;
    }
    Ok(())
}

/// Draws `entries` side by side, centred in a strip `height` pixels high at the top of `area`.
pub(crate) fn legend_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    size: f64,
    height: i32,
) -> Result<()> {
    let style = text(size);
    let mut widths = Vec::with_capacity(entries.len());
    for e in entries {
        widths.push(text_width(area, &e.label, &style)? as i32 + 30 + 22);
    }
    let total: i32 = widths.iter().sum();
    let (w, _) = area.dim_in_pixel();
    let mut x = (w as i32 - total) / 2;
    let cy = height / 2;
    for (e, wd) in entries.iter().zip(widths) {
        let sub = area
            .clone()
            .shrink((x, cy - height / 2), (wd as u32, height as u32));
        legend(&sub, None, std::slice::from_ref(e), size)?;
        x += wd;
    }
    Ok(())
}

/// Keeps the points of a curve that move at least `eps` (in data units) away from the last kept
/// point, plus the last point: the drawn shape is the same, the SVG far smaller.
pub(crate) fn thin(points: impl IntoIterator<Item = (f64, f64)>, eps: f64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut last_skipped = None;
    for p in points {
        match out.last() {
            Some(&(x, y)) if (p.0 - x).abs() < eps && (p.1 - y).abs() < eps => {
                last_skipped = Some(p);
            }
            _ => {
                out.push(p);
                last_skipped = None;
            }
        }
    }
    if let Some(p) = last_skipped {
        out.push(p);
    }
    out
}

/// A tick or value label: integers without decimals, numbers below 1000 with up to 3
/// significant decimals, below 0.001 in scientific notation, large ones with thousands
/// separators.
pub(crate) fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a >= 1000.0 && (v - v.round()).abs() < 1e-9 {
        let s = format!("{}", v.round() as i64);
        let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
        let mut out = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        return format!("{sign}{out}");
    }
    if a < 0.001 && a > 0.0 {
        // 1.83e-5: three significant digits.
        let s = format!("{v:.2e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        return format!("{mantissa}e{exp}");
    }
    if (v - v.round()).abs() < 1e-9 {
        return format!("{}", v.round() as i64);
    }
    let decimals = if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else if a >= 0.01 {
        3
    } else {
        4
    };
    let s = format!("{v:.decimals$}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(12345.0), "12,345");
        assert_eq!(fmt_num(-1234.0), "-1,234");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_num(0.1234), "0.123");
        assert_eq!(fmt_num(3.5), "3.5");
        assert_eq!(fmt_num(0.001), "0.001");
        assert_eq!(fmt_num(0.0001), "1e-4");
        assert_eq!(fmt_num(0.0000183), "1.83e-5");
    }

    #[test]
    fn thinning_keeps_ends() {
        let pts: Vec<(f64, f64)> = (0..=1000).map(|i| (i as f64 / 1000.0, 0.5)).collect();
        let t = thin(pts, 0.01);
        assert!(t.len() < 120, "{}", t.len());
        assert_eq!(t[0], (0.0, 0.5));
        assert_eq!(*t.last().unwrap(), (1.0, 0.5));
    }
}
