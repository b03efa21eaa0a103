//! Rules and their conditions: `rule`, `expression`, `date_expression` (with `date_spec` and
//! `duration`), `rsc_expression`, `op_expression`.
//!
//! Only the structure is typed here; evaluating a rule (node attributes, "now", the resource
//! at hand) is the scheduler's job. No I/O.

use herd_types::Score;

use crate::dom::{Attrs, Line, RawElement};
use crate::error::Severity;
use crate::read::{Cx, El, Wx, finish_out, out, push_unknown};
use crate::values::{BoolOp, DateOp, ExprOp, ExprType, Role, ValueSource, parse_interval_ms};

/// A `rule`: conditions combined by `boolean-op`; in a location constraint it adds `score`
/// (or the node attribute named by `score-attribute`) where it holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rule {
    pub line: Line,
    pub id: Option<String>,
    pub id_ref: Option<String>,
    pub score: Option<Score>,
    pub score_attribute: Option<String>,
    /// `None` means `and`.
    pub boolean_op: Option<BoolOp>,
    pub role: Option<Role>,
    pub conditions: Vec<Condition>,
    pub extra: Attrs,
}

/// One condition inside a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    Expression(Expression),
    Date(DateExpression),
    Resource(RscExpression),
    Op(OpExpression),
    Rule(Rule),
    /// An element not known here; Pacemaker would fail the rule.
    Unknown(RawElement),
}

/// An attribute comparison.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expression {
    pub line: Line,
    pub id: Option<String>,
    pub id_ref: Option<String>,
    pub attribute: String,
    /// `None` only when the text was invalid (reported).
    pub operation: Option<ExprOp>,
    pub value: Option<String>,
    pub value_type: Option<ExprType>,
    pub value_source: Option<ValueSource>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// A time condition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DateExpression {
    pub line: Line,
    pub id: Option<String>,
    pub operation: Option<DateOp>,
    /// ISO 8601 date-times as written.
    pub start: Option<String>,
    pub end: Option<String>,
    pub date_spec: Option<DateSpec>,
    pub duration: Option<DateSpec>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// A `date_spec` or `duration`: fields such as `hours="9-16"` or `weekdays="1-5"`, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DateSpec {
    pub line: Line,
    pub id: Option<String>,
    /// Every attribute but `id`: years, months, weeks, days, hours, minutes, seconds,
    /// yeardays, monthdays, weekdays, weekyears, moon.
    pub fields: Attrs,
}

/// Matches a resource's agent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RscExpression {
    pub line: Line,
    pub id: Option<String>,
    pub class: Option<String>,
    pub provider: Option<String>,
    pub agent_type: Option<String>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// Matches an operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpExpression {
    pub line: Line,
    pub id: Option<String>,
    pub name: String,
    pub interval_ms: Option<u64>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

impl Rule {
    pub(crate) fn read(cx: &mut Cx<'_>, raw: RawElement) -> Rule {
        let mut el = El::new(raw);
        let mut rule = Rule {
            line: el.line,
            id: el.string("id"),
            id_ref: el.string("id-ref"),
            score: el.score(cx, "score"),
            score_attribute: el.string("score-attribute"),
            boolean_op: el.parsed(cx, "boolean-op", "and or or", BoolOp::parse),
            role: el.role(cx, "role"),
            ..Rule::default()
        };
        for child in el.children(cx) {
            let condition = match child.name.as_str() {
                "expression" => Condition::Expression(Expression::read(cx, child)),
                "date_expression" => Condition::Date(DateExpression::read(cx, child)),
                "rsc_expression" => Condition::Resource(RscExpression::read(cx, child)),
                "op_expression" => Condition::Op(OpExpression::read(cx, child)),
                "rule" => Condition::Rule(Rule::read(cx, child)),
                _ => Condition::Unknown(cx.unknown_child(&el, child)),
            };
            rule.conditions.push(condition);
        }
        rule.extra = el.finish();
        rule
    }

    pub(crate) fn write(&self, wx: Wx) -> RawElement {
        let mut element = out("rule");
        element.push_opt("id", self.id.as_ref());
        element.push_opt("id-ref", self.id_ref.as_ref());
        element.push_opt("score", self.score);
        element.push_opt("score-attribute", self.score_attribute.as_ref());
        element.push_opt("boolean-op", self.boolean_op);
        element.push_opt("role", self.role.map(|role| wx.role(role)));
        let mut element = finish_out(element, &self.extra);
        for condition in &self.conditions {
            element.push_child(match condition {
                Condition::Expression(expression) => expression.write(),
                Condition::Date(date) => date.write(),
                Condition::Resource(rsc) => rsc.write(),
                Condition::Op(op) => op.write(),
                Condition::Rule(rule) => rule.write(wx),
                Condition::Unknown(raw) => raw.clone(),
            });
        }
        element
    }
}

impl Expression {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> Expression {
        let mut el = El::new(raw);
        let id = el.string("id");
        let id_ref = el.string("id-ref");
        let attribute = if id_ref.is_some() {
            el.string("attribute").unwrap_or_default()
        } else {
            el.required(cx, "attribute")
        };
        let operation = el.parsed(
            cx,
            "operation",
            "lt, gt, lte, gte, eq, ne, defined or not_defined",
            ExprOp::parse,
        );
        let mut expression = Expression {
            line: el.line,
            id,
            id_ref,
            attribute,
            operation,
            value: el.string("value"),
            value_type: el.parsed(
                cx,
                "type",
                "string, integer, number or version",
                ExprType::parse,
            ),
            value_source: el.parsed(
                cx,
                "value-source",
                "literal, param or meta",
                ValueSource::parse,
            ),
            ..Expression::default()
        };
        for child in el.children(cx) {
            expression.unknown.push(cx.unknown_child(&el, child));
        }
        expression.extra = el.finish();
        expression
    }

    fn write(&self) -> RawElement {
        let mut element = out("expression");
        element.push_opt("id", self.id.as_ref());
        element.push_opt("id-ref", self.id_ref.as_ref());
        if !self.attribute.is_empty() {
            element.push_attr("attribute", self.attribute.clone());
        }
        element.push_opt("operation", self.operation);
        element.push_opt("value", self.value.as_ref());
        element.push_opt("type", self.value_type);
        element.push_opt("value-source", self.value_source);
        let mut element = finish_out(element, &self.extra);
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl DateExpression {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> DateExpression {
        let mut el = El::new(raw);
        let mut date = DateExpression {
            line: el.line,
            id: el.string("id"),
            operation: el.parsed(
                cx,
                "operation",
                "in_range, gt, lt or date_spec",
                DateOp::parse,
            ),
            start: el.string("start"),
            end: el.string("end"),
            ..DateExpression::default()
        };
        for child in el.children(cx) {
            match child.name.as_str() {
                "date_spec" if date.date_spec.is_none() => {
                    date.date_spec = Some(DateSpec::read(cx, child, &mut date.unknown));
                }
                "duration" if date.duration.is_none() => {
                    date.duration = Some(DateSpec::read(cx, child, &mut date.unknown));
                }
                _ => date.unknown.push(cx.unknown_child(&el, child)),
            }
        }
        if date.operation == Some(DateOp::DateSpec) && date.date_spec.is_none() {
            el.report(
                cx,
                Severity::Warning,
                "operation date_spec without a <date_spec> child (add one)".to_owned(),
            );
        }
        date.extra = el.finish();
        date
    }

    fn write(&self) -> RawElement {
        let mut element = out("date_expression");
        element.push_opt("id", self.id.as_ref());
        element.push_opt("operation", self.operation);
        element.push_opt("start", self.start.as_ref());
        element.push_opt("end", self.end.as_ref());
        let mut element = finish_out(element, &self.extra);
        if let Some(spec) = &self.date_spec {
            element.push_child(spec.write("date_spec"));
        }
        if let Some(duration) = &self.duration {
            element.push_child(duration.write("duration"));
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl DateSpec {
    /// Reads the spec; any child element is reported and moved to `unknown`.
    fn read(cx: &mut Cx<'_>, raw: RawElement, unknown: &mut Vec<RawElement>) -> DateSpec {
        let mut el = El::new(raw);
        let line = el.line;
        let id = el.string("id");
        unknown.extend(el.unknown_children(cx));
        DateSpec {
            line,
            id,
            fields: el.finish(),
        }
    }

    fn write(&self, name: &str) -> RawElement {
        let mut element = out(name);
        element.push_opt("id", self.id.as_ref());
        finish_out(element, &self.fields)
    }

    /// The field `name` (e.g. `hours`), as written.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name)
    }
}

impl RscExpression {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> RscExpression {
        let mut el = El::new(raw);
        let rsc = RscExpression {
            line: el.line,
            id: el.string("id"),
            class: el.string("class"),
            provider: el.string("provider"),
            agent_type: el.string("type"),
            ..RscExpression::default()
        };
        let unknown = el.unknown_children(cx);
        RscExpression {
            extra: el.finish(),
            unknown,
            ..rsc
        }
    }

    fn write(&self) -> RawElement {
        let mut element = out("rsc_expression");
        element.push_opt("id", self.id.as_ref());
        element.push_opt("class", self.class.as_ref());
        element.push_opt("provider", self.provider.as_ref());
        element.push_opt("type", self.agent_type.as_ref());
        let mut element = finish_out(element, &self.extra);
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl OpExpression {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> OpExpression {
        let mut el = El::new(raw);
        let op = OpExpression {
            line: el.line,
            id: el.string("id"),
            name: el.required(cx, "name"),
            interval_ms: el.parsed(cx, "interval", "a duration such as 10s", parse_interval_ms),
            ..OpExpression::default()
        };
        let unknown = el.unknown_children(cx);
        OpExpression {
            extra: el.finish(),
            unknown,
            ..op
        }
    }

    fn write(&self) -> RawElement {
        let mut element = out("op_expression");
        element.push_opt("id", self.id.as_ref());
        element.push_attr("name", self.name.clone());
        element.push_opt(
            "interval",
            self.interval_ms.map(crate::values::format_interval_ms),
        );
        let mut element = finish_out(element, &self.extra);
        push_unknown(&mut element, &self.unknown);
        element
    }
}
