//! Bundles: a container image (`docker`, `podman`, `rkt`) run as replicas, with optional
//! network (`port-mapping`), storage (`storage-mapping`) and one primitive inside.
//!
//! Attributes the scheduler needs are typed; the rest (`options`, `run-command`, ...) are
//! kept as written. No I/O.

use crate::dom::{Attrs, Line, RawElement};
use crate::model::resources::{Primitive, Sets};
use crate::read::{Cx, El, Wx, finish_out, out, push_unknown};
use crate::values::ContainerKind;

/// A `bundle`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bundle {
    pub line: Line,
    pub id: String,
    pub description: Option<String>,
    pub container: Option<Container>,
    pub network: Option<BundleNetwork>,
    pub storage: Option<Storage>,
    pub primitive: Option<Primitive>,
    pub sets: Sets,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// The `docker`/`podman`/`rkt` element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Container {
    pub line: Line,
    pub kind: ContainerKind,
    pub image: Option<String>,
    pub replicas: Option<u32>,
    pub replicas_per_host: Option<u32>,
    /// `promoted-max`, or the legacy `masters`.
    pub promoted_max: Option<u32>,
    /// True when written as the legacy `masters`.
    pub legacy_masters: bool,
    pub network: Option<String>,
    pub run_command: Option<String>,
    pub options: Option<String>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// The bundle's `network`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BundleNetwork {
    pub line: Line,
    pub ip_range_start: Option<String>,
    pub control_port: Option<u16>,
    pub host_interface: Option<String>,
    pub host_netmask: Option<String>,
    pub add_host: Option<bool>,
    pub port_mappings: Vec<PortMapping>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// A `port-mapping`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortMapping {
    pub line: Line,
    pub id: String,
    pub port: Option<String>,
    pub internal_port: Option<String>,
    pub range: Option<String>,
    pub extra: Attrs,
}

/// The bundle's `storage`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Storage {
    pub line: Line,
    pub mappings: Vec<StorageMapping>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// A `storage-mapping`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorageMapping {
    pub line: Line,
    pub id: String,
    pub source_dir: Option<String>,
    pub source_dir_root: Option<String>,
    pub target_dir: Option<String>,
    pub options: Option<String>,
    pub extra: Attrs,
}

impl Bundle {
    pub(crate) fn read(cx: &mut Cx<'_>, raw: RawElement) -> Bundle {
        let mut el = El::new(raw);
        let mut bundle = Bundle {
            line: el.line,
            id: el.required(cx, "id"),
            description: el.string("description"),
            ..Bundle::default()
        };
        for child in el.children(cx) {
            let Some(child) = bundle.sets.read_child(cx, child) else {
                continue;
            };
            let kind = ContainerKind::parse(&child.name);
            match child.name.as_str() {
                _ if kind.is_some() && bundle.container.is_none() => {
                    let kind = kind.expect("checked by the guard");
                    bundle.container = Some(Container::read(cx, child, kind));
                }
                "network" if bundle.network.is_none() => {
                    bundle.network = Some(BundleNetwork::read(cx, child));
                }
                "storage" if bundle.storage.is_none() => {
                    bundle.storage = Some(Storage::read(cx, child))
                }
                "primitive" if bundle.primitive.is_none() => {
                    bundle.primitive = Some(Primitive::read(cx, child));
                }
                _ => bundle.unknown.push(cx.unknown_child(&el, child)),
            }
        }
        if bundle.container.is_none() {
            el.report(
                cx,
                crate::error::Severity::Error,
                "bundle has no docker, podman or rkt element (add one)".to_owned(),
            );
        }
        bundle.extra = el.finish();
        bundle
    }

    pub(crate) fn write(&self, wx: Wx) -> RawElement {
        let mut element = out("bundle");
        element.push_attr("id", self.id.clone());
        element.push_opt("description", self.description.as_ref());
        let mut element = finish_out(element, &self.extra);
        if let Some(container) = &self.container {
            element.push_child(container.write());
        }
        if let Some(network) = &self.network {
            element.push_child(network.write());
        }
        if let Some(storage) = &self.storage {
            element.push_child(storage.write());
        }
        if let Some(primitive) = &self.primitive {
            element.push_child(primitive.write("primitive", wx));
        }
        self.sets.write_into(&mut element, wx);
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl Container {
    fn read(cx: &mut Cx<'_>, raw: RawElement, kind: ContainerKind) -> Container {
        let mut el = El::new(raw);
        let mut promoted_max = el.int(cx, "promoted-max");
        let mut legacy_masters = false;
        if promoted_max.is_none() {
            promoted_max = el.int(cx, "masters");
            legacy_masters = promoted_max.is_some();
        }
        let container = Container {
            line: el.line,
            kind,
            image: el.string("image"),
            replicas: el.int(cx, "replicas"),
            replicas_per_host: el.int(cx, "replicas-per-host"),
            promoted_max,
            legacy_masters,
            network: el.string("network"),
            run_command: el.string("run-command"),
            options: el.string("options"),
            extra: Attrs::default(),
            unknown: Vec::new(),
        };
        let unknown = el.unknown_children(cx);
        Container {
            extra: el.finish(),
            unknown,
            ..container
        }
    }

    fn write(&self) -> RawElement {
        let mut element = out(self.kind.as_str());
        element.push_opt("image", self.image.as_ref());
        element.push_opt("replicas", self.replicas);
        element.push_opt("replicas-per-host", self.replicas_per_host);
        let promoted_name = if self.legacy_masters {
            "masters"
        } else {
            "promoted-max"
        };
        element.push_opt(promoted_name, self.promoted_max);
        element.push_opt("network", self.network.as_ref());
        element.push_opt("run-command", self.run_command.as_ref());
        element.push_opt("options", self.options.as_ref());
        let mut element = finish_out(element, &self.extra);
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl BundleNetwork {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> BundleNetwork {
        let mut el = El::new(raw);
        let mut network = BundleNetwork {
            line: el.line,
            ip_range_start: el.string("ip-range-start"),
            control_port: el.int(cx, "control-port"),
            host_interface: el.string("host-interface"),
            host_netmask: el.string("host-netmask"),
            add_host: el.bool(cx, "add-host"),
            ..BundleNetwork::default()
        };
        for child in el.children(cx) {
            if child.name == "port-mapping" {
                let mut mapping = El::new(child);
                let port = PortMapping {
                    line: mapping.line,
                    id: mapping.required(cx, "id"),
                    port: mapping.string("port"),
                    internal_port: mapping.string("internal-port"),
                    range: mapping.string("range"),
                    extra: Attrs::default(),
                };
                network.unknown.extend(mapping.unknown_children(cx));
                network.port_mappings.push(PortMapping {
                    extra: mapping.finish(),
                    ..port
                });
            } else {
                network.unknown.push(cx.unknown_child(&el, child));
            }
        }
        network.extra = el.finish();
        network
    }

    fn write(&self) -> RawElement {
        let mut element = out("network");
        element.push_opt("ip-range-start", self.ip_range_start.as_ref());
        element.push_opt("control-port", self.control_port);
        element.push_opt("host-interface", self.host_interface.as_ref());
        element.push_opt("host-netmask", self.host_netmask.as_ref());
        element.push_opt("add-host", self.add_host);
        let mut element = finish_out(element, &self.extra);
        for mapping in &self.port_mappings {
            let mut child = out("port-mapping");
            child.push_attr("id", mapping.id.clone());
            child.push_opt("port", mapping.port.as_ref());
            child.push_opt("internal-port", mapping.internal_port.as_ref());
            child.push_opt("range", mapping.range.as_ref());
            element.push_child(finish_out(child, &mapping.extra));
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl Storage {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> Storage {
        let mut el = El::new(raw);
        let mut storage = Storage {
            line: el.line,
            ..Storage::default()
        };
        for child in el.children(cx) {
            if child.name == "storage-mapping" {
                let mut mapping = El::new(child);
                let read = StorageMapping {
                    line: mapping.line,
                    id: mapping.required(cx, "id"),
                    source_dir: mapping.string("source-dir"),
                    source_dir_root: mapping.string("source-dir-root"),
                    target_dir: mapping.string("target-dir"),
                    options: mapping.string("options"),
                    extra: Attrs::default(),
                };
                storage.unknown.extend(mapping.unknown_children(cx));
                storage.mappings.push(StorageMapping {
                    extra: mapping.finish(),
                    ..read
                });
            } else {
                storage.unknown.push(cx.unknown_child(&el, child));
            }
        }
        storage.extra = el.finish();
        storage
    }

    fn write(&self) -> RawElement {
        let mut element = finish_out(out("storage"), &self.extra);
        for mapping in &self.mappings {
            let mut child = out("storage-mapping");
            child.push_attr("id", mapping.id.clone());
            child.push_opt("source-dir", mapping.source_dir.as_ref());
            child.push_opt("source-dir-root", mapping.source_dir_root.as_ref());
            child.push_opt("target-dir", mapping.target_dir.as_ref());
            child.push_opt("options", mapping.options.as_ref());
            element.push_child(finish_out(child, &mapping.extra));
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}
