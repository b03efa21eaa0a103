//! `ocf:herd:haproxy` and `ocf:herd:dnsmasq` with the real daemons (filled in next).
