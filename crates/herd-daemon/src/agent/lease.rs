//! This node's own lease: taking grants (refusing a stale DC epoch), the renewal loop, and
//! the lease-loss path (a new incarnation and the lease-loss hook: stop every resource).
//!
//! Not here: the DC's view of everyone's renewals (`dc.rs`). `Lease` is pure state; the I/O
//! is in the `Agent` methods: renewals over herd-rpc, the hooks, tokio's monotonic clock.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use herd_raft::{Consensus, DcEpoch};
use tokio::time::Instant;

use super::{Agent, lock};
use crate::wire::ClusterReply;

/// This node's own lease.
#[derive(Debug, Default)]
pub(crate) struct Lease {
    pub(crate) expiry: Option<Instant>,
    /// When the last grant arrived.
    pub(crate) last_grant: Option<Instant>,
    pub(crate) held: bool,
    /// The highest DC epoch seen; a grant or command with a lower one is refused.
    pub(crate) highest_epoch: Option<DcEpoch>,
}

/// What a lease grant did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grant {
    /// The lease starts (it was not held).
    New,
    Renewed,
    /// Refused: a DC with a higher epoch has been seen.
    StaleEpoch {
        highest: DcEpoch,
    },
    /// Ignored: the lease it gives is already over (a reply that waited out a pause).
    Expired,
}

impl Lease {
    /// Accepts `epoch` if no higher DC epoch has been seen, and remembers it. Every command
    /// from a DC goes through this check; a stale DC is refused.
    pub(crate) fn accept_dc_epoch(&mut self, epoch: DcEpoch) -> Result<(), DcEpoch> {
        match self.highest_epoch {
            Some(highest) if epoch < highest => Err(highest),
            _ => {
                self.highest_epoch = Some(epoch);
                Ok(())
            }
        }
    }

    /// Takes a grant sent at `sent`: the lease runs `lease_for` from our send time.
    pub(crate) fn accept_grant(
        &mut self,
        epoch: DcEpoch,
        sent: Instant,
        lease_for: Duration,
        now: Instant,
    ) -> Grant {
        if let Err(highest) = self.accept_dc_epoch(epoch) {
            return Grant::StaleEpoch { highest };
        }
        let expiry = sent + lease_for;
        if expiry <= now {
            return Grant::Expired;
        }
        self.last_grant = Some(now);
        if self.expiry.is_none_or(|current| current < expiry) {
            self.expiry = Some(expiry);
        }
        if self.held {
            Grant::Renewed
        } else {
            self.held = true;
            Grant::New
        }
    }
}
impl Agent {
    /// Whether this node holds a valid lease right now.
    pub(crate) fn lease_valid(&self) -> bool {
        lock(&self.lease)
            .expiry
            .is_some_and(|expiry| Instant::now() < expiry)
    }
    /// Whether any lease was granted to this process (an expired one included).
    pub(crate) fn lease_ever_granted(&self) -> bool {
        lock(&self.lease).last_grant.is_some()
    }
    pub(super) async fn renew_round(self: &Arc<Self>) {
        if self.departure.has_left() {
            return; // left gracefully: no lease, no lease-loss stop (agent/leave.rs)
        }
        self.check_lease_expiry().await;
        let status = self.consensus.status();
        let Some(leader) = status.leader else { return };
        let incarnation = self.incarnation.load(Ordering::SeqCst);
        let seq = self.renew_seq.fetch_add(1, Ordering::SeqCst);
        let sent = Instant::now();
        if leader.name == self.name {
            let reply = self.renew_self(incarnation, seq); // health.rs: refused when unhealthy
            self.take_grant(reply, sent);
            return;
        }
        let agent = self.clone();
        tokio::spawn(async move {
            let msg = agent.renew_msg(incarnation, seq); // Renew, or RenewUnhealthy (health.rs)
            let timeout = agent.renew_interval() * 2;
            if let Ok(reply) = agent.call(&leader.name, &msg, timeout).await {
                if let ClusterReply::Removed { dc } = &reply
                    && *dc == leader.name
                {
                    agent.learn_removed(dc); // agent/removed.rs
                }
                agent.take_grant(reply, sent);
            }
        });
    }

    /// Extends the lease from a grant, measured from our send time; refuses stale epochs.
    fn take_grant(&self, reply: ClusterReply, sent: Instant) {
        let ClusterReply::Lease {
            dc_epoch: Some(epoch),
            granted: true,
            ..
        } = reply
        else {
            return;
        };
        let lease_for = Duration::from_millis(self.timing().lease_ms);
        let outcome = lock(&self.lease).accept_grant(epoch, sent, lease_for, Instant::now());
        match outcome {
            Grant::StaleEpoch { highest } => tracing::warn!(
                dc_epoch = %epoch, %highest, "refusing a lease grant from a stale DC epoch"
            ),
            Grant::New => tracing::info!(dc_epoch = %epoch, "node lease granted"),
            Grant::Renewed | Grant::Expired => {}
        }
    }

    async fn check_lease_expiry(&self) {
        let lost = {
            let mut lease = lock(&self.lease);
            let expired = lease.expiry.is_some_and(|expiry| Instant::now() >= expiry);
            if lease.held && expired {
                lease.held = false;
                true
            } else {
                false
            }
        };
        if lost {
            let incarnation = self.incarnation.fetch_add(1, Ordering::SeqCst) + 1;
            tracing::warn!(
                incarnation,
                "node lease lost: stopping every resource on this node"
            );
            self.hooks.lease_lost().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn grant_from_a_stale_dc_epoch_is_refused_and_the_lease_runs_from_the_send_time() {
        let mut lease = Lease::default();
        let t0 = Instant::now();
        let (old, new) = (
            DcEpoch { term: 3, leader: 1 },
            DcEpoch { term: 4, leader: 2 },
        );
        assert_eq!(
            lease.accept_grant(new, t0, ms(1500), t0 + ms(5)),
            Grant::New
        );
        assert_eq!(lease.expiry, Some(t0 + ms(1500)));
        let stale = lease.accept_grant(old, t0 + ms(200), ms(1500), t0 + ms(205));
        assert_eq!(stale, Grant::StaleEpoch { highest: new });
        assert_eq!(
            lease.expiry,
            Some(t0 + ms(1500)),
            "a stale grant extends nothing"
        );
        assert_eq!(
            lease.accept_grant(new, t0 + ms(200), ms(1500), t0 + ms(210)),
            Grant::Renewed
        );
        assert_eq!(lease.expiry, Some(t0 + ms(1700)));
    }

    #[test]
    fn grant_whose_lease_is_already_over_is_ignored() {
        let mut lease = Lease::default();
        let t0 = Instant::now();
        let epoch = DcEpoch { term: 3, leader: 1 };
        // Sent before a 5 s pause, taken after it.
        let late = lease.accept_grant(epoch, t0, ms(1500), t0 + ms(5000));
        assert_eq!(late, Grant::Expired);
        assert!(!lease.held && lease.expiry.is_none() && lease.last_grant.is_none());
    }
}
