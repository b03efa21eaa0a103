//! OCF meta-data XML for the native agents, built from static tables (pure).
//!
//! The shape follows ra-api-1 (`<resource-agent>` with `<parameters>` and `<actions>`), with
//! a DOCTYPE so `xmllint --valid` and ocf-tester accept it. Not a parser: herd-exec reads
//! meta-data of every agent class with its own parser.

/// One parameter of an agent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParamSpec {
    pub(crate) name: &'static str,
    pub(crate) shortdesc: &'static str,
    pub(crate) longdesc: &'static str,
    /// `string`, `integer`, `boolean` or `time`.
    pub(crate) kind: &'static str,
    pub(crate) required: bool,
    pub(crate) unique: bool,
    pub(crate) default: Option<&'static str>,
}

/// One action with its advised timeout (and interval for monitor).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActionSpec {
    pub(crate) name: &'static str,
    pub(crate) timeout: &'static str,
    pub(crate) interval: Option<&'static str>,
}

/// A whole agent description.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AgentSpec {
    pub(crate) name: &'static str,
    pub(crate) shortdesc: &'static str,
    pub(crate) longdesc: &'static str,
    pub(crate) params: &'static [ParamSpec],
    pub(crate) actions: &'static [ActionSpec],
}

impl AgentSpec {
    /// The parameter called `name`, if the agent has one.
    pub(crate) fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|param| param.name == name)
    }

    /// Renders the meta-data XML document.
    pub(crate) fn render_xml(&self) -> String {
        let mut xml = String::new();
        xml.push_str("<?xml version=\"1.0\"?>\n");
        xml.push_str("<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">\n");
        xml.push_str(&format!(
            "<resource-agent name=\"{}\" version=\"1.0\">\n",
            self.name
        ));
        xml.push_str("  <version>1.0</version>\n");
        xml.push_str(&format!(
            "  <longdesc lang=\"en\">{}</longdesc>\n",
            escape(self.longdesc)
        ));
        xml.push_str(&format!(
            "  <shortdesc lang=\"en\">{}</shortdesc>\n",
            escape(self.shortdesc)
        ));
        xml.push_str("  <parameters>\n");
        for param in self.params {
            xml.push_str(&format!(
                "    <parameter name=\"{}\" unique=\"{}\" required=\"{}\">\n",
                param.name,
                u8::from(param.unique),
                u8::from(param.required)
            ));
            xml.push_str(&format!(
                "      <longdesc lang=\"en\">{}</longdesc>\n",
                escape(param.longdesc)
            ));
            xml.push_str(&format!(
                "      <shortdesc lang=\"en\">{}</shortdesc>\n",
                escape(param.shortdesc)
            ));
            match param.default {
                Some(default) => xml.push_str(&format!(
                    "      <content type=\"{}\" default=\"{}\"/>\n",
                    param.kind,
                    escape(default)
                )),
                None => xml.push_str(&format!("      <content type=\"{}\"/>\n", param.kind)),
            }
            xml.push_str("    </parameter>\n");
        }
        xml.push_str("  </parameters>\n  <actions>\n");
        for action in self.actions {
            match action.interval {
                Some(interval) => xml.push_str(&format!(
                    "    <action name=\"{}\" timeout=\"{}\" interval=\"{}\" depth=\"0\"/>\n",
                    action.name, action.timeout, interval
                )),
                None => xml.push_str(&format!(
                    "    <action name=\"{}\" timeout=\"{}\"/>\n",
                    action.name, action.timeout
                )),
            }
        }
        xml.push_str("  </actions>\n</resource-agent>\n");
        xml
    }
}

/// Escapes text for XML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_escapes_text_and_marks_required_params() {
        let spec = AgentSpec {
            name: "x",
            shortdesc: "a <b>",
            longdesc: "l & m",
            params: &[ParamSpec {
                name: "ip",
                shortdesc: "s",
                longdesc: "l",
                kind: "string",
                required: true,
                unique: true,
                default: None,
            }],
            actions: &[ActionSpec {
                name: "monitor",
                timeout: "20s",
                interval: Some("10s"),
            }],
        };
        let xml = spec.render_xml();
        assert!(xml.contains("a &lt;b&gt;"));
        assert!(xml.contains("l &amp; m"));
        assert!(xml.contains("<parameter name=\"ip\" unique=\"1\" required=\"1\">"));
        assert!(xml.contains("<action name=\"monitor\" timeout=\"20s\" interval=\"10s\""));
    }
}
