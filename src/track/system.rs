//! System metrics sampled in the background while a run works, under the names MLflow's own
//! system-metrics monitor uses (`system/cpu_utilization_percentage`,
//! `system/system_memory_usage_megabytes`, `system/system_memory_usage_percentage`), so the
//! MLflow UI shows them in the run's "System metrics" tab as it does for Python runs.
//!
//! Read from `/proc/stat` and `/proc/meminfo` (Linux); elsewhere no sample is taken and
//! nothing is logged.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::tracker::Tracker;
use super::types::now_ms;
use crate::error::Result;

/// Metric name of the machine's CPU use (all cores), in percent.
pub const CPU_METRIC: &str = "system/cpu_utilization_percentage";
/// Metric name of the memory in use (total minus available), in MB.
pub const MEMORY_MB_METRIC: &str = "system/system_memory_usage_megabytes";
/// Metric name of the memory in use, in percent of the total.
pub const MEMORY_PCT_METRIC: &str = "system/system_memory_usage_percentage";

/// One sample of the machine's state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SystemSample {
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// CPU use since the previous sample, percent of all cores.
    pub cpu_percent: f64,
    /// Memory in use (MemTotal − MemAvailable), MB.
    pub memory_mb: f64,
    /// Memory in use, percent of MemTotal.
    pub memory_percent: f64,
}

/// A background thread taking a [`SystemSample`] every `interval` until [`SystemSampler::stop`].
#[derive(Debug)]
pub struct SystemSampler {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Vec<SystemSample>>>,
}

/// `(busy, total)` jiffies of the first `cpu` line of `/proc/stat`.
fn cpu_times() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    if v.len() < 4 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    let total: u64 = v.iter().take(8).sum();
    let idle = v[3] + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// `(used MB, used percent)` from `/proc/meminfo`.
fn memory() -> Option<(f64, f64)> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse::<f64>().ok()
    };
    let total = field("MemTotal:")?;
    let avail = field("MemAvailable:")?;
    let used = (total - avail).max(0.0);
    Some((used / 1024.0, 100.0 * used / total.max(1.0)))
}

/// CPU percent between two `(busy, total)` readings.
fn cpu_percent(before: (u64, u64), after: (u64, u64)) -> f64 {
    let busy = after.0.saturating_sub(before.0) as f64;
    let total = after.1.saturating_sub(before.1) as f64;
    if total > 0.0 {
        100.0 * busy / total
    } else {
        0.0
    }
}

impl SystemSampler {
    /// Starts sampling every `interval` (at least 100 ms); the first sample is taken one
    /// interval in, and [`SystemSampler::stop`] takes a last one.
    pub fn start(interval: Duration) -> Self {
        let interval = interval.max(Duration::from_millis(100));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("genre-system-metrics".into())
            .spawn(move || {
                let mut out = Vec::new();
                let mut prev = cpu_times();
                let mut next = Instant::now() + interval;
                loop {
                    let stopping = flag.load(Ordering::Relaxed);
                    if stopping || Instant::now() >= next {
                        let now = cpu_times();
                        if let (Some(p), Some(n), Some((mb, pct))) = (prev, now, memory()) {
                            out.push(SystemSample {
                                timestamp_ms: now_ms(),
                                cpu_percent: cpu_percent(p, n),
                                memory_mb: mb,
                                memory_percent: pct,
                            });
                        }
                        prev = now;
                        next += interval;
                    }
                    if stopping {
                        return out;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
            .ok();
        SystemSampler { stop, handle }
    }

    /// Stops the thread and returns every sample, oldest first.
    pub fn stop(mut self) -> Vec<SystemSample> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for SystemSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Logs `samples` on the active run: step = the sample's index, timestamp = when it was taken.
pub fn log_samples(tracker: &mut dyn Tracker, samples: &[SystemSample]) -> Result<()> {
    for (i, s) in samples.iter().enumerate() {
        let step = i as i64;
        tracker.log_metric_at(CPU_METRIC, s.cpu_percent, step, s.timestamp_ms)?;
        tracker.log_metric_at(MEMORY_MB_METRIC, s.memory_mb, step, s.timestamp_ms)?;
        tracker.log_metric_at(MEMORY_PCT_METRIC, s.memory_percent, step, s.timestamp_ms)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percent_of_two_readings() {
        assert_eq!(cpu_percent((100, 1000), (150, 1100)), 50.0);
        assert_eq!(cpu_percent((100, 1000), (100, 1000)), 0.0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn samples_are_taken_while_busy_and_make_sense() {
        let s = SystemSampler::start(Duration::from_millis(100));
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(450) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let samples = s.stop();
        assert!(samples.len() >= 3, "{samples:?}");
        for w in samples.windows(2) {
            assert!(w[0].timestamp_ms <= w[1].timestamp_ms);
        }
        // One core spun the whole time: CPU use is above zero in every full interval.
        assert!(
            samples[..samples.len() - 1]
                .iter()
                .all(|s| s.cpu_percent > 1.0),
            "{samples:?}"
        );
        assert!(samples
            .iter()
            .all(|s| s.memory_mb > 0.0 && s.memory_percent > 0.0 && s.memory_percent <= 100.0));
    }
}
