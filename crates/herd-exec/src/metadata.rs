//! OCF meta-data: the XML an agent prints for `meta-data`, parsed into [`Metadata`]
//! (parameters with required/default/shortdesc, actions with advised timeouts).
//!
//! Pure: text in, typed model out. Lenient like the agents are: DOCTYPE or none, unknown
//! elements ignored; only output that is not XML or not `<resource-agent>` is refused.

use std::collections::BTreeMap;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use serde::{Deserialize, Serialize};

/// One parameter an agent takes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamInfo {
    /// The name (`OCF_RESKEY_<name>`).
    pub name: String,
    /// The agent cannot work without it.
    pub required: bool,
    /// Must differ between resources of this agent (`unique="1"` or a `unique-group`).
    pub unique: bool,
    /// May change without a restart (`reload-agent`).
    pub reloadable: bool,
    /// Marked deprecated by the agent.
    pub deprecated: bool,
    /// `string`, `integer`, `boolean`, `time`, `select`...
    pub content_type: Option<String>,
    /// The default the agent uses when the parameter is not given.
    pub default: Option<String>,
    /// One line for people.
    pub shortdesc: Option<String>,
    /// The long description.
    pub longdesc: Option<String>,
}

/// One action an agent advertises, with its advised timings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionInfo {
    /// The action name (`start`, `monitor`, `promote`...).
    pub name: String,
    /// The advised timeout.
    pub timeout_ms: Option<u64>,
    /// The advised interval (monitors).
    pub interval_ms: Option<u64>,
    /// The monitor depth (`OCF_CHECK_LEVEL`).
    pub depth: Option<String>,
    /// The role this monitor applies to (`Promoted`, `Unpromoted`, old `Master`/`Slave`).
    pub role: Option<String>,
}

/// An agent's meta-data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The agent's name as it gives it.
    pub name: String,
    /// The agent's own version attribute, if any.
    pub version: Option<String>,
    /// One line for people.
    pub shortdesc: Option<String>,
    /// The long description.
    pub longdesc: Option<String>,
    /// The parameters, in the agent's order.
    pub parameters: Vec<ParamInfo>,
    /// The actions, in the agent's order.
    pub actions: Vec<ActionInfo>,
}

impl Metadata {
    /// True when the agent advertises the action.
    pub fn supports(&self, action: &str) -> bool {
        self.actions.iter().any(|info| info.name == action)
    }

    /// The advised timeout of an action (the first one listed, for monitors the probe's).
    pub fn timeout_ms(&self, action: &str) -> Option<u64> {
        self.actions
            .iter()
            .find(|info| info.name == action)
            .and_then(|info| info.timeout_ms)
    }

    /// The required parameters that `params` lacks (empty values count as missing).
    pub fn missing_required(&self, params: &BTreeMap<String, String>) -> Vec<String> {
        self.parameters
            .iter()
            .filter(|param| param.required)
            .filter(|param| params.get(&param.name).is_none_or(|value| value.is_empty()))
            .map(|param| param.name.clone())
            .collect()
    }

    /// The given parameter names the agent does not declare, each with the closest declared
    /// name when one is near (`ipp` -> `ip`).
    pub fn unknown_params(
        &self,
        params: &BTreeMap<String, String>,
    ) -> Vec<(String, Option<String>)> {
        let declared = || self.parameters.iter().map(|param| param.name.as_str());
        params
            .keys()
            .filter(|name| !declared().any(|known| known == name.as_str()))
            .map(|name| {
                (
                    name.clone(),
                    crate::closest(name, declared()).map(str::to_owned),
                )
            })
            .collect()
    }
}

/// Parses an OCF time value (`20s`, `20`, `500ms`, `2min`, `1h`) into milliseconds.
/// A bare number is seconds, as in Pacemaker configurations.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "ms" | "msec" => 1,
        "" | "s" | "sec" => 1_000,
        "m" | "min" => 60_000,
        "h" | "hr" => 3_600_000,
        _ => return None,
    };
    number.checked_mul(factor)
}

#[derive(Clone, Copy, PartialEq)]
enum DescTarget {
    Agent,
    Param,
}

struct Parser {
    metadata: Metadata,
    seen_root: bool,
    stack: Vec<String>,
    text: String,
}

impl Parser {
    fn desc_target(&self) -> Option<DescTarget> {
        // The element holding the shortdesc/longdesc being read is second from the top.
        let parent = self
            .stack
            .len()
            .checked_sub(2)
            .map(|i| self.stack[i].as_str());
        match parent {
            Some("resource-agent") => Some(DescTarget::Agent),
            Some("parameter") => Some(DescTarget::Param),
            _ => None,
        }
    }

    fn open(&mut self, element: &BytesStart<'_>) -> Result<(), String> {
        let name = element.local_name().as_ref().to_owned();
        let attrs = attributes(element)?;
        if !self.seen_root {
            if name != "resource-agent" {
                return Err(format!(
                    "the root element is <{name}>, not <resource-agent>: this is not OCF meta-data"
                ));
            }
            self.seen_root = true;
            self.metadata.name = attrs.get("name").cloned().unwrap_or_default();
            self.metadata.version = attrs.get("version").cloned();
        }
        let parent = self.stack.last().map(String::as_str);
        match (parent, name.as_str()) {
            (Some("parameters"), "parameter") => self.metadata.parameters.push(ParamInfo {
                name: attrs.get("name").cloned().unwrap_or_default(),
                required: flag(&attrs, "required"),
                unique: flag(&attrs, "unique") || attrs.contains_key("unique-group"),
                reloadable: flag(&attrs, "reloadable"),
                deprecated: flag(&attrs, "deprecated"),
                ..ParamInfo::default()
            }),
            (Some("parameter"), "content") => {
                if let Some(param) = self.metadata.parameters.last_mut() {
                    param.content_type = attrs.get("type").cloned();
                    param.default = attrs.get("default").cloned();
                }
            }
            (Some("actions"), "action") => self.metadata.actions.push(ActionInfo {
                name: attrs.get("name").cloned().unwrap_or_default(),
                timeout_ms: attrs.get("timeout").and_then(|t| parse_duration_ms(t)),
                interval_ms: attrs.get("interval").and_then(|t| parse_duration_ms(t)),
                depth: attrs.get("depth").cloned(),
                role: attrs.get("role").cloned(),
            }),
            _ => {}
        }
        self.stack.push(name);
        self.text.clear();
        Ok(())
    }

    fn close(&mut self) {
        let text = std::mem::take(&mut self.text).trim().to_owned();
        let top = self.stack.last().map(String::as_str);
        let target = self.desc_target();
        match (top, target) {
            (Some("shortdesc"), Some(DescTarget::Agent)) => self.metadata.shortdesc = Some(text),
            (Some("longdesc"), Some(DescTarget::Agent)) => self.metadata.longdesc = Some(text),
            (Some("shortdesc"), Some(DescTarget::Param)) => {
                if let Some(param) = self.metadata.parameters.last_mut() {
                    param.shortdesc = Some(text);
                }
            }
            (Some("longdesc"), Some(DescTarget::Param)) => {
                if let Some(param) = self.metadata.parameters.last_mut() {
                    param.longdesc = Some(text);
                }
            }
            _ => {}
        }
        self.stack.pop();
    }
}

fn flag(attrs: &BTreeMap<String, String>, name: &str) -> bool {
    attrs
        .get(name)
        .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"))
}

fn attributes(element: &BytesStart<'_>) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for attr in element.attributes() {
        let attr = attr.map_err(|e| format!("bad attribute: {e}"))?;
        let key = attr.key.local_name().as_ref().to_owned();
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| format!("attribute {key}: {e}"))?;
        map.insert(key, value.into_owned());
    }
    Ok(map)
}

fn line_of(xml: &str, offset: u64) -> usize {
    let end = usize::try_from(offset).unwrap_or(xml.len()).min(xml.len());
    xml.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses meta-data XML. The error says what is wrong and on which line.
pub fn parse_metadata(xml: &str) -> Result<Metadata, String> {
    if xml.trim().is_empty() {
        return Err("the agent printed no meta-data".to_owned());
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut parser = Parser {
        metadata: Metadata::default(),
        seen_root: false,
        stack: Vec::new(),
        text: String::new(),
    };
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "line {}: not valid XML: {e}",
                line_of(xml, reader.error_position())
            )
        })?;
        let at_line = || line_of(xml, reader.buffer_position());
        match event {
            Event::Start(element) => parser
                .open(&element)
                .map_err(|e| format!("line {}: {e}", at_line()))?,
            Event::Empty(element) => {
                parser
                    .open(&element)
                    .map_err(|e| format!("line {}: {e}", at_line()))?;
                parser.close();
            }
            Event::End(_) => parser.close(),
            Event::Text(text) => parser.text.push_str(&text.xml10_content()),
            Event::CData(data) => parser.text.push_str(&data.xml10_content()),
            Event::GeneralRef(entity) => {
                let raw = format!("&{};", &*entity);
                let resolved = quick_xml::escape::unescape(&raw).map(|c| c.into_owned());
                parser.text.push_str(&resolved.unwrap_or(raw));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !parser.seen_root {
        return Err("no <resource-agent> element: this is not OCF meta-data".to_owned());
    }
    if !parser.stack.is_empty() {
        return Err(format!("<{}> is never closed", parser.stack.join("><")));
    }
    Ok(parser.metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="Sample" version="1.0">
<version>1.0</version>
<longdesc lang="en">Long &amp; winding</longdesc>
<shortdesc lang="en">A sample</shortdesc>
<parameters>
<parameter name="ip" unique="1" required="1">
<longdesc lang="en">The address</longdesc>
<shortdesc lang="en">IPv4 or IPv6 address</shortdesc>
<content type="string" default="" />
</parameter>
<parameter name="state" unique-group="state">
<shortdesc lang="en">State file</shortdesc>
<content type="string" default="/run/x.state"/>
</parameter>
</parameters>
<actions>
<action name="start" timeout="20s" />
<action name="monitor" timeout="20" interval="10s" depth="0" />
<action name="promote" timeout="2min" />
</actions>
</resource-agent>
"#;

    #[test]
    fn parameters_and_actions_are_read_with_their_attributes() {
        let md = parse_metadata(SAMPLE).unwrap();
        assert_eq!("Sample", md.name);
        assert_eq!(Some("A sample"), md.shortdesc.as_deref());
        assert_eq!(Some("Long & winding"), md.longdesc.as_deref());
        assert_eq!(2, md.parameters.len());
        assert!(md.parameters[0].required && md.parameters[0].unique);
        assert_eq!(
            Some("IPv4 or IPv6 address"),
            md.parameters[0].shortdesc.as_deref()
        );
        assert_eq!(Some("/run/x.state"), md.parameters[1].default.as_deref());
        assert!(md.parameters[1].unique && !md.parameters[1].required);
        assert_eq!(Some(20_000), md.timeout_ms("monitor"));
        assert_eq!(Some(10_000), md.actions[1].interval_ms);
        assert_eq!(Some(120_000), md.timeout_ms("promote"));
        assert!(md.supports("promote") && !md.supports("demote"));
        assert_eq!(vec!["ip".to_owned()], md.missing_required(&BTreeMap::new()));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert!(parse_metadata("").unwrap_err().contains("no meta-data"));
        assert!(
            parse_metadata("hello world\n")
                .unwrap_err()
                .contains("not OCF meta-data")
        );
        assert!(
            parse_metadata("<html><body/></html>")
                .unwrap_err()
                .contains("<html>")
        );
        let err =
            parse_metadata("<resource-agent name=\"x\">\n<parameters>\n</actions>").unwrap_err();
        assert!(err.contains("line"), "{err}");
    }

    #[test]
    fn durations_accept_the_ocf_spellings() {
        assert_eq!(Some(20_000), parse_duration_ms("20s"));
        assert_eq!(Some(20_000), parse_duration_ms("20"));
        assert_eq!(Some(500), parse_duration_ms("500ms"));
        assert_eq!(Some(120_000), parse_duration_ms("2min"));
        assert_eq!(None, parse_duration_ms("soon"));
    }
}
