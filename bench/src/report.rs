//! Output: OSU's text format on stdout, and JSON, CSV and PNG files.
use crate::{sync_name, test_name, via_name, window_name, Setup};
use std::fmt::Write as _;
use std::path::Path;

/// One row: size, distarr value (through the layer `--via` names), raw-MPI value, and with
/// `--via c` the Rust layer's value measured in the same run.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    pub size: usize,
    pub distarr: Option<f64>,
    pub mpi: Option<f64>,
    pub rust: Option<f64>,
}

impl Row {
    /// distarr / MPI.
    pub fn ratio(&self) -> Option<f64> {
        match (self.distarr, self.mpi) {
            (Some(d), Some(m)) if m > 0.0 => Some(d / m),
            _ => None,
        }
    }

    /// C ABI minus Rust layer, in nanoseconds (latency tests with `--via c`).
    pub fn c_minus_rust_ns(&self) -> Option<f64> {
        match (self.distarr, self.rust) {
            (Some(c), Some(r)) => Some((c - r) * 1e3),
            _ => None,
        }
    }
}

/// A benchmark's results and how they were obtained.
#[derive(Debug)]
pub struct Results {
    pub test: &'static str,
    pub window: &'static str,
    pub sync: &'static str,
    pub bw: bool,
    pub compare: bool,
    /// `rust` or `c`: the layer of the distarr column.
    pub via: &'static str,
    pub iterations: Option<usize>,
    pub mpi_version: String,
    /// Why the distarr column is n/a.
    pub dist_note: Option<&'static str>,
    /// With `--via c`: why the Rust column is n/a.
    pub rust_note: Option<&'static str>,
    pub rows: Vec<Row>,
}

const FIELD: usize = 20;

fn cell(v: Option<f64>) -> String {
    match v {
        Some(v) => format!("{v:>FIELD$.2}"),
        None => format!("{:>FIELD$}", "n/a"),
    }
}

fn json_num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.4}"),
        _ => "null".into(),
    }
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

impl Results {
    pub fn new(
        s: &Setup,
        mpi_version: &str,
        dist_note: Option<&'static str>,
        rust_note: Option<&'static str>,
    ) -> Results {
        Results {
            test: test_name(s.cli.test),
            window: window_name(s.cli.window),
            sync: sync_name(s.sync),
            bw: s.bw,
            compare: s.cli.compare_mpi,
            via: via_name(s.cli.via),
            iterations: s.cli.iterations,
            mpi_version: mpi_version.lines().next().unwrap_or("").trim().to_string(),
            dist_note,
            rust_note,
            rows: Vec::new(),
        }
    }

    fn via_c(&self) -> bool {
        self.via == "c"
    }

    pub fn unit(&self) -> &'static str {
        if self.bw {
            "MB/s"
        } else {
            "us"
        }
    }

    /// OSU's header (`# title`, notes, `# Size    Latency (us)` with the extra columns).
    pub fn header(&self) -> String {
        let mut h = format!("# distarr {} (window {}, sync {})\n", self.test, self.window, self.sync);
        if let Some(n) = self.dist_note {
            let _ = writeln!(h, "# distarr column n/a: {n}");
        }
        if self.via_c() {
            let _ = writeln!(
                h,
                "# distarr column: through the C ABI (libdistarr's extern \"C\" functions); Rust column: the same runtime called from Rust, same run"
            );
            if let Some(n) = self.rust_note {
                let _ = writeln!(h, "# Rust column n/a: {n}");
            }
        }
        if self.compare {
            let _ = writeln!(
                h,
                "# MPI column: raw MPI calls, same window kind and sync, same process; ratio = distarr / MPI"
            );
        }
        let first = if self.bw { "Bandwidth (MB/s)" } else { "Latency (us)" };
        let _ = write!(h, "{:<10}{first:>FIELD$}", "# Size");
        if self.compare {
            let m = format!("MPI ({})", self.unit());
            let _ = write!(h, "{m:>FIELD$}{:>FIELD$}", "ratio");
        }
        if self.via_c() {
            let r = format!("Rust ({})", self.unit());
            let _ = write!(h, "{r:>FIELD$}");
            if !self.bw {
                let _ = write!(h, "{:>FIELD$}", "C-Rust (ns)");
            }
        }
        h.push('\n');
        h
    }

    /// Records a row and returns its text line (`%-10d%20.2f`...).
    pub fn push(&mut self, size: usize, distarr: Option<f64>, mpi: Option<f64>, rust: Option<f64>) -> String {
        let r = Row {
            size,
            distarr,
            mpi,
            rust,
        };
        self.rows.push(r);
        let mut line = format!("{size:<10}{}", cell(distarr));
        if self.compare {
            line.push_str(&cell(mpi));
            line.push_str(&cell(r.ratio()));
        }
        if self.via_c() {
            line.push_str(&cell(rust));
            if !self.bw {
                line.push_str(&cell(r.c_minus_rust_ns()));
            }
        }
        line
    }

    pub fn json(&self) -> String {
        let mut o = String::from("{\n");
        let _ = writeln!(o, "  \"test\": {},", json_str(self.test));
        let _ = writeln!(o, "  \"window\": {},", json_str(self.window));
        let _ = writeln!(o, "  \"sync\": {},", json_str(self.sync));
        let _ = writeln!(o, "  \"unit\": {},", json_str(self.unit()));
        let _ = writeln!(o, "  \"via\": {},", json_str(self.via));
        let _ = writeln!(o, "  \"mpi_version\": {},", json_str(&self.mpi_version));
        let _ = writeln!(
            o,
            "  \"iterations_override\": {},",
            self.iterations.map_or("null".into(), |i| i.to_string())
        );
        let _ = writeln!(
            o,
            "  \"distarr_note\": {},",
            self.dist_note.map_or("null".into(), json_str)
        );
        let _ = writeln!(
            o,
            "  \"rust_note\": {},",
            self.rust_note.map_or("null".into(), json_str)
        );
        o.push_str("  \"rows\": [\n");
        for (k, r) in self.rows.iter().enumerate() {
            let _ = write!(
                o,
                "    {{\"size\": {}, \"distarr\": {}, \"mpi\": {}, \"ratio\": {}",
                r.size,
                json_num(r.distarr),
                json_num(r.mpi),
                json_num(r.ratio())
            );
            if self.via_c() {
                let _ = write!(
                    o,
                    ", \"rust\": {}, \"c_minus_rust_ns\": {}",
                    json_num(r.rust),
                    json_num(if self.bw { None } else { r.c_minus_rust_ns() })
                );
            }
            o.push('}');
            o.push_str(if k + 1 < self.rows.len() { ",\n" } else { "\n" });
        }
        o.push_str("  ]\n}\n");
        o
    }

    pub fn csv(&self) -> String {
        let u = self.unit().replace('/', "_per_");
        let mut o = format!("size,distarr_{u},mpi_{u},ratio");
        if self.via_c() {
            let _ = write!(o, ",rust_{u}");
        }
        o.push('\n');
        let f = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
        for r in &self.rows {
            let _ = write!(o, "{},{},{},{}", r.size, f(r.distarr), f(r.mpi), f(r.ratio()));
            if self.via_c() {
                let _ = write!(o, ",{}", f(r.rust));
            }
            o.push('\n');
        }
        o
    }
}

/// Where the plot's font comes from: `DISTARR_BENCH_FONT`, else DejaVu Sans (Debian:
/// fonts-dejavu-core) or Liberation Sans.
fn font() -> Result<&'static [u8], String> {
    let mut candidates: Vec<std::path::PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("DISTARR_BENCH_FONT") {
        candidates.push(p.into());
    }
    for p in [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    ] {
        candidates.push(p.into());
    }
    for p in &candidates {
        if let Ok(bytes) = std::fs::read(p) {
            // Registered fonts must live for the program's life; one small leak per plot.
            return Ok(Box::leak(bytes.into_boxed_slice()));
        }
    }
    Err(format!(
        "--plot needs a TrueType font: none of {} exists (apt-get install fonts-dejavu-core, or set DISTARR_BENCH_FONT)",
        candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    ))
}

fn size_label(x: f64) -> String {
    let b = x.round() as u64;
    match b {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{}M", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{}K", b >> 10),
        b => b.to_string(),
    }
}

/// A plotted line: name, colour, points.
type Series = (&'static str, plotters::style::RGBColor, Vec<(f64, f64)>);

/// Latency or bandwidth against size, log axes, one line per layer (distarr, MPI).
pub fn plot(r: &Results, path: &Path) -> Result<(), String> {
    use plotters::prelude::*;
    plotters::style::register_font("sans-serif", FontStyle::Normal, font()?)
        .map_err(|_| "the plot font is not a valid TrueType font".to_string())?;
    let series: Vec<Series> = [
        (
            if r.via_c() { "distarr (C ABI)" } else { "distarr" },
            RGBColor(0x1f, 0x77, 0xb4),
            r.rows.iter().map(|x| (x.size, x.distarr)).collect::<Vec<_>>(),
        ),
        (
            "distarr (Rust)",
            RGBColor(0x2c, 0xa0, 0x2c),
            r.rows.iter().map(|x| (x.size, x.rust)).collect(),
        ),
        (
            "raw MPI",
            RGBColor(0xd6, 0x27, 0x28),
            r.rows.iter().map(|x| (x.size, x.mpi)).collect(),
        ),
    ]
    .into_iter()
    .map(|(name, c, pts)| {
        let pts: Vec<(f64, f64)> = pts
            .into_iter()
            .filter_map(|(s, v)| v.filter(|v| *v > 0.0).map(|v| (s as f64, v)))
            .collect();
        (name, c, pts)
    })
    .filter(|(_, _, p)| !p.is_empty())
    .collect();
    if series.is_empty() {
        return Err("--plot: no values to plot".into());
    }
    let all = || series.iter().flat_map(|(_, _, p)| p.iter().copied());
    let (x0, x1) = all().fold((f64::MAX, f64::MIN), |(a, b), (x, _)| (a.min(x), b.max(x)));
    let (y0, y1) = all().fold((f64::MAX, f64::MIN), |(a, b), (_, y)| (a.min(y), b.max(y)));
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let root = BitMapBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let title = format!("distarr {} (window {}, sync {})", r.test, r.window, r.sync);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(
            (x0 / 1.5..x1 * 1.5).log_scale().base(4.0),
            (y0 / 1.5..y1 * 1.5).log_scale(),
        )
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("message size (bytes)")
        .y_desc(if r.bw { "bandwidth (MB/s)" } else { "latency (us)" })
        .x_label_formatter(&|x| size_label(*x))
        .y_label_formatter(&|y| format!("{y}"))
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|e| err(&e))?;
    for (name, color, pts) in &series {
        let c = *color;
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(2)));
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(compare: bool) -> Results {
        Results {
            test: "get_latency",
            window: "allocate",
            sync: "flush",
            bw: false,
            compare,
            via: "rust",
            iterations: None,
            mpi_version: "Open MPI v4.1.4".into(),
            dist_note: None,
            rust_note: None,
            rows: Vec::new(),
        }
    }

    #[test]
    fn osu_text_format() {
        let mut r = results(false);
        assert!(r.header().ends_with("# Size            Latency (us)\n"));
        assert_eq!(r.push(8, Some(0.123), None, None), "8                         0.12");
        let mut r = results(true);
        assert!(r
            .header()
            .ends_with("# Size            Latency (us)            MPI (us)               ratio\n"));
        let line = r.push(1024, Some(0.5), Some(0.25), None);
        assert_eq!(line, format!("{:<10}{:>20}{:>20}{:>20}", 1024, "0.50", "0.25", "2.00"));
        assert_eq!(
            r.push(2048, None, Some(1.0), None).split_whitespace().nth(1),
            Some("n/a")
        );
    }

    #[test]
    fn via_c_columns() {
        let mut r = results(true);
        r.via = "c";
        assert!(r.header().ends_with(
            "# Size            Latency (us)            MPI (us)               ratio           Rust (us)         C-Rust (ns)\n"
        ));
        let line = r.push(8, Some(0.07), Some(0.05), Some(0.06));
        assert_eq!(
            line,
            format!(
                "{:<10}{:>20}{:>20}{:>20}{:>20}{:>20}",
                8, "0.07", "0.05", "1.40", "0.06", "10.00"
            )
        );
        assert!(r.json().contains("\"rust\": 0.0600, \"c_minus_rust_ns\": 10.0000}"));
        assert!(r.csv().starts_with("size,distarr_us,mpi_us,ratio,rust_us\n8,"));
    }

    #[test]
    fn json_and_csv() {
        let mut r = results(true);
        r.push(1, Some(1.0), Some(0.5), None);
        r.push(2, None, Some(0.5), None);
        let j = r.json();
        assert!(j.contains("{\"size\": 1, \"distarr\": 1.0000, \"mpi\": 0.5000, \"ratio\": 2.0000},"));
        assert!(j.contains("{\"size\": 2, \"distarr\": null, \"mpi\": 0.5000, \"ratio\": null}\n"));
        assert_eq!(
            r.csv(),
            "size,distarr_us,mpi_us,ratio\n1,1.0000,0.5000,2.0000\n2,,0.5000,\n"
        );
        assert_eq!(json_str("a\"b\\\n"), "\"a\\\"b\\\\\\n\"");
    }
}
