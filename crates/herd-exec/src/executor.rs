//! The executor: runs one operation at a time per resource (a fair FIFO lock per resource),
//! at most `max_concurrent_actions` at once per node, records each result in the history,
//! and keeps the registry of running operations so that they can be cancelled.
//!
//! Recurring monitors are in [`crate::recurring`], the lease-loss stop in
//! [`crate::stop_all`]; the processes themselves in [`crate::process`].
//! I/O: none of its own beyond what it calls (processes, history files, meta-data runs).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{Semaphore, broadcast, watch};

use crate::class::{self, Call, RawResult};
use crate::config::ExecConfig;
use crate::error::ExecError;
use crate::history::{HistoryStore, ResourceHistory};
use crate::metadata::{Metadata, parse_metadata};
use crate::op::{Action, ExecStatus, OpRequest, OpResult};
use crate::recurring::{MonitorEvent, Recurring};
use crate::spec::AgentSpec;

/// Time limit of `meta-data` (it must answer at once, without parameters).
const METADATA_TIMEOUT_MS: u64 = 5_000;

/// Monitor events buffered for slow subscribers before the oldest are dropped.
const EVENT_QUEUE_LEN_MAX: usize = 1024;

/// An operation in flight, for cancellation.
pub(crate) struct Running {
    pub(crate) request: OpRequest,
    pub(crate) abort: watch::Sender<bool>,
}

pub(crate) struct Inner {
    pub(crate) config: ExecConfig,
    pub(crate) history: HistoryStore,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    slots: Arc<Semaphore>,
    next_call: AtomicU64,
    pub(crate) running: Mutex<HashMap<u64, Running>>,
    pub(crate) recurring: Mutex<HashMap<(String, u64), Recurring>>,
    pub(crate) events: broadcast::Sender<MonitorEvent>,
    metadata_cache: Mutex<HashMap<AgentSpec, Metadata>>,
}

/// Runs resource agents on this node. Cheap to clone (all clones share one executor).
#[derive(Clone)]
pub struct Executor {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Removes an operation from the running table when it ends, or when its caller drops it.
/// An action dropped before it finished is recorded as abandoned (see
/// `HistoryStore::record_abandoned`); its agent's process group was killed.
struct Registered<'a> {
    inner: &'a Inner,
    call_id: u64,
    request: &'a OpRequest,
    finished: bool,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.inner.running.lock() {
            running.remove(&self.call_id);
        }
        if !self.finished {
            let raw = RawResult::own(
                crate::rc::OcfRc::ErrGeneric,
                ExecStatus::Cancelled,
                "abandoned by its caller while running; the agent was killed".to_owned(),
            );
            let result =
                self.inner
                    .finish(self.request, raw, self.call_id, now_ms(), Instant::now());
            self.inner.history.record_abandoned(self.request, &result);
        }
    }
}

/// Whether an operation waits for one of the node's action slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Take,
    /// Stops after a lease loss: they run at once, whatever the limit.
    Exempt,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Executor {
    /// An executor with `config`; loads the on-disk history when `history_dir` is set.
    pub fn new(config: ExecConfig) -> Result<Executor, ExecError> {
        let history = HistoryStore::load(config.history_dir.as_deref())?;
        let slots = Arc::new(Semaphore::new(config.max_concurrent_actions.max(1)));
        let (events, _) = broadcast::channel(EVENT_QUEUE_LEN_MAX);
        Ok(Executor {
            inner: Arc::new(Inner {
                config,
                history,
                locks: Mutex::default(),
                slots,
                next_call: AtomicU64::new(1),
                running: Mutex::default(),
                recurring: Mutex::default(),
                events,
                metadata_cache: Mutex::default(),
            }),
        })
    }

    /// The configuration this executor runs with.
    pub fn config(&self) -> &ExecConfig {
        &self.inner.config
    }

    /// Runs one action and records it. Waits for any other action of the same resource to
    /// finish first, and for a free slot of the node. Agent failures are results, not errors.
    /// A stop first cancels the resource's recurring monitors.
    pub async fn execute(&self, request: OpRequest) -> OpResult {
        if request.action == Action::Stop {
            self.cancel_resource_recurring(&request.resource);
        }
        self.inner.execute(request, Slot::Take).await
    }

    /// A probe of a resource this node has a history for, with the recorded agent,
    /// parameters and meta attributes (as after a restart of the daemon).
    pub async fn probe(&self, resource: &str) -> Result<OpResult, ExecError> {
        let history = self.history(resource).ok_or_else(|| ExecError::NoHistory {
            resource: resource.to_owned(),
        })?;
        let mut request = OpRequest::new(resource, history.agent, Action::Monitor);
        request.params = history.params;
        request.meta = history.meta;
        request.timeout_ms = request
            .meta
            .get("timeout")
            .and_then(|t| crate::metadata::parse_duration_ms(t));
        Ok(self.execute(request).await)
    }

    /// Probes every resource this node has a history for, concurrently (within the node's
    /// limit): what a restarted daemon runs to learn what is active here. By resource id.
    pub async fn probe_all(&self) -> Vec<OpResult> {
        let tasks: Vec<_> = self
            .histories()
            .into_iter()
            .map(|history| {
                let executor = self.clone();
                tokio::spawn(async move { executor.probe(&history.resource).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            match task.await {
                Ok(Ok(result)) => results.push(result),
                Ok(Err(e)) => tracing::warn!(error = %e, "probe skipped"),
                Err(e) => tracing::error!(error = %e, "probe task failed"),
            }
        }
        results.sort_by(|a, b| a.resource.cmp(&b.resource));
        results
    }

    /// What this node records about a resource.
    pub fn history(&self, resource: &str) -> Option<ResourceHistory> {
        self.inner.history.get(resource)
    }

    /// Every resource this node has a history for, by id.
    pub fn histories(&self) -> Vec<ResourceHistory> {
        self.inner.history.all()
    }

    /// The resources that may be active here (started, promoted, or failed).
    pub fn active_resources(&self) -> Vec<String> {
        self.histories()
            .into_iter()
            .filter(|h| h.state.is_active())
            .map(|h| h.resource)
            .collect()
    }

    /// Forgets a resource's history (after a cleanup); it is probed afresh next time.
    pub fn forget(&self, resource: &str) -> Result<(), ExecError> {
        self.cancel_resource_recurring(resource);
        self.inner.history.forget(resource)
    }

    /// The parsed meta-data of an agent (cached per agent for the executor's lifetime).
    pub async fn metadata(&self, spec: &AgentSpec) -> Result<Metadata, ExecError> {
        if let Some(cached) = self
            .inner
            .metadata_cache
            .lock()
            .expect("cache lock is never poisoned")
            .get(spec)
        {
            return Ok(cached.clone());
        }
        let request = OpRequest::new(&spec.kind, spec.clone(), Action::MetaData)
            .timeout_ms(METADATA_TIMEOUT_MS);
        let raw = self.inner.run_raw(&request, None, None).await;
        let error = |why: String| ExecError::Metadata {
            spec: spec.to_string(),
            why,
        };
        if raw.status == ExecStatus::NotInstalled {
            return Err(ExecError::UnknownAgent {
                spec: spec.to_string(),
                why: raw
                    .exit_reason
                    .unwrap_or_else(|| format!("agent {spec} is not installed")),
            });
        }
        if raw.status != ExecStatus::Done || raw.rc != 0 {
            let first_stderr_line = raw
                .stderr
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_owned);
            let reason = raw
                .exit_reason
                .or(first_stderr_line)
                .unwrap_or_else(|| "no reason given".to_owned());
            return Err(error(format!(
                "the agent answered rc {} instead of 0 ({reason})",
                raw.rc
            )));
        }
        let metadata = parse_metadata(&raw.stdout).map_err(error)?;
        self.inner
            .metadata_cache
            .lock()
            .expect("cache lock is never poisoned")
            .insert(spec.clone(), metadata.clone());
        Ok(metadata)
    }

    /// Checks parameters against the agent's meta-data: every name given must be declared
    /// (a typo such as `ipp` is named with its likely meaning before the missing `ip` is),
    /// and every required one must be given.
    pub async fn check_params(
        &self,
        spec: &AgentSpec,
        params: &BTreeMap<String, String>,
    ) -> Result<Metadata, ExecError> {
        let metadata = self.metadata(spec).await?;
        let unknown = metadata.unknown_params(params);
        if !unknown.is_empty() {
            return Err(ExecError::UnknownParams {
                spec: spec.to_string(),
                names: unknown,
                takes_none: metadata.parameters.is_empty(),
            });
        }
        let missing = metadata.missing_required(params);
        if missing.is_empty() {
            Ok(metadata)
        } else {
            Err(ExecError::MissingParams {
                spec: spec.to_string(),
                names: missing,
            })
        }
    }

    /// Subscribes to recurring monitor events (a result whose rc differs from the last one).
    pub fn subscribe(&self) -> broadcast::Receiver<MonitorEvent> {
        self.inner.events.subscribe()
    }
}

impl Inner {
    fn resource_lock(&self, resource: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().expect("lock table is never poisoned");
        locks.entry(resource.to_owned()).or_default().clone()
    }

    /// Runs with the resource lock held (the caller may hold it already via `locked`).
    pub(crate) async fn execute(&self, request: OpRequest, slot: Slot) -> OpResult {
        let lock = self.resource_lock(&request.resource);
        let _turn = lock.lock().await;
        self.execute_locked(request, slot, None).await
    }

    /// Waits for the resource's lock until `deadline`; `None` when it stayed busy.
    pub(crate) async fn lock_until(
        &self,
        resource: &str,
        deadline: tokio::time::Instant,
    ) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        let lock = self.resource_lock(resource);
        tokio::time::timeout_at(deadline, lock.lock_owned())
            .await
            .ok()
    }

    /// Runs an action whose resource lock the caller holds.
    /// `grace_ms` overrides the configured SIGTERM-to-SIGKILL grace.
    pub(crate) async fn execute_locked(
        &self,
        request: OpRequest,
        slot: Slot,
        grace_ms: Option<u64>,
    ) -> OpResult {
        let _permit = match slot {
            Slot::Take => Some(
                self.slots
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the slot semaphore is never closed"),
            ),
            Slot::Exempt => None,
        };
        let call_id = self.next_call.fetch_add(1, Ordering::Relaxed);
        let (abort, abort_rx) = watch::channel(false);
        self.running
            .lock()
            .expect("running table is never poisoned")
            .insert(
                call_id,
                Running {
                    request: request.clone(),
                    abort,
                },
            );
        let mut registered = Registered {
            inner: self,
            call_id,
            request: &request,
            finished: false,
        };
        let started_ms = now_ms();
        let clock = Instant::now();
        let raw = self.run_raw(&request, Some(abort_rx), grace_ms).await;
        registered.finished = true;
        drop(registered);
        let result = self.finish(&request, raw, call_id, started_ms, clock);
        if let Err(e) = self.history.record(&request, &result).await {
            tracing::error!(resource = %request.resource, error = %e, "operation history not written");
        }
        result
    }

    async fn run_raw(
        &self,
        request: &OpRequest,
        abort: Option<watch::Receiver<bool>>,
        grace_ms: Option<u64>,
    ) -> RawResult {
        let timeout_ms = request
            .timeout_ms
            .unwrap_or(self.config.agent_timeout_ms_default);
        let abort = abort.unwrap_or_else(|| watch::channel(false).1);
        class::run(Call {
            config: &self.config,
            request,
            timeout_ms,
            abort,
            grace_ms: grace_ms.unwrap_or(self.config.kill_grace_ms),
        })
        .await
    }

    fn finish(
        &self,
        request: &OpRequest,
        raw: RawResult,
        call_id: u64,
        started_ms: u64,
        clock: Instant,
    ) -> OpResult {
        let output = match (
            raw.stdout.trim_end().is_empty(),
            raw.stderr.trim_end().is_empty(),
        ) {
            (_, true) => raw.stdout.trim_end().to_owned(),
            (true, false) => raw.stderr.trim_end().to_owned(),
            (false, false) => format!("{}\n{}", raw.stdout.trim_end(), raw.stderr.trim_end()),
        };
        let result = OpResult {
            resource: request.resource.clone(),
            agent: request.agent.to_string(),
            action: request.action,
            interval_ms: request.interval_ms,
            rc: raw.rc,
            status: raw.status,
            exit_reason: raw.exit_reason,
            output,
            started_ms,
            duration_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
            call_id,
        };
        tracing::debug!(summary = %result.summary(), duration_ms = result.duration_ms, "operation done");
        result
    }

    /// The requests of the operations running now.
    pub(crate) fn running_requests(&self) -> Vec<OpRequest> {
        let running = self
            .running
            .lock()
            .expect("running table is never poisoned");
        running.values().map(|op| op.request.clone()).collect()
    }

    /// Asks every running operation that matches to stop (their process groups get SIGTERM).
    pub(crate) fn abort_running(&self, matches: impl Fn(&Running) -> bool) -> usize {
        let running = self
            .running
            .lock()
            .expect("running table is never poisoned");
        running
            .values()
            .filter(|op| matches(op))
            .inspect(|op| {
                op.abort.send_replace(true);
            })
            .count()
    }
}
