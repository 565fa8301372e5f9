//! Logs: `tracing` to stdout, text or JSON, filtered by `RUST_LOG`.

use std::io::Write;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| Lossy(std::io::stdout()));
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Standard output that never reports a failed write. When the log's
/// reader has gone (a collector that died), tracing-subscriber says so on
/// standard error, and when that is the same broken pipe the saying
/// panics, in whatever task logged: SIGTERM's among them, so the server
/// no longer stopped. Lines nobody reads are dropped instead.
struct Lossy<W>(W);

impl<W: Write> Write for Lossy<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone.
    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn a_broken_log_pipe_is_no_error() {
        let mut out = Lossy(Broken);
        assert_eq!(out.write(b"a line\n").unwrap(), 7);
        out.write_all(b"another\n").unwrap();
        out.flush().unwrap();
    }
}
