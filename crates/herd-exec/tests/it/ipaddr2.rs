//! ocf:heartbeat:IPaddr2 inside a network namespace made for the test: a wrapper agent runs
//! the real IPaddr2 under `ip netns exec`, so the host's interfaces are never touched.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use herd_exec::{Action, OcfRc};

use crate::support::{Fixture, request};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A network namespace with a veth pair `hd0`/`hd1` (192.0.2.1/24 on hd0), deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn new() -> Option<Netns> {
        let name = format!(
            "hx{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        if !ip(&["netns", "add", &name]) {
            return None;
        }
        let ns = Netns { name };
        let ok = ip(&[
            "-n", &ns.name, "link", "add", "hd0", "type", "veth", "peer", "name", "hd1",
        ]) && ip(&["-n", &ns.name, "link", "set", "hd0", "up"])
            && ip(&["-n", &ns.name, "link", "set", "hd1", "up"])
            && ip(&["-n", &ns.name, "link", "set", "lo", "up"])
            && ip(&["-n", &ns.name, "addr", "add", "192.0.2.1/24", "dev", "hd0"]);
        ok.then_some(ns)
    }

    fn addresses(&self) -> String {
        let out = Command::new("ip")
            .args(["-n", &self.name, "-4", "addr", "show", "dev", "hd0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        ip(&["netns", "del", &self.name]);
    }
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test]
async fn ipaddr2_adds_and_removes_an_address_in_a_namespace() {
    let ns = Netns::new().expect("a network namespace with a veth pair (needs root and iproute2)");
    let fx = Fixture::new();
    fx.add_agent(
        "IPaddr2ns",
        "#!/bin/sh\nexec ip netns exec \"$OCF_RESKEY_netns\" \"$OCF_ROOT/resource.d/heartbeat/IPaddr2\" \"$@\"\n",
    );
    let exec = fx.executor();
    let params = [
        ("netns", ns.name.as_str()),
        ("ip", "192.0.2.10"),
        ("cidr_netmask", "24"),
        ("nic", "hd0"),
        ("arp_count", "1"),
    ];
    let run = |action| exec.execute(request("vip", "ocf:test:IPaddr2ns", action, &params));
    assert_eq!(OcfRc::NotRunning, run(Action::Monitor).await.ocf());
    let start = run(Action::Start).await;
    assert_eq!(0, start.rc, "{}\n{}", start.summary(), start.output);
    assert!(
        ns.addresses().contains("192.0.2.10/24"),
        "{}",
        ns.addresses()
    );
    assert_eq!(OcfRc::Success, run(Action::Monitor).await.ocf());
    let stop = run(Action::Stop).await;
    assert_eq!(0, stop.rc, "{}\n{}", stop.summary(), stop.output);
    assert!(!ns.addresses().contains("192.0.2.10"), "{}", ns.addresses());
    assert_eq!(OcfRc::NotRunning, run(Action::Monitor).await.ocf());
}
