//! CPU time per transaction, read from `/proc`: where each side's time
//! goes, so that a change can be placed (the api's own work, or the
//! database's). It drifts with the machine as the rates do: on this
//! virtual machine a CPU second does not always do the same work. Three
//! parts, each over one round: this process (the api instances run in
//! it), its children once waited for (wrk in the api's rounds; pgbench or
//! `sqlite3` in the baseline's), and the PostgreSQL server's processes
//! (found by name; none on SQLite, whose engine runs inside the api and
//! inside `sqlite3`).

use std::time::Duration;

/// CPU used so far, in clock ticks.
#[derive(Clone, Copy, Default)]
pub struct Sample {
    own: u64,
    children: u64,
    server: u64,
}

/// CPU used over a round, split as `Sample` is.
#[derive(Clone, Copy, Default)]
pub struct Used {
    pub own: Duration,
    pub children: Duration,
    pub server: Duration,
}

impl std::iter::Sum for Used {
    fn sum<I: Iterator<Item = Self>>(rounds: I) -> Self {
        rounds.fold(Self::default(), |a, u| Self {
            own: a.own + u.own,
            children: a.children + u.children,
            server: a.server + u.server,
        })
    }
}

impl Used {
    /// Per transaction, in microseconds: `transactions` done in the round.
    pub fn per(&self, transactions: f64) -> [f64; 3] {
        let us = |d: Duration| d.as_secs_f64() * 1e6 / transactions.max(1.0);
        [us(self.own), us(self.children), us(self.server)]
    }
}

/// What this process, its children and the database server have used.
pub fn sample() -> Sample {
    let (own, children) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| times(&s))
        .unwrap_or_default();
    Sample {
        own,
        children,
        server: server_ticks(),
    }
}

/// The CPU used from `before` to now.
pub fn since(before: Sample) -> Used {
    let now = sample();
    let tick = |t: u64| Duration::from_secs_f64(t as f64 / clock_ticks_per_second());
    Used {
        own: tick(now.own.saturating_sub(before.own)),
        children: tick(now.children.saturating_sub(before.children)),
        server: tick(now.server.saturating_sub(before.server)),
    }
}

/// `utime + stime` and `cutime + cstime` of a `/proc/PID/stat` line (the
/// command name, in parentheses, may hold spaces: fields count from the
/// last `)`).
fn times(stat: &str) -> Option<(u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    match fields.as_slice() {
        [utime, stime, cutime, cstime] => Some((utime + stime, cutime + cstime)),
        _ => None,
    }
}

/// The CPU of every `postgres` process on the machine (backends,
/// walwriter, checkpointer…): the server is local in this benchmark.
/// Their children's too: the postmaster's count holds the backends that
/// ended (pgbench's, once it is done), which `/proc` no longer lists.
fn server_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|s| s.contains("(postgres)"))
        .filter_map(|s| times(&s))
        .map(|(own, children)| own + children)
        .sum()
}

/// `getconf CLK_TCK` (100 on Linux, whatever the kernel's HZ).
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_times_after_a_name_with_spaces() {
        let line = "42 (post gres) S 1 42 42 0 -1 4194304 100 0 0 0 7 3 5 2 20 0 1 0";
        assert_eq!(times(line), Some((10, 7)));
    }
}
