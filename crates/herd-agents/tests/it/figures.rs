//! Timings of the native agents, printed (never asserted): run with HERD_HEAVY_TESTS=1.
//!
//! `HERD_HEAVY_TESTS=1 cargo test -p herd-agents --test it figures -- --nocapture`

use std::time::{Duration, Instant};

use herd_agents::ocf;

use crate::lab::{KillOnDrop, Lab, agent, neighbour_mac, reachable};

fn heavy() -> bool {
    let on = std::env::var("HERD_HEAVY_TESTS").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("skipped: set HERD_HEAVY_TESTS=1 to measure agent timings");
    }
    on
}

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name}: n={} min={:.1} ms median={:.1} ms max={:.1} ms",
        samples.len(),
        ms(samples[0]),
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() - 1])
    );
}

#[test]
fn figures_vip_failover_between_two_hosts() {
    if !heavy() {
        return;
    }
    let mut lab = Lab::new();
    let h1 = lab.host("h1", 1, None);
    let h2 = lab.host("h2", 2, None);
    let client = lab.host("cl", 10, None);
    let vip = lab.vip();
    let dir = tempfile::tempdir().expect("tempdir");
    let params = [("ip", vip.as_str())];
    let (mut starts, mut stops, mut failovers) = (Vec::new(), Vec::new(), Vec::new());
    assert_eq!(
        agent(&h1.ns, "vip", "start", &params, dir.path()).rc,
        ocf::SUCCESS
    );
    let (mut from, mut to) = (&h1, &h2);
    for _ in 0..20 {
        assert!(reachable(&client.ns, &vip, 9));
        let begin = Instant::now();
        assert_eq!(
            agent(&from.ns, "vip", "stop", &params, dir.path()).rc,
            ocf::SUCCESS
        );
        stops.push(begin.elapsed());
        let started = Instant::now();
        assert_eq!(
            agent(&to.ns, "vip", "start", &params, dir.path()).rc,
            ocf::SUCCESS
        );
        starts.push(started.elapsed());
        while neighbour_mac(&client.ns, &vip).as_deref() != Some(to.mac.as_str()) {
            std::thread::sleep(Duration::from_millis(1));
        }
        failovers.push(begin.elapsed());
        std::mem::swap(&mut from, &mut to);
    }
    summary("vip stop", stops);
    summary("vip start (probe budget 100 ms)", starts);
    summary(
        "vip failover: stop on old + start on new + client ARP updated",
        failovers,
    );
}

#[test]
fn figures_daemon_start_and_stop() {
    if !heavy() {
        return;
    }
    let mut lab = Lab::new();
    let ns = lab.bare("fig");
    let dir = tempfile::tempdir().expect("tempdir");
    let hap_cfg = dir.path().join("h.cfg");
    std::fs::write(
        &hap_cfg,
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:8089\n    http-request return status 200\n",
    )
    .expect("write");
    let dns_cfg = dir.path().join("d.conf");
    std::fs::write(
        &dns_cfg,
        "port=5399\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n",
    )
    .expect("write");
    let hap = [("config", hap_cfg.to_str().expect("utf-8"))];
    let dns = [
        ("config", dns_cfg.to_str().expect("utf-8")),
        ("check_address", "127.0.0.1:5399"),
    ];
    for (name, params) in [("haproxy", &hap[..]), ("dnsmasq", &dns[..])] {
        let run = dir.path().join(name);
        let _reap = KillOnDrop(run.clone());
        let (mut starts, mut stops, mut monitors) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..10 {
            let begin = Instant::now();
            assert_eq!(agent(&ns, name, "start", params, &run).rc, ocf::SUCCESS);
            starts.push(begin.elapsed());
            let begin = Instant::now();
            assert_eq!(agent(&ns, name, "monitor", params, &run).rc, ocf::SUCCESS);
            monitors.push(begin.elapsed());
            let begin = Instant::now();
            assert_eq!(agent(&ns, name, "stop", params, &run).rc, ocf::SUCCESS);
            stops.push(begin.elapsed());
        }
        summary(&format!("{name} start (until healthy)"), starts);
        summary(&format!("{name} monitor"), monitors);
        summary(&format!("{name} stop"), stops);
    }
}

#[test]
fn figures_many_vips_move_between_hosts_concurrently() {
    if !heavy() {
        return;
    }
    let mut lab = Lab::new();
    let h1 = lab.host("h1", 1, None);
    let h2 = lab.host("h2", 2, None);
    let client = lab.host("cl", 10, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let vips: Vec<String> = (100..132).map(|n| format!("{}.{n}", lab.net)).collect();
    let on_all = |ns: &str, action: &'static str| {
        let begin = Instant::now();
        let threads: Vec<_> = vips
            .iter()
            .map(|vip| {
                let (ns, vip, dir) = (ns.to_string(), vip.clone(), dir.path().to_path_buf());
                std::thread::spawn(move || agent(&ns, "vip", action, &[("ip", vip.as_str())], &dir))
            })
            .collect();
        for thread in threads {
            let outcome = thread.join().expect("agent thread");
            assert_eq!(outcome.rc, ocf::SUCCESS, "{action}: {outcome:?}");
        }
        begin.elapsed()
    };
    let started = on_all(&h1.ns, "start");
    for vip in &vips {
        assert!(reachable(&client.ns, vip, 9), "{vip} reachable on h1");
    }
    let stopped = on_all(&h1.ns, "stop");
    let moved = on_all(&h2.ns, "start");
    for vip in &vips {
        assert_eq!(
            neighbour_mac(&client.ns, vip).as_deref(),
            Some(h2.mac.as_str()),
            "{vip}"
        );
        assert!(reachable(&client.ns, vip, 9), "{vip} reachable on h2");
    }
    println!(
        "{} vips at once: start {:.0} ms, stop {:.0} ms, start elsewhere {:.0} ms \
         (every client ARP entry updated by the announcements)",
        vips.len(),
        started.as_secs_f64() * 1000.0,
        stopped.as_secs_f64() * 1000.0,
        moved.as_secs_f64() * 1000.0
    );
}
