//! Work a request starts and does not wait for (the calls it owed the
//! payment provider): spawned on the runtime and counted, so that
//! shutdown can let it finish and tests can await it instead of sleeping.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

/// The tasks started here and still running.
#[derive(Clone)]
pub struct Tasks {
    running: Arc<watch::Sender<usize>>,
    /// The runtime the app was built on. A request runs on an HTTP
    /// worker's runtime, which is dropped when the server stops, with
    /// every task spawned on it: these outlive the workers, so that
    /// shutdown can let them finish.
    runtime: tokio::runtime::Handle,
}

/// Counts a task while it runs, even if it panics.
struct Running(Arc<watch::Sender<usize>>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Tasks {
    /// Tasks spawned on the current runtime (call it from the app's own).
    pub fn on_current_runtime() -> Self {
        Self {
            running: Arc::new(watch::Sender::new(0)),
            runtime: tokio::runtime::Handle::current(),
        }
    }

    /// Runs `work` on its own, counted until it ends.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.running.send_modify(|n| *n += 1);
        let running = Running(self.running.clone());
        self.runtime.spawn(async move {
            work.await;
            drop(running);
        });
    }

    /// Resolves once no task started here is running.
    pub async fn idle(&self) {
        let mut running = self.running.subscribe();
        let _ = running.wait_for(|n| *n == 0).await;
    }
}
