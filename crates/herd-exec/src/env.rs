//! The environment an OCF agent runs with, built exactly as Pacemaker builds it:
//! `OCF_ROOT`, the API version, the instance/type/provider, `OCF_RESKEY_<param>` and
//! `OCF_RESKEY_CRM_meta_<meta>` (timeout and interval in milliseconds).
//!
//! Pure: request in, variable list out. Nothing is inherited from herd's own environment.

use crate::config::ExecConfig;
use crate::op::OpRequest;

/// The PATH agents get (the same on every node, whatever started herd).
pub(crate) const AGENT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Variables every agent gets, of any class.
pub(crate) fn base_env() -> Vec<(String, String)> {
    vec![
        ("PATH".to_owned(), AGENT_PATH.to_owned()),
        ("LC_ALL".to_owned(), "C".to_owned()),
        ("HOME".to_owned(), "/root".to_owned()),
    ]
}

fn meta_key(name: &str) -> String {
    let name = name.strip_prefix("CRM_meta_").unwrap_or(name);
    format!("OCF_RESKEY_CRM_meta_{}", name.replace('-', "_"))
}

/// The environment of one OCF action.
pub(crate) fn ocf_env(
    config: &ExecConfig,
    request: &OpRequest,
    timeout_ms: u64,
) -> Vec<(String, String)> {
    let mut env = base_env();
    let mut set = |key: String, value: &str| env.push((key, value.to_owned()));
    set("OCF_ROOT".to_owned(), &config.ocf_root.to_string_lossy());
    set("OCF_RA_VERSION_MAJOR".to_owned(), "1");
    set("OCF_RA_VERSION_MINOR".to_owned(), "0");
    set("OCF_RESOURCE_INSTANCE".to_owned(), &request.resource);
    set("OCF_RESOURCE_TYPE".to_owned(), &request.agent.kind);
    if let Some(provider) = &request.agent.provider {
        set("OCF_RESOURCE_PROVIDER".to_owned(), provider);
    }
    for (name, value) in &request.params {
        if name == "OCF_CHECK_LEVEL" {
            set(name.clone(), value);
        } else {
            set(format!("OCF_RESKEY_{name}"), value);
        }
    }
    for (name, value) in &request.meta {
        if matches!(name.as_str(), "timeout" | "interval" | "name") {
            continue; // the executor's own values below are the ones the agent is held to
        }
        if name == "OCF_CHECK_LEVEL" {
            set(name.clone(), value);
        } else {
            set(meta_key(name), value);
        }
    }
    set(meta_key("timeout"), &timeout_ms.to_string());
    set(meta_key("interval"), &request.interval_ms.to_string());
    set(meta_key("name"), request.action.as_str());
    if let Some(node) = &config.node_name
        && !request.meta.contains_key("on_node")
        && !request.meta.contains_key("on-node")
    {
        set(meta_key("on_node"), node);
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::Action;

    #[test]
    fn params_and_meta_become_ocf_reskey_variables_in_milliseconds() {
        let mut request = OpRequest::new(
            "web:1",
            "ocf:heartbeat:nginx".parse().unwrap(),
            Action::Monitor,
        )
        .param("port", "8080")
        .interval_ms(10_000);
        request.meta.insert("clone-max".to_owned(), "2".to_owned());
        request.meta.insert("timeout".to_owned(), "999".to_owned());
        let config = ExecConfig {
            node_name: Some("node1".to_owned()),
            ..ExecConfig::default()
        };
        let env = ocf_env(&config, &request, 20_000);
        let get = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        assert_eq!(Some("/usr/lib/ocf"), get("OCF_ROOT"));
        assert_eq!(Some("web:1"), get("OCF_RESOURCE_INSTANCE"));
        assert_eq!(Some("nginx"), get("OCF_RESOURCE_TYPE"));
        assert_eq!(Some("heartbeat"), get("OCF_RESOURCE_PROVIDER"));
        assert_eq!(Some("8080"), get("OCF_RESKEY_port"));
        assert_eq!(Some("2"), get("OCF_RESKEY_CRM_meta_clone_max"));
        assert_eq!(Some("20000"), get("OCF_RESKEY_CRM_meta_timeout"));
        assert_eq!(Some("10000"), get("OCF_RESKEY_CRM_meta_interval"));
        assert_eq!(Some("monitor"), get("OCF_RESKEY_CRM_meta_name"));
        assert_eq!(Some("node1"), get("OCF_RESKEY_CRM_meta_on_node"));
        assert_eq!(
            1,
            env.iter()
                .filter(|(k, _)| k == "OCF_RESKEY_CRM_meta_timeout")
                .count()
        );
    }
}
