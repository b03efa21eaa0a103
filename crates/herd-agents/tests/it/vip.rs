//! `ocf:herd:vip` across namespaces: reachability, failover with gratuitous ARP, refusals.

use herd_agents::ocf;

use crate::lab::{Lab, NsRuntime, agent, ip, neighbour_mac, neighbour_mac_soon, reachable};

fn vip_params(vip: &str) -> Vec<(&str, &str)> {
    vec![("ip", vip), ("arp_count", "2"), ("arp_interval", "50")]
}

#[test]
fn vip_start_makes_address_reachable_and_stop_takes_it_away() {
    let mut lab = Lab::new();
    let h1 = lab.host("h1", 1, None);
    let client = lab.host("cl", 10, None);
    let vip = lab.vip();
    let dir = tempfile::tempdir().unwrap();
    assert!(
        !reachable(&client.ns, &vip, 9),
        "nobody holds the address yet"
    );

    let started = agent(&h1.ns, "vip", "start", &vip_params(&vip), dir.path());
    assert_eq!(started.rc, ocf::SUCCESS, "{started:?}");
    assert!(
        started.output.contains(&format!("added {vip}/24 to eth0")),
        "{started:?}"
    );
    assert!(
        reachable(&client.ns, &vip, 9),
        "client reaches the address after start"
    );
    let monitored = agent(&h1.ns, "vip", "monitor", &vip_params(&vip), dir.path());
    assert_eq!(monitored.rc, ocf::SUCCESS, "{monitored:?}");
    let again = agent(&h1.ns, "vip", "start", &vip_params(&vip), dir.path());
    assert_eq!(
        again.rc,
        ocf::SUCCESS,
        "starting a started vip succeeds: {again:?}"
    );

    let stopped = agent(&h1.ns, "vip", "stop", &vip_params(&vip), dir.path());
    assert_eq!(stopped.rc, ocf::SUCCESS, "{stopped:?}");
    assert!(!ip(&["-n", &h1.ns, "addr", "show", "dev", "eth0"]).contains(&vip));
    assert!(
        !reachable(&client.ns, &vip, 9),
        "client no longer reaches the address"
    );
    let monitored = agent(&h1.ns, "vip", "monitor", &vip_params(&vip), dir.path());
    assert_eq!(monitored.rc, ocf::NOT_RUNNING, "{monitored:?}");
    let again = agent(&h1.ns, "vip", "stop", &vip_params(&vip), dir.path());
    assert_eq!(
        again.rc,
        ocf::SUCCESS,
        "stopping a stopped vip succeeds: {again:?}"
    );
}

#[test]
fn moving_vip_updates_client_arp_cache_at_once() {
    let mut lab = Lab::new();
    let h1 = lab.host("h1", 1, None);
    let h2 = lab.host("h2", 2, None);
    let client = lab.host("cl", 10, None);
    let vip = lab.vip();
    let dir = tempfile::tempdir().unwrap();

    assert_eq!(
        agent(&h1.ns, "vip", "start", &vip_params(&vip), dir.path()).rc,
        ocf::SUCCESS
    );
    assert!(reachable(&client.ns, &vip, 9));
    assert_eq!(
        neighbour_mac_soon(&client.ns, &vip, &h1.mac).as_deref(),
        Some(h1.mac.as_str())
    );

    assert_eq!(
        agent(&h1.ns, "vip", "stop", &vip_params(&vip), dir.path()).rc,
        ocf::SUCCESS
    );
    let started = agent(&h2.ns, "vip", "start", &vip_params(&vip), dir.path());
    assert_eq!(started.rc, ocf::SUCCESS, "{started:?}");
    assert!(started.output.contains("gratuitous ARP"), "{started:?}");
    // No traffic from the client in between: only the gratuitous ARP can have changed it.
    assert_eq!(
        neighbour_mac_soon(&client.ns, &vip, &h2.mac).as_deref(),
        Some(h2.mac.as_str()),
        "the client's ARP cache points at h2 right after start"
    );
    assert!(reachable(&client.ns, &vip, 9));

    // The converse: moving back without announcements leaves the client pointing at h2.
    assert_eq!(
        agent(&h2.ns, "vip", "stop", &vip_params(&vip), dir.path()).rc,
        ocf::SUCCESS
    );
    let silent = [("ip", vip.as_str()), ("arp_count", "0")];
    assert_eq!(
        agent(&h1.ns, "vip", "start", &silent, dir.path()).rc,
        ocf::SUCCESS
    );
    assert_eq!(
        neighbour_mac(&client.ns, &vip).as_deref(),
        Some(h2.mac.as_str())
    );
}

#[test]
fn stopped_vip_sends_no_more_announcements_so_failover_sticks() {
    let mut lab = Lab::new();
    let h1 = lab.host("h1", 1, None);
    let h2 = lab.host("h2", 2, None);
    let client = lab.host("cl", 10, None);
    let vip = lab.vip();
    let dir = tempfile::tempdir().unwrap();
    let daemon_h1 = NsRuntime::new(&h1.ns);
    // A second of background announcements, interrupted by the stop.
    let slow = [
        ("ip", vip.as_str()),
        ("arp_count", "40"),
        ("arp_interval", "25"),
    ];
    assert_eq!(
        daemon_h1.agent("vip", "start", &slow, dir.path()).rc,
        ocf::SUCCESS
    );
    assert!(reachable(&client.ns, &vip, 9));
    assert_eq!(
        daemon_h1.agent("vip", "stop", &slow, dir.path()).rc,
        ocf::SUCCESS
    );
    let once = [("ip", vip.as_str()), ("arp_count", "1")];
    assert_eq!(
        agent(&h2.ns, "vip", "start", &once, dir.path()).rc,
        ocf::SUCCESS
    );
    assert_eq!(
        neighbour_mac_soon(&client.ns, &vip, &h2.mac).as_deref(),
        Some(h2.mac.as_str())
    );
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(
        neighbour_mac(&client.ns, &vip).as_deref(),
        Some(h2.mac.as_str()),
        "no late announcement from h1 pulls the client back"
    );
}

#[test]
fn address_answered_by_another_host_is_refused() {
    let mut lab = Lab::new();
    let h1 = lab.host("h1", 1, None);
    let h2 = lab.host("h2", 2, None);
    let vip = lab.vip();
    let dir = tempfile::tempdir().unwrap();
    ip(&[
        "-n",
        &h1.ns,
        "addr",
        "add",
        &format!("{vip}/24"),
        "dev",
        "eth0",
    ]);

    let refused = agent(&h2.ns, "vip", "start", &vip_params(&vip), dir.path());
    assert_eq!(refused.rc, ocf::ERR_GENERIC, "{refused:?}");
    let reason = refused.exit_reason.unwrap_or_default();
    assert!(reason.contains("refusing to take"), "{reason}");
    assert!(
        reason.contains(&h1.mac),
        "the reason names the MAC that answered: {reason}"
    );
    assert!(
        !ip(&["-n", &h2.ns, "addr", "show", "dev", "eth0"]).contains(&vip),
        "not taken"
    );
}

#[test]
fn two_holders_with_different_macs_are_both_named() {
    let mut lab = Lab::new();
    let h1 = lab.host("h1", 1, None);
    let h2 = lab.host("h2", 2, None);
    let h3 = lab.host("h3", 3, None);
    let vip = lab.vip();
    let dir = tempfile::tempdir().unwrap();
    for holder in [&h1, &h3] {
        ip(&[
            "-n",
            &holder.ns,
            "addr",
            "add",
            &format!("{vip}/24"),
            "dev",
            "eth0",
        ]);
    }
    let refused = agent(&h2.ns, "vip", "start", &vip_params(&vip), dir.path());
    assert_eq!(refused.rc, ocf::ERR_GENERIC, "{refused:?}");
    assert!(
        refused.output.contains("several MAC addresses"),
        "{refused:?}"
    );
    assert!(
        refused.output.contains(&h1.mac) && refused.output.contains(&h3.mac),
        "{refused:?}"
    );
}

#[test]
fn host_using_our_own_mac_is_reported_as_duplicate_mac() {
    let mut lab = Lab::new();
    let h2 = lab.host("h2", 2, None);
    let twin = lab.host("twin", 3, Some(&h2.mac.clone()));
    let vip = lab.vip();
    let dir = tempfile::tempdir().unwrap();
    let twin_vip = format!("{}.101", lab.net);
    ip(&[
        "-n",
        &twin.ns,
        "addr",
        "add",
        &format!("{twin_vip}/24"),
        "dev",
        "eth0",
    ]);
    // The twin announces its own address while h2 probes: its broadcasts carry h2's MAC.
    let twin_ns = twin.ns.clone();
    let twin_dir = dir.path().to_path_buf();
    let chatter = std::thread::spawn(move || {
        let params = [
            ("ip", twin_vip.as_str()),
            ("arp_count_refresh", "1"),
            ("monitor_probe", "false"),
        ];
        for _ in 0..40 {
            agent(&twin_ns, "vip", "monitor", &params, &twin_dir);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
    let params = [
        ("ip", vip.as_str()),
        ("probe_timeout", "500"),
        ("probe_count", "5"),
    ];
    let refused = agent(&h2.ns, "vip", "start", &params, dir.path());
    chatter.join().unwrap();
    assert_eq!(refused.rc, ocf::ERR_GENERIC, "{refused:?}");
    let reason = refused.exit_reason.unwrap_or_default();
    assert!(
        reason.contains("duplicate MAC") && reason.contains(&h2.mac),
        "{reason}"
    );
}

#[test]
fn monitor_warns_when_another_host_also_answers() {
    let mut lab = Lab::new();
    let h1 = lab.host("h1", 1, None);
    let h3 = lab.host("h3", 3, None);
    let vip = lab.vip();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        agent(&h1.ns, "vip", "start", &vip_params(&vip), dir.path()).rc,
        ocf::SUCCESS
    );
    ip(&[
        "-n",
        &h3.ns,
        "addr",
        "add",
        &format!("{vip}/24"),
        "dev",
        "eth0",
    ]);
    let monitored = agent(&h1.ns, "vip", "monitor", &vip_params(&vip), dir.path());
    assert_eq!(monitored.rc, ocf::SUCCESS, "{monitored:?}");
    assert!(monitored.output.contains("warning"), "{monitored:?}");
    assert!(monitored.output.contains(&h3.mac), "{monitored:?}");
}

#[test]
fn ipv6_vip_is_reachable_and_refused_when_held() {
    let mut lab = Lab::new();
    let h1 = lab.host("h1", 1, None);
    let h2 = lab.host("h2", 2, None);
    let client = lab.host("cl", 10, None);
    let vip = lab.vip6();
    let dir = tempfile::tempdir().unwrap();
    let params = vip_params(&vip);

    let started = agent(&h1.ns, "vip", "start", &params, dir.path());
    assert_eq!(started.rc, ocf::SUCCESS, "{started:?}");
    assert!(
        started.output.contains("/64 to eth0"),
        "prefix from the subnet: {started:?}"
    );
    assert!(
        reachable(&client.ns, &vip, 9),
        "client reaches the IPv6 address"
    );
    let refused = agent(&h2.ns, "vip", "start", &params, dir.path());
    assert_eq!(refused.rc, ocf::ERR_GENERIC, "{refused:?}");
    assert!(refused.exit_reason.unwrap_or_default().contains(&h1.mac));
    assert_eq!(
        agent(&h1.ns, "vip", "stop", &params, dir.path()).rc,
        ocf::SUCCESS
    );
    assert_eq!(
        agent(&h1.ns, "vip", "monitor", &params, dir.path()).rc,
        ocf::NOT_RUNNING
    );

    assert_eq!(
        neighbour_mac(&client.ns, &vip).as_deref(),
        Some(h1.mac.as_str())
    );
    let moved = agent(&h2.ns, "vip", "start", &params, dir.path());
    assert_eq!(moved.rc, ocf::SUCCESS, "{moved:?}");
    assert!(
        moved.output.contains("unsolicited neighbour advertisement"),
        "{moved:?}"
    );
    assert_eq!(
        neighbour_mac_soon(&client.ns, &vip, &h2.mac).as_deref(),
        Some(h2.mac.as_str()),
        "the client's neighbour cache points at h2 right after start"
    );
}

#[test]
fn mac_seen_on_two_bridge_ports_is_warned_by_a_bridge_host() {
    let mut lab = Lab::new();
    let h2 = lab.host("h2", 2, None);
    let twin = lab.host("twin", 3, Some(&h2.mac.clone()));
    let bridge_addr = format!("{}.250/24", lab.net);
    ip(&["-n", &lab.switch, "addr", "add", &bridge_addr, "dev", "br0"]);
    let dir = tempfile::tempdir().unwrap();
    let chatter: Vec<_> = [
        (h2.ns.clone(), format!("{}.2", lab.net)),
        (twin.ns.clone(), format!("{}.3", lab.net)),
    ]
    .into_iter()
    .map(|(ns, own)| {
        let dir = dir.path().to_path_buf();
        std::thread::spawn(move || {
            let params = [
                ("ip", own.as_str()),
                ("arp_count_refresh", "1"),
                ("monitor_probe", "false"),
            ];
            for _ in 0..30 {
                agent(&ns, "vip", "monitor", &params, &dir);
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        })
    })
    .collect();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let vip = lab.vip();
    let params = [
        ("ip", vip.as_str()),
        ("probe_timeout", "400"),
        ("arp_count", "1"),
    ];
    let started = agent(&lab.switch, "vip", "start", &params, dir.path());
    for thread in chatter {
        thread.join().unwrap();
    }
    assert_eq!(
        started.rc,
        ocf::SUCCESS,
        "a warning, not a refusal: {started:?}"
    );
    assert!(started.output.contains("br0"), "{started:?}");
    assert!(
        started
            .output
            .contains(&format!("MAC {} shows up on bridge port(s) p1, p2", h2.mac)),
        "{started:?}"
    );
}

#[test]
fn bad_parameters_give_clear_configuration_errors() {
    let mut lab = Lab::new();
    let h1 = lab.host("h1", 1, None);
    let dir = tempfile::tempdir().unwrap();
    let missing = agent(&h1.ns, "vip", "validate-all", &[], dir.path());
    assert_eq!(missing.rc, ocf::ERR_CONFIGURED);
    assert!(
        missing
            .exit_reason
            .unwrap_or_default()
            .contains("\"ip\" is required")
    );
    let bad = agent(&h1.ns, "vip", "start", &[("ip", "10.0.0.300")], dir.path());
    assert_eq!(bad.rc, ocf::ERR_CONFIGURED, "{bad:?}");
    let no_subnet = agent(
        &h1.ns,
        "vip",
        "validate-all",
        &[("ip", "192.0.2.7")],
        dir.path(),
    );
    assert_eq!(no_subnet.rc, ocf::ERR_ARGS, "{no_subnet:?}");
    assert!(
        no_subnet
            .exit_reason
            .unwrap_or_default()
            .contains("set nic=")
    );
    let no_nic = agent(
        &h1.ns,
        "vip",
        "validate-all",
        &[("ip", "192.0.2.7"), ("nic", "nope0")],
        dir.path(),
    );
    assert_eq!(no_nic.rc, ocf::ERR_ARGS, "{no_nic:?}");
    let meta = agent(&h1.ns, "vip", "meta-data", &[], dir.path());
    assert_eq!(meta.rc, ocf::SUCCESS);
    assert!(
        meta.output
            .contains("<parameter name=\"ip\" unique=\"1\" required=\"1\">")
    );
}

#[test]
fn vip_on_a_down_interface_fails_clearly() {
    let mut lab = Lab::new();
    let h1 = lab.host("h1", 1, None);
    ip(&["-n", &h1.ns, "link", "set", "eth0", "down"]);
    let dir = tempfile::tempdir().unwrap();
    let vip = lab.vip();
    let failed = agent(&h1.ns, "vip", "start", &vip_params(&vip), dir.path());
    assert_eq!(failed.rc, ocf::ERR_GENERIC, "{failed:?}");
    assert!(failed.exit_reason.unwrap_or_default().contains("is it up?"));
    assert!(!ip(&["-n", &h1.ns, "addr", "show", "dev", "eth0"]).contains(&vip));
}
