//! `ocf:herd:haproxy` and `ocf:herd:dnsmasq` with Debian's real daemons, inside namespaces.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use herd_agents::{dns, ocf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::dhcp;
use crate::lab::{KillOnDrop, Lab, agent, in_ns, ip};

/// A tiny HTTP backend inside `ns`, answering every request with `body`, until dropped.
struct Backend {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Backend {
    fn start(ns: &str, addr: SocketAddr, body: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let ns = ns.to_string();
        let thread = std::thread::spawn(move || {
            in_ns(&ns, async move || {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .expect("backend bind");
                ready_tx.send(()).expect("ready");
                while !flag.load(Ordering::SeqCst) {
                    let Ok(Ok((mut stream, _))) =
                        tokio::time::timeout(Duration::from_millis(100), listener.accept()).await
                    else {
                        continue;
                    };
                    let mut buf = [0u8; 1024];
                    let _ = stream.read(&mut buf).await;
                    let reply = format!(
                        "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                }
            })
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("backend listening");
        Backend {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// GET / from `ns`; the whole response, or the error text.
fn http_get(ns: &str, ip: &str, port: u16) -> String {
    let ip: IpAddr = ip.parse().expect("test address");
    in_ns(ns, async move || {
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect((ip, port)).await?;
            stream
                .write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
                .await?;
            let mut text = String::new();
            stream.read_to_string(&mut text).await?;
            Ok::<_, std::io::Error>(text)
        };
        match tokio::time::timeout(Duration::from_secs(3), exchange).await {
            Ok(Ok(text)) => text,
            Ok(Err(error)) => format!("error: {error}"),
            Err(_) => "error: timeout".to_string(),
        }
    })
}

fn haproxy_config(path: &Path, bind: &str, body: &str) {
    let config = format!(
        "defaults\n    mode http\n    log global\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind {bind}\n{body}"
    );
    std::fs::write(path, config).expect("write config");
}

#[test]
fn haproxy_serves_backend_through_floating_ip_and_instances_coexist() {
    let mut lab = Lab::new();
    let h1 = lab.host("h1", 1, None);
    let client = lab.host("cl", 10, None);
    let vip = lab.vip();
    let dir = tempfile::tempdir().unwrap();
    let backend_addr: SocketAddr = format!("{}.1:8080", lab.net).parse().unwrap();
    let _backend = Backend::start(&h1.ns, backend_addr, "hello-from-backend");
    let vip_dir = dir.path().join("vip");
    assert_eq!(
        agent(&h1.ns, "vip", "start", &[("ip", &vip)], &vip_dir).rc,
        ocf::SUCCESS
    );

    let (cfg_a, cfg_b) = (dir.path().join("a.cfg"), dir.path().join("b.cfg"));
    let backend = format!("    default_backend be\nbackend be\n    server s1 {backend_addr}\n");
    haproxy_config(&cfg_a, &format!("{vip}:80"), &backend);
    haproxy_config(&cfg_b, &format!("{vip}:81"), &http_return("instance-b"));
    let (run_a, run_b) = (dir.path().join("run-a"), dir.path().join("run-b"));
    let _reap = [KillOnDrop(run_a.clone()), KillOnDrop(run_b.clone())];
    let check_a = format!("{vip}:80");
    let params_a = [
        ("config", cfg_a.to_str().unwrap()),
        ("check", "tcp"),
        ("check_address", check_a.as_str()),
    ];
    let params_b = [("config", cfg_b.to_str().unwrap())];

    for (params, run) in [(&params_a[..], &run_a), (&params_b[..], &run_b)] {
        let started = agent(&h1.ns, "haproxy", "start", params, run);
        assert_eq!(started.rc, ocf::SUCCESS, "{started:?}");
    }
    assert!(
        http_get(&client.ns, &vip, 80).contains("hello-from-backend"),
        "backend through the VIP"
    );
    assert!(http_get(&client.ns, &vip, 81).contains("instance-b"));
    for (params, run) in [(&params_a[..], &run_a), (&params_b[..], &run_b)] {
        let monitored = agent(&h1.ns, "haproxy", "monitor", params, run);
        assert_eq!(monitored.rc, ocf::SUCCESS, "{monitored:?}");
        assert!(run.join("master.sock").exists() && run.join("daemon.pid").exists());
    }
    let logged = (0..50).any(|_| {
        let log = std::fs::read_to_string(run_a.join("daemon.log")).unwrap_or_default();
        std::thread::sleep(Duration::from_millis(20));
        log.contains("(fe/HTTP)")
    });
    assert!(logged, "haproxy's traffic log lands in daemon.log");

    assert_eq!(
        agent(&h1.ns, "haproxy", "stop", &params_a, &run_a).rc,
        ocf::SUCCESS
    );
    assert_eq!(
        agent(&h1.ns, "haproxy", "monitor", &params_a, &run_a).rc,
        ocf::NOT_RUNNING
    );
    assert!(
        http_get(&client.ns, &vip, 81).contains("instance-b"),
        "the other instance is untouched"
    );
    assert_eq!(
        agent(&h1.ns, "haproxy", "stop", &params_b, &run_b).rc,
        ocf::SUCCESS
    );
    assert_eq!(
        agent(&h1.ns, "haproxy", "stop", &params_b, &run_b).rc,
        ocf::SUCCESS,
        "stop is idempotent"
    );
    assert!(http_get(&client.ns, &vip, 81).starts_with("error"));
}

fn http_return(body: &str) -> String {
    format!("    http-request return status 200 content-type text/plain string {body}\n")
}

#[test]
fn haproxy_reloads_changed_config_seamlessly_and_keeps_old_config_on_error() {
    let mut lab = Lab::new();
    let ns = lab.bare("hr");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("r.cfg");
    let run = dir.path().join("run");
    let _reap = KillOnDrop(run.clone());
    haproxy_config(&cfg, "127.0.0.1:8082", &http_return("first"));
    let params = [("config", cfg.to_str().unwrap())];
    assert_eq!(
        agent(&ns, "haproxy", "start", &params, &run).rc,
        ocf::SUCCESS
    );
    assert!(http_get(&ns, "127.0.0.1", 8082).contains("first"));

    haproxy_config(&cfg, "127.0.0.1:8082", &http_return("second"));
    let monitored = agent(&ns, "haproxy", "monitor", &params, &run);
    assert_eq!(monitored.rc, ocf::SUCCESS, "{monitored:?}");
    assert!(
        monitored.output.contains("reloaded seamlessly"),
        "monitor applies a changed config: {monitored:?}"
    );
    assert!(http_get(&ns, "127.0.0.1", 8082).contains("second"));

    std::fs::write(&cfg, "frontend broken\n    bind nonsense\n").unwrap();
    let refused = agent(&ns, "haproxy", "reload", &params, &run);
    assert_eq!(refused.rc, ocf::ERR_CONFIGURED, "{refused:?}");
    let monitored = agent(&ns, "haproxy", "monitor", &params, &run);
    assert_eq!(monitored.rc, ocf::SUCCESS, "still serving: {monitored:?}");
    assert!(
        monitored.output.contains("was not applied"),
        "{monitored:?}"
    );
    let again = agent(&ns, "haproxy", "monitor", &params, &run);
    assert!(
        again.output.contains("was refused"),
        "not retried every monitor: {again:?}"
    );
    assert!(
        http_get(&ns, "127.0.0.1", 8082).contains("second"),
        "the old config keeps serving"
    );
    assert_eq!(
        agent(&ns, "haproxy", "stop", &params, &run).rc,
        ocf::SUCCESS
    );
}

#[test]
fn haproxy_invalid_config_and_missing_param_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.cfg");
    std::fs::write(&cfg, "frontend x\n    bind nonsense\n").unwrap();
    let mut lab = Lab::new();
    let ns = lab.bare("hx");
    let invalid = agent(
        &ns,
        "haproxy",
        "start",
        &[("config", cfg.to_str().unwrap())],
        dir.path(),
    );
    assert_eq!(invalid.rc, ocf::ERR_CONFIGURED, "{invalid:?}");
    assert!(
        invalid
            .exit_reason
            .unwrap_or_default()
            .contains("is invalid")
    );
    let missing = agent(&ns, "haproxy", "validate-all", &[], dir.path());
    assert_eq!(missing.rc, ocf::ERR_CONFIGURED);
    assert!(
        missing
            .exit_reason
            .unwrap_or_default()
            .contains("\"config\" is required")
    );
    let absent = agent(
        &ns,
        "haproxy",
        "start",
        &[("config", "/nonexistent/h.cfg")],
        dir.path(),
    );
    assert_eq!(absent.rc, ocf::ERR_INSTALLED, "{absent:?}");
    let chrooted = dir.path().join("chroot.cfg");
    let text = "global\n    log /dev/log local0\n    chroot /var/lib/haproxy\n";
    std::fs::write(&chrooted, text).unwrap();
    let params = [("config", chrooted.to_str().unwrap())];
    let warned = agent(&ns, "haproxy", "validate-all", &params, dir.path());
    assert!(
        warned.output.contains("chroots to /var/lib/haproxy"),
        "{warned:?}"
    );
}

fn dnsmasq_config(path: &Path, port: u16, answer: &str) {
    let config = format!(
        "port={port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\naddress=/a.test/{answer}\n"
    );
    std::fs::write(path, config).expect("write config");
}

fn query(ns: &str, port: u16) -> Vec<IpAddr> {
    in_ns(ns, async move || {
        let server: SocketAddr = ([127, 0, 0, 1], port).into();
        dns::query(server, "a.test", dns::TYPE_A, Duration::from_secs(2))
            .await
            .map(|answer| answer.addresses)
            .unwrap_or_default()
    })
}

#[test]
fn dnsmasq_answers_queries_side_by_side_and_restarts_on_config_change() {
    let mut lab = Lab::new();
    let ns = lab.bare("dns");
    let dir = tempfile::tempdir().unwrap();
    let (cfg_1, cfg_2) = (dir.path().join("1.conf"), dir.path().join("2.conf"));
    dnsmasq_config(&cfg_1, 5301, "10.1.1.1");
    dnsmasq_config(&cfg_2, 5302, "10.2.2.2");
    let (run_1, run_2) = (dir.path().join("run-1"), dir.path().join("run-2"));
    let _reap = [KillOnDrop(run_1.clone()), KillOnDrop(run_2.clone())];
    let params_1 = [
        ("config", cfg_1.to_str().unwrap()),
        ("check_address", "127.0.0.1:5301"),
        ("check_name", "a.test"),
    ];
    let params_2 = [
        ("config", cfg_2.to_str().unwrap()),
        ("check_address", "127.0.0.1:5302"),
        ("check_name", "a.test"),
        ("check_expect", "10.2.2.2"),
    ];

    for (params, run) in [(&params_1[..], &run_1), (&params_2[..], &run_2)] {
        let started = agent(&ns, "dnsmasq", "start", params, run);
        assert_eq!(started.rc, ocf::SUCCESS, "{started:?}");
        assert!(started.output.contains("dns query a.test"), "{started:?}");
        assert!(run.join("dnsmasq.pid").exists(), "per-instance pid file");
    }
    assert_eq!(
        query(&ns, 5301),
        vec!["10.1.1.1".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(
        query(&ns, 5302),
        vec!["10.2.2.2".parse::<IpAddr>().unwrap()]
    );

    dnsmasq_config(&cfg_1, 5301, "10.1.1.9");
    let monitored = agent(&ns, "dnsmasq", "monitor", &params_1, &run_1);
    assert_eq!(monitored.rc, ocf::SUCCESS, "{monitored:?}");
    assert!(monitored.output.contains("restarted"), "{monitored:?}");
    assert_eq!(
        query(&ns, 5301),
        vec!["10.1.1.9".parse::<IpAddr>().unwrap()]
    );
    let reloaded = agent(&ns, "dnsmasq", "reload", &params_1, &run_1);
    assert!(
        reloaded.output.contains("SIGHUP"),
        "unchanged main config: SIGHUP: {reloaded:?}"
    );

    let wrong = [
        ("config", cfg_2.to_str().unwrap()),
        ("check_address", "127.0.0.1:5302"),
        ("check_name", "a.test"),
        ("check_expect", "10.9.9.9"),
    ];
    let unhealthy = agent(&ns, "dnsmasq", "monitor", &wrong, &run_2);
    assert_eq!(unhealthy.rc, ocf::ERR_GENERIC, "{unhealthy:?}");
    assert!(
        unhealthy
            .exit_reason
            .unwrap_or_default()
            .contains("expected 10.9.9.9")
    );

    assert_eq!(
        agent(&ns, "dnsmasq", "stop", &params_1, &run_1).rc,
        ocf::SUCCESS
    );
    assert_eq!(
        agent(&ns, "dnsmasq", "monitor", &params_1, &run_1).rc,
        ocf::NOT_RUNNING
    );
    assert!(query(&ns, 5301).is_empty());
    assert_eq!(
        query(&ns, 5302),
        vec!["10.2.2.2".parse::<IpAddr>().unwrap()],
        "the other instance still answers"
    );
    assert_eq!(
        agent(&ns, "dnsmasq", "stop", &params_2, &run_2).rc,
        ocf::SUCCESS
    );
}

#[test]
fn haproxy_graceful_stop_drains_then_falls_back_to_term() {
    let mut lab = Lab::new();
    let ns = lab.bare("hg");
    let dir = tempfile::tempdir().unwrap();
    let backend_addr: SocketAddr = "127.0.0.1:9101".parse().unwrap();
    let _backend = Backend::start(&ns, backend_addr, "slow");
    let cfg = dir.path().join("g.cfg");
    std::fs::write(
        &cfg,
        format!(
            "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 30s\n    \
             timeout server 30s\nlisten fwd\n    bind 127.0.0.1:8084\n    server b {backend_addr}\n"
        ),
    )
    .unwrap();
    let run = dir.path().join("run");
    let _reap = KillOnDrop(run.clone());
    let params = [("config", cfg.to_str().unwrap()), ("stop_grace", "300")];

    assert_eq!(
        agent(&ns, "haproxy", "start", &params, &run).rc,
        ocf::SUCCESS
    );
    let stopped = agent(&ns, "haproxy", "stop", &params, &run);
    assert_eq!(stopped.rc, ocf::SUCCESS, "{stopped:?}");
    assert!(
        stopped.output.contains("gracefully"),
        "idle: drains at once: {stopped:?}"
    );

    assert_eq!(
        agent(&ns, "haproxy", "start", &params, &run).rc,
        ocf::SUCCESS
    );
    let (opened_tx, opened_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let holder_ns = ns.clone();
    let holder = std::thread::spawn(move || {
        in_ns(&holder_ns, async move || {
            let stream = tokio::net::TcpStream::connect("127.0.0.1:8084")
                .await
                .unwrap();
            opened_tx.send(()).unwrap();
            let _ = tokio::task::spawn_blocking(move || done_rx.recv()).await;
            drop(stream);
        })
    });
    opened_rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let began = std::time::Instant::now();
    let stopped = agent(&ns, "haproxy", "stop", &params, &run);
    assert_eq!(stopped.rc, ocf::SUCCESS, "{stopped:?}");
    assert!(
        stopped.output.contains("still busy after 300 ms"),
        "{stopped:?}"
    );
    assert!(
        began.elapsed() >= Duration::from_millis(300),
        "waited for the open connection"
    );
    assert_eq!(
        agent(&ns, "haproxy", "monitor", &params, &run).rc,
        ocf::NOT_RUNNING
    );
    done_tx.send(()).unwrap();
    holder.join().unwrap();
}

#[test]
fn dnsmasq_hands_out_a_dhcp_lease_into_its_own_lease_file() {
    let mut lab = Lab::new();
    let server = lab.host("ds", 1, None);
    let client = lab.host("dc", 20, None);
    ip(&["-n", &client.ns, "addr", "flush", "dev", "eth0"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("dhcp.conf");
    let range = format!("{0}.50,{0}.60,255.255.255.0,1h", lab.net);
    std::fs::write(
        &cfg,
        format!("port=0\ninterface=eth0\nbind-interfaces\nno-ping\ndhcp-range={range}\n"),
    )
    .unwrap();
    let run = dir.path().join("run");
    let _reap = KillOnDrop(run.clone());
    let params = [("config", cfg.to_str().unwrap())];
    let started = agent(&server.ns, "dnsmasq", "start", &params, &run);
    assert_eq!(started.rc, ocf::SUCCESS, "{started:?}");

    let mac: [u8; 6] = mac_bytes(&client.mac);
    let leased = in_ns(&client.ns, async move || dhcp::lease("eth0", mac));
    let log = std::fs::read_to_string(run.join("daemon.log")).unwrap_or_default();
    let leased =
        leased.unwrap_or_else(|e| panic!("dnsmasq answers DISCOVER and REQUEST: {e}: {log}"));
    assert!(leased.to_string().starts_with(&lab.net), "{leased}");
    let leases = std::fs::read_to_string(run.join("dnsmasq.leases")).unwrap_or_default();
    assert!(
        leases.contains(&client.mac) && leases.contains(&leased.to_string()),
        "the lease is in this instance's lease file: {leases:?}"
    );
    assert_eq!(
        agent(&server.ns, "dnsmasq", "stop", &params, &run).rc,
        ocf::SUCCESS
    );
}

fn mac_bytes(text: &str) -> [u8; 6] {
    let mut mac = [0u8; 6];
    for (byte, part) in mac.iter_mut().zip(text.split(':')) {
        *byte = u8::from_str_radix(part, 16).expect("hex MAC");
    }
    mac
}
